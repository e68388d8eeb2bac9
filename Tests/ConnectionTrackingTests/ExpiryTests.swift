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
}
