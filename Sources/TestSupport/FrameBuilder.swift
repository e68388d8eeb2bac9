// Builds real frame bytes for tests: link framing (Ethernet with VLAN tags, MPLS, PPPoE, Linux
// cooked v1/v2, BSD NULL/LOOP, raw IP), IPv4 with options and fragments, IPv6 with extension-header
// chains, TCP with options, and ICMP/ICMPv6 errors quoting a packet. Checksums are computed (IPv4
// header, TCP, ICMP, ICMPv6) so tshark shows the frames as clean unless a test breaks them on purpose.
//
// Test helper: bad arguments (an unparsable address literal) are programmer errors and trap.

import WireFormat

/// Makes frame bytes for tests.
///
/// ```swift
/// let syn = FrameBuilder.tcp(
///     src: "198.18.0.1", sport: 40000, dst: "198.18.0.2", dport: 80, seq: 1000, flags: [.syn],
///     options: [.mss(1460), .sackPermitted, .windowScale(7)], link: .ethernet(vlans: [.dot1Q(10)]))
/// ```
public enum FrameBuilder {
    /// The framing in front of the IP packet.
    public enum Link: Sendable, Hashable {
        /// Ethernet II with optional stacked VLAN tags (outermost first); `padded` pads to 60 bytes.
        case ethernet(vlans: [VLANTag] = [], padded: Bool = false)
        /// Ethernet carrying an MPLS label stack (bottom-of-stack set on the last label).
        case mpls(labels: [UInt32])
        /// Ethernet carrying a PPPoE session (RFC 2516) with PPP protocol 0x0021 / 0x0057.
        case pppoe
        /// Linux cooked capture v1 (16-byte header).
        case linuxSLL
        /// Linux cooked capture v2 (20-byte header).
        case linuxSLL2
        /// BSD loopback: 4-byte address family in the capturing host's byte order.
        case null(bigEndian: Bool = false)
        /// OpenBSD loopback: 4-byte address family in network byte order.
        case loop
        /// No framing: the IP header starts at byte 0 (`LinkType.raw`).
        case raw

        /// The link type a capture of such frames declares.
        public var linkType: LinkType {
            switch self {
            case .ethernet, .mpls, .pppoe: .ethernet
            case .linuxSLL: .linuxSLL
            case .linuxSLL2: .linuxSLL2
            case .null: .null
            case .loop: .loop
            case .raw: .raw
            }
        }
    }

    /// One 802.1Q / 802.1ad tag.
    public struct VLANTag: Sendable, Hashable {
        public var tpid: UInt16
        public var id: UInt16
        public init(tpid: UInt16, id: UInt16) {
            self.tpid = tpid
            self.id = id
        }
        /// A customer tag (TPID 0x8100).
        public static func dot1Q(_ id: UInt16) -> VLANTag { VLANTag(tpid: 0x8100, id: id) }
        /// A service tag (TPID 0x88A8).
        public static func dot1ad(_ id: UInt16) -> VLANTag { VLANTag(tpid: 0x88A8, id: id) }
    }

    /// A TCP option as it goes on the wire.
    public enum TCPOption: Sendable, Hashable {
        case end
        case noOperation
        case mss(UInt16)
        case windowScale(UInt8)
        case sackPermitted
        /// SACK blocks as (left, right) edges.
        case sack([SACKBlock])
        case timestamps(value: UInt32, echo: UInt32)
        /// TCP Fast Open (kind 34); an empty cookie is a cookie request.
        case fastOpen(cookie: [UInt8])
        /// Any kind with a length byte that does not have to match the data (0 and 1 are malformed).
        case raw(kind: UInt8, length: UInt8, data: [UInt8])

        var bytes: [UInt8] {
            switch self {
            case .end: return [0]
            case .noOperation: return [1]
            case .mss(let value): return [2, 4] + be16(value)
            case .windowScale(let shift): return [3, 3, shift]
            case .sackPermitted: return [4, 2]
            case .sack(let blocks):
                return [5, UInt8(2 + 8 * blocks.count)] + blocks.flatMap { be32($0.left) + be32($0.right) }
            case .timestamps(let value, let echo): return [8, 10] + be32(value) + be32(echo)
            case .fastOpen(let cookie): return [34, UInt8(2 + cookie.count)] + cookie
            case .raw(let kind, let length, let data): return [kind, length] + data
            }
        }
    }

