import WireFormat

/// How the handshake went, as far as the capture shows.
public enum Handshake: String, Sendable, Hashable {
    case complete
    case synOnly = "syn_only"
    case synSynAck = "syn_synack"
    case notSeen = "not_seen"
}

/// Why the tracker handed a connection on.
public enum FinishReason: String, Sendable, Hashable {
    /// A RST ended it (after the linger for stray packets).
    case reset
    /// Both FINs were seen and acknowledged (after the linger).
    case closed
    /// Idle past the configured timeout.
    case idle
    /// Silent past the give-up timeout while a sender waited for an answer that never came (an
    /// unanswered SYN, or retransmitted data never acknowledged): the sender gave up.
    case gaveUp = "gave_up"
    /// The connection attempt was never answered for longer than the attempt timeout, and the
    /// originator went on sending, so later packets start a new connection (as Zeek does).
    case attemptTimeout = "attempt_timeout"
    /// A new SYN reused the 4-tuple.
    case reused
    /// Evicted to stay under `--max-connections`.
    case evicted
    /// The input ended.
    case endOfInput = "end_of_input"
}

/// Everything known about one TCP connection. Value type; mutated in place inside the tracker's
/// table, handed on whole when finished.
public struct Connection: Sendable {
    // Field order is layout (Swift lays a struct out in declaration order). The usual packet reads and
    // writes only the fields up to `id` (these, the Zeek state, the client side's hot fields) and
    // the server side's hot fields: 880 of 1,338 bytes, 15 or 16 of 21 cache lines, which the look-ahead asks for
    // (`hotRanges`; a test checks that the usual packet writes nothing else).

    public var client: Endpoint
    public var server: Endpoint
    /// Roles were guessed (no SYN seen from the client): see `roleEvidence`.
    public var rolesInferred: Bool
    /// The first packet seen came from the server (Zeek's `^`).
    public var rolesFlipped: Bool
    /// A RST or both acknowledged FINs: the ending is known even while stray packets may follow.
    public var endingKnown = false
    /// Whether `record` keeps events (from `TrackerConfiguration.recordsEvents`).
    public var recordsEvents = true
    public var lastPacket: Int
    public var end: Timestamp
    public var firstPacket: Int
    /// Longest silence between two consecutive packets, and the packet that ended it.
    public var longestIdleNanoseconds: Int64 = 0
    public var longestIdleEndPacket = 0
    /// Packets seen after the ending was known (stray or late).
    public var packetsAfterEnding = 0
    public var endingKnownTime = Timestamp.zero
    public var finishReason: FinishReason = .endOfInput

    public var zeek = ZeekState()
    public var clientSide = EndpointData()
    public var serverSide = EndpointData()

    /// Creation order, 1-based (stable across runs).
    public var id: Int
    /// How the roles were decided.
    public var roleEvidence: RoleEvidence
    public var start: Timestamp

    public var synPacket = 0
    public var synAckPacket = 0
    public var handshakeAckPacket = 0
    public var synTime = Timestamp.zero
    public var synAckTime = Timestamp.zero
    public var handshakeAckTime = Timestamp.zero

    /// State changes and anomalies, in order (capped at `maximumEvents`); empty when the tracker's
    /// configuration does not record them (`TrackerConfiguration.recordsEvents`).
    public var events: [ConnectionEvent] = []
    public var eventsDropped = 0
    public static let maximumEvents = 96
    static let initialEventCapacity = 12
    public var icmpErrors: [ICMPRecord] = []
    /// The first packets of the connection (for ladder diagrams).
    public var headPackets: [PacketRecord] = []
    /// The last packets of the connection, a ring of `tailCapacity` (for ladder diagrams).
    public var tailPackets: [PacketRecord] = []
    var tailNext = 0
    public static let headCapacity = 6
    public static let tailCapacity = 12

    /// Set when the connection is finished: its server completed handshakes on other connections of
    /// this capture (it was up and reachable).
    public var serverAnsweredOtherHandshakes = false
    /// Set when the connection is finished: its server repeated a SYN-ACK after the handshake ACK on
    /// some connection of this capture (its accept queue overflowed).
    public var serverShowedListenOverflow = false

