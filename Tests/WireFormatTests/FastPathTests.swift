import TestSupport
import Testing

@testable import WireFormat

// `PacketDecoder.decode` tries a fast path for Ethernet → IPv4/IPv6 → TCP and falls back to the
// general path. The general path is the reference: whenever the fast path answers, its summary must
// be the general path's, field for field, and whatever it declines goes to the general path. These
// tests run both on frames the fast path must take, frames it must decline, and damaged variants.

/// Frames around the fast path's edges, in addition to the robustness frames (fixtures and literals).
let fastPathEdgeFrames: [FixtureFrame] = {
    let a = FrameBuilder.address("198.18.0.1")
    let b = FrameBuilder.address("198.18.0.2")
    let a6 = FrameBuilder.address("2001:db8::1")
    let b6 = FrameBuilder.address("2001:db8::2")
    let data = FrameBuilder.tcpHeader(
        source: a, destination: b, sport: 40000, dport: 80, seq: 7, ack: 9, flags: [.ack, .psh],
        payload: Array(repeating: 0x41, count: 30))
    let syn = FrameBuilder.tcpHeader(
        source: a, destination: b, sport: 40000, dport: 80, seq: 7, ack: 0, flags: [.syn],
        options: Fixtures.synOptions)
    let data6 = FrameBuilder.tcpHeader(
        source: a6, destination: b6, sport: 40000, dport: 443, seq: 7, ack: 9, flags: [.ack],
        payload: Array(repeating: 0x42, count: 25))
    let ethernet = FrameBuilder.Link.ethernet()
    func v4(_ name: String, _ segment: [UInt8], protocolNumber: UInt8 = 6, options: [UInt8] = [],
            moreFragments: Bool = false, fragmentOffset: Int = 0, totalLength: UInt16? = nil,
            link: FrameBuilder.Link = ethernet) -> FixtureFrame {
        FixtureFrame(name: name, linkType: link.linkType, bytes: FrameBuilder.frame(link, FrameBuilder.ipv4(
            src: a, dst: b, protocolNumber: protocolNumber, payload: segment, options: options,
            moreFragments: moreFragments, fragmentOffset: fragmentOffset, totalLength: totalLength)))
    }
    func v6(_ name: String, _ segment: [UInt8], nextHeader: UInt8 = 6, extensions: [FrameBuilder.IPv6Extension] = [],
            payloadLength: UInt16? = nil) -> FixtureFrame {
        FixtureFrame(name: name, linkType: .ethernet, bytes: FrameBuilder.frame(ethernet, FrameBuilder.ipv6(
            src: a6, dst: b6, nextHeader: nextHeader, payload: segment, extensions: extensions,
            payloadLength: payloadLength)))
    }
    let badOffset = FrameBuilder.tcpHeader(
        source: a, destination: b, sport: 1, dport: 2, seq: 3, ack: 4, flags: [.ack], payload: [1, 2, 3, 4],
        dataOffsetOverride: 4)
    let longOffset = FrameBuilder.tcpHeader(
        source: a, destination: b, sport: 1, dport: 2, seq: 3, ack: 4, flags: [.syn], payload: [1, 2, 3, 4],
        dataOffsetOverride: 15)
    return [
        v4("v4 data", data), v4("v4 syn", syn), v6("v6 data", data6),
        FixtureFrame(name: "v4 padded ack", linkType: .ethernet, bytes: FrameBuilder.tcp(
            src: "198.18.0.1", sport: 1, dst: "198.18.0.2", dport: 2, flags: [.ack], link: .ethernet(padded: true))),
        v4("v4 offload total 0", data, totalLength: 0), v4("v4 total below tcp", data, totalLength: 30),
        v4("v4 total below ip", data, totalLength: 10), v4("v4 total beyond capture", data, totalLength: 1400),
        v4("v4 first fragment", data, moreFragments: true), v4("v4 later fragment", data, fragmentOffset: 1480),
        v4("v4 options", syn, options: [0x94, 0x04, 0, 0]), v4("v4 udp", data, protocolNumber: 17),
        v4("v4 data offset 4", badOffset), v4("v4 data offset 15", longOffset),
        v4("v4 vlan", data, link: .ethernet(vlans: [.dot1Q(7)])), v4("v4 sll", data, link: .linuxSLL),
        v6("v6 offload length 0", data6, payloadLength: 0), v6("v6 length beyond capture", data6, payloadLength: 900),
        v6("v6 length below tcp", data6, payloadLength: 12), v6("v6 fragment header", data6, extensions: [.fragment()]),
        v6("v6 hop-by-hop", data6, extensions: [.hopByHop()]), v6("v6 udp", data6, nextHeader: 17),
    ]
}()