    public struct SACKBlock: Sendable, Hashable {
        public var left: UInt32
        public var right: UInt32
        public init(_ left: UInt32, _ right: UInt32) {
            self.left = left
            self.right = right
        }
    }

    /// One IPv6 extension header.
    public enum IPv6Extension: Sendable, Hashable {
        /// Hop-by-hop options; `length` is the header length in 8-octet units minus one.
        case hopByHop(length: UInt8 = 0)
        case routing(length: UInt8 = 0)
        case destinationOptions(length: UInt8 = 0)
        /// Fragment header; `offset` in bytes (multiple of 8).
        case fragment(offset: Int = 0, moreFragments: Bool = false, identification: UInt32 = 1)

        var protocolNumber: UInt8 {
            switch self {
            case .hopByHop: 0
            case .routing: 43
            case .destinationOptions: 60
            case .fragment: 44
            }
        }

        func bytes(next: UInt8) -> [UInt8] {
            switch self {
            case .hopByHop(let length), .destinationOptions(let length):
                // PadN option filling the rest of the header.
                let total = (Int(length) + 1) * 8
                return [next, length, 1, UInt8(total - 4)] + [UInt8](repeating: 0, count: total - 4)
            case .routing(let length):
                let total = (Int(length) + 1) * 8
                return [next, length, 0, 0] + [UInt8](repeating: 0, count: total - 4)
            case .fragment(let offset, let more, let identification):
                let field = UInt16(truncatingIfNeeded: offset) & 0xfff8 | (more ? 1 : 0)
                return [next, 0] + be16(field) + be32(identification)
            }
        }
    }

    /// Bytes the payload carries: an integer literal means that many filler bytes.
    public struct Payload: Sendable, Hashable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral {
        public var bytes: [UInt8]
        public init(_ bytes: [UInt8]) { self.bytes = bytes }
        public init(integerLiteral count: Int) { bytes = (0..<count).map { UInt8(truncatingIfNeeded: 0x41 + $0 % 26) } }
        public init(arrayLiteral elements: UInt8...) { bytes = elements }
        /// `count` filler bytes.
        public static func count(_ count: Int) -> Payload { Payload(integerLiteral: count) }
    }

    // MARK: Whole frames

    /// A TCP segment in IPv4 or IPv6 (chosen by the address family) in the given framing.
    public static func tcp(
        src: String, sport: UInt16, dst: String, dport: UInt16, seq: UInt32 = 1000, ack: UInt32 = 0,
        flags: TCPFlags, window: UInt16 = 65535, payload: Payload = 0, options: [TCPOption] = [],
        link: Link = .ethernet(), ttl: UInt8 = 64, ipID: UInt16 = 1
    ) -> [UInt8] {
        let source = address(src)
        let destination = address(dst)
        let segment = tcpHeader(
            source: source, destination: destination, sport: sport, dport: dport, seq: seq, ack: ack, flags: flags,
            window: window, options: options, payload: payload.bytes)
        let packet: [UInt8] =
            source.isIPv6
            ? ipv6(src: source, dst: destination, nextHeader: 6, payload: segment, hopLimit: ttl)
            : ipv4(src: source, dst: destination, protocolNumber: 6, payload: segment, ttl: ttl, identification: ipID)
        return frame(link, packet)
    }

