import Testing
import WireFormat

@Suite("Sequence numbers and timestamps")
struct SequenceNumberTests {
    @Test("Distance across the 2^32 wrap")
    func wraparound() {
        let before = SequenceNumber(0xFFFF_FFF0)
        let after = SequenceNumber(0x10)
        #expect(before.distance(to: after) == 0x20)
        #expect(after.distance(to: before) == -0x20)
        #expect(before.isBefore(after))
        #expect(after.isAfter(before))
        #expect(!after.isBefore(before))
        #expect(before.advanced(by: 0x20) == after)
        #expect(SequenceNumber(UInt32.max).advanced(by: 1) == SequenceNumber(0))
        #expect(SequenceNumber(5).advanced(by: UInt32.max) == SequenceNumber(4))
    }

    @Test("Extremes never trap", arguments: [UInt32(0), 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF])
    func extremes(raw: UInt32) {
        let number = SequenceNumber(raw)
        for other: UInt32 in [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0x8000_0001, 0xFFFF_FFFF] {
            let distance = number.distance(to: SequenceNumber(other))
            #expect(SequenceNumber(other).distance(to: number) == distance &* -1)
            #expect(number.advanced(by: UInt32(bitPattern: distance)) == SequenceNumber(other))
        }
        // Exactly 2^31 apart: undefined order, but a value and no trap.
        #expect(number.distance(to: number.advanced(by: 0x8000_0000)) == Int32.min)
        #expect(number.distance(to: number) == 0)
        #expect(!number.isBefore(number) && !number.isAfter(number))
        #expect(number.description == String(raw))
    }

    @Test("Timestamps are integer nanoseconds; differences saturate")
    func timestamps() {
        let a = Timestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789)
        #expect(a.rawValue == 1_700_000_000_123_456_789)
        let b = a.advanced(byNanoseconds: 1_500_000_000)
        #expect(a.nanoseconds(to: b) == 1_500_000_000)
        #expect(b.nanoseconds(to: a) == -1_500_000_000)
        #expect(a.seconds(to: b) == 1.5)
        #expect(a < b)
        #expect(Timestamp(rawValue: .min).nanoseconds(to: Timestamp(rawValue: .max)) == .max)
        #expect(Timestamp(rawValue: .max).nanoseconds(to: Timestamp(rawValue: .min)) == .min)
        #expect(Duration64.milliseconds(250).seconds == 0.25)
        #expect(Duration64.seconds(2) > Duration64.milliseconds(1999))
    }
}
