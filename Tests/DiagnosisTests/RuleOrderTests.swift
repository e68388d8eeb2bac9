import ConnectionTracking
import Diagnosis
import TestSupport
import Testing
import WireFormat

func diagnose(_ script: SegmentScript, end: Double = 0, serverAnsweredOthers: Bool = false) -> Verdict? {
    guard let c = script.run().first else { return nil }
    return Diagnoser.diagnose(c, context: CaptureContext(captureEnd: c.end.advanced(byNanoseconds: Int64(end * 1e9)),
                                                         serverAnsweredOthers: serverAnsweredOthers))
}

@Suite("Diagnosis rules and their order")
struct RuleOrderTests {
    @Test("the rule order is the documented policy: specific explanations before general ones")
    func order() {
        #expect(Diagnoser.rules.map(\.name) == [
            "one_direction_only", "refused", "attempt_aborted", "syn_timeout", "listen_overflow", "data_after_close",
            "keepalive_timeout", "idle_timeout", "retransmission_timeout", "middlebox_reset", "reset_after_graceful_close",
            "peer_lost_state", "unread_data_on_close", "abortive_close", "graceful_close", "zero_window_stall", "still_open",
            "unknown",
        ])
    }

    @Test("SYN answered by RST+ACK is refused")
    func refused() throws {
        var s = SegmentScript()
        s.client(.syn, seq: 1000)
        s.server([.rst, .ack], seq: 0, ack: 1001)
        let v = try #require(diagnose(s))
        #expect(v.cause == .refused && v.ending == .refused && v.resetBy == .server)
        #expect(v.clientView?.result == .connectionRefused && v.serverView == nil)
    }

    @Test("SYNs retransmitted, never answered: syn_timeout; the same to a server answering others: listen_overflow")
    func synTimeoutOrOverflow() throws {
        var s = SegmentScript()
        s.client(.syn, seq: 1000)
        s.client(.syn, seq: 1000, after: 1)
        s.client(.syn, seq: 1000, after: 2)
        let alone = try #require(diagnose(s))
        #expect(alone.cause == .synTimeout && alone.ending == .timeout && alone.confidence == .high)
        let busy = try #require(diagnose(s, serverAnsweredOthers: true))
        #expect(busy.cause == .listenOverflow && busy.alternatives == [.synTimeout])
    }

    @Test("FIN, then peer data, then RST from the closer: data_after_close wins over the RST rules")
    func dataAfterClose() throws {
        var s = SegmentScript()
        s.handshake()
        s.server([.fin, .ack], seq: 5001, ack: 1001)
        s.client(.ack, seq: 1001, ack: 5002)
        s.client(.ack, seq: 1001, ack: 5002, length: 100, after: 0.3)
        s.server(.rst, seq: 5002)
        let v = try #require(diagnose(s))
        #expect(v.cause == .dataAfterClose && v.resetBy == .server && v.closedBy == .server)
        #expect(v.clientView?.result == .brokenPipe)
    }

    @Test("RST+ACK right after unanswered peer data: unread_data_on_close; with nothing received: abortive_close")
    func unreadVersusAbort() throws {
        var s = SegmentScript()
        s.handshake()
        s.client(.ack, seq: 1001, ack: 5001, length: 2000)
        s.server(.ack, seq: 5001, ack: 3001, window: 63535)
        s.server([.rst, .ack], seq: 5001, ack: 3001)
        let unread = try #require(diagnose(s))
        #expect(unread.cause == .unreadDataOnClose && unread.resetBy == .server)
        #expect(unread.confidence == .high)
        #expect(unread.clientView?.result == .connectionReset)

        var a = SegmentScript()
        a.handshake()
        a.server(.ack, seq: 5001, ack: 1001, length: 300)
        a.client(.ack, seq: 1001, ack: 5301)
        a.server([.rst, .ack], seq: 5301, ack: 1001)
        let abort = try #require(diagnose(a))
        #expect(abort.cause == .abortiveClose && abort.confidence == .high)
    }

    @Test("RST without ACK at the peer's ACK number after silence: peer_lost_state")
    func peerLostState() throws {
        var s = SegmentScript()
        s.handshake()
        s.client(.ack, seq: 1001, ack: 5001, length: 10)
        s.server(.ack, seq: 5001, ack: 1011)
        s.client(.ack, seq: 1011, ack: 5001, length: 10, after: 1)
        s.server(.rst, seq: 5001)
        let v = try #require(diagnose(s))
        #expect(v.cause == .peerLostState && v.resetBy == .server)
    }

    @Test("a long silence, then the next segment reset: idle_timeout comes before peer_lost_state and middlebox_reset")
    func idleBeforeOthers() throws {
        var s = SegmentScript()
        s.handshake()
        s.client(.ack, seq: 1001, ack: 5001, length: 10)
        s.server(.ack, seq: 5001, ack: 1011)
        s.client(.ack, seq: 1011, ack: 5001, length: 10, after: 600)
        s.server(.rst, seq: 5001, ttl: 50)
        let v = try #require(diagnose(s))
        #expect(v.cause == .idleTimeout)
        #expect(v.resetBy == .middlebox)  // the TTL differs from the server's other packets
    }

    @Test("a RST with another TTL than its sender's packets: middlebox_reset")
    func middlebox() throws {
        var s = SegmentScript()
        s.handshake()
        s.client(.ack, seq: 1001, ack: 5001, length: 10)
        s.server(.ack, seq: 5001, ack: 1011, length: 10)
        s.server([.rst, .ack], seq: 5011, ack: 1011, ttl: 250)
        let v = try #require(diagnose(s))
        #expect(v.cause == .middleboxReset && v.resetBy == .middlebox)
    }

    @Test("keepalive probes unanswered then the prober's RST: keepalive_timeout, not abortive_close")
    func keepalive() throws {
        var s = SegmentScript()
        s.handshake()
        for _ in 0..<3 { s.client(.ack, seq: 1000, ack: 5001, after: 5) }
        s.client([.rst, .ack], seq: 1001, ack: 5001, after: 5)
        let v = try #require(diagnose(s))
        #expect(v.cause == .keepaliveTimeout && v.ending == .timeout && v.closedBy == .client)
        #expect(v.clientView?.result == .timedOut)
    }

    @Test("data retransmitted with backoff, never acknowledged, peer silent: retransmission_timeout")
    func retransmissionTimeout() throws {
        var s = SegmentScript()
        s.handshake()
        s.client(.ack, seq: 1001, ack: 5001, length: 100)
        s.server(.ack, seq: 5001, ack: 1101)
        s.client(.ack, seq: 1101, ack: 5001, length: 100)
        var gap = 0.2
        for _ in 0..<5 {
            s.client(.ack, seq: 1101, ack: 5001, length: 100, after: gap)
            gap *= 2
        }
        let v = try #require(diagnose(s))
        #expect(v.cause == .retransmissionTimeout, "rule \(v.rule)")
        #expect(v.ending == .timeout && v.confidence == .high)
    }

    @Test("handshake, then the client's data never acknowledged: listen_overflow only when the server overflowed elsewhere")
    func neverAcknowledged() throws {
        var s = SegmentScript()
        s.handshake()
        s.client(.ack, seq: 1001, ack: 5001, length: 100)
        for _ in 0..<3 { s.client(.ack, seq: 1001, ack: 5001, length: 100, after: 0.5) }
        let c = try #require(s.run().first)
        let alone = Diagnoser.diagnose(c, context: CaptureContext(captureEnd: c.end))
        #expect(alone.cause == .retransmissionTimeout && alone.alternatives == [.listenOverflow])
        let busy = Diagnoser.diagnose(c, context: CaptureContext(captureEnd: c.end, serverShowedListenOverflow: true))
        #expect(busy.cause == .listenOverflow && busy.alternatives == [.retransmissionTimeout])
    }

    @Test("FIN both ways: graceful_close; no ending: still_open")
    func gracefulAndOpen() throws {
        var s = SegmentScript()
        s.handshake()
        s.client([.fin, .ack], seq: 1001, ack: 5001)
        s.server([.fin, .ack], seq: 5001, ack: 1002)
        s.client(.ack, seq: 1002, ack: 5002)
        let v = try #require(diagnose(s))
        #expect(v.cause == .gracefulClose && v.ending == .graceful && v.closedBy == .client)
        #expect(v.clientView?.result == .eof && v.serverView?.result == .eof)

        var o = SegmentScript()
        o.handshake()
        let open = try #require(diagnose(o, end: 10))
        #expect(open.cause == .stillOpen && open.ending == .unfinished)
    }

    @Test("a lone RST seen mid-stream is unknown, not guessed")
    func loneReset() throws {
        var s = SegmentScript(clientPort: 48777, serverPort: 80)
        s.client(.rst, seq: 1234)
        let v = try #require(diagnose(s))
        #expect(v.cause == .unknown && v.ending == .reset && v.confidence == .low)
    }

    @Test("every cause code has words and a stable raw value")
    func codes() {
        #expect(CauseCode.allCases.count == 14)
        #expect(CauseCode(rawValue: "unread_data_on_close") == .unreadDataOnClose)
    }
}
