/// The protocol layer a decoding problem was found in.
public enum Layer: String, Sendable, Hashable {
    case link, vlan, ipv4, ipv6, ipv6Extension = "ipv6-extension", tcp, tcpOptions = "tcp-options", icmp, icmpv6
}

/// Why a packet could not be decoded. Undecodable packets are counted and skipped, never fatal.
public enum DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Fewer bytes were captured than the header needs.
    case truncated(Layer, needed: Int, available: Int)
    /// A length field contradicts itself (e.g. TCP data offset below 5, IPv4 IHL below 5).
    case badHeaderLength(Layer, Int)
    /// The IP version nibble is neither 4 nor 6 where IP was expected.
    case badVersion(UInt8)
    /// The capture's link type is not one coroner decodes.
    case unsupportedLinkType(LinkType)

    public var description: String {
        switch self {
        case let .truncated(layer, needed, available):
            "\(layer.rawValue) header truncated: needs \(needed) bytes, \(available) captured"
        case let .badHeaderLength(layer, length):
            "\(layer.rawValue) header length \(length) is impossible"
        case let .badVersion(version):
            "IP version \(version) is neither 4 nor 6"
        case let .unsupportedLinkType(linkType):
            "link type \(linkType) is not supported"
        }
    }

    /// A short stable name, for counting reasons.
    public var reasonName: String {
        switch self {
        case let .truncated(layer, _, _): "truncated-\(layer.rawValue)"
        case let .badHeaderLength(layer, _): "bad-length-\(layer.rawValue)"
        case .badVersion: "bad-ip-version"
        case .unsupportedLinkType: "unsupported-link-type"
        }
    }
}
