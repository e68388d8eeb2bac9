import WireFormat

/// The state of one side of a connection as a passive observer can know it (after Zeek's
/// `TCP_Endpoint` states, not the RFC 9293 socket states a tap cannot see).
public enum EndpointState: String, Sendable, Hashable {
    /// Nothing seen from this side yet.
    case inactive
    /// Sent a SYN, no SYN-ACK seen from the peer yet.
    case synSent = "syn_sent"
    /// Sent a SYN-ACK.
    case synAckSent = "syn_ack_sent"
    /// Seen mid-stream: traffic without its SYN.
    case partial
    case established
    /// Sent a FIN.
    case closed
    /// Sent a RST.
    case reset
}

/// A RST as it was seen, with what the observer knew at that moment.
public struct ResetRecord: Sendable, Hashable {
    public var packet: Int
    public var time: Timestamp
    public var sequenceNumber: SequenceNumber
    public var acknowledgmentNumber: SequenceNumber
    public var hasACK: Bool
    public var ttl: UInt8
    public var window: UInt16
    public var payloadLength: UInt32
    /// How the RST's seq relates to the sender's own next sequence number (0 = exactly next).
    public var distanceFromNextSequence: Int32?
    /// How the RST's seq relates to the last ACK number the peer sent (0 = exactly that; the
    /// kernel's reply to a segment for an unknown connection).
    public var distanceFromPeerAck: Int32?
    /// The RST's seq lies outside the window the peer last advertised (a receiver would ignore it).
    public var isOutOfWindow: Bool
    /// The sender's state when it sent the RST.
    public var senderStateBefore: EndpointState
    /// The peer's state when the RST was sent.
    public var peerStateBefore: EndpointState
}

/// A retransmission episode of one sequence number: how often and how far apart.
public struct RetransmissionEpisode: Sendable, Hashable {
    public var sequenceNumber: SequenceNumber
    /// Packet and time of the original transmission.
    public var originalPacket: Int
    public var originalTime: Timestamp
    /// Retransmission packets and times (capped at `RetransmissionEpisode.maximumRecorded`).
    public var packets: [Int] = []
    public var times: [Timestamp] = []
    public var count: Int = 0
    public var payloadLength: UInt32
    /// Whether the peer acknowledged this sequence number later.
    public var wasAcknowledged = false
    public static let maximumRecorded = 16

    /// Whether the gaps between transmissions grow (each at least ~1.5× the previous): exponential backoff.
    public var showsBackoff: Bool {
        let all = [originalTime] + times
        guard all.count >= 3 else { return false }
        var grew = 0
        var previous: Int64 = 0
        for i in 1..<all.count {
            let gap = all[i - 1].nanoseconds(to: all[i])
            if previous > 0 && Double(gap) >= 1.5 * Double(previous) { grew += 1 }
            previous = gap
        }
        return grew >= max(1, all.count - 3)
    }
}

/// Everything observed about one side of a connection. Fixed-size except for a few capped arrays
/// that grow only on rare events (RSTs, retransmission episodes).
///
/// Field order is layout (Swift lays a struct out in declaration order): the fields the usual packet
/// (`Connection.applyUsual`) reads or writes come first, up to `isn` (224 bytes): a packet touches four
/// of its sender's seven cache lines and one or two of its peer's, and the look-ahead asks for only the
/// hot bytes (`Connection.hotRanges`). Fields only other packets or the diagnosis use follow.
public struct EndpointData: Sendable {
    // Hot: the usual packet's fields. First, in 56 bytes (one cache line, or two), all it reads or
    // writes of the side it is sent to, its peer's; then the rest of what it changes on its sender's.
    public var state: EndpointState = .inactive
    public var hasBase = false
    public var sawSYN = false
    /// The peer acknowledged this side's FIN.
    public var finAcknowledged = false
    public var inZeroWindow = false
    public var hasAck = false
    public var windowScaleInUse: UInt8 = 0
    public var ttlFirst: UInt8 = 0
    /// The highest sequence number sent plus its length: the next sequence number.
    public var nextSequence = SequenceNumber(0)
    public var finSequence = SequenceNumber(0)
    var highestOffset: Int64 = 0  // relative to base, includes SYN/FIN
    public var finCount = 0
    public var episodes: [RetransmissionEpisode] = []
    /// Bytes this side received from the peer since it last sent data itself ("unanswered").
    public var receivedSinceLastSend: UInt64 = 0
    /// Packet of the first peer data segment this side has not answered.
    public var firstUnansweredPacket = 0

