import TestSupport
import Testing
import WireFormat

@Suite("IPv4")
struct IPv4PacketTests {
    let a = FrameBuilder.address("198.18.0.1")
    let b = FrameBuilder.address("198.18.0.2")

    func segment(payload: [UInt8] = [], flags: TCPFlags = [.ack]) -> [UInt8] {
        FrameBuilder.tcpHeader(
            source: a, destination: b, sport: 40000, dport: 80, seq: 1, ack: 1, flags: flags, payload: payload)
    }

    @Test("Header fields of a literal packet")
    func fields() throws {
        try withBytes(rawRST) { bytes throws(DecodeError) in
            let ip = try IPv4Packet(validating: bytes)
            #expect(ip.headerLength == 20)
            #expect(ip.payloadLength == 20)
            #expect(ip.source == IPAddress("93.184.216.34"))
            #expect(ip.destination == IPAddress("192.168.1.10"))
            #expect(ip.ttl == 64)
            #expect(ip.identification == 0x1c46)
            #expect(ip.protocolNumber == .tcp)
            #expect(ip.dontFragment && !ip.moreFragments && !ip.isFragment && ip.fragmentOffset == 0)
            #expect(!ip.hasOptions)
            #expect(ip.payload.count == 20)
        }
    }

    @Test("Options (IHL > 5) are skipped")
    func options() throws {
        let packet = FrameBuilder.ipv4(
            src: a, dst: b, protocolNumber: 6, payload: segment(payload: [1, 2, 3]),
            options: [0x94, 4, 0, 0, 1, 1, 1, 0])
        try withBytes(packet) { bytes throws(DecodeError) in
            let ip = try IPv4Packet(validating: bytes)
            #expect(ip.headerLength == 28)
            #expect(ip.hasOptions)
            #expect(ip.payloadLength == 23)
        }
        let summary = try #require(tcpSummary(decode(packet, .raw)))
        #expect(summary.payloadLength == 3)
    }

    @Test("Truncated and impossible headers")
    func impossible() {
        let good = FrameBuilder.ipv4(src: a, dst: b, protocolNumber: 6, payload: segment(), options: [1, 1, 1, 0])
        #expect(
            thrownError { () throws(DecodeError) in
                _ = try withBytes(Array(good.prefix(19))) { bytes throws(DecodeError) in
                    try IPv4Packet(validating: bytes)
                }
            } == .truncated(.ipv4, needed: 20, available: 19))
        // IHL 6 but only 22 bytes captured.
        #expect(
            thrownError { () throws(DecodeError) in
                _ = try withBytes(Array(good.prefix(22))) { bytes throws(DecodeError) in
                    try IPv4Packet(validating: bytes)
                }
            } == .truncated(.ipv4, needed: 24, available: 22))
        for ihl: UInt8 in 0..<5 {
            let bad = FrameBuilder.ipv4(
                src: a, dst: b, protocolNumber: 6, payload: segment(), headerLengthOverride: ihl)
            #expect(decodeError(decode(bad, .raw)) == .badHeaderLength(.ipv4, Int(ihl) * 4))
        }
        // Total length smaller than the header.
        let short = FrameBuilder.ipv4(src: a, dst: b, protocolNumber: 6, payload: segment(), totalLength: 19)
        #expect(decodeError(decode(short, .raw)) == .badHeaderLength(.ipv4, 19))
        var v5 = good
        v5[0] = 0x56
        #expect(decodeError(decode(v5, .ipv4)) == .badVersion(5))
    }

    @Test("Total length 0 (segmentation offload): the captured bytes count")
    func offloadTotalLengthZero() throws {
        let packet = FrameBuilder.ipv4(
            src: a, dst: b, protocolNumber: 6, payload: segment(payload: .init(repeating: 7, count: 3000)),
            totalLength: 0)
        let summary = try #require(tcpSummary(decode(packet, .raw)))
        #expect(summary.payloadLength == 3000)
        #expect(summary.capturedPayloadLength == 3000)
        #expect(!summary.isTruncated)
    }

    @Test("Total length larger than captured: payload length from the header, isTruncated")
    func snapLengthTruncated() throws {
        let full = FrameBuilder.frame(
            .ethernet(),
            FrameBuilder.ipv4(
                src: a, dst: b, protocolNumber: 6, payload: segment(payload: .init(repeating: 1, count: 1000))))
        let cut = Array(full.prefix(14 + 20 + 20 + 10))
        let summary = try #require(tcpSummary(decode(cut, .ethernet, wireLength: full.count)))
        #expect(summary.payloadLength == 1000)
        #expect(summary.capturedPayloadLength == 10)
        #expect(summary.isTruncated)
        // Same cut, but the capture claims nothing was lost: the IP length still wins.
        let claimed = try #require(tcpSummary(decode(cut, .ethernet)))
        #expect(claimed.isTruncated)
        // Headers only.
        let headers = try #require(tcpSummary(decode(Array(full.prefix(54)), .ethernet, wireLength: full.count)))
        #expect(headers.capturedPayloadLength == 0)
        #expect(headers.isTruncated)
    }

    @Test("First fragment is decoded and flagged; later fragments are ignored")
    func fragments() throws {
        let data = segment(payload: .init(repeating: 2, count: 100))
        let first = FrameBuilder.ipv4(
            src: a, dst: b, protocolNumber: 6, payload: Array(data.prefix(64)), dontFragment: false, moreFragments: true
        )
        let summary = try #require(tcpSummary(decode(first, .raw)))
        #expect(summary.isFragment)
        #expect(summary.payloadLength == 44)
        let later = FrameBuilder.ipv4(
            src: a, dst: b, protocolNumber: 6, payload: Array(data.dropFirst(64)), dontFragment: false,
            fragmentOffset: 64)
        #expect(ignoredReason(decode(later, .raw)) == .laterFragment)
        let last = FrameBuilder.ipv4(
            src: a, dst: b, protocolNumber: 6, payload: [1, 2, 3], dontFragment: false, moreFragments: true,
            fragmentOffset: 8)
        #expect(ignoredReason(decode(last, .raw)) == .laterFragment)
    }

    @Test("Not TCP: UDP, and ICMP that is not an error")
    func notTCP() {
        let udp = FrameBuilder.ipv4(src: a, dst: b, protocolNumber: 17, payload: [0, 53, 0, 53, 0, 8, 0, 0])
        #expect(ignoredReason(decode(udp, .raw)) == .notTCP)
        let echo = FrameBuilder.ipv4(src: a, dst: b, protocolNumber: 1, payload: [8, 0, 0, 0, 0, 1, 0, 1])
        #expect(ignoredReason(decode(echo, .raw)) == .notTCP)
    }

    @Test("TCP header longer than the IP payload is impossible")
    func tcpPastIPPayload() {
        // Data offset 15 (60 bytes) inside an IP packet that only holds 20 bytes of TCP.
        let tcp = FrameBuilder.tcpHeader(
            source: a, destination: b, sport: 1, dport: 2, seq: 0, ack: 0, flags: [.syn], dataOffsetOverride: 15)
        let packet = FrameBuilder.ipv4(src: a, dst: b, protocolNumber: 6, payload: tcp)
        #expect(decodeError(decode(packet, .raw)) == .badHeaderLength(.tcp, 60))
    }
}
