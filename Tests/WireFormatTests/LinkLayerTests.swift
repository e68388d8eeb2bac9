import TestSupport
import Testing
import WireFormat

@Suite("Link layers")
struct LinkLayerTests {
    @Test("Ethernet SYN decodes with its options")
    func ethernetSYNWithOptions() throws {
        let summary = try #require(tcpSummary(decode(ethernetSYN, .ethernet)))
        #expect(summary.source == IPAddress("192.168.1.10"))
        #expect(summary.destination == IPAddress("93.184.216.34"))
        #expect(summary.sourcePort == 40000)
        #expect(summary.destinationPort == 80)
        #expect(summary.sequenceNumber == SequenceNumber(1000))
        #expect(summary.flags == [.syn])
        #expect(summary.window == 64240)
        #expect(summary.ttl == 64)
        #expect(summary.ipID == 0x1c46)
        #expect(summary.payloadLength == 0)
        #expect(summary.options.mss == 1460)
        #expect(summary.options.sackPermitted)
        #expect(summary.options.hasTimestamps)
        #expect(summary.options.timestampValue == 1)
        #expect(summary.options.windowScale == 7)
        #expect(!summary.isTruncated)
    }

    @Test("Ethernet padding is not payload: the length comes from the IP header")
    func ethernetPadding() throws {
        let info = try withBytes(vlanPaddedACK) { bytes throws(DecodeError) in
            try LinkLayer.locateNetworkLayer(linkType: .ethernet, bytes: bytes)
        }
        #expect(info.network == .ipv4 && info.offset == 18 && info.vlanTags == 1)
        let summary = try #require(tcpSummary(decode(vlanPaddedACK, .ethernet)))
        #expect(summary.payloadLength == 0)
        #expect(summary.capturedPayloadLength == 0)
        #expect(summary.acknowledgmentNumber == SequenceNumber(5001))
        #expect(summary.flags == [.ack])
    }

    @Test("Linux cooked v1 RST")
    func sll() throws {
        let summary = try #require(tcpSummary(decode(sllRST, .linuxSLL)))
        #expect(summary.flags == [.rst, .ack])
        #expect(summary.sourcePort == 80)
        #expect(summary.window == 0)
    }

    @Test("Linux cooked v2 IPv6 FIN")
    func sll2() throws {
        let summary = try #require(tcpSummary(decode(sll2FIN, .linuxSLL2)))
        #expect(summary.flags == [.fin, .ack])
        #expect(summary.source == IPAddress("2001:db8::1"))
        #expect(summary.destinationPort == 443)
        #expect(summary.ipID == 0)
    }

    @Test("BSD NULL little-endian data segment")
    func nullLittleEndian() throws {
        let summary = try #require(tcpSummary(decode(nullLittleEndianData, .null)))
        #expect(summary.payloadLength == 5)
        #expect(summary.flags == [.psh, .ack])
    }

    @Test("BSD NULL in either byte order, IPv4 and IPv6", arguments: [false, true])
    func nullBothOrders(bigEndian: Bool) throws {
        for (src, dst) in [("198.18.0.1", "198.18.0.2"), ("2001:db8::1", "2001:db8::2")] {
            let frame = FrameBuilder.tcp(
                src: src, sport: 1, dst: dst, dport: 2, flags: [.syn], link: .null(bigEndian: bigEndian))
            let summary = try #require(tcpSummary(decode(frame, .null)))
            #expect(summary.source == IPAddress(src))
        }
    }

    @Test("NULL with an unknown address family is not IP")
    func nullUnknownFamily() {
        let frame: [UInt8] = [7, 0, 0, 0] + rawRST
        #expect(ignoredReason(decode(frame, .null)) == .notIP)
    }

    @Test("OpenBSD LOOP (network byte order) IPv6 SYN")
    func loop() throws {
        let summary = try #require(tcpSummary(decode(loopSYN6, .loop)))
        #expect(summary.options.mss == 1440)
        #expect(summary.destination == IPAddress("2001:db8::2"))
    }