    /// An ICMP (IPv4) or ICMPv6 error from `reporter` to `recipient`, quoting `quoted` (an IP packet,
    /// cut to `quoteLength` bytes: 28 is the RFC 792 minimum for IPv4 with a 20-byte header).
    public static func icmpError(
        reporter: String, recipient: String, type: UInt8, code: UInt8, quoting quoted: [UInt8],
        quoteLength: Int? = nil, link: Link = .ethernet(), ttl: UInt8 = 64
    ) -> [UInt8] {
        let from = address(reporter)
        let to = address(recipient)
        let quote = Array(quoted.prefix(quoteLength ?? quoted.count))
        var message: [UInt8] = [type, code, 0, 0, 0, 0, 0, 0] + quote
        if from.isIPv6 {
            let sum = checksum(pseudoHeader(from, to, protocolNumber: 58, length: message.count) + message)
            message[2] = UInt8(sum >> 8)
            message[3] = UInt8(sum & 0xff)
            return frame(link, ipv6(src: from, dst: to, nextHeader: 58, payload: message, hopLimit: ttl))
        }
        let sum = checksum(message)
        message[2] = UInt8(sum >> 8)
        message[3] = UInt8(sum & 0xff)
        return frame(link, ipv4(src: from, dst: to, protocolNumber: 1, payload: message, ttl: ttl))
    }

    /// Wraps an IP packet in link framing; the EtherType / family comes from the IP version nibble.
    public static func frame(_ link: Link, _ packet: [UInt8]) -> [UInt8] {
        let isIPv6 = packet.first.map { $0 >> 4 == 6 } ?? false
        let etherType: UInt16 = isIPv6 ? 0x86DD : 0x0800
        switch link {
        case .ethernet(let vlans, let padded):
            var out = ethernetAddresses
            for tag in vlans { out += be16(tag.tpid) + be16(tag.id & 0x0fff) }
            out += be16(etherType) + packet
            if padded && out.count < 60 { out += [UInt8](repeating: 0, count: 60 - out.count) }
            return out
        case .mpls(let labels):
            var out = ethernetAddresses + be16(0x8847)
            for (i, label) in labels.enumerated() {
                let bottom: UInt32 = i == labels.count - 1 ? 0x100 : 0
                out += be32(label << 12 | bottom | 64)
            }
            return out + packet
        case .pppoe:
            let pppProtocol: UInt16 = isIPv6 ? 0x0057 : 0x0021
            return ethernetAddresses + be16(0x8864) + [0x11, 0x00] + be16(0x0001)
                + be16(UInt16(truncatingIfNeeded: packet.count + 2))
                + be16(pppProtocol) + packet
        case .linuxSLL:
            // packet type 0 (to us), ARPHRD_ETHER, address length 6, address + 2 pad bytes, protocol.
            return be16(0) + be16(1) + be16(6) + [0x02, 0, 0, 0, 0, 1, 0, 0] + be16(etherType) + packet
        case .linuxSLL2:
            // protocol, reserved, interface index, ARPHRD_ETHER, packet type, address length, address.
            return be16(etherType) + be16(0) + be32(2) + be16(1) + [0, 6] + [0x02, 0, 0, 0, 0, 1, 0, 0] + packet
        case .null(let bigEndian):
            let family: UInt32 = isIPv6 ? 24 : 2
            return (bigEndian ? be32(family) : le32(family)) + packet
        case .loop:
            return be32(isIPv6 ? 24 : 2) + packet
        case .raw:
            return packet
        }
    }

    // MARK: Layers

    /// An IPv4 packet. `totalLength` overrides the computed Total Length (0 imitates offload);
    /// `options` must be a multiple of 4 bytes long (or deliberately not, for damage tests).
    public static func ipv4(
        src: IPAddress, dst: IPAddress, protocolNumber: UInt8, payload: [UInt8], ttl: UInt8 = 64,
        identification: UInt16 = 1, options: [UInt8] = [], dontFragment: Bool = true, moreFragments: Bool = false,
        fragmentOffset: Int = 0, totalLength: UInt16? = nil, headerLengthOverride: UInt8? = nil
    ) -> [UInt8] {
        let headerLength = 20 + options.count
        let ihl = headerLengthOverride ?? UInt8(truncatingIfNeeded: headerLength / 4)
        let total = totalLength ?? UInt16(truncatingIfNeeded: headerLength + payload.count)
        var flagsFragment = UInt16(truncatingIfNeeded: fragmentOffset / 8) & 0x1fff
        if dontFragment { flagsFragment |= 0x4000 }
        if moreFragments { flagsFragment |= 0x2000 }
        var header: [UInt8] = [0x40 | ihl & 0x0f, 0] + be16(total) + be16(identification) + be16(flagsFragment)
        header +=
            [ttl, protocolNumber, 0, 0] + be32(UInt32(truncatingIfNeeded: src.low))
            + be32(UInt32(truncatingIfNeeded: dst.low)) + options
        let sum = checksum(header)
        header[10] = UInt8(sum >> 8)
        header[11] = UInt8(sum & 0xff)
        return header + payload
    }

