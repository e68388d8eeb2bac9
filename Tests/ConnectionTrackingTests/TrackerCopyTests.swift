import ConnectionTracking
import TestSupport
import Testing
import WireFormat

/// The tracker is a value: its slots are reached through pointers into storage shared between
/// copies, so a copy that changes must first get storage of its own (`SlotTable.makeUnique`).
@Suite("ConnectionTracker is a value")
struct TrackerCopyTests {
    @Test("a copy and the original go on independently, through packets, sweeps and the end of input")
    func copiesAreIndependent() throws {
        var s = SegmentScript()
        s.handshake()
        s.client([.ack, .psh], seq: 1001, ack: 5001, length: 100)
        var original = ConnectionTracker()
        for (i, p) in s.packets.enumerated() {
            original.process(p.summary, number: i + 1, time: p.time) { _ in }
        }
        var copy = original
        // The copy sees the server reset the connection; the original sees it acknowledge the data.
        var reset = s
        reset.server(.rst, seq: 5001)
        var acked = s
        acked.server(.ack, seq: 5001, ack: 1101)
        var finishedCopy: [Connection] = []
        copy.process(reset.packets.last!.summary, number: 5, time: reset.packets.last!.time) { finishedCopy.append($0) }
        var finishedOriginal: [Connection] = []
        original.process(acked.packets.last!.summary, number: 5, time: acked.packets.last!.time) {
            finishedOriginal.append($0)
        }
        // Time passes for the copy only: its reset connection is handed on after the linger.
        copy.advance(to: reset.now.advanced(byNanoseconds: 10_000_000_000)) { finishedCopy.append($0) }
        #expect(finishedCopy.count == 1)
        #expect(finishedOriginal.isEmpty)
        #expect(original.activeCount == 1)
        #expect(copy.activeCount == 0)

        copy.finishAll { finishedCopy.append($0) }
        original.finishAll { finishedOriginal.append($0) }
        let fromCopy = try #require(finishedCopy.first)
        let fromOriginal = try #require(finishedOriginal.first)
        #expect(fromCopy.serverSide.state == .reset)
        #expect(fromOriginal.serverSide.state != .reset)
        #expect(fromOriginal.finishReason == .endOfInput)
        #expect(fromOriginal.serverSide.acknowledgedPeerBytes == 100)
        #expect(fromCopy.serverSide.acknowledgedPeerBytes == 0)
    }
}
