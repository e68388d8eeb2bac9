import Foundation
@testable import Reporting
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

    /// The String-built formatting these replaced, kept as the oracle for the byte writers.
    enum Oracle {
        static func grouped(_ n: UInt64) -> String {
            let digits = String(n)
            var out = ""
            for (i, c) in digits.enumerated() {
                if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
                out.append(c)
            }
            return out
        }
        static func oneDecimal(_ x: Double) -> String {
            let tenths = Int64((x * 10).rounded())
            return "\(tenths / 10).\(abs(tenths % 10))"
        }
        static func bytes(_ n: UInt64) -> String {
            n == 1 ? "1 byte" : n < 10_000 ? "\(grouped(n)) bytes" : n < 10_000_000 ? "\(oneDecimal(Double(n) / 1024)) KB" : "\(oneDecimal(Double(n) / 1_048_576)) MB"
        }
        static func duration(nanoseconds ns: Int64) -> String {
            let ms = Double(ns) / 1e6
            if ms < 1 { return "\(oneDecimal(ms * 1000)) µs" }
            if ms < 1000 { return ms < 10 ? "\(oneDecimal(ms)) ms" : "\(Int64(ms.rounded())) ms" }
            let s = ms / 1000
            if s < 120 { return "\(oneDecimal(s)) s" }
            let total = Int64(s.rounded())
            if total < 7200 { return "\(total / 60) min \(total % 60) s" }
            return "\(total / 3600) h \(total % 3600 / 60) min"
        }
    }

    @Test("numbers for people are written as the String formatting they replaced wrote them, at every scale")
    func numbersLikeOracle() {
        var rng = SeededRandom(seed: 17)
        var counts: [UInt64] = [0, 1, 2, 999, 1000, 9999, 10_000, 10_239, 10_240, 999_999, 9_999_999, 10_000_000, UInt64.max]
        var durations: [Int64] = [0, 1, 999, 1000, 999_999, 1_000_000, 9_949_999, 9_950_000, 999_499_999, 119_949_999_999,
                                  120_000_000_000, 7_199_499_999_999, 7_200_000_000_000, Int64.max, -1, -1_500_000_000]
        for _ in 0..<3000 {
            counts.append(rng.next() >> (rng.next() % 64))
            durations.append(Int64(bitPattern: rng.next()) >> Int64(rng.next() % 64))
        }
        for n in counts {
            #expect(Format.grouped(n) == Oracle.grouped(n), "\(n)")
            #expect(Format.bytes(n) == Oracle.bytes(n), "\(n)")
        }
        for ns in durations {
            #expect(Format.duration(nanoseconds: ns) == Oracle.duration(nanoseconds: ns), "\(ns)")
        }
        let n = UInt64(12_345)
        let s: Sentence = "\(grouped: n), \(bytes: n), \(duration: 2_500_000_000)"
        #expect(s.string == "12,345, 12.1 KB, 2.5 s")
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