    @Test("Raw IP under every raw link type value", arguments: [LinkType.raw, .rawOpenBSD, .linktypeRaw])
    func raw(linkType: LinkType) throws {
        let summary = try #require(tcpSummary(decode(rawRST, linkType)))
        #expect(summary.flags == [.rst, .ack])
        #expect(summary.acknowledgmentNumber == SequenceNumber(1001))
    }

    @Test("LINKTYPE_IPV4 / IPV6 carry one IP version each")
    func ipv4AndIPv6LinkTypes() throws {
        #expect(tcpSummary(decode(rawRST, .ipv4)) != nil)
        let v6 = FrameBuilder.tcp(src: "2001:db8::1", sport: 1, dst: "2001:db8::2", dport: 2, flags: [.ack], link: .raw)
        #expect(tcpSummary(decode(v6, .ipv6)) != nil)
        #expect(decodeError(decode(v6, .ipv4)) == .badVersion(6))
    }

    @Test("Raw IP with a version nibble that is neither 4 nor 6")
    func rawBadVersion() {
        var frame = rawRST
        frame[0] = 0x55
        #expect(decodeError(decode(frame, .raw)) == .badVersion(5))
        #expect(decodeError(decode([], .raw)) == .truncated(.ipv4, needed: 1, available: 0))
    }

    @Test("Stacked VLAN tags are crossed and counted")
    func vlanStack() throws {
        let tags: [FrameBuilder.VLANTag] = [.dot1ad(100), .dot1Q(10), FrameBuilder.VLANTag(tpid: 0x9100, id: 5)]
        let frame = FrameBuilder.tcp(
            src: "198.18.0.1", sport: 1, dst: "198.18.0.2", dport: 2, flags: [.syn], link: .ethernet(vlans: tags))
        let info = try withBytes(frame) { bytes throws(DecodeError) in
            try LinkLayer.locateNetworkLayer(linkType: .ethernet, bytes: bytes)
        }
        #expect(info.network == .ipv4 && info.offset == 26 && info.vlanTags == 3)
        #expect(tcpSummary(decode(frame, .ethernet)) != nil)
    }

    @Test("More than eight stacked tags are not followed")
    func tooManyVLANTags() {
        let tags = [FrameBuilder.VLANTag](repeating: .dot1Q(1), count: 9)
        let frame = FrameBuilder.tcp(
            src: "198.18.0.1", sport: 1, dst: "198.18.0.2", dport: 2, flags: [.syn], link: .ethernet(vlans: tags))
        #expect(ignoredReason(decode(frame, .ethernet)) == .notIP)
    }

    @Test("A VLAN tag cut off by the capture")
    func truncatedVLANTag() {
        let frame = Array(
            FrameBuilder.tcp(
                src: "198.18.0.1", sport: 1, dst: "198.18.0.2", dport: 2, flags: [.syn],
                link: .ethernet(vlans: [.dot1Q(1)])
            ).prefix(16))
        #expect(decodeError(decode(frame, .ethernet)) == .truncated(.vlan, needed: 18, available: 16))
    }

    @Test("MPLS label stacks, IPv4 and IPv6 payloads", arguments: [[16], [16, 17, 18]])
    func mpls(labels: [UInt32]) throws {
        for (src, dst) in [("198.18.0.1", "198.18.0.2"), ("2001:db8::1", "2001:db8::2")] {
            let frame = FrameBuilder.tcp(
                src: src, sport: 1, dst: dst, dport: 2, flags: [.rst], link: .mpls(labels: labels))
            let info = try withBytes(frame) { bytes throws(DecodeError) in
                try LinkLayer.locateNetworkLayer(linkType: .ethernet, bytes: bytes)
            }
            #expect(info.network == .ipByVersion)
            #expect(info.offset == 14 + 4 * labels.count)
            let summary = try #require(tcpSummary(decode(frame, .ethernet)))
            #expect(summary.destination == IPAddress(dst))
        }
    }

