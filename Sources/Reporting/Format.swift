import WireFormat

/// Number, time and text formatting shared by the renderers. Deterministic, locale-free.
public enum Format {
    /// "2,000" style grouping.
    public static func grouped(_ n: UInt64) -> String { text { $0.grouped(n) } }

    /// "1 byte", "2,000 bytes", "48.8 KB", "12.0 MB".
    public static func bytes(_ n: UInt64) -> String { text { $0.bytes(n) } }

    /// "14.0" style, rounded to tenths.
    public static func oneDecimal(_ x: Double) -> String { text { $0.oneDecimal(x) } }

    /// A duration for people: "340 ms", "2.5 s", "4 min 10 s".
    public static func duration(nanoseconds ns: Int64) -> String { text { $0.duration(nanoseconds: ns) } }

    /// The text a `NumberText` writes.
    static func text(_ write: (inout NumberText) -> Void) -> String {
        String(unsafeUninitializedCapacity: NumberText.maximumLength) { buffer in
            var out = NumberText(buffer.baseAddress!)
            write(&out)
            return out.count
        }
    }

    /// Seconds with fixed precision for machine output ("2.500000").
    public static func fixedSeconds(nanoseconds ns: Int64) -> String {
        var out = JSONWriter(capacity: 32)
        out.fixedSeconds(nanoseconds: ns)
        return out.text
    }

    /// RFC 3339 UTC with microseconds: "2026-11-21T07:51:26.123456Z". Fills 27 bytes directly (it runs
    /// for every timestamp in every report).
    public static func rfc3339(_ t: Timestamp) -> String {
        String(unsafeUninitializedCapacity: 27) { buffer in
            rfc3339(t, into: buffer.baseAddress!)
            return 27
        }
    }

    /// Writes the 27 bytes of `rfc3339(t)` at `out`: the date (10 bytes), then "T" and the time.
    static func rfc3339(_ t: Timestamp, into out: UnsafeMutablePointer<UInt8>) {
        let (days, second, nanoseconds) = civilParts(t)
        date(days: days, into: out)
        time(second: second, nanoseconds: nanoseconds, into: out + 10)
    }

    /// Days since 1970-01-01, the second of that day and the nanoseconds of that second (floored, so
    /// times before 1970 count back from the day's start).
    @inline(__always)
    static func civilParts(_ t: Timestamp) -> (days: Int64, second: Int64, nanoseconds: Int64) {
        let ns = t.rawValue
        var seconds = ns / 1_000_000_000
        var nanos = ns % 1_000_000_000
        if nanos < 0 { nanos += 1_000_000_000; seconds -= 1 }
        var days = seconds / 86_400
        var rem = seconds % 86_400
        if rem < 0 { rem += 86_400; days -= 1 }
        return (days, rem, nanos)
    }

    /// Writes "YYYY-MM-DD" (10 bytes) for `days` since 1970-01-01. Nanoseconds in an Int64 span the
    /// years 1677 to 2262, so the year always has four digits.
    static func date(days: Int64, into out: UnsafeMutablePointer<UInt8>) {
        // Civil date from days since 1970-01-01 (proleptic Gregorian).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        var year = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        if month <= 2 { year += 1 }
        DecimalDigits.writePair(year / 100, to: out)
        DecimalDigits.writePair(year % 100, to: out + 2)
        out[4] = 45  // -
        DecimalDigits.writePair(month, to: out + 5)
        out[7] = 45
        DecimalDigits.writePair(day, to: out + 8)
    }

    /// Writes "Thh:mm:ss.uuuuuuZ" (17 bytes) for a second of the day and the nanoseconds into it.
    @inline(__always)
    static func time(second: Int64, nanoseconds: Int64, into out: UnsafeMutablePointer<UInt8>) {
        out[0] = 84  // T
        DecimalDigits.writePair(second / 3600, to: out + 1)
        out[3] = 58  // :
        DecimalDigits.writePair(second / 60 % 60, to: out + 4)
        out[6] = 58
        DecimalDigits.writePair(second % 60, to: out + 7)
        out[9] = 46  // .
        DecimalDigits.writeSix(nanoseconds / 1000, to: out + 10)
        out[16] = 90  // Z
    }

    /// JSON string literal with escapes (`"`, `\\`, `\n`, `\r`, `\t`, other controls as `\u00XX`):
    /// `JSONWriter.string`, the one implementation.
    public static func jsonString(_ s: String) -> String {
        var out = JSONWriter(capacity: s.utf8.count + 8)
        out.string(s)
        return out.text
    }
}

/// Numbers for people, written as bytes: the one definition of `Format.grouped`, `bytes`,
/// `oneDecimal` and `duration`, which `Sentence` interpolates in place and JSON uses for `rtt_ms`.
struct NumberText {
    /// Room enough for any of them (a duration of `Int64.max` is "2562047 h 47 min").
    static let maximumLength = 48
    private let base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0

    /// Writes at `base`, which has room for `maximumLength` bytes.
    init(_ base: UnsafeMutablePointer<UInt8>) { self.base = base }

    private mutating func put(_ s: StaticString) {
        s.withUTF8Buffer { for byte in $0 { base[count] = byte; count &+= 1 } }
    }

    private mutating func put<T: BinaryInteger>(_ n: T) { count &+= DecimalDigits.write(n, to: base + count) }

    mutating func grouped(_ n: UInt64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: DecimalDigits.maximumLength) { digits in
            let length = DecimalDigits.write(n, to: digits.baseAddress!)
            for i in 0..<length {
                if i > 0 && (length - i) % 3 == 0 { put(",") }
                base[count] = digits[i]
                count &+= 1
            }
        }
    }

    mutating func bytes(_ n: UInt64) {
        if n == 1 {
            put("1 byte")
        } else if n < 10_000 {
            grouped(n)
            put(" bytes")
        } else if n < 10_000_000 {
            oneDecimal(Double(n) / 1024)
            put(" KB")
        } else {
            oneDecimal(Double(n) / 1_048_576)
            put(" MB")
        }
    }

    mutating func oneDecimal(_ x: Double) {
        let tenths = Int64((x * 10).rounded())
        put(tenths / 10)
        put(".")
        base[count] = 0x30 &+ UInt8(truncatingIfNeeded: (tenths % 10).magnitude)
        count &+= 1
    }

    mutating func duration(nanoseconds ns: Int64) {
        let ms = Double(ns) / 1e6
        if ms < 1 { oneDecimal(ms * 1000); return put(" µs") }
        if ms < 1000 {
            if ms < 10 { oneDecimal(ms) } else { put(Int64(ms.rounded())) }
            return put(" ms")
        }
        let s = ms / 1000
        if s < 120 { oneDecimal(s); return put(" s") }
        let total = Int64(s.rounded())
        if total < 7200 {
            put(total / 60)
            put(" min ")
            put(total % 60)
            return put(" s")
        }
        put(total / 3600)
        put(" h ")
        put(total % 3600 / 60)
        put(" min")
    }
}
