import Testing
import WireFormat

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
}
