/// A capture's data-link type (libpcap's `DLT_*` / the file format's `LINKTYPE_*` values).
///
/// An open code space: unknown values survive and are reported by number. The named values are
/// computed and inlinable, so other modules (where `PacketDecoder.decode` is inlined) fold them.
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    @inlinable public static var null: LinkType { LinkType(rawValue: 0) }
    @inlinable public static var ethernet: LinkType { LinkType(rawValue: 1) }
    /// Raw IP as libpcap reports it on Linux (`DLT_RAW`).
    @inlinable public static var raw: LinkType { LinkType(rawValue: 12) }
    /// Raw IP as `DLT_RAW` on OpenBSD.
    @inlinable public static var rawOpenBSD: LinkType { LinkType(rawValue: 14) }
    /// Raw IP as the file header's `LINKTYPE_RAW`.
    @inlinable public static var linktypeRaw: LinkType { LinkType(rawValue: 101) }
    /// OpenBSD loopback: a 4-byte address family in network byte order.
    @inlinable public static var loop: LinkType { LinkType(rawValue: 108) }
    /// Linux cooked capture v1 (`-i any` on older libpcap).
    @inlinable public static var linuxSLL: LinkType { LinkType(rawValue: 113) }
    @inlinable public static var ipv4: LinkType { LinkType(rawValue: 228) }
    @inlinable public static var ipv6: LinkType { LinkType(rawValue: 229) }
    /// Linux cooked capture v2 (`-i any` on libpcap ≥ 1.10).
    @inlinable public static var linuxSLL2: LinkType { LinkType(rawValue: 276) }

    /// Whether coroner can decode packets of this link type.
    public var isSupported: Bool {
        switch self {
        case .null, .ethernet, .raw, .rawOpenBSD, .linktypeRaw, .loop, .linuxSLL, .ipv4, .ipv6, .linuxSLL2: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .null: "NULL"
        case .ethernet: "EN10MB"
        case .raw, .rawOpenBSD, .linktypeRaw: "RAW"
        case .loop: "LOOP"
        case .linuxSLL: "LINUX_SLL"
        case .linuxSLL2: "LINUX_SLL2"
        case .ipv4: "IPV4"
        case .ipv6: "IPV6"
        default: "DLT \(rawValue)"
        }
    }
}
