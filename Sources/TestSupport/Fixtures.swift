// Named sample frames covering every link type and header view, for robustness tests (every prefix,
// random byte flips) and as building blocks for capture-file fixtures.

import WireFormat

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One sample frame and the link type it is framed for.
public struct FixtureFrame: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var linkType: LinkType
    public var bytes: [UInt8]
    public init(name: String, linkType: LinkType, bytes: [UInt8]) {
        self.name = name
        self.linkType = linkType
        self.bytes = bytes
    }
    public var description: String { name }
}

public enum Fixtures {
    static let v4a = "198.18.0.1"
    static let v4b = "198.18.0.2"
    static let v6a = "2001:db8::1"
    static let v6b = "2001:db8::2"

    static func make(_ name: String, _ link: FrameBuilder.Link, _ bytes: [UInt8]) -> FixtureFrame {
        FixtureFrame(name: name, linkType: link.linkType, bytes: bytes)
    }

    /// A SYN with the usual Linux options (MSS, SACK-permitted, timestamps, window scale).
    public static let synOptions: [FrameBuilder.TCPOption] = [
        .mss(1460), .sackPermitted, .timestamps(value: 1, echo: 0), .noOperation, .windowScale(7),
    ]

    /// Frames for every link type, both IP versions, options, extension headers and ICMP errors.
    public static let frames: [FixtureFrame] = {
        var out: [FixtureFrame] = []
        let links: [(String, FrameBuilder.Link)] = [
            ("ethernet", .ethernet()), ("vlan", .ethernet(vlans: [.dot1Q(10)])),
            ("qinq", .ethernet(vlans: [.dot1ad(100), .dot1Q(10)])), ("mpls", .mpls(labels: [16, 17])),
            ("pppoe", .pppoe), ("sll", .linuxSLL), ("sll2", .linuxSLL2), ("null-le", .null(bigEndian: false)),
            ("null-be", .null(bigEndian: true)), ("loop", .loop), ("raw", .raw),
        ]
        for (name, link) in links {
            out.append(
                make(
                    "\(name) v4 syn", link,
                    FrameBuilder.tcp(
                        src: v4a, sport: 40000, dst: v4b, dport: 80, seq: 1000, flags: [.syn], options: synOptions,
                        link: link)))
            out.append(
                make(
                    "\(name) v6 data", link,
                    FrameBuilder.tcp(
                        src: v6a, sport: 40000, dst: v6b, dport: 443, seq: 5000, ack: 7000, flags: [.ack, .psh],
                        payload: 12,
                        link: link)))
        }
        let a = FrameBuilder.address(v4a)
        let b = FrameBuilder.address(v4b)
        let a6 = FrameBuilder.address(v6a)
        let b6 = FrameBuilder.address(v6b)
        let segment = FrameBuilder.tcpHeader(
            source: a, destination: b, sport: 40000, dport: 80, seq: 1, ack: 2, flags: [.ack],
            options: [.sack([.init(10, 20), .init(30, 40)]), .fastOpen(cookie: [1, 2, 3, 4, 5, 6, 7, 8])],
            payload: [1, 2, 3])
        out.append(
            make(
                "v4 options + sack + tfo", .ethernet(),
                FrameBuilder.frame(
                    .ethernet(),
                    FrameBuilder.ipv4(
                        src: a, dst: b, protocolNumber: 6, payload: segment, options: [0x94, 0x04, 0, 0]))))
        out.append(
            make(
                "v4 first fragment", .ethernet(),
                FrameBuilder.frame(
                    .ethernet(),
                    FrameBuilder.ipv4(
                        src: a, dst: b, protocolNumber: 6, payload: segment, moreFragments: true))))
        let segment6 = FrameBuilder.tcpHeader(
            source: a6, destination: b6, sport: 40000, dport: 80, seq: 1, ack: 2, flags: [.rst, .ack])
        out.append(
            make(
                "v6 extension chain", .ethernet(),
                FrameBuilder.frame(
                    .ethernet(),
                    FrameBuilder.ipv6(
                        src: a6, dst: b6, nextHeader: 6, payload: segment6,
                        extensions: [.hopByHop(), .routing(length: 1), .fragment(), .destinationOptions()]))))
        let quoted4 = FrameBuilder.ipv4(src: a, dst: b, protocolNumber: 6, payload: segment)
        out.append(
            make(
                "icmp host unreachable", .ethernet(),
                FrameBuilder.icmpError(
                    reporter: "198.18.0.254", recipient: v4a, type: 3, code: 1, quoting: quoted4, quoteLength: 28)))
        let quoted6 = FrameBuilder.ipv6(src: a6, dst: b6, nextHeader: 6, payload: segment6)
        out.append(
            make(
                "icmpv6 admin prohibited", .ethernet(),
                FrameBuilder.icmpError(
                    reporter: "2001:db8::fe", recipient: v6a, type: 1, code: 1, quoting: quoted6)))
        return out
    }()

    /// A fresh path in the test process's scratch folder (the file does not exist yet; the folder is
    /// removed when the process exits).
    public static func temporaryPath(_ name: String) -> String {
        TestScratch.path(name)
    }
}
