import ConnectionTracking
import TestSupport
import Testing
import WireFormat

/// A state to start from, and how to reach it.
struct StartingState: CustomTestStringConvertible, Sendable {
    let name: String
    let build: @Sendable (inout SegmentScript) -> Void
    /// The client's next sequence number and the server's, in that state.
    let clientNext: UInt32
    let serverNext: UInt32
    var testDescription: String { name }

    static let all: [StartingState] = [
        StartingState(name: "syn sent", build: { $0.client(.syn, seq: 1000) }, clientNext: 1001, serverNext: 0),
        StartingState(name: "syn-ack sent", build: {
            $0.client(.syn, seq: 1000)
            $0.server([.syn, .ack], seq: 5000, ack: 1001)
        }, clientNext: 1001, serverNext: 5001),
        StartingState(name: "established", build: { $0.handshake() }, clientNext: 1001, serverNext: 5001),
        StartingState(name: "established with data", build: {
            $0.handshake()
            $0.client(.ack, seq: 1001, ack: 5001, length: 100)
            $0.server(.ack, seq: 5001, ack: 1101, length: 50)
        }, clientNext: 1101, serverNext: 5051),
        StartingState(name: "client closed", build: {
            $0.handshake()
            $0.client(.fin.union(.ack), seq: 1001, ack: 5001)
            $0.server(.ack, seq: 5001, ack: 1002)
        }, clientNext: 1002, serverNext: 5001),
    ]
}

@Suite("RST in every state")
struct ResetTests {
    @Test("a RST+ACK from the server at its next sequence number resets it and ends the connection", arguments: StartingState.all)
    func serverResets(_ start: StartingState) throws {
        var s = SegmentScript()
        start.build(&s)
        s.server([.rst, .ack], seq: start.serverNext, ack: start.clientNext)
        let all = s.run()
        #expect(all.count == 1)
        let c = try #require(all.first)
        #expect(c.serverSide.state == .reset)
        #expect(c.endingKnown && c.finishReason == .reset)
        let r = try #require(c.serverSide.resets.first)
        #expect(r.hasACK)
        #expect(!r.isOutOfWindow)
    }

    @Test("a RST from the client ends the connection in every state", arguments: StartingState.all)
    func clientResets(_ start: StartingState) throws {
        var s = SegmentScript()
        start.build(&s)
        s.client(.rst, seq: start.clientNext)
        let c = try #require(s.run().first)
        #expect(c.clientSide.state == .reset)
        #expect(c.clientSide.resets.first?.distanceFromNextSequence == 0)
    }

    @Test("a RST far outside the receiver's window is recorded but does not end the connection")
    func outOfWindow() throws {
        var s = SegmentScript()
        s.handshake()
        s.server(.ack, seq: 5001, ack: 1001, window: 1000)
        s.client(.rst, seq: 1001 &+ 5_000_000)
        s.client(.ack, seq: 1001, ack: 5001, length: 10)
        let c = try #require(s.run().first)
        #expect(c.clientSide.state != .reset)
        #expect(c.clientSide.resets.first?.isOutOfWindow == true)
        #expect(!c.endingKnown)
    }

    @Test("a RST without ACK answering data, seq = the peer's ACK: the peer's reply for an unknown connection")
    func resetAtPeerAck() throws {
        var s = SegmentScript()
        s.handshake()
        s.client(.ack, seq: 1001, ack: 5001, length: 100, after: 10)
        s.server(.rst, seq: 5001)
        let c = try #require(s.run().first)
        let r = try #require(c.serverSide.resets.first)
        #expect(!r.hasACK)
        #expect(r.distanceFromPeerAck == 0)
        #expect(c.longestIdleNanoseconds >= 9_000_000_000)
    }
}

@Suite("Reuse, loss, wraparound, one direction")
struct EdgeCaseTests {
    @Test("port reuse: a new SYN after the connection reset starts a new connection")
    func portReuseAfterReset() {
        var s = SegmentScript()
        s.handshake()
        s.server([.rst, .ack], seq: 5001, ack: 1001)
        s.client(.syn, seq: 90_000, after: 0.5)
        s.server([.syn, .ack], seq: 70_000, ack: 90_001)
        s.client(.ack, seq: 90_001, ack: 70_001)
        let all = s.run()
        #expect(all.count == 2)
        #expect(all.first?.finishReason == .reset)
        #expect(all.last?.clientSide.isn == SequenceNumber(90_000))
    }

    @Test("port reuse: a new SYN with a new ISN after a graceful close starts a new connection")
    func portReuseAfterClose() {
        var s = SegmentScript()
        s.handshake()
        s.client(.fin.union(.ack), seq: 1001, ack: 5001)
        s.server(.fin.union(.ack), seq: 5001, ack: 1002)
        s.client(.ack, seq: 1002, ack: 5002)
        s.client(.syn, seq: 777_777, after: 0.1)
        #expect(s.run().count == 2)
    }

    @Test("a stray packet soon after a RST stays with its connection; one long after starts another")
    func resetLinger() {
        var s = SegmentScript()
        s.handshake()
        s.server([.rst, .ack], seq: 5001, ack: 1001)
        s.client(.ack, seq: 1001, ack: 5001, length: 10, after: 0.1)
        s.client(.ack, seq: 1011, ack: 5001, length: 10, after: 30)
        let all = s.run()
        #expect(all.count == 2)
        #expect(all.first?.packetsAfterEnding == 1)
    }