let fastPathFrames = robustnessFrames + fastPathEdgeFrames

@Suite("Decoder fast path: same summaries as the general path")
struct FastPathTests {
    /// A summary with no field at its default or at a value the test frames decode to, as a slot
    /// holding an older packet's summary.
    static let stale: TCPPacketSummary = {
        var options = TCPOptionsSummary()
        options.mss = 9
        options.windowScale = 9
        options.sackPermitted = true
        options.sackBlockCount = 9
        options.firstSACKBlock = (SequenceNumber(rawValue: 9), SequenceNumber(rawValue: 9))
        options.hasTimestamps = true
        options.timestampValue = 9
        options.timestampEcho = 9
        options.fastOpenCookieLength = 9
        options.isMalformed = true
        options.isTruncated = true
        return TCPPacketSummary(
            source: IPAddress(ipv6High: 9, low: 9), destination: IPAddress(ipv6High: 9, low: 9), sourcePort: 9,
            destinationPort: 9, sequenceNumber: SequenceNumber(rawValue: 9), acknowledgmentNumber: SequenceNumber(rawValue: 9),
            flags: [.urg, .ece, .cwr], window: 9, payloadLength: 99_999, capturedPayloadLength: 99_999, ttl: 9, ipID: 9,
            options: options, isTruncated: true, isFragment: true)
    }()

