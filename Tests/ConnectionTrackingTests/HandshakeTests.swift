import ConnectionTracking
import TestSupport
import Testing
import WireFormat

@Suite("From inactive: handshakes")
struct HandshakeTests {
    @Test("SYN, SYN-ACK, ACK establishes both sides; the SYN sender is the client")
    func threeWay() throws {
        var s = SegmentScript()
        s.handshake()
        let c = try #require(s.run().first)
        #expect(c.handshake == .complete)
        #expect(c.clientSide.state == .established && c.serverSide.state == .established)
        #expect(!c.rolesInferred && c.roleEvidence == .syn)
        #expect(c.clientSide.isn == SequenceNumber(1000) && c.serverSide.isn == SequenceNumber(5000))
        #expect(c.zeek.historyString == "ShA")
    }

    @Test("a retransmitted SYN is counted, not a new connection or transition")
    func synRetransmitted() throws {
        var s = SegmentScript()
        s.client(.syn, seq: 1000)
        s.client(.syn, seq: 1000, after: 1)
        s.client(.syn, seq: 1000, after: 2)
        let all = s.run()
        #expect(all.count == 1)
        let c = try #require(all.first)
        #expect(c.clientSide.synCount == 3 && c.clientSide.synRetransmissions == 2)
        #expect(c.clientSide.state == .synSent && c.handshake == .synOnly)
    }

    @Test("SYN-ACK lost before the capture point: the client's ACK still completes what can be seen")
    func synAckLost() throws {
        var s = SegmentScript()
        s.client(.syn, seq: 1000)
        s.client(.ack, seq: 1001, ack: 5001)
        s.client(.ack, seq: 1001, ack: 5001, length: 100)
        let c = try #require(s.run().first)
        #expect(c.handshake == .synOnly)
        #expect(c.clientSide.acksForUnseenData > 0 || c.serverSide.packets == 0)
    }

    @Test("simultaneous open: both send SYN, then SYN-ACKs")
    func simultaneousOpen() throws {
        var s = SegmentScript()
        s.client(.syn, seq: 1000)
        s.server(.syn, seq: 5000)
        s.client([.syn, .ack], seq: 1000, ack: 5001)
        s.server([.syn, .ack], seq: 5000, ack: 1001)
        let all = s.run()
        #expect(all.count == 1)
        let c = try #require(all.first)
        #expect(c.clientSide.sawSYN && c.serverSide.sawSYN)
    }

    @Test("the first packet a SYN-ACK: roles are flipped so the SYN-ACK's sender is the server")
    func synAckFirst() throws {
        var s = SegmentScript()
        s.server([.syn, .ack], seq: 5000, ack: 1001)
        s.client(.ack, seq: 1001, ack: 5001)
        let c = try #require(s.run().first)
        #expect(c.server.port == 5000 && c.client.port == 40000)
        #expect(c.rolesFlipped && c.roleEvidence == .synAck)
    }

    @Test("mid-stream start: roles inferred from the well-known port, both sides partial")
    func midstream() throws {
        var s = SegmentScript(clientPort: 51000, serverPort: 443)
        s.server(.ack, seq: 9000, ack: 2000, length: 100)
        s.client(.ack, seq: 2000, ack: 9100)
        let c = try #require(s.run().first)
        #expect(c.rolesInferred && c.roleEvidence == .serverPort)
        #expect(c.server.port == 443)
        #expect(c.clientSide.state == .partial && c.serverSide.state == .partial)
        #expect(c.handshake == .notSeen)
    }
}

@Suite("From established: closes")
struct CloseTests {
    @Test("FIN each way, each acknowledged: both closed, ending known")
    func gracefulClose() throws {
        var s = SegmentScript()
        s.handshake()
        s.client(.fin.union(.ack), seq: 1001, ack: 5001)
        s.server(.ack, seq: 5001, ack: 1002)
        s.server(.fin.union(.ack), seq: 5001, ack: 1002)
        s.client(.ack, seq: 1002, ack: 5002)
        let c = try #require(s.run().first)
        #expect(c.clientSide.state == .closed && c.serverSide.state == .closed)
        #expect(c.clientSide.finAcknowledged && c.serverSide.finAcknowledged)
        #expect(c.endingKnown && c.finishReason == .closed)
        #expect(c.zeek.connState == "SF")
    }

    @Test("half-close: data keeps flowing to the side that sent FIN")
    func halfClose() throws {
        var s = SegmentScript()
        s.handshake()
        s.client(.fin.union(.ack), seq: 1001, ack: 5001)
        s.server(.ack, seq: 5001, ack: 1002, length: 500)
        s.server(.ack, seq: 5501, ack: 1002, length: 500)
        s.client(.ack, seq: 1002, ack: 6001)
        s.server(.fin.union(.ack), seq: 6001, ack: 1002)
        s.client(.ack, seq: 1002, ack: 6002)
        let c = try #require(s.run().first)
        #expect(c.serverSide.dataAfterPeerFIN == 1000)
        #expect(c.serverSide.streamBytes == 1000)
        #expect(c.endingKnown)
    }

    @Test("simultaneous close: FINs cross, each acknowledging only data")
    func simultaneousClose() throws {
        var s = SegmentScript()
        s.handshake()
        s.client(.fin.union(.ack), seq: 1001, ack: 5001)
        s.server(.fin.union(.ack), seq: 5001, ack: 1001, after: 0.00001)
        s.client(.ack, seq: 1002, ack: 5002)
        s.server(.ack, seq: 5002, ack: 1002)
        let c = try #require(s.run().first)
        #expect(c.serverSide.finAckAtFIN == SequenceNumber(1001))
        #expect(c.endingKnown)
    }

    @Test("a retransmitted FIN is counted once as a transition")
    func finRetransmitted() throws {
        var s = SegmentScript()
        s.handshake()
        s.client(.fin.union(.ack), seq: 1001, ack: 5001)
        s.client(.fin.union(.ack), seq: 1001, ack: 5001, after: 0.2)
        let c = try #require(s.run().first)
        #expect(c.clientSide.finCount == 2)
        #expect(c.events.filter { $0.kind == .fin }.count == 1)
        #expect(c.events.filter { $0.kind == .finRetransmitted }.count == 1)
    }
}
