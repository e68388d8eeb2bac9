import ConnectionTracking
import TestSupport
import Testing
import WireFormat

/// `processHandingOver` and `finishAllHandingOver` hand each finished connection on where the tracker
/// kept it (`FinishedSlot`) instead of by value; the connections, their order and their contents must
/// be the same as `process(finished:)` and `finishAll(finished:)` give.
@Suite("Handing finished connections over in place")
struct HandOverTests {
    /// Sixty conversations two seconds apart, ending in turn gracefully, by a server RST, or not at all,
    /// so sweeps hand some on while packets come and the end of input hands on the rest.
    static func packets() -> [(summary: TCPPacketSummary, time: Timestamp)] {
        var all: [(summary: TCPPacketSummary, time: Timestamp)] = []
        for k in 0..<60 {
            var s = SegmentScript(clientPort: UInt16(40_000 + k),
                                  start: Timestamp(seconds: 1_800_000_000 + Int64(2 * k), nanoseconds: 0))
            s.handshake()
            s.client([.ack, .psh], seq: 1001, ack: 5001, length: UInt32(10 + k))
            s.server(.ack, seq: 5001, ack: 1001 + UInt32(10 + k))
            switch k % 3 {
            case 0:
                s.client([.fin, .ack], seq: 1001 + UInt32(10 + k), ack: 5001)
                s.server([.fin, .ack], seq: 5001, ack: 1002 + UInt32(10 + k))
                s.client(.ack, seq: 1002 + UInt32(10 + k), ack: 5002)
            case 1:
                s.server(.rst, seq: 5001)
            default:
                break  // still open at the end of input
            }
            all += s.packets
        }
        return all
    }

    /// What is compared of a connection: identity, ending and each side's counts and state.
    static func digest(_ c: Connection) -> String {
        "\(c.id) \(c.finishReason) \(c.clientSide.packets) \(c.serverSide.packets) \(c.clientSide.payloadBytes) "
            + "\(c.clientSide.state) \(c.serverSide.state) \(c.zeek.connState) \(c.zeek.historyString)"
    }

    static func byValue() -> [String] {
        var tracker = ConnectionTracker()
        var out: [String] = []
        for (i, p) in packets().enumerated() {
            tracker.process(p.summary, number: i + 1, time: p.time) { out.append(digest($0)) }
        }
        tracker.finishAll { out.append(digest($0)) }
        return out
    }

    @Test("the same connections, in the same order, as handing them on by value")
    func sameAsByValue() {
        let expected = Self.byValue()
        var tracker = ConnectionTracker()
        var out: [String] = []
        for (i, p) in Self.packets().enumerated() {
            tracker.processHandingOver(p.summary, hash: ConnectionTracker.flowHash(of: p.summary), number: i + 1,
                                       time: p.time) { (slot: consuming FinishedSlot) in
                // Read in place first, then moved out.
                let id = slot.connection.id
                let connection = slot.take()
                #expect(connection.id == id)
                out.append(Self.digest(connection))
            }
        }
        tracker.finishAllHandingOver { out.append(Self.digest($0.take())) }
        #expect(expected.count == 60)
        #expect(out == expected)
        // Handed on by sweeps while packets came (reset, closed) and by the end of input.
        #expect(Set(expected.map { $0.split(separator: " ")[1] }) == ["reset", "closed", "endOfInput"])
    }

    @Test("moved into other memory, or dropped unmoved and then destroyed")
    func movedOrDropped() {
        let expected = Self.byValue()
        var tracker = ConnectionTracker()
        let moved = UnsafeMutablePointer<Connection>.allocate(capacity: expected.count)
        defer { moved.deallocate() }
        var movedCount = 0
        var handedOver = 0
        var digests: [String?] = []
        func receive(_ slot: consuming FinishedSlot) {
            handedOver += 1
            if handedOver % 2 == 0 {
                // Dropped: its deinit destroys the connection, which releases its event list. A copy of
                // that list taken before is then the only owner, so changing it changes it in place.
                var events = slot.connection.events
                _ = consume slot
                let before = events.withUnsafeBufferPointer { $0.baseAddress }
                events[0] = events[0]
                #expect(events.withUnsafeBufferPointer { $0.baseAddress } == before)
                digests.append(nil)
            } else {
                slot.move(to: moved + movedCount)
                digests.append(Self.digest(moved[movedCount]))
                movedCount += 1
            }
        }
        for (i, p) in Self.packets().enumerated() {
            tracker.processHandingOver(p.summary, hash: ConnectionTracker.flowHash(of: p.summary), number: i + 1,
                                       time: p.time) { receive($0) }
        }
        tracker.finishAllHandingOver { receive($0) }
        #expect(handedOver == expected.count)
        for (i, digest) in digests.enumerated() where digest != nil {
            #expect(digest == expected[i])
        }
        moved.deinitialize(count: movedCount)
    }
}