    /// Runs both paths on `bytes`; records an issue when they disagree. Returns whether the fast path answered.
    @discardableResult
    func compare(_ bytes: [UInt8], _ linkType: LinkType, wireLength: Int, _ name: String,
                 sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        bytes.withUnsafeBytes { buffer in
            let general = PacketDecoder.decodeGeneral(linkType: linkType, bytes: buffer, wireLength: wireLength)
            let decoded = PacketDecoder.decode(linkType: linkType, bytes: buffer, wireLength: wireLength)
            #expect(
                String(describing: decoded) == String(describing: general), "\(name)", sourceLocation: sourceLocation)
            // In place: every field of a summary holding another packet's values is overwritten, or none.
            var inPlace = Self.stale
            let taken = PacketDecoder.fastTCP(linkType: linkType, bytes: buffer, wireLength: wireLength, into: &inPlace)
            guard let fast = PacketDecoder.fastTCP(linkType: linkType, bytes: buffer, wireLength: wireLength) else {
                #expect(!taken && inPlace == Self.stale, "\(name)", sourceLocation: sourceLocation)
                return false
            }
            #expect(taken && inPlace == fast, "\(name)", sourceLocation: sourceLocation)
            if case .tcp(let expected) = general {
                #expect(fast == expected, "\(name)", sourceLocation: sourceLocation)
            } else {
                Issue.record("\(name): fast path made a TCP summary, general path says \(general)",
                             sourceLocation: sourceLocation)
            }
            return true
        }
    }

    @Test("Ethernet → IPv4/IPv6 without options or extension headers → TCP takes the fast path")
    func takes() {
        let names = [
            "v4 data", "v4 syn", "v6 data", "v4 padded ack", "v4 offload total 0", "v4 total beyond capture",
            "v4 first fragment", "v6 offload length 0", "v6 length beyond capture", "ethernet v4 syn",
            "ethernet v6 data",
        ]
        for frame in fastPathFrames where names.contains(frame.name) {
            #expect(compare(frame.bytes, frame.linkType, wireLength: frame.bytes.count, frame.name), "\(frame.name)")
        }
        // The SYN's options are parsed on the fast path too.
        let syn = fastPathEdgeFrames.first { $0.name == "v4 syn" }!
        let summary = syn.bytes.withUnsafeBytes {
            PacketDecoder.fastTCP(linkType: .ethernet, bytes: $0, wireLength: syn.bytes.count)
        }
        #expect(summary?.options.mss == 1460)
        #expect(summary?.options.windowScale == 7)
    }

    @Test("Other framing, IPv4 options, fragments, extension headers, non-TCP and damage are declined")
    func declines() {
        let names = [
            "v4 total below tcp", "v4 total below ip", "v4 later fragment", "v4 options", "v4 udp",
            "v4 data offset 4", "v4 data offset 15", "v4 vlan", "v4 sll", "v6 length below tcp",
            "v6 fragment header", "v6 hop-by-hop", "v6 udp", "vlan v4 syn", "sll v6 data", "raw v4 syn",
            "v6 extension chain", "icmp host unreachable", "icmpv6 admin prohibited", "v4 options + sack + tfo",
        ]
        for frame in fastPathFrames where names.contains(frame.name) {
            #expect(!compare(frame.bytes, frame.linkType, wireLength: frame.bytes.count, frame.name), "\(frame.name)")
        }
    }

    @Test("Every prefix, cut by the snap length or claiming to be whole", arguments: fastPathFrames)
    func prefixes(frame: FixtureFrame) {
        for length in 0...frame.bytes.count {
            let prefix = Array(frame.bytes.prefix(length))
            for wireLength in [frame.bytes.count, length] {
                compare(prefix, frame.linkType, wireLength: wireLength, "\(frame.name) cut to \(length)")
            }
        }
    }

    @Test("Seeded random byte flips in the headers", arguments: fastPathFrames)
    func flips(frame: FixtureFrame) {
        var random = SeededRandom(seed: 0xFA57 ^ UInt64(frame.bytes.count))
        let headers = min(frame.bytes.count, 94)  // Ethernet + IPv6 + TCP with 20 bytes of options
        var taken = 0
        for _ in 0..<2_000 {
            var bytes = frame.bytes
            for _ in 0..<(1 + Int(random.next() % 3)) {
                bytes[Int(random.next() % UInt64(headers))] = UInt8(truncatingIfNeeded: random.next())
            }
            let cut = bytes.count - Int(random.next() % 8)
            if compare(Array(bytes.prefix(cut)), frame.linkType, wireLength: bytes.count, "\(frame.name) flipped") {
                taken += 1
            }
        }
        // Frames the fast path takes mostly stay on it after a flip (most bytes are addresses, ports, ...).
        let plain = frame.bytes.withUnsafeBytes {
            PacketDecoder.fastTCP(linkType: frame.linkType, bytes: $0, wireLength: frame.bytes.count) != nil
        }
        if plain { #expect(taken > 0) }
    }

    /// The SYN options' fast layout against the option-by-option parse, on one set of option bytes.
    /// Returns whether the fast layout was recognised.
    @discardableResult
    func compareOptions(_ bytes: [UInt8], truncated: Bool, _ name: String,
                        sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        bytes.withUnsafeBytes { buffer in
            let parsed = TCPOptionsSummary(parsing: buffer, truncated: truncated)
            let each = TCPOptionsSummary(parsingEach: buffer, truncated: truncated)
            #expect(parsed == each, "\(name)", sourceLocation: sourceLocation)
            guard bytes.count == TCPOptionsSummary.linuxSYNLength, let base = buffer.baseAddress,
                  var fast = TCPOptionsSummary.linuxSYN(base) else { return false }
            fast.isTruncated = truncated
            #expect(fast == each, "\(name)", sourceLocation: sourceLocation)
            return true
        }
    }

    @Test("SYN options in Linux's layout: the fast layout is the option-by-option parse")
    func linuxSYNOptions() {
        var random = SeededRandom(seed: 0x5157)
        var taken = 0
        for _ in 0..<2_000 {
            let options: [FrameBuilder.TCPOption] = [
                .mss(UInt16(truncatingIfNeeded: random.next())), .sackPermitted,
                .timestamps(value: UInt32(truncatingIfNeeded: random.next()), echo: UInt32(truncatingIfNeeded: random.next())),
                .noOperation, .windowScale(UInt8(truncatingIfNeeded: random.next())),
            ]
            let header = FrameBuilder.tcpHeader(
                source: FrameBuilder.address("198.18.0.1"), destination: FrameBuilder.address("198.18.0.2"),
                sport: 1, dport: 2, seq: 3, ack: 0, flags: [.syn], options: options)
            let bytes = Array(header.dropFirst(TCPSegment.minimumHeaderLength))
            #expect(bytes.count == TCPOptionsSummary.linuxSYNLength)
            for truncated in [false, true] {
                if compareOptions(bytes, truncated: truncated, "linux syn") { taken += 1 }
                // Cut short, or followed by more options: other lengths take the general parse.
                compareOptions(Array(bytes.prefix(Int(random.next() % 20))), truncated: truncated, "linux syn cut")
                compareOptions(bytes + [1, 1, 1, 0], truncated: truncated, "linux syn and more")
            }
            // A flipped byte, kind and length bytes included, is recognised only when the layout survives.
            var flipped = bytes
            flipped[Int(random.next() % 20)] = UInt8(truncatingIfNeeded: random.next())
            compareOptions(flipped, truncated: false, "linux syn flipped")
        }
        #expect(taken == 4_000)
        // Every single kind or length byte changed by one: never the fast layout.
        let layout: [UInt8] = [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]
        #expect(compareOptions(layout, truncated: false, "layout"))
        for index in [0, 1, 4, 5, 6, 7, 16, 17, 18] {
            for delta: UInt8 in [1, 255] {
                var bytes = layout
                bytes[index] &+= delta
                #expect(!compareOptions(bytes, truncated: false, "kind/length byte \(index) changed"))
            }
        }
    }
}
