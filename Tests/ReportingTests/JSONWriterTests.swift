@testable import Reporting
import TestSupport
import Testing
import WireFormat

@Suite("JSONWriter: the streaming JSON bytes")
struct JSONWriterTests {
    /// JSON escaping spelled out scalar by scalar, independently of JSONWriter (which Format.jsonString uses).
    static func escaped(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    @Test("strings are escaped exactly as JSON wants, at every position in the 8-byte scan")
    func escapesLikeFormat() {
        var rng = SeededRandom(seed: 3)
        // Plain text, every character that needs an escape, DEL, and multi-byte UTF-8.
        let alphabet: [Character] = Array("abc XYZ09.:") + ["\"", "\\", "\n", "\r", "\t", "\u{1}", "\u{1F}", "\u{7F}",
                                                              "é", "→", "🙂", "\u{0}"]
        for length in 0..<40 {
            for _ in 0..<50 {
                let s = String((0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
                var out = JSONWriter(capacity: 8)  // small, so growth is exercised too
                out.string(s)
                #expect(out.text == Self.escaped(s), "\(Array(s.utf8))")
            }
        }
    }

    @Test("one character needing an escape is found at every position of plain text (the whole-string word scan, its overlapping last word, short strings padded)")
    func singleEscapeAnywhere() {
        for length in 1..<26 {
            for position in 0..<length {
                for special: Character in ["\"", "\\", "\n", "\u{0}", "\u{1F}"] {
                    var letters = Array(repeating: Character("a"), count: length)
                    letters[position] = special
                    let s = String(letters)
                    var out = JSONWriter(capacity: 8)
                    out.string(s)
                    #expect(out.text == Self.escaped(s), "\(Array(s.utf8))")
                }
            }
            let plain = String(repeating: "z", count: length)
            var out = JSONWriter(capacity: 8)
            out.string(plain)
            #expect(out.text == "\"" + plain + "\"")
        }
    }

    @Test("integers print as their description, including the extremes")
    func integers() {
        var out = JSONWriter(capacity: 8)
        let values: [Int] = [0, 7, -7, 10, 99, 100, 12_345, Int.max, Int.min + 1, -1_000_000]
        for (i, v) in values.enumerated() {
            if i > 0 { out.raw(",") }
            out.int(v)
        }
        out.int(UInt64.max)
        #expect(out.text == values.map(String.init).joined(separator: ",") + "\(UInt64.max)")
    }

    @Test("integers around every power of ten print as their description")
    func integersAtPowersOfTen() {
        var values: [UInt64] = [0, UInt64.max, UInt64.max - 1]
        var power: UInt64 = 1
        for _ in 0..<20 {
            values += [power - 1, power, power + 1]
            if power > UInt64.max / 10 { break }
            power *= 10
        }
        for v in values {
            var out = JSONWriter(capacity: 8)
            out.int(v)
            if v <= UInt64(Int64.max) { out.raw(" "); out.int(-Int64(v)) }
            #expect(out.text == "\(v)" + (v <= UInt64(Int64.max) ? " \(-Int64(v))" : ""), "\(v)")
        }
    }

    @Test("timestamps are written in place exactly as Format.rfc3339 formats them, and seconds with six decimals, from Int64.min to Int64.max")
    func timesLikeFormat() {
        var rng = SeededRandom(seed: 9)
        var values: [Int64] = [0, -1, 1, 499, 500, 999, -999_999_999, 2_500_000_000, Int64.max, Int64.min + 1, Int64.min]
        for _ in 0..<2000 { values.append(Int64(bitPattern: rng.next()) >> Int64(rng.next() % 40)) }
        /// Seconds rounded to microseconds, spelled out independently of JSONWriter (which Format.fixedSeconds uses).
        func sixDecimals(_ ns: Int64) -> String {
            let micros = (ns.magnitude + 500) / 1000
            let fraction = String(micros % 1_000_000)
            return (ns < 0 ? "-" : "") + "\(micros / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
        }
        for v in values {
            var out = JSONWriter(capacity: 8)
            out.timestamp(Timestamp(rawValue: v))
            out.raw(" ")
            out.fixedSeconds(nanoseconds: v)
            #expect(out.text == Self.escaped(Format.rfc3339(Timestamp(rawValue: v))) + " " + sixDecimals(v), "\(v)")
        }
        #expect(Format.fixedSeconds(nanoseconds: 499) == "0.000000" && Format.fixedSeconds(nanoseconds: 500) == "0.000001")
        #expect(Format.fixedSeconds(nanoseconds: -1_500_000) == "-0.001500")
    }

    @Test("addresses are written in place exactly as their description, quoted")
    func addresses() {
        var rng = SeededRandom(seed: 5)
        var addresses: [IPAddress] = ["0.0.0.0", "255.255.255.255", "10.0.0.1", "::", "::1", "2001:db8::1", "::ffff:1.2.3.4",
                                      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "1:0:0:1:0:0:0:1"].compactMap { IPAddress($0) }
        #expect(addresses.count == 9)
        for _ in 0..<500 {
            addresses.append(IPAddress(ipv4: UInt32(truncatingIfNeeded: rng.next())))
            // Zero groups are common in real IPv6 addresses, so some groups are zeroed.
            let mask = rng.next() | rng.next()
            addresses.append(IPAddress(ipv6High: rng.next() & mask, low: rng.next() & (mask >> 7)))
        }
        for ip in addresses {
            var out = JSONWriter(capacity: 8)
            out.address(ip)
            #expect(out.text == "\"" + ip.description + "\"")
        }
    }

    @Test("IPv4 addresses (the octet-table path) are written as IPAddress.writeText writes them, every octet value in every position")
    func ipv4EveryOctet() {
        for position in [24, 16, 8, 0] as [UInt32] {
            for octet in 0...255 as ClosedRange<UInt32> {
                // The other octets vary too (one digit, two, three), so each length meets each other.
                let others: UInt32 = position == 0 ? 0x0A_63_FF_00 : 0x07_2D_C8_09 & ~(0xff << position)
                let ip = IPAddress(ipv4: others | octet << position)
                var general = [UInt8](repeating: 0, count: IPAddress.maximumTextLength)
                let length = general.withUnsafeMutableBufferPointer { ip.writeText(to: $0.baseAddress!) }
                var out = JSONWriter(capacity: 8)
                out.address(ip)
                #expect(out.text == "\"" + String(decoding: general[..<length], as: UTF8.self) + "\"", "\(ip)")
            }
        }
    }

    @Test("timestamps in a row reuse the day's date only while the day is the same (same day, next day, back, before 1970)")
    func timestampsInARow() {
        let day: Int64 = 86_400 * 1_000_000_000
        var rng = SeededRandom(seed: 11)
        var values: [Int64] = [0, 1, day - 1, day, day - 1, -1, -day, -day - 1, 20_000 * day + 5, 20_000 * day + day / 2]
        var t: Int64 = 20_454 * day
        for _ in 0..<3000 {
            t += Int64(rng.next() % 3_000_000_000_000) - 1_000_000_000_000  // up to 50 minutes on, or 16 back
            values.append(t)
        }
        var out = JSONWriter(capacity: 8)
        var expected = ""
        for v in values {
            out.timestamp(Timestamp(rawValue: v))
            expected += "\"" + Format.rfc3339(Timestamp(rawValue: v)) + "\""
        }
        #expect(out.text == expected)
    }

    @Test("one decimal is written as String interpolation of the rounded tenths spells it")
    func oneDecimal() {
        var rng = SeededRandom(seed: 13)
        var values: [Double] = [0, 0.04, 0.05, 0.06, -0.04, -0.05, -0.5, -1.25, 9.95, 14, 1e6 + 0.05, 123_456.789]
        for _ in 0..<2000 { values.append(Double(Int64(bitPattern: rng.next()) >> 20) / 1000) }
        for x in values {
            let tenths = Int64((x * 10).rounded())
            let expected = "\(tenths / 10).\(abs(tenths % 10))"
            var out = JSONWriter(capacity: 8)
            out.oneDecimal(x)
            #expect(out.text == expected, "\(x)")
            #expect(Format.oneDecimal(x) == expected, "\(x)")
        }
    }

    @Test("a key and its value in one piece write what the key then the value write, for keys of every length up to 40 bytes")
    func keyThenValue() {
        var rng = SeededRandom(seed: 17)
        // Keys of 0 to 40 bytes: Bytes.copy takes a different path below 4, 8, 16 and 32 bytes.
        let keys: [StaticString] = [
            "", "}", "},", "}, ", "}, \"", "}, \"p", "}, \"pa", "}, \"pay", "}, \"payl", "}, \"paylo", "}, \"payloa",
            "}, \"payload", "}, \"payload_", "}, \"payload_b", "}, \"payload_by", "}, \"payload_byt",
            "}, \"payload_byte", "}, \"payload_bytes", "}, \"payload_bytes\"", "}, \"payload_bytes\":",
            "}, \"payload_bytes\": ", "}, \"payload_bytes\": {", "}, \"payload_bytes\": {\"",
            "}, \"payload_bytes\": {\"c", "}, \"payload_bytes\": {\"cl", "}, \"payload_bytes\": {\"cli",
            "}, \"payload_bytes\": {\"clie", "}, \"payload_bytes\": {\"clien", "}, \"payload_bytes\": {\"client",
            "}, \"payload_bytes\": {\"client\"", "}, \"payload_bytes\": {\"client\":",
            "}, \"payload_bytes\": {\"client\": ", "}, \"payload_bytes\": {\"client\": 0",
            "}, \"payload_bytes\": {\"client\": 01", "}, \"payload_bytes\": {\"client\": 012",
            "}, \"payload_bytes\": {\"client\": 0123", "}, \"payload_bytes\": {\"client\": 01234",
            "}, \"payload_bytes\": {\"client\": 012345", "}, \"payload_bytes\": {\"client\": 0123456",
            "}, \"payload_bytes\": {\"client\": 01234567", "}, \"payload_bytes\": {\"client\": 012345678",
        ]
        for key in keys {
            let length = key.utf8CodeUnitCount
            let ns = Int64(bitPattern: rng.next()) >> Int64(rng.next() % 40)
            let n = Int(bitPattern: UInt(rng.next())) >> Int(rng.next() % 60)
            let ip = IPAddress(ipv4: UInt32(truncatingIfNeeded: rng.next()))
            var pieces = JSONWriter(capacity: 8), pairs = JSONWriter(capacity: 8)  // small, so growth is exercised too
            pieces.raw(key); pieces.int(n)
            pairs.int(n, after: key)
            pieces.raw(key); pieces.int(UInt64.max)
            pairs.int(UInt64.max, after: key)
            pieces.raw(key); pieces.timestamp(Timestamp(rawValue: ns))
            pairs.timestamp(Timestamp(rawValue: ns), after: key)
            pieces.raw(key); pieces.fixedSeconds(nanoseconds: ns)
            pairs.fixedSeconds(nanoseconds: ns, after: key)
            pieces.raw(key); pieces.fixedSeconds(nanoseconds: Int64.min)
            pairs.fixedSeconds(nanoseconds: Int64.min, after: key)
            pieces.raw(key); pieces.address(ip)
            pairs.address(ip, after: key)
            pieces.raw(key); pieces.name("graceful_close")
            pairs.name("graceful_close", after: key)
            pieces.raw(key); pieces.nameOrNull(nil)
            pairs.nameOrNull(nil, after: key)
            #expect(pairs.text == pieces.text, "key of \(length) bytes")
            let keyText = key.description
            #expect(pairs.text.hasPrefix(keyText + "\(n)" + keyText + "18446744073709551615" + keyText + "\""), "key of \(length) bytes")
        }
    }
}