    /// The bytes the usual packet touches, from the field order: the first `front` (the fields above, the
    /// Zeek state, the client side's hot fields) and the server side's hot fields.
    static var hotRanges: (front: Int, server: Range<Int>) {
        let hotSide = MemoryLayout<EndpointData>.offset(of: \EndpointData.isn)!
        let client = MemoryLayout<Connection>.offset(of: \Connection.clientSide)!
        let server = MemoryLayout<Connection>.offset(of: \Connection.serverSide)!
        return (client + hotSide, server..<(server + hotSide))
    }

    public init(id: Int, client: Endpoint, server: Endpoint, rolesInferred: Bool, roleEvidence: RoleEvidence,
                rolesFlipped: Bool, packet: Int, time: Timestamp, recordsEvents: Bool = true) {
        self.id = id
        self.recordsEvents = recordsEvents
        self.client = client
        self.server = server
        self.rolesInferred = rolesInferred
        self.roleEvidence = roleEvidence
        self.rolesFlipped = rolesFlipped
        firstPacket = packet
        lastPacket = packet
        start = time
        end = time
    }

    // Inlinable so that `c[role].field` in other modules reads one field, not a copy of the side.
    // Read-only: writes go through `update(_:_:)`.
    @inlinable public subscript(role: Role) -> EndpointData { role == .client ? clientSide : serverSide }

    /// Changes `role`'s side in place. Used for every write to a side: a `_modify` subscript's coroutine
    /// is not inlined (a call and a resume per write); this closure is.
    @inline(__always) mutating func update<R>(_ role: Role, _ body: (inout EndpointData) -> R) -> R {
        role == .client ? body(&clientSide) : body(&serverSide)
    }

    public func endpoint(_ role: Role) -> Endpoint { role == .client ? client : server }

    /// Inlinable, so that reading it through a pointer (a `FinishedSlot`) reads four fields, not a copy.
    @inlinable public var handshake: Handshake {
        if synPacket != 0 && synAckPacket != 0 && handshakeAckPacket != 0 { return .complete }
        if synPacket != 0 && synAckPacket != 0 { return .synSynAck }
        if synPacket != 0 { return .synOnly }
        return .notSeen
    }

    /// Round-trip estimate from the handshake: SYN→SYN-ACK plus SYN-ACK→ACK, nil when not seen.
    public var handshakeRTTNanoseconds: Int64? {
        guard synPacket != 0, synAckPacket != 0, handshakeAckPacket != 0 else { return nil }
        return synTime.nanoseconds(to: handshakeAckTime)
    }

    /// Ladder rows: the head packets, then the tail ring in order (without duplicates).
    public var ladderPackets: [PacketRecord] {
        var ordered = tailPackets
        if tailPackets.count == Self.tailCapacity {
            ordered = Array(tailPackets[tailNext...] + tailPackets[..<tailNext])
        }
        let lastHead = headPackets.last?.packet ?? 0
        return headPackets + ordered.filter { $0.packet > lastHead }
    }

    /// Packets counted but not in `ladderPackets` (counted without building the ladder).
    public var elidedPackets: Int {
        let total = Int(clientSide.packets + serverSide.packets)
        let lastHead = headPackets.last?.packet ?? 0
        var shown = headPackets.count
        for row in tailPackets where row.packet > lastHead { shown += 1 }
        return max(0, total - shown)
    }

    @inline(__always) mutating func record(_ event: ConnectionEvent) {
        guard recordsEvents else { return }
        keep(event)
    }

    mutating func keep(_ event: ConnectionEvent) {
        guard events.count < Self.maximumEvents else { eventsDropped += 1; return }
        // Start at 12 rather than growing 1, 2, 4, 8 (handshake, FINs, their ACKs and a few retransmissions
        // are about a dozen; on the benchmark capture 12 saves 1.4 % of the tracking thread's instructions
        // over 8). Not more: idle connections hold theirs for hours, and 12 events (480 bytes) are
        // already a third of the 1.4 KB connection record.
        if events.isEmpty { events.reserveCapacity(Self.initialEventCapacity) }
        events.append(event)
    }
}

/// How roles were decided.
public enum RoleEvidence: String, Sendable, Hashable {
    /// The client sent the first SYN.
    case syn
    /// The first packet was a SYN-ACK: its receiver is the client.
    case synAck = "syn_ack"
    /// Mid-stream: the server is the side on a well-known / listening port.
    case serverPort = "server_port"
    /// Mid-stream, no port hint: the side that sent first is the client.
    case firstSender = "first_sender"
}
