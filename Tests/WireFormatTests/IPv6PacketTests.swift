import TestSupport
import Testing
import WireFormat

@Suite("IPv6 and extension headers")
struct IPv6PacketTests {
    let a = FrameBuilder.address("2001:db8::1")
    let b = FrameBuilder.address("2001:db8::2")

    func segment(payload: [UInt8] = [], flags: TCPFlags = [.ack]) -> [UInt8] {
        FrameBuilder.tcpHeader(
            source: a, destination: b, sport: 40000, dport: 443, seq: 10, ack: 20, flags: flags, payload: payload)
    }

    @Test("Header fields of a literal packet")
    func fields() throws {
        try withBytes(Array(sll2FIN.dropFirst(20))) { bytes throws(DecodeError) in
            let ip = try IPv6Packet(validating: bytes)
            #expect(ip.source == IPAddress("2001:db8::1"))
            #expect(ip.destination == IPAddress("2001:db8::2"))
            #expect(ip.hopLimit == 64)
            #expect(ip.flowLabel == 0)
            #expect(ip.upperLayerProtocol == .tcp)
            #expect(ip.upperLayerOffset == 40)
            #expect(ip.upperLayerLength == 20)
            #expect(ip.extensionHeaderCount == 0)
            #expect(!ip.isFragment && !ip.isLaterFragment)
        }
    }

    @Test("Extension chain: hop-by-hop, routing, fragment, destination options")
    func extensionChain() throws {
        let packet = FrameBuilder.ipv6(
            src: a, dst: b, nextHeader: 6, payload: segment(payload: [9, 9]),
            extensions: [.hopByHop(), .routing(length: 2), .fragment(), .destinationOptions(length: 1)])
        try withBytes(packet) { bytes throws(DecodeError) in
            let ip = try IPv6Packet(validating: bytes)
            #expect(ip.extensionHeaderCount == 4)
            #expect(ip.upperLayerOffset == 40 + 8 + 24 + 8 + 16)
            #expect(ip.upperLayerProtocol == .tcp)
            #expect(ip.upperLayerLength == 22)
            #expect(ip.isFragment && !ip.isLaterFragment)
        }
        let summary = try #require(tcpSummary(decode(packet, .raw)))
        #expect(summary.payloadLength == 2)
        #expect(summary.isFragment)
    }

    @Test("Authentication header length is in 4-octet units (RFC 4302)")
    func authenticationHeader() throws {
        // AH: next header, payload length (units of 4 minus 2), reserved, SPI, sequence, 4 bytes of ICV = 16 bytes.
        let ah: [UInt8] = [6, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd]
        let packet = FrameBuilder.ipv6(src: a, dst: b, nextHeader: 51, payload: ah + segment())
        try withBytes(packet) { bytes throws(DecodeError) in
            let ip = try IPv6Packet(validating: bytes)
            #expect(ip.upperLayerOffset == 56)
            #expect(ip.upperLayerProtocol == .tcp)
        }
    }

    @Test("A later fragment is ignored")
    func laterFragment() {
        let packet = FrameBuilder.ipv6(
            src: a, dst: b, nextHeader: 6, payload: [UInt8](repeating: 0x41, count: 64),
            extensions: [.fragment(offset: 1448, moreFragments: false)])
        #expect(ignoredReason(decode(packet, .raw)) == .laterFragment)
    }

    @Test("A later fragment whose chain continues after the fragment header is still just a later fragment")
    func laterFragmentWithFollowingExtension() {
        // RFC 8200 §4.5: the fragment header's Next Header names the first header of the fragmentable part,
        // which only the first fragment carries. The bytes after it here are payload, not a header: the
        // 0xff "length" byte must not be read as one.
        let packet = FrameBuilder.ipv6(
            src: a, dst: b, nextHeader: 60, payload: [0x06, 0xff] + [UInt8](repeating: 0, count: 30),
            extensions: [.fragment(offset: 1448)])
        #expect(ignoredReason(decode(packet, .raw)) == .laterFragment)
    }

    @Test("Payload length smaller than the extension headers is impossible")
    func payloadLengthTooSmall() {
        let packet = FrameBuilder.ipv6(
            src: a, dst: b, nextHeader: 6, payload: segment(), extensions: [.hopByHop(length: 1)], payloadLength: 8)
        #expect(decodeError(decode(packet, .raw)) == .badHeaderLength(.ipv6, 8))
    }

    @Test("Payload length shorter than the TCP header: the TCP view sees only what the IP header allows")
    func payloadLengthShorterThanTCP() {
        let packet = FrameBuilder.ipv6(src: a, dst: b, nextHeader: 6, payload: segment(), payloadLength: 12)
        #expect(decodeError(decode(packet, .raw)) == .truncated(.tcp, needed: 20, available: 12))
    }

    @Test("Sixty extension headers are refused, not walked")
    func sixtyExtensionHeaders() {
        let chain = [FrameBuilder.IPv6Extension](repeating: .destinationOptions(), count: 60)
        let packet = FrameBuilder.ipv6(src: a, dst: b, nextHeader: 6, payload: segment(), extensions: chain)
        #expect(
            decodeError(decode(packet, .raw)) == .badHeaderLength(.ipv6Extension, IPv6Packet.maximumExtensionHeaders))
    }

    @Test("Extension headers cut off by the capture")
    func truncatedExtension() {
        let packet = FrameBuilder.ipv6(
            src: a, dst: b, nextHeader: 6, payload: segment(), extensions: [.hopByHop(length: 3)])
        #expect(
            decodeError(decode(Array(packet.prefix(41)), .raw)) == .truncated(.ipv6Extension, needed: 42, available: 41)
        )
        #expect(
            decodeError(decode(Array(packet.prefix(50)), .raw)) == .truncated(.ipv6Extension, needed: 72, available: 50)
        )
        let fragment = FrameBuilder.ipv6(src: a, dst: b, nextHeader: 6, payload: segment(), extensions: [.fragment()])
        #expect(
            decodeError(decode(Array(fragment.prefix(44)), .raw))
                == .truncated(.ipv6Extension, needed: 48, available: 44))
        #expect(decodeError(decode(Array(fragment.prefix(39)), .raw)) == .truncated(.ipv6, needed: 40, available: 39))
    }

    @Test("Payload length 0 (jumbogram or offload): the captured bytes count")
    func payloadLengthZero() throws {
        let packet = FrameBuilder.ipv6(
            src: a, dst: b, nextHeader: 6, payload: segment(payload: [1, 2, 3, 4]), payloadLength: 0)
        let summary = try #require(tcpSummary(decode(packet, .raw)))
        #expect(summary.payloadLength == 4)
    }

    @Test("ESP, UDP and no-next-header are not TCP", arguments: [UInt8(50), 17, 59])
    func notTCP(nextHeader: UInt8) {
        let packet = FrameBuilder.ipv6(
            src: a, dst: b, nextHeader: nextHeader, payload: [UInt8](repeating: 0, count: 16))
        #expect(ignoredReason(decode(packet, .raw)) == .notTCP)
    }

    @Test("Snap-length cut: headers usable, isTruncated")
    func snapLength() throws {
        let full = FrameBuilder.ipv6(
            src: a, dst: b, nextHeader: 6, payload: segment(payload: .init(repeating: 5, count: 500)))
        let summary = try #require(tcpSummary(decode(Array(full.prefix(70)), .raw, wireLength: full.count)))
        #expect(summary.payloadLength == 500)
        #expect(summary.capturedPayloadLength == 10)
        #expect(summary.isTruncated)
    }
}
