import WireFormat

/// One end of a TCP connection: an address and a port.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var ip: IPAddress
    public var port: UInt16
    @inlinable public init(ip: IPAddress, port: UInt16) {
        self.ip = ip
        self.port = port
    }
    public func orders(before other: Endpoint) -> Bool {
        ip == other.ip ? port < other.port : ip.orders(before: other.ip)
    }
    public var description: String { ip.isIPv6 ? "[\(ip)]:\(port)" : "\(ip):\(port)" }
}

/// A connection's 4-tuple (TCP implied), canonical so both directions of a connection find the same
/// key: `low` orders before `high`. Fixed size, hashes without allocation.
public struct FlowKey: Hashable, Sendable {
    public var low: Endpoint
    public var high: Endpoint

    /// The canonical key for a packet from `source` to `destination`, and whether the packet travels
    /// from `low` to `high`.
    @inlinable public static func make(source: Endpoint, destination: Endpoint) -> (key: FlowKey, fromLow: Bool) {
        source.orders(before: destination)
            ? (FlowKey(low: source, high: destination), true)
            : (FlowKey(low: destination, high: source), false)
    }

    @inlinable public init(low: Endpoint, high: Endpoint) {
        self.low = low
        self.high = high
    }
}
