import WireFormat

/// Number, time and text formatting shared by the renderers. Deterministic, locale-free.
public enum Format {
    /// "2,000" style grouping.
    public static func grouped(_ n: UInt64) -> String {
        let digits = String(n)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }

    public static func bytes(_ n: UInt64) -> String {
        n == 1 ? "1 byte" : n < 10_000 ? "\(grouped(n)) bytes" : n < 10_000_000 ? "\(oneDecimal(Double(n) / 1024)) KB" : "\(oneDecimal(Double(n) / 1_048_576)) MB"
    }

    /// "14.0" style, rounded to tenths (written by `JSONWriter.oneDecimal`, which JSON uses in place).
    public static func oneDecimal(_ x: Double) -> String {
        var out = JSONWriter(capacity: 32)
        out.oneDecimal(x)
        return out.text
    }

    /// A duration for people: "340 ms", "2.5 s", "4 min 10 s".
    public static func duration(nanoseconds ns: Int64) -> String {
        let ms = Double(ns) / 1e6
        if ms < 1 { return "\(oneDecimal(ms * 1000)) µs" }
        if ms < 1000 { return ms < 10 ? "\(oneDecimal(ms)) ms" : "\(Int64(ms.rounded())) ms" }
        let s = ms / 1000
        if s < 120 { return "\(oneDecimal(s)) s" }
        let total = Int64(s.rounded())
        if total < 7200 { return "\(total / 60) min \(total % 60) s" }
        return "\(total / 3600) h \(total % 3600 / 60) min"
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
        let micros = nanoseconds / 1000
        DecimalDigits.writePair(micros / 10_000, to: out + 10)
        DecimalDigits.writePair(micros / 100 % 100, to: out + 12)
        DecimalDigits.writePair(micros % 100, to: out + 14)
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