    @Test("An MPLS stack without a bottom-of-stack bit in 16 labels is not followed")
    func mplsWithoutBottom() {
        var frame: [UInt8] = [0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x88, 0x47]
        for _ in 0..<16 { frame += [0, 0x01, 0x00 & 0xfe, 64] }
        frame += rawRST
        #expect(ignoredReason(decode(frame, .ethernet)) == .notIP)
        #expect(decodeError(decode(Array(frame.prefix(20)), .ethernet)) == .truncated(.link, needed: 22, available: 20))
    }

    @Test("PPPoE sessions carrying IPv4 and IPv6")
    func pppoe() throws {
        for (src, dst) in [("198.18.0.1", "198.18.0.2"), ("2001:db8::1", "2001:db8::2")] {
            let frame = FrameBuilder.tcp(src: src, sport: 1, dst: dst, dport: 2, flags: [.syn, .ack], link: .pppoe)
            let summary = try #require(tcpSummary(decode(frame, .ethernet)))
            #expect(summary.source == IPAddress(src))
        }
        // PPP LCP (0xc021) is not IP.
        var lcp = FrameBuilder.tcp(
            src: "198.18.0.1", sport: 1, dst: "198.18.0.2", dport: 2, flags: [.syn], link: .pppoe)
        lcp[20] = 0xc0
        lcp[21] = 0x21
        #expect(ignoredReason(decode(lcp, .ethernet)) == .notIP)
    }

    @Test("ARP and 802.3 length fields are not IP")
    func notIP() {
        var arp = ethernetSYN
        arp[12] = 0x08
        arp[13] = 0x06
        #expect(ignoredReason(decode(arp, .ethernet)) == .notIP)
        var llc = ethernetSYN
        llc[12] = 0x00
        llc[13] = 0x40
        #expect(ignoredReason(decode(llc, .ethernet)) == .notIP)
    }

    @Test(
        "Unknown link types are undecodable, not fatal",
        arguments: [LinkType(rawValue: 147), LinkType(rawValue: 127), LinkType(rawValue: 0xFFFF_FFFF)])
    func unsupportedLinkType(linkType: LinkType) {
        #expect(!linkType.isSupported)
        #expect(decodeError(decode(ethernetSYN, linkType)) == .unsupportedLinkType(linkType))
        #expect(DecodeError.unsupportedLinkType(linkType).reasonName == "unsupported-link-type")
    }

    @Test(
        "Frames shorter than the link header",
        arguments: [
            (LinkType.ethernet, 14), (LinkType.linuxSLL, 16), (LinkType.linuxSLL2, 20), (LinkType.null, 4),
            (LinkType.loop, 4),
        ])
    func shortLinkHeader(linkType: LinkType, length: Int) {
        let frame = [UInt8](repeating: 0, count: length - 1)
        #expect(decodeError(decode(frame, linkType)) == .truncated(.link, needed: length, available: length - 1))
    }

    @Test("Every FrameBuilder link decodes a TCP segment")
    func everyBuilderLink() throws {
        let links: [FrameBuilder.Link] = [
            .ethernet(), .ethernet(vlans: [.dot1Q(3)], padded: true), .mpls(labels: [1]), .pppoe, .linuxSLL, .linuxSLL2,
            .null(), .null(bigEndian: true), .loop, .raw,
        ]
        for link in links {
            let frame = FrameBuilder.tcp(
                src: "198.18.0.1", sport: 40000, dst: "198.18.0.2", dport: 80, seq: 7, ack: 9, flags: [.ack],
                payload: 3,
                link: link)
            let summary = try #require(tcpSummary(decode(frame, link.linkType)), "\(link)")
            #expect(summary.payloadLength == 3, "\(link)")
            #expect(summary.sequenceNumber == SequenceNumber(7), "\(link)")
        }
    }

    @Test("Link type names")
    func linkTypeNames() {
        #expect(LinkType.ethernet.description == "EN10MB")
        #expect(LinkType.linuxSLL2.description == "LINUX_SLL2")
        #expect(LinkType(rawValue: 147).description == "DLT 147")
        #expect(LinkType.null.isSupported && LinkType.loop.isSupported && LinkType.ipv6.isSupported)
    }
}
