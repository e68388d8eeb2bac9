@testable import ConnectionTracking
import TestSupport
import Testing
import WireFormat

// `ZeekState.observe` takes a fast path (`Common.processUsual`) for the usual packet, an ACK with or
// without data between sides already numbered, and its own paths for a side's opening SYN and the
// usual FIN (`processOpeningSYN`, `processUsualFIN`). It must leave exactly the state the full model
// (`Common.process`) leaves. These tests run random but plausible conversations through both and
// compare the whole state (sides, reassembly blocks, history) after every packet.

@Suite("Zeek model: fast path and full model agree")
struct ZeekStateFastPathTests {
    /// The whole state as text: every stored property of both sides and the connection-wide part.
    private static func dump(_ state: ZeekState) -> String { String(describing: state) }

    @Test("random conversations leave the same state after every packet, fast path or not")
    func fastPathMatchesFullModel() {
        var usualPackets = 0, otherPackets = 0, openingSYNs = 0, usualFINs = 0
        for seed in UInt64(1)...400 {
            var fast = ZeekState(), full = ZeekState()
            let conversation = Conversations.random(seed: seed, count: Int(seed % 60) + 4)
            let time = Timestamp(seconds: 1_800_000_000, nanoseconds: 0)
            for (index, (p, fromOriginator)) in conversation.enumerated() {
                // Whether the fast path takes this packet (on a copy: it changes nothing when it declines).
                var probe = fast
                probe.common.packets &+= 1
                let usual = fromOriginator
                    ? probe.common.processUsual(p, sender: &probe.originator, peer: &probe.responder, isOriginator: true)
                    : probe.common.processUsual(p, sender: &probe.responder, peer: &probe.originator, isOriginator: false)
                if usual { usualPackets += 1 } else { otherPackets += 1 }
                // The two paths `observe` takes for control packets before the full model.
                if !usual && ZeekState.Common.isOpeningSYN(p, sender: fromOriginator ? fast.originator : fast.responder) {
                    openingSYNs += 1
                } else if !usual && (fromOriginator
                    ? fast.common.isUsualFIN(p, sender: fast.originator, peer: fast.responder, isOriginator: true)
                    : fast.common.isUsualFIN(p, sender: fast.responder, peer: fast.originator, isOriginator: false)) {
                    usualFINs += 1
                }

                fast.observe(p, fromOriginator: fromOriginator, time: time)
                full.observeWithoutFastPath(p, fromOriginator: fromOriginator)
                let same = Self.dump(fast) == Self.dump(full)
                #expect(same, "seed \(seed), packet \(index + 1) (\(p.flags), usual: \(usual)):\n\(Self.dump(fast))\n\(Self.dump(full))")
                if !same { return }
            }
            #expect(fast.historyString == full.historyString && fast.connState == full.connState)
        }
        // Both paths must have been exercised for the comparison to mean anything.
        #expect(usualPackets > 5_000 && otherPackets > 1_500, "usual \(usualPackets), other \(otherPackets)")
        #expect(openingSYNs > 300 && usualFINs > 300, "opening SYNs \(openingSYNs), usual FINs \(usualFINs)")
    }

    @Test("the fast path's letters: D and A once per direction, T for a retransmission, G for a gap")
    func fastPathLetters() throws {
        var s = SegmentScript()
        s.handshake(client: 1000, server: 5000)
        s.client([.ack, .psh], seq: 1001, ack: 5001, length: 100)
        s.server(.ack, seq: 5001, ack: 1101)
        s.client([.ack, .psh], seq: 1001, ack: 5001, length: 100)  // retransmitted
        s.server([.ack, .psh], seq: 5001, ack: 1101, length: 50)
        s.client(.ack, seq: 1101, ack: 5051)
        s.server(.ack, seq: 5051, ack: 1301)  // acknowledges 200 octets never seen: a gap in the originator's stream
        s.client([.fin, .ack], seq: 1101, ack: 5051)
        s.server([.fin, .ack], seq: 5051, ack: 1102)
        s.client(.ack, seq: 1102, ack: 5052)
        let c = try #require(s.run().first)
        #expect(c.zeek.historyString == "ShADaTdGFf")
        #expect(c.zeek.connState == "SF")
    }
}