    @Test("capture loss: an ACK for data the capture never saw is counted")
    func captureLoss() throws {
        var s = SegmentScript()
        s.handshake()
        s.client(.ack, seq: 1001, ack: 5001, length: 100)
        s.server(.ack, seq: 5001, ack: 3101)
        let c = try #require(s.run().first)
        #expect(c.clientSide.acksForUnseenData == 1)
        #expect(c.serverSide.acksForUnseenData == 0)
    }

    @Test("sequence numbers wrap past 2^32 without trapping, and byte counts stay right")
    func wraparound() throws {
        var s = SegmentScript()
        let isn: UInt32 = 4_294_967_000
        s.handshake(client: isn, server: 10)
        var seq = isn &+ 1
        for _ in 0..<4 {
            s.client(.ack, seq: seq, ack: 11, length: 1000)
            seq = seq &+ 1000
        }
        s.server(.ack, seq: 11, ack: seq)
        let c = try #require(s.run().first)
        #expect(c.clientSide.streamBytes == 4000)
        #expect(c.serverSide.acknowledgedPeerBytes == 4000)
        #expect(c.clientSide.retransmissions == 0)
    }

    @Test("retransmissions of the same segment form one episode with backoff")
    func retransmissions() throws {
        var s = SegmentScript()
        s.handshake()
        s.client(.ack, seq: 1001, ack: 5001, length: 100)
        var gap = 0.2
        for _ in 0..<4 {
            s.client(.ack, seq: 1001, ack: 5001, length: 100, after: gap)
            gap *= 2
        }
        let c = try #require(s.run().first)
        #expect(c.clientSide.retransmissions == 4)
        let episode = try #require(c.clientSide.episodes.last)
        #expect(episode.count == 4 && !episode.wasAcknowledged && episode.showsBackoff)
    }

    @Test("only one direction captured: the other side's packets never appear")
    func oneDirection() throws {
        var s = SegmentScript()
        s.client(.syn, seq: 1000)
        s.client(.ack, seq: 1001, ack: 5001, length: 100)
        s.client(.ack, seq: 1101, ack: 5001, length: 100)
        let c = try #require(s.run().first)
        #expect(c.serverSide.packets == 0)
        #expect(c.serverSide.acksForUnseenData == 2)
    }

    @Test("keepalive probes (seq = next - 1) are counted, not retransmissions")
    func keepalive() throws {
        var s = SegmentScript()
        s.handshake()
        s.client(.ack, seq: 1000, ack: 5001, after: 7200)
        s.client(.ack, seq: 1000, ack: 5001, after: 75)
        let c = try #require(s.run().first)
        #expect(c.clientSide.keepaliveProbes == 2)
        #expect(c.clientSide.retransmissions == 0)
    }

    @Test("zero window advertised, probes counted as zero-window probes")
    func zeroWindow() throws {
        var s = SegmentScript()
        s.handshake()
        s.client(.ack, seq: 1001, ack: 5001, length: 1000)
        s.server(.ack, seq: 5001, ack: 2001, window: 0)
        s.client(.ack, seq: 2000, ack: 5001, after: 0.2)
        s.server(.ack, seq: 5001, ack: 2001, window: 0)
        let c = try #require(s.run().first)
        #expect(c.serverSide.zeroWindowEpisodes == 1)
        #expect(c.clientSide.zeroWindowProbes == 1 && c.clientSide.keepaliveProbes == 0)
    }

    @Test("memory follows concurrent connections: 100x more connections than concurrent leave the table small")
    func streamingMemory() {
        var tracker = ConnectionTracker()
        var finished = 0
        var peakSlots = 0
        var time = Timestamp(seconds: 1_800_000_000, nanoseconds: 0)
        var number = 0
        let concurrent = 50
        for round in 0..<100 {
            for k in 0..<concurrent {
                let port = UInt16(10_000 + round * concurrent + k)
                let c = IPAddress(ipv4: 0xC612_0001), srv = IPAddress(ipv4: 0xC613_0002)
                let packets: [(IPAddress, UInt16, IPAddress, UInt16, TCPFlags, UInt32, UInt32)] = [
                    (c, port, srv, 80, .syn, 1, 0), (srv, 80, c, port, [.syn, .ack], 9, 2), (c, port, srv, 80, .ack, 2, 10),
                    (c, port, srv, 80, [.rst, .ack], 2, 10),
                ]
                for p in packets {
                    number += 1
                    time = time.advanced(byNanoseconds: 1_000_000)
                    tracker.process(TCPPacketSummary(source: p.0, destination: p.2, sourcePort: p.1, destinationPort: p.3,
                                                     sequenceNumber: SequenceNumber(p.5), acknowledgmentNumber: SequenceNumber(p.6),
                                                     flags: p.4), number: number, time: time) { _ in finished += 1 }
                    peakSlots = max(peakSlots, tracker.activeCount)
                }
            }
        }
        tracker.finishAll { _ in finished += 1 }
        #expect(finished == 100 * concurrent)
        // Connections linger 5 s after their RST; 50 connections take 0.2 s, so at most ~26 rounds overlap.
        #expect(tracker.statistics.peakConcurrent < 100 * concurrent / 3)
        #expect(tracker.statistics.peakConcurrent == peakSlots)
    }
}
