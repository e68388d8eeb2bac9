import ConnectionTracking
import TestSupport
import Testing
import WireFormat

/// When a silent connection is handed on before the input ends: dead attempts and given-up senders
/// early (the give-up timeout), everything else only after the idle timeout.
@Suite("Expiry: give-up and idle timeouts")
struct ExpiryTests {
    /// Feeds `script`, then lets capture time pass to `seconds` after its last packet (as a later
    /// packet of another connection would), and returns what was finished before the end of input.
    func finishedBeforeEnd(_ script: SegmentScript, silence seconds: Int64) -> [Connection] {
        var tracker = ConnectionTracker()
        var out: [Connection] = []
        for (i, p) in script.packets.enumerated() {
            tracker.process(p.summary, number: i + 1, time: p.time) { out.append($0) }
        }
        tracker.advance(to: script.now.advanced(byNanoseconds: seconds * 1_000_000_000)) { out.append($0) }
        return out
    }

    @Test("an unanswered SYN silent past the give-up timeout is finished as gave_up")
    func unansweredSYN() throws {
        var s = SegmentScript()
        s.client(.syn, seq: 1000)
        s.client(.syn, seq: 1000, after: 1)
        s.client(.syn, seq: 1000, after: 2)
        #expect(finishedBeforeEnd(s, silence: 299).isEmpty)
        let c = try #require(finishedBeforeEnd(s, silence: 301).first)
        #expect(c.finishReason == .gaveUp)
        #expect(c.clientSide.synRetransmissions == 2)
    }

    @Test("data retransmitted and never acknowledged, then silence: gave_up")
    func retransmittedUnacknowledged() throws {
        var s = SegmentScript()
        s.handshake()
        s.client([.ack, .psh], seq: 1001, ack: 5001, length: 100)
        s.client([.ack, .psh], seq: 1001, ack: 5001, length: 100, after: 0.2)
        s.client([.ack, .psh], seq: 1001, ack: 5001, length: 100, after: 0.4)
        let c = try #require(finishedBeforeEnd(s, silence: 301).first)
        #expect(c.finishReason == .gaveUp)
    }

    @Test("an established connection with everything acknowledged stays tracked until the idle timeout")
    func quietButHealthy() throws {
        var s = SegmentScript()
        s.handshake()
        s.client([.ack, .psh], seq: 1001, ack: 5001, length: 100)
        s.server(.ack, seq: 5001, ack: 1101)
        #expect(finishedBeforeEnd(s, silence: 3600).isEmpty)
        let c = try #require(finishedBeforeEnd(s, silence: 7501).first)
        #expect(c.finishReason == .idle)
    }

    @Test("a retransmission that was acknowledged is not a sender giving up")
    func retransmissionAcknowledged() {
        var s = SegmentScript()
        s.handshake()
        s.client([.ack, .psh], seq: 1001, ack: 5001, length: 100)
        s.client([.ack, .psh], seq: 1001, ack: 5001, length: 100, after: 0.2)
        s.server(.ack, seq: 5001, ack: 1101)
        #expect(finishedBeforeEnd(s, silence: 3600).isEmpty)
    }

    @Test("a SYN retransmitted after the give-up timeout starts a new connection; the first gave up")
    func lateSYNStartsNewConnection() throws {
        var s = SegmentScript()
        s.client(.syn, seq: 1000)
        s.client(.syn, seq: 1000, after: 400)
        let all = s.run()
        #expect(all.count == 2)
        #expect(all.first?.finishReason == .gaveUp)
    }

    /// The sweep skips a connection until a per-slot deadline; a connection found not expired gets a
    /// later one. Sweeping every 10 s must finish it exactly when one late sweep would.
    @Test("sweeps before the idle timeout do not delay or lose it")
    func repeatedSweepsKeepTheIdleTimeout() throws {
        var s = SegmentScript()
        s.handshake()
        s.client([.ack, .psh], seq: 1001, ack: 5001, length: 100)
        s.server(.ack, seq: 5001, ack: 1101)
        var tracker = ConnectionTracker()
        var out: [Connection] = []
        for (i, p) in s.packets.enumerated() {
            tracker.process(p.summary, number: i + 1, time: p.time) { out.append($0) }
        }
        let second: Int64 = 1_000_000_000
        for t in stride(from: Int64(10), through: 7490, by: 10) {
            tracker.advance(to: s.now.advanced(byNanoseconds: t * second)) { out.append($0) }
        }
        #expect(out.isEmpty)
        tracker.advance(to: s.now.advanced(byNanoseconds: 7501 * second)) { out.append($0) }
        let c = try #require(out.first)
        #expect(c.finishReason == .idle)
    }

    @Test("a connection swept while healthy, then retransmitting unanswered, gives up 300 s later")
    func sweptThenGivesUp() throws {
        var s = SegmentScript()
        s.handshake()
        s.client([.ack, .psh], seq: 1001, ack: 5001, length: 100)
        s.server(.ack, seq: 5001, ack: 1101)
        let healthy = s.packets.count
        s.client([.ack, .psh], seq: 1101, ack: 5001, length: 100, after: 1000)
        s.client([.ack, .psh], seq: 1101, ack: 5001, length: 100, after: 0.5)
        var tracker = ConnectionTracker()
        var out: [Connection] = []
        let second: Int64 = 1_000_000_000
        for (i, p) in s.packets.enumerated() {
            if i == healthy {  // sweeps during the quiet part: the connection is found alive
                for t in stride(from: Int64(100), through: 900, by: 100) {
                    tracker.advance(to: s.packets[healthy - 1].time.advanced(byNanoseconds: t * second)) { out.append($0) }
                }
                #expect(out.isEmpty)
            }
            tracker.process(p.summary, number: i + 1, time: p.time) { out.append($0) }
        }
        tracker.advance(to: s.now.advanced(byNanoseconds: 299 * second)) { out.append($0) }
        #expect(out.isEmpty)
        tracker.advance(to: s.now.advanced(byNanoseconds: 301 * second)) { out.append($0) }
        let c = try #require(out.first)
        #expect(c.finishReason == .gaveUp)
    }
}
