// Link-layer framing: Ethernet II (IEEE 802.3) with 802.1Q / 802.1ad tags and MPLS label stacks,
// Linux cooked capture v1/v2 (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html, _SLL2),
// BSD NULL/LOOP, and raw IP. Each yields where the IP header starts.

/// An EtherType value (open code space). The named values are computed and inlinable, so other
/// modules (where `PacketDecoder.decode` is inlined) fold them.
public struct EtherType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    @inlinable public static var ipv4: EtherType { EtherType(rawValue: 0x0800) }
    @inlinable public static var ipv6: EtherType { EtherType(rawValue: 0x86DD) }
    @inlinable public static var vlan: EtherType { EtherType(rawValue: 0x8100) }
    @inlinable public static var qinq: EtherType { EtherType(rawValue: 0x88A8) }
    @inlinable public static var qinqLegacy: EtherType { EtherType(rawValue: 0x9100) }
    @inlinable public static var mplsUnicast: EtherType { EtherType(rawValue: 0x8847) }
    @inlinable public static var mplsMulticast: EtherType { EtherType(rawValue: 0x8848) }
    @inlinable public static var pppoeSession: EtherType { EtherType(rawValue: 0x8864) }
}

/// Where the network layer begins inside a frame, and what it is.
public struct LinkLayerInfo: Sendable, Hashable {
    public enum Network: Sendable, Hashable {
        case ipv4, ipv6
        /// Raw IP or an MPLS payload: decided by the IP version nibble.
        case ipByVersion
        /// Some other protocol (ARP, LLDP, ...): not decoded further.
        case other
    }
    public var network: Network
    public var offset: Int
    /// Number of VLAN tags crossed (802.1Q / 802.1ad, stacked tags count each).
    public var vlanTags: Int
}

public enum LinkLayer {
    @inlinable static var ethernetHeaderLength: Int { 14 }
    static let vlanTagLength = 4
    static let sllHeaderLength = 16
    static let sll2HeaderLength = 20
    static let maxStackedTags = 8

    /// Finds the network-layer header for a frame of `linkType`.

    public static func locateNetworkLayer(
        linkType: LinkType, bytes: UnsafeRawBufferPointer
    ) throws(DecodeError) -> LinkLayerInfo {
        switch linkType {
        case .ethernet:
            return try ethernet(bytes)
        case .raw, .rawOpenBSD, .linktypeRaw:
            return LinkLayerInfo(network: .ipByVersion, offset: 0, vlanTags: 0)
        case .ipv4:
            return LinkLayerInfo(network: .ipv4, offset: 0, vlanTags: 0)
        case .ipv6:
            return LinkLayerInfo(network: .ipv6, offset: 0, vlanTags: 0)
        case .null, .loop:
            guard bytes.count >= 4 else { throw .truncated(.link, needed: 4, available: bytes.count) }
            // NULL stores the address family in the capturing host's byte order; LOOP in network order.
            var family: UInt32 = linkType == .loop ? bytes.bigEndian(at: 0) : bytes.littleEndian(at: 0)
            if family > 0xFFFF { family = family.byteSwapped }
            switch family {
            case 2: return LinkLayerInfo(network: .ipv4, offset: 4, vlanTags: 0)
            case 10, 24, 28, 30: return LinkLayerInfo(network: .ipv6, offset: 4, vlanTags: 0)  // Linux, BSDs, macOS
            default: return LinkLayerInfo(network: .other, offset: 4, vlanTags: 0)
            }
        case .linuxSLL:
            guard bytes.count >= sllHeaderLength else {
                throw .truncated(.link, needed: sllHeaderLength, available: bytes.count)
            }
            return try afterEtherType(EtherType(rawValue: bytes.bigEndian(at: 14)), at: sllHeaderLength, in: bytes, tags: 0)
        case .linuxSLL2:
            guard bytes.count >= sll2HeaderLength else {
                throw .truncated(.link, needed: sll2HeaderLength, available: bytes.count)
            }
            return try afterEtherType(EtherType(rawValue: bytes.bigEndian(at: 0)), at: sll2HeaderLength, in: bytes, tags: 0)
        default:
            throw .unsupportedLinkType(linkType)
        }
    }


    static func ethernet(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> LinkLayerInfo {
        guard bytes.count >= ethernetHeaderLength else {
            throw .truncated(.link, needed: ethernetHeaderLength, available: bytes.count)
        }
        return try afterEtherType(EtherType(rawValue: bytes.bigEndian(at: 12)), at: ethernetHeaderLength, in: bytes, tags: 0)
    }

    /// Follows VLAN tags, MPLS labels and PPPoE sessions from an EtherType at `offset`.

    static func afterEtherType(
        _ first: EtherType, at start: Int, in bytes: UnsafeRawBufferPointer, tags startTags: Int
    ) throws(DecodeError) -> LinkLayerInfo {
        var etherType = first
        var offset = start
        var tags = startTags
        while true {
            switch etherType {
            case .ipv4: return LinkLayerInfo(network: .ipv4, offset: offset, vlanTags: tags)
            case .ipv6: return LinkLayerInfo(network: .ipv6, offset: offset, vlanTags: tags)
            case .vlan, .qinq, .qinqLegacy:
                guard tags < maxStackedTags else { return LinkLayerInfo(network: .other, offset: offset, vlanTags: tags) }
                guard bytes.count >= offset + vlanTagLength else {
                    throw .truncated(.vlan, needed: offset + vlanTagLength, available: bytes.count)
                }
                etherType = EtherType(rawValue: bytes.bigEndian(at: offset + 2))
                offset += vlanTagLength
                tags += 1
            case .mplsUnicast, .mplsMulticast:
                // Label stack entries until the bottom-of-stack bit; the payload is guessed by version.
                var entries = 0
                while true {
                    guard bytes.count >= offset + 4 else { throw .truncated(.link, needed: offset + 4, available: bytes.count) }
                    let entry: UInt32 = bytes.bigEndian(at: offset)
                    offset += 4
                    entries += 1
                    if entry & 0x100 != 0 { break }
                    if entries >= 16 { return LinkLayerInfo(network: .other, offset: offset, vlanTags: tags) }
                }
                return LinkLayerInfo(network: .ipByVersion, offset: offset, vlanTags: tags)
            case .pppoeSession:
                // 6-byte PPPoE header, then a 2-byte PPP protocol: 0x0021 IPv4, 0x0057 IPv6.
                guard bytes.count >= offset + 8 else { throw .truncated(.link, needed: offset + 8, available: bytes.count) }
                let ppp: UInt16 = bytes.bigEndian(at: offset + 6)
                let network: LinkLayerInfo.Network = ppp == 0x0021 ? .ipv4 : ppp == 0x0057 ? .ipv6 : .other
                return LinkLayerInfo(network: network, offset: offset + 8, vlanTags: tags)
            default:
                return LinkLayerInfo(network: .other, offset: offset, vlanTags: tags)
            }
        }
    }
}
