import Foundation
import Reporting
import TestSupport
import Testing
import WireFormat

@Suite("Formatting")
struct FormatTests {
    @Test("RFC 3339 timestamps, UTC with microseconds", arguments: [
        (Int64(0), "1970-01-01T00:00:00.000000Z"),
        (Int64(951_782_400) * 1_000_000_000 + 123_456_789, "2000-02-29T00:00:00.123456Z"),
        (Int64(1_795_247_486) * 1_000_000_000 + 999_999_999, "2026-11-21T07:51:26.999999Z"),
        (Int64(-1), "1969-12-31T23:59:59.999999Z"),
    ])
    func rfc3339(_ nanoseconds: Int64, _ expected: String) {
        #expect(Format.rfc3339(Timestamp(rawValue: nanoseconds)) == expected)
    }

    @Test("RFC 3339 agrees with Foundation's calendar on the date and time of day, 1678 to 2261")
    func rfc3339LikeFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var rng = SeededRandom(seed: 21)
        for _ in 0..<3000 {
            let ns = Int64(bitPattern: rng.next()) / 1_000_000_000 * 999_999_999 + Int64(rng.next() % 1_000_000_000)
            var seconds = ns / 1_000_000_000
            var nanos = ns % 1_000_000_000
            if nanos < 0 { nanos += 1_000_000_000; seconds -= 1 }
            // Whole seconds are exact in a Double here, so Foundation sees the same second.
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: Double(seconds)))
            func pad(_ n: Int, _ width: Int) -> String { String(repeating: "0", count: max(0, width - String(n).count)) + String(n) }
            let expected = "\(pad(c.year!, 4))-\(pad(c.month!, 2))-\(pad(c.day!, 2))T\(pad(c.hour!, 2)):\(pad(c.minute!, 2)):\(pad(c.second!, 2))."
                + pad(Int(nanos / 1000), 6) + "Z"
            #expect(Format.rfc3339(Timestamp(rawValue: ns)) == expected, "\(ns)")
        }
    }

    @Test("durations, sizes and JSON strings")
    func misc() {
        #expect(Format.duration(nanoseconds: 340_000_000) == "340 ms")
        #expect(Format.duration(nanoseconds: 2_500_000_000) == "2.5 s")
        #expect(Format.bytes(2000) == "2,000 bytes")
        #expect(Format.fixedSeconds(nanoseconds: 1_500_000) == "0.001500")
        #expect(Format.jsonString("a\"b\\\n\u{1}") == "\"a\\\"b\\\\\\n\\u0001\"")
    }
}
