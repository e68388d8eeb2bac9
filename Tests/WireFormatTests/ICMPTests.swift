import TestSupport
import Testing
import WireFormat

@Suite("ICMP and ICMPv6 errors quoting TCP")
struct ICMPTests {
    let client = FrameBuilder.address("198.18.0.1")
    let server = FrameBuilder.address("198.18.0.2")
    let client6 = FrameBuilder.address("2001:db8::1")
    let server6 = FrameBuilder.address("2001:db8::2")

    var quotedSYN: [UInt8] {
        FrameBuilder.ipv4(
            src: client, dst: server, protocolNumber: 6,
            payload: FrameBuilder.tcpHeader(
                source: client, destination: server, sport: 40000, dport: 80, seq: 123_456, ack: 0, flags: [.syn],
                options: [.mss(1460)]))
    }

    @Test("Host unreachable quoting the first 8 bytes of TCP (RFC 792 minimum)")
    func hostUnreachable() throws {
        let frame = FrameBuilder.icmpError(
            reporter: "198.18.0.254", recipient: "198.18.0.1", type: 3, code: 1, quoting: quotedSYN, quoteLength: 28)
        let summary = try #require(icmpSummary(decode(frame, .ethernet)))
        #expect(summary.reporter == IPAddress("198.18.0.254"))
        #expect(summary.recipient == client)
        #expect(!summary.isICMPv6)
        #expect(summary.quotedSource == client)
        #expect(summary.quotedDestination == server)
        #expect(summary.quotedSourcePort == 40000)
        #expect(summary.quotedDestinationPort == 80)
        #expect(summary.quotedSequenceNumber == SequenceNumber(123_456))
        #expect(summary.kindName == "host-unreachable")
        #expect(summary.likelyErrno == "EHOSTUNREACH")
    }

    @Test(
        "ICMP error kinds",
        arguments: [
            (UInt8(3), UInt8(0), "net-unreachable", "ENETUNREACH"), (3, 3, "port-unreachable", "ECONNREFUSED"),
            (3, 13, "admin-prohibited", "EHOSTUNREACH"), (3, 4, "fragmentation-needed", "EHOSTUNREACH"),
            (11, 0, "ttl-exceeded", "EHOSTUNREACH"), (12, 0, "parameter-problem", "EHOSTUNREACH"),
            (4, 0, "source-quench", "EHOSTUNREACH"), (5, 1, "icmp-5-1", "EHOSTUNREACH"),
        ])
    func kinds(type: UInt8, code: UInt8, name: String, errno: String) throws {
        let frame = FrameBuilder.icmpError(
            reporter: "198.18.0.254", recipient: "198.18.0.1", type: type, code: code, quoting: quotedSYN)
        let summary = try #require(icmpSummary(decode(frame, .ethernet)))
        #expect(summary.kindName == name)
        #expect(summary.likelyErrno == errno)
    }

    @Test(
        "ICMPv6 errors quoting TCP",
        arguments: [
            (UInt8(1), UInt8(0), "no-route"), (1, 1, "admin-prohibited"), (1, 3, "host-unreachable"),
            (1, 4, "port-unreachable"),
            (2, 0, "packet-too-big"), (3, 0, "hop-limit-exceeded"), (4, 0, "parameter-problem"),
        ])
    func icmpv6(type: UInt8, code: UInt8, name: String) throws {
        let quoted = FrameBuilder.ipv6(
            src: client6, dst: server6, nextHeader: 6,
            payload: FrameBuilder.tcpHeader(
                source: client6, destination: server6, sport: 50000, dport: 443, seq: 77, ack: 0, flags: [.syn]))
        let frame = FrameBuilder.icmpError(
            reporter: "2001:db8::fe", recipient: "2001:db8::1", type: type, code: code, quoting: quoted,
            link: .linuxSLL2)
        let summary = try #require(icmpSummary(decode(frame, .linuxSLL2)))
        #expect(summary.isICMPv6)
        #expect(summary.kindName == name)
        #expect(summary.quotedSourcePort == 50000)
        #expect(summary.quotedDestination == server6)
        #expect(summary.quotedSequenceNumber == SequenceNumber(77))
    }

    @Test("Quotes too short, of UDP, or with a bad version are not TCP errors")
    func unusableQuotes() {
        let short = FrameBuilder.icmpError(
            reporter: "198.18.0.254", recipient: "198.18.0.1", type: 3, code: 1, quoting: quotedSYN, quoteLength: 27)
        #expect(ignoredReason(decode(short, .ethernet)) == .notTCP)
        let udp = FrameBuilder.ipv4(src: client, dst: server, protocolNumber: 17, payload: [0, 53, 0, 53, 0, 8, 0, 0])
        let udpError = FrameBuilder.icmpError(
            reporter: "198.18.0.254", recipient: "198.18.0.1", type: 3, code: 3, quoting: udp)
        #expect(ignoredReason(decode(udpError, .ethernet)) == .notTCP)
        var badVersion = quotedSYN
        badVersion[0] = 0x75
        let odd = FrameBuilder.icmpError(
            reporter: "198.18.0.254", recipient: "198.18.0.1", type: 3, code: 1, quoting: badVersion)
        #expect(ignoredReason(decode(odd, .ethernet)) == .notTCP)
        var badIHL = quotedSYN
        badIHL[0] = 0x43
        let ihl = FrameBuilder.icmpError(
            reporter: "198.18.0.254", recipient: "198.18.0.1", type: 3, code: 1, quoting: badIHL)
        #expect(ignoredReason(decode(ihl, .ethernet)) == .notTCP)
        let v6Short = FrameBuilder.icmpError(
            reporter: "2001:db8::fe", recipient: "2001:db8::1", type: 1, code: 4,
            quoting: FrameBuilder.ipv6(
                src: client6, dst: server6, nextHeader: 6, payload: [UInt8](repeating: 0, count: 20)), quoteLength: 47)
        #expect(ignoredReason(decode(v6Short, .ethernet)) == .notTCP)
        let empty = FrameBuilder.icmpError(
            reporter: "198.18.0.254", recipient: "198.18.0.1", type: 3, code: 1, quoting: [])
        #expect(ignoredReason(decode(empty, .ethernet)) == .notTCP)
    }

    @Test("Echo requests and neighbour discovery are not errors")
    func informational() {
        let echo6 = FrameBuilder.icmpError(
            reporter: "2001:db8::1", recipient: "2001:db8::2", type: 128, code: 0, quoting: quotedSYN)
        #expect(ignoredReason(decode(echo6, .ethernet)) == .notTCP)
        let ns = FrameBuilder.icmpError(
            reporter: "2001:db8::1", recipient: "2001:db8::2", type: 135, code: 0, quoting: [])
        #expect(ignoredReason(decode(ns, .ethernet)) == .notTCP)
    }
}
