import ConnectionTracking
import WireFormat

/// A tiny language for TCP conversations in tests: `script.client(.syn, seq: 100)`,
/// `script.server([.syn, .ack], seq: 300, ack: 101)`, then `script.run()` feeds a real tracker.
public struct SegmentScript {
    public var client: Endpoint
    public var server: Endpoint
    public var now: Timestamp
    public private(set) var packets: [(summary: TCPPacketSummary, time: Timestamp)] = []

    public init(client: String = "198.18.0.1", clientPort: UInt16 = 40000, server: String = "198.19.0.2",
                serverPort: UInt16 = 5000, start: Timestamp = Timestamp(seconds: 1_800_000_000, nanoseconds: 0)) {
        self.client = Endpoint(ip: IPAddress(client)!, port: clientPort)
        self.server = Endpoint(ip: IPAddress(server)!, port: serverPort)
        now = start
    }

    /// A packet from the client, `after` seconds after the previous one.
    public mutating func client(_ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, length: UInt32 = 0, window: UInt16 = 65535,
                                ttl: UInt8 = 64, windowScale: UInt8? = nil, after: Double = 0.001) {
        add(from: client, to: server, flags, seq, ack, length, window, ttl, windowScale, after)
    }

    /// A packet from the server, `after` seconds after the previous one.
    public mutating func server(_ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, length: UInt32 = 0, window: UInt16 = 65535,
                                ttl: UInt8 = 64, windowScale: UInt8? = nil, after: Double = 0.001) {
        add(from: server, to: client, flags, seq, ack, length, window, ttl, windowScale, after)
    }

    /// The usual three-way handshake: client ISN `c`, server ISN `s`.
    public mutating func handshake(client c: UInt32 = 1000, server s: UInt32 = 5000) {
        client(.syn, seq: c)
        server([.syn, .ack], seq: s, ack: c &+ 1)
        client(.ack, seq: c &+ 1, ack: s &+ 1)
    }

    mutating func add(from: Endpoint, to: Endpoint, _ flags: TCPFlags, _ seq: UInt32, _ ack: UInt32, _ length: UInt32,
                      _ window: UInt16, _ ttl: UInt8, _ windowScale: UInt8?, _ after: Double) {
        if !packets.isEmpty { now = now.advanced(byNanoseconds: Int64(after * 1e9)) }
        var options = TCPOptionsSummary()
        options.windowScale = windowScale
        packets.append((TCPPacketSummary(
            source: from.ip, destination: to.ip, sourcePort: from.port, destinationPort: to.port,
            sequenceNumber: SequenceNumber(seq), acknowledgmentNumber: SequenceNumber(ack), flags: flags, window: window,
            payloadLength: length, ttl: ttl, options: options), now))
    }

    /// Feeds every packet to a fresh tracker (packet numbers from 1) and returns all connections, in creation order.
    public func run(configuration: TrackerConfiguration = TrackerConfiguration()) -> [Connection] {
        var tracker = ConnectionTracker(configuration: configuration)
        var out: [Connection] = []
        for (i, p) in packets.enumerated() {
            tracker.process(p.summary, number: i + 1, time: p.time) { out.append($0) }
        }
        tracker.finishAll { out.append($0) }
        return out.sorted { $0.id < $1.id }
    }
}