    /// An IPv6 packet with an extension-header chain in front of `payload` (whose protocol is `nextHeader`).
    public static func ipv6(
        src: IPAddress, dst: IPAddress, nextHeader: UInt8, payload: [UInt8], hopLimit: UInt8 = 64,
        extensions: [IPv6Extension] = [], payloadLength: UInt16? = nil
    ) -> [UInt8] {
        var chain: [UInt8] = []
        for (i, ext) in extensions.enumerated() {
            let next = i + 1 < extensions.count ? extensions[i + 1].protocolNumber : nextHeader
            chain += ext.bytes(next: next)
        }
        let first = extensions.first?.protocolNumber ?? nextHeader
        let length = payloadLength ?? UInt16(truncatingIfNeeded: chain.count + payload.count)
        return [0x60, 0, 0, 0] + be16(length) + [first, hopLimit] + be64(src.high) + be64(src.low)
            + be64(dst.high) + be64(dst.low) + chain + payload
    }

    /// A TCP header plus payload; the checksum covers the pseudo-header of `source` / `destination`.
    /// `dataOffsetOverride` writes a different data offset (in 32-bit words) for damage tests.
    public static func tcpHeader(
        source: IPAddress, destination: IPAddress, sport: UInt16, dport: UInt16, seq: UInt32, ack: UInt32,
        flags: TCPFlags, window: UInt16 = 65535, options: [TCPOption] = [], payload: [UInt8] = [],
        dataOffsetOverride: UInt8? = nil
    ) -> [UInt8] {
        var optionBytes = options.flatMap(\.bytes)
        while optionBytes.count % 4 != 0 { optionBytes.append(0) }
        let dataOffset = dataOffsetOverride ?? UInt8(truncatingIfNeeded: (20 + optionBytes.count) / 4)
        var segment = be16(sport) + be16(dport) + be32(seq) + be32(ack) + [dataOffset << 4, flags.rawValue]
        segment += be16(window) + [0, 0, 0, 0] + optionBytes + payload
        let protocolNumber: UInt8 = 6
        let sum = checksum(
            pseudoHeader(source, destination, protocolNumber: protocolNumber, length: segment.count) + segment)
        segment[16] = UInt8(sum >> 8)
        segment[17] = UInt8(sum & 0xff)
        return segment
    }

    /// Parses an address literal; traps on a typo (test programmer error).
    public static func address(_ text: String) -> IPAddress {
        guard let address = IPAddress(text) else { preconditionFailure("FrameBuilder: bad address literal '\(text)'") }
        return address
    }

    // MARK: Bytes

    static let ethernetAddresses: [UInt8] = [0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1]

    /// The Internet checksum (RFC 1071) of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum &+= UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum &+= UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) &+ (sum >> 16) }
        return ~UInt16(truncatingIfNeeded: sum)
    }

    static func pseudoHeader(_ source: IPAddress, _ destination: IPAddress, protocolNumber: UInt8, length: Int)
        -> [UInt8]
    {
        if source.isIPv6 {
            return be64(source.high) + be64(source.low) + be64(destination.high) + be64(destination.low)
                + be32(UInt32(truncatingIfNeeded: length)) + [0, 0, 0, protocolNumber]
        }
        return be32(source.ipv4Value) + be32(destination.ipv4Value) + [0, protocolNumber]
            + be16(UInt16(truncatingIfNeeded: length))
    }
}

private func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }
private func be32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
private func be64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) } }
private func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