    public var ttlMin: UInt8 = .max
    public var ttlMax: UInt8 = 0
    /// TTL range of this side's packets other than RSTs (a RST with another TTL was likely forged).
    public var nonResetTTLMin: UInt8 = .max
    public var nonResetTTLMax: UInt8 = 0
    /// IPv4 ID of the last packet (0 for IPv6).
    public var lastIPID: UInt16 = 0
    /// Sequence base: the ISN when the SYN was seen, else the first sequence number seen.
    public var base = SequenceNumber(0)
    /// The highest ACK number this side sent.
    public var lastAck = SequenceNumber(0)
    public var packets: UInt64 = 0
    /// Payload bytes on the wire, retransmissions included.
    public var payloadBytes: UInt64 = 0
    /// Stream bytes sent (highest offset reached, relative to `base`, SYN/FIN excluded), 64-bit.
    public var streamBytes: UInt64 = 0
    /// Bytes of the peer's stream this side acknowledged (relative to the peer's base).
    public var acknowledgedPeerBytes: UInt64 = 0
    var lastAckWindow: UInt64 = 0
    public var duplicateAcks = 0
    /// Largest and last advertised receive window, scaled, in bytes.
    public var windowMax: UInt64 = 0
    public var windowLast: UInt64 = 0
    /// Smallest window advertised after the handshake.
    public var windowMinAfterHandshake: UInt64 = .max
    public var nonResetPackets: UInt64 = 0
    public var firstPacket = 0
    public var lastPacket = 0
    public var lastTime = Timestamp.zero
    public var dataPackets: UInt64 = 0
    public var lastDataPacket = 0
    public var lastDataTime = Timestamp.zero
    // The side's first FIN, which the usual path takes too.
    public var finPacket = 0
    public var finTime = Timestamp.zero
    /// The ACK number the FIN carried, when it had one (tells a simultaneous close from an ordinary one).
    public var finAckAtFIN: SequenceNumber? = nil

    // Cold: the rest.
    public var isn = SequenceNumber(0)
    /// Window scale shift offered in the SYN; applied only when both SYNs offered one (RFC 7323).
    public var offeredWindowScale: UInt8? = nil

    public var synCount = 0
    public var synPacket = 0
    public var synTime = Timestamp.zero
    public var synRetransmissions = 0

    public var resets: [ResetRecord] = []
    public var rstCount = 0

    public var zeroWindowAdvertisements = 0
    public var zeroWindowEpisodes = 0
    public var firstZeroWindowPacket = 0
    public var zeroWindowProbes = 0
    public var keepaliveProbes = 0
    public var firstKeepalivePacket = 0

    public var retransmissions = 0
    public var retransmittedBytes: UInt64 = 0
    public static let maximumEpisodes = 8
    public var outOfOrder = 0
    /// ACKs from the peer for data of this side that the capture never saw (capture loss, or this
    /// direction missing from the capture).
    public var acksForUnseenData = 0
    /// Gaps in this side's stream: sequence jumped ahead of what was seen (capture loss).
    public var sequenceGaps = 0

    /// Data this side sent after the peer's FIN.
    public var dataAfterPeerFIN: UInt64 = 0
    public var firstDataAfterPeerFINPacket = 0
    /// Data this side sent after its own FIN or RST (stray or buggy stacks).
    public var dataAfterOwnClose: UInt64 = 0

    public init() {}

    /// Offset of `seq` relative to `base`, using the highest offset as reference (wrap-aware).
    func offset(of seq: SequenceNumber) -> Int64 {
        highestOffset &+ Int64(nextSequence.distance(to: seq))
    }
}
