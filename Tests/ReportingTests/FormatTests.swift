import Reporting
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

    @Test("durations, sizes and JSON strings")
    func misc() {
        #expect(Format.duration(nanoseconds: 340_000_000) == "340 ms")
        #expect(Format.duration(nanoseconds: 2_500_000_000) == "2.5 s")
        #expect(Format.bytes(2000) == "2,000 bytes")
        #expect(Format.fixedSeconds(nanoseconds: 1_500_000) == "0.001500")
        #expect(Format.jsonString("a\"b\\\n\u{1}") == "\"a\\\"b\\\\\\n\\u0001\"")
    }
}
