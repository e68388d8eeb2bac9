import Testing
import TestSupport
import WireFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("IP addresses")
struct IPAddressTests {
    @Test("IPv4 parse and print", arguments: ["0.0.0.0", "255.255.255.255", "198.18.0.1", "10.0.0.255"])
    func ipv4RoundTrip(text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(!address.isIPv6)
        #expect(address.description == text)
    }

    @Test(
        "RFC 5952 canonical forms print back unchanged",
        arguments: [
            "::", "::1", "1::", "2001:db8::1", "2001:db8::1:0:0:1", "2001:db8:0:1:1:1:1:1", "fe80::1:2:3:4",
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1", "2001:0:0:1::1", "ff02::1:ff00:1", "::ffff:192.0.2.1",
        ])
    func canonicalRoundTrip(text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(address.isIPv6)
        #expect(address.description == text)
    }

    @Test(
        "Other spellings print in RFC 5952 form",
        arguments: [
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("2001:DB8::A", "2001:db8::a"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // §4.2.3: the first of equal runs
            ("2001:db8:0:0:0:1:0:0", "2001:db8::1:0:0"),  // §4.2.3: the longest run
            ("2001:db8::0:1", "2001:db8::1"),
            ("0:0:0:0:0:0:0:0", "::"),
            ("::ffff:c000:0201", "::ffff:192.0.2.1"),  // §5: IPv4-mapped in mixed notation
            ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
        ])
    func normalized(input: String, output: String) throws {
        let address = try #require(IPAddress(input))
        #expect(address.description == output)
        #expect(IPAddress(output) == address)
    }

    @Test(
        "Malformed text is rejected",
        arguments: [
            "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "1.2.3.-4", "+1.2.3.4", "1.2.3.+4", "1234.1.1.1",
            ":", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "g::1", "::+1", "::-0",
            "1.2.3.4::", "::1.2.3", "1:2:3:4:5:6:7::8:9", "2001:db8::1%eth0",
        ])
    func rejected(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test("Numeric constructors and ordering")
    func numeric() {
        let v4 = IPAddress(ipv4: 0xC612_0001)
        #expect(v4.description == "198.18.0.1")
        #expect(v4.ipv4Value == 0xC612_0001)
        let v6 = IPAddress(ipv6High: 0x2001_0db8_0000_0000, low: 1)
        #expect(v6.description == "2001:db8::1")
        #expect(v4.orders(before: v6))
        #expect(!v6.orders(before: v4))
        #expect(IPAddress(ipv4: 1).orders(before: IPAddress(ipv4: 2)))
        #expect(IPAddress(ipv6High: 0, low: 5).orders(before: IPAddress(ipv6High: 1, low: 0)))
        #expect(IPAddress(ipv4: 0) != IPAddress(ipv6High: 0, low: 0))
    }

    @Test("text equals the C library's inet_ntop for 20,000 random addresses with runs of zero groups")
    func matchesInetNtop() {
        var rng = SeededRandom(seed: 42)
        func ntop(_ family: Int32, _ bytes: [UInt8]) -> String {
            var out = [CChar](repeating: 0, count: 64)
            _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &out, socklen_t(out.count)) }
            return String(cString: out)
        }
        for _ in 0..<10_000 {
            let v4 = UInt32(truncatingIfNeeded: rng.next())
            let bytes4 = [UInt8(v4 >> 24), UInt8(v4 >> 16 & 0xff), UInt8(v4 >> 8 & 0xff), UInt8(v4 & 0xff)]
            #expect(IPAddress(ipv4: v4).description == ntop(AF_INET, bytes4))
            // Groups zeroed at random, so every run length and position of "::" comes up.
            var groups = (0..<8).map { _ in UInt16(truncatingIfNeeded: rng.next()) }
            let zeroMask = rng.next()
            for i in 0..<8 where zeroMask >> UInt64(i) & 3 != 0 { groups[i] = 0 }
            if rng.next() % 8 == 0 { groups = [0, 0, 0, 0, 0, 0xffff, groups[6], groups[7]] }
            let high = groups[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
            let low = groups[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
            // inet_ntop also prints IPv4-compatible addresses (::a.b.c.d, deprecated by RFC 4291) in mixed
            // notation; RFC 5952 does not, and neither does coroner.
            if high == 0 && low >> 32 == 0 && low >> 16 != 0 { continue }
            let bytes6 = groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
            #expect(IPAddress(ipv6High: high, low: low).description == ntop(AF_INET6, bytes6))
        }
    }
}
