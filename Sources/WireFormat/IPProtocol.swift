/// An IP protocol / IPv6 next-header number (open code space).
public struct IPProtocol: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let hopByHop = IPProtocol(rawValue: 0)
    public static let icmp = IPProtocol(rawValue: 1)
    public static let tcp = IPProtocol(rawValue: 6)
    public static let udp = IPProtocol(rawValue: 17)
    public static let ipv6Routing = IPProtocol(rawValue: 43)
    public static let ipv6Fragment = IPProtocol(rawValue: 44)
    public static let esp = IPProtocol(rawValue: 50)
    public static let authenticationHeader = IPProtocol(rawValue: 51)
    public static let icmpv6 = IPProtocol(rawValue: 58)
    public static let ipv6NoNext = IPProtocol(rawValue: 59)
    public static let ipv6DestinationOptions = IPProtocol(rawValue: 60)
    public static let mobility = IPProtocol(rawValue: 135)
}
