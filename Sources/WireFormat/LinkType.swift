/// A capture's data-link type (libpcap's `DLT_*` / the file format's `LINKTYPE_*` values).
///
/// An open code space: unknown values survive and are reported by number.
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    public static let null = LinkType(rawValue: 0)
    public static let ethernet = LinkType(rawValue: 1)
    /// Raw IP as libpcap reports it on Linux (`DLT_RAW`).
    public static let raw = LinkType(rawValue: 12)
    /// Raw IP as `DLT_RAW` on OpenBSD.
    public static let rawOpenBSD = LinkType(rawValue: 14)
    /// Raw IP as the file header's `LINKTYPE_RAW`.
    public static let linktypeRaw = LinkType(rawValue: 101)
    /// OpenBSD loopback: a 4-byte address family in network byte order.
    public static let loop = LinkType(rawValue: 108)
    /// Linux cooked capture v1 (`-i any` on older libpcap).
    public static let linuxSLL = LinkType(rawValue: 113)
    public static let ipv4 = LinkType(rawValue: 228)
    public static let ipv6 = LinkType(rawValue: 229)
    /// Linux cooked capture v2 (`-i any` on libpcap ≥ 1.10).
    public static let linuxSLL2 = LinkType(rawValue: 276)

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
