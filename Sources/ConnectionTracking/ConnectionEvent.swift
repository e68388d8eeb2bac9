import WireFormat

/// Which side of a connection.
public enum Role: String, Sendable, Hashable {
    case client, server
    public var peer: Role { self == .client ? .server : .client }
}

/// A notable thing seen on a connection: a state change or an anomaly, tied to its packet.
/// Appended only on those, never per ordinary packet, and capped per connection.
public struct ConnectionEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case syn, synRetransmitted = "syn_retransmitted", synAck = "syn_ack", synAckRetransmitted = "syn_ack_retransmitted"
        case handshakeCompleted = "handshake_completed"
        case fin, finRetransmitted = "fin_retransmitted", finAcknowledged = "fin_acknowledged"
        case rst
        case firstData = "first_data"
        case dataAfterPeerFIN = "data_after_peer_fin"
        case dataAfterOwnClose = "data_after_own_close"
        case dataAfterReset = "data_after_reset"
        case retransmission
        case zeroWindow = "zero_window"
        case windowReopened = "window_reopened"
        case zeroWindowProbe = "zero_window_probe"
        case keepalive
        case outOfOrder = "out_of_order"
        case sequenceGap = "sequence_gap"
        case ackForUnseenData = "ack_for_unseen_data"
        case ttlChanged = "ttl_changed"
        case icmpError = "icmp_error"
        case rolesFlipped = "roles_flipped"
        case spontaneousSYNACK = "spontaneous_syn_ack"
        case multipleFlags = "multiple_flags"
    }
    // Stored widest first: 40 bytes an event instead of 56 with the fields in reading order.
    public var packet: Int
    public var time: Timestamp
    /// A number that qualifies the event: bytes, window, count, TTL, ICMP type/code... (kind-specific).
    public var value: Int64
    public var sequenceNumber: SequenceNumber
    public var acknowledgmentNumber: SequenceNumber
    public var flags: TCPFlags
    public var kind: Kind
    /// Who sent the packet (nil for ICMP from a third party).
    public var from: Role?

    public init(kind: Kind, packet: Int, time: Timestamp, from: Role?, value: Int64 = 0,
                sequenceNumber: SequenceNumber = .init(0), acknowledgmentNumber: SequenceNumber = .init(0), flags: TCPFlags = []) {
        self.kind = kind
        self.packet = packet
        self.time = time
        self.from = from
        self.value = value
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
    }
}

/// An ICMP error that quoted a packet of this connection.
public struct ICMPRecord: Sendable, Hashable {
    public var packet: Int
    public var time: Timestamp
    public var error: ICMPErrorSummary
    /// The side whose packet the ICMP error quoted.
    public var about: Role
}

/// A compact per-packet line for ladder diagrams, kept for the first and last packets only.
public struct PacketRecord: Sendable, Hashable {
    public var packet: Int
    public var time: Timestamp
    public var from: Role
    public var flags: TCPFlags
    public var sequenceNumber: SequenceNumber
    public var acknowledgmentNumber: SequenceNumber
    public var payloadLength: UInt32
    public var window: UInt16
    public var ttl: UInt8
}
