/// Everything connection tracking needs from one TCP packet: a small copyable value, built once from
/// the borrowed views and stored or constructed directly by tests.
public struct TCPPacketSummary: Hashable, Sendable {
    public var source: IPAddress
    public var destination: IPAddress
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequenceNumber: SequenceNumber
    public var acknowledgmentNumber: SequenceNumber
    public var flags: TCPFlags
    /// The raw (unscaled) window field.
    public var window: UInt16
    /// TCP payload bytes according to the IP header (what was on the wire).
    public var payloadLength: UInt32
    /// TCP payload bytes actually captured (fewer when the snap length cut the packet).
    public var capturedPayloadLength: UInt32
    /// IPv4 TTL or IPv6 hop limit.
    public var ttl: UInt8
    /// IPv4 identification; 0 for IPv6.
    public var ipID: UInt16
    /// The SYN's options (MSS, window scale, SACK-permitted, ...). `PacketDecoder` parses them for SYN
    /// segments only: they are negotiated there, and tracking reads nothing else. Other segments carry
    /// `TCPOptionsSummary()`; `TCPSegment.options` parses any segment's.
    public var options: TCPOptionsSummary
    /// Captured fewer bytes than were on the wire (snap length).
    public var isTruncated: Bool
    /// The first fragment of a fragmented IP datagram (the rest is not reassembled).
    public var isFragment: Bool

    @inlinable public init(
        source: IPAddress, destination: IPAddress, sourcePort: UInt16, destinationPort: UInt16,
        sequenceNumber: SequenceNumber, acknowledgmentNumber: SequenceNumber, flags: TCPFlags,
        window: UInt16 = 65535, payloadLength: UInt32 = 0, capturedPayloadLength: UInt32? = nil,
        ttl: UInt8 = 64, ipID: UInt16 = 0, options: TCPOptionsSummary = TCPOptionsSummary(),
        isTruncated: Bool = false, isFragment: Bool = false
    ) {
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
        self.window = window
        self.payloadLength = payloadLength
        self.capturedPayloadLength = capturedPayloadLength ?? payloadLength
        self.ttl = ttl
        self.ipID = ipID
        self.options = options
        self.isTruncated = isTruncated
        self.isFragment = isFragment
    }

    /// Sequence space the segment occupies: payload plus one each for SYN and FIN.
    @inlinable public var sequenceLength: UInt32 {
        payloadLength &+ (flags.contains(.syn) ? 1 : 0) &+ (flags.contains(.fin) ? 1 : 0)
    }
}
