// How one packet changes a connection. RFC 9293 (§3.5 opening/closing, §3.10.7 segment arrival),
// RFC 5961 §3 (a RST is acted on only when its seq is in the receive window), RFC 1122 §4.2.3.6
// (keepalive: seq = next - 1), RFC 7323 §2.2 (window scaling applies after the SYNs, both must offer it).

import WireFormat

/// The control part of a segment, as the state machine switches on it.
enum Control {
    case syn, synAck, rst, fin, none

    init(_ flags: TCPFlags) {
        if flags.contains(.rst) { self = .rst }
        else if flags.contains(.syn) { self = flags.contains(.ack) ? .synAck : .syn }
        else if flags.contains(.fin) { self = .fin }
        else { self = .none }
    }
}

/// Ports a server most likely listens on, for guessing roles when the handshake was not captured.
func isLikelyServerPort(_ port: UInt16) -> Bool {
    if port < 1024 { return true }
    switch port {
    case 1080, 1194, 1433, 1521, 1883, 2049, 2181, 3128, 3306, 3389, 5000, 5060, 5222, 5432, 5672, 5900, 5984,
         6379, 6443, 6667, 8000, 8008, 8080, 8081, 8443, 8888, 9000, 9042, 9092, 9200, 9418, 11211, 27017:
        return true
    default:
        return false
    }
}

extension Connection {
    /// A new connection whose first packet is `packet`; decides the roles.
    static func starting(
        with packet: TCPPacketSummary, source: Endpoint, destination: Endpoint, id: Int, number: Int, time: Timestamp,
        recordsEvents: Bool = true
    ) -> Connection {
        let flags = packet.flags
        let senderIsClient: Bool
        let evidence: RoleEvidence
        if flags.contains(.syn) && !flags.contains(.ack) {
            senderIsClient = true
            evidence = .syn
        } else if flags.contains(.syn) && flags.contains(.ack) {
            senderIsClient = false
            evidence = .synAck
        } else if isLikelyServerPort(destination.port) && !isLikelyServerPort(source.port) {
            senderIsClient = true
            evidence = .serverPort
        } else if isLikelyServerPort(source.port) && !isLikelyServerPort(destination.port) {
            senderIsClient = false
            evidence = .serverPort
        } else {
            senderIsClient = true
            evidence = .firstSender
        }
        // Returned as built (a local changed after building would be one more 1.4 KB copy into the slot).
        return Connection(
            id: id, client: senderIsClient ? source : destination, server: senderIsClient ? destination : source,
            rolesInferred: evidence != .syn, roleEvidence: evidence, rolesFlipped: !senderIsClient,
            packet: number, time: time, recordsEvents: recordsEvents)
    }

    /// Swaps client and server: a SYN from the side taken for the server shows the guess was wrong.
    mutating func flipRoles(packet: Int, time: Timestamp) {
        swap(&client, &server)
        swap(&clientSide, &serverSide)
        rolesFlipped.toggle()
        for i in events.indices { events[i].from = events[i].from?.peer }
        for i in icmpErrors.indices { icmpErrors[i].about = icmpErrors[i].about.peer }
        for i in headPackets.indices { headPackets[i].from = headPackets[i].from.peer }
        for i in tailPackets.indices { tailPackets[i].from = tailPackets[i].from.peer }
        zeek.flipRoles()
        record(ConnectionEvent(kind: .rolesFlipped, packet: packet, time: time, from: nil))
    }

    /// `seq` relative to `role`'s sequence base (reads the side in place, no copy).
    @inline(__always) func sequenceOffset(in role: Role, of seq: SequenceNumber) -> Int64 {
        role == .client ? clientSide.offset(of: seq) : serverSide.offset(of: seq)
    }

    /// Applies one packet sent by `role`.
    mutating func apply(_ p: TCPPacketSummary, from role: Role, number: Int, time: Timestamp, configuration: TrackerConfiguration) {
        // The usual packet (an in-order ACK, with or without data, mid-conversation) takes a shorter path
        // that leaves exactly the state the full one below leaves (FastPathTests compare them).
        let usual = applyUsualSides(p, from: role, number: number, time: time)
        guard usual != .notUsual else {
            applyGeneral(p, from: role, number: number, time: time, configuration: configuration)
            return
        }
        noteConnectionWide(p, from: role, number: number, time: time, configuration: configuration)
        zeek.observe(p, fromOriginator: role == .client, time: time)
        switch usual {
        case .firstData:
            record(ConnectionEvent(kind: .firstData, packet: number, time: time, from: role,
                                   value: Int64(p.payloadLength), sequenceNumber: p.sequenceNumber))
        case .finAcknowledged:
            record(ConnectionEvent(kind: .finAcknowledged, packet: number, time: time, from: role,
                                   acknowledgmentNumber: p.acknowledgmentNumber))
            // As at the end of `transition`: both sides closed and both FINs acknowledged.
            if clientSide.state == .closed && serverSide.state == .closed
                && clientSide.finAcknowledged && serverSide.finAcknowledged {
                markEndingKnown(time)
            }
        case .completesHandshake:
            completeHandshake(from: role, number: number, time: time)  // as `transition` does
        case .fin, .finAcknowledgingFIN:
            // In `applyGeneral`'s order: the peer's FIN acknowledged (`noteAck`), then this FIN (`noteFIN`).
            if usual == .finAcknowledgingFIN {
                record(ConnectionEvent(kind: .finAcknowledged, packet: number, time: time, from: role,
                                       acknowledgmentNumber: p.acknowledgmentNumber))
            }
            record(ConnectionEvent(kind: .fin, packet: number, time: time, from: role, value: Int64(p.payloadLength),
                                   sequenceNumber: p.sequenceNumber, acknowledgmentNumber: p.acknowledgmentNumber,
                                   flags: p.flags))
            // This FIN is not acknowledged yet, so the ending is not known yet (`transition` would check).
        case .applied, .notUsual:
            break
        }
    }

    /// The side updates of a usual packet from `role` (`applyUsual`), if it is one: an ACK, or a FIN+ACK,
    /// without SYN or RST while the ending is not known. `.notUsual` changes nothing.
    @inline(__always)
    mutating func applyUsualSides(_ p: TCPPacketSummary, from role: Role, number: Int, time: Timestamp) -> UsualOutcome {
        let control = p.flags.controlAndACK
        let isFIN = control == [.fin, .ack]
        guard (control == .ack || isFIN) && !endingKnown else { return .notUsual }
        return role == .client
            ? Self.applyUsual(p, isFIN: isFIN, sender: &clientSide, peer: &serverSide, number: number, time: time)
            : Self.applyUsual(p, isFIN: isFIN, sender: &serverSide, peer: &clientSide, number: number, time: time)
    }

    /// What `applyUsual` did, and what the caller then records or completes.
    enum UsualOutcome { case notUsual, applied, firstData, finAcknowledged, completesHandshake, fin, finAcknowledgingFIN }

    /// The side updates of `applyGeneral` for the usual packet: an ACK without SYN, FIN or RST (the caller,
    /// `applyUsualSides`, checked the flags and that the ending is not known) sending exactly the sender's next sequence
    /// number, with a non-zero window and not leaving a zero window, to a peer whose stream was seen and
    /// that this ACK does not acknowledge beyond what was seen; from a side in `partial` or `established`,
    /// or without data from a side that closed (its last ACK) or from a client whose ACK completes the
    /// handshake (its SYN sent, the peer's SYN-ACK seen, no FIN); with data only to a peer that sent no FIN.
    /// Such a packet is no retransmission, probe, gap or reordering and changes no side's state; it can
    /// record only the sender's first data (`.firstData`) or the acknowledgment of the peer's FIN
    /// (`.finAcknowledged`), which the caller records, or complete the handshake (`.completesHandshake`:
    /// the caller records it and changes the states). Anything else returns `.notUsual` and changes nothing.
    ///
    /// With `isFIN` (the flags are FIN+ACK) the same holds for the sender's first FIN, without data, from
    /// `partial` or `established`: it also closes the sender (`noteFIN`'s side updates and the move to
    /// `closed`); the caller records the FIN (`.fin`), after the acknowledgment of the peer's FIN when
    /// this FIN+ACK acknowledges it (`.finAcknowledgingFIN`).
    @inline(__always)
    static func applyUsual(_ p: TCPPacketSummary, isFIN: Bool, sender: inout EndpointData, peer: inout EndpointData,
                           number: Int, time: Timestamp) -> UsualOutcome {
        let completesHandshake = !isFIN && sender.state == .synSent && p.payloadLength == 0 && peer.finCount == 0
            && (peer.state == .synAckSent || peer.state == .established)
        let open = sender.state == .established || sender.state == .partial
        guard isFIN
                ? open && sender.finCount == 0 && p.payloadLength == 0
                : open || (sender.state == .closed && p.payloadLength == 0) || completesHandshake,
              sender.hasBase, p.sequenceNumber == sender.nextSequence, p.window != 0, !sender.inZeroWindow,
              peer.hasBase, peer.finCount == 0 || p.payloadLength == 0 else { return .notUsual }
        let ack = p.acknowledgmentNumber
        let ackOffset = peer.offset(of: ack)
        guard ackOffset <= peer.highestOffset else { return .notUsual }

        // Sender's counters.
        sender.packets &+= 1
        sender.payloadBytes &+= UInt64(p.payloadLength)
        if sender.firstPacket == 0 { sender.firstPacket = number }
        sender.lastPacket = number
        sender.lastTime = time
        let ttl = p.ttl
        if sender.packets == 1 { sender.ttlFirst = ttl }
        if ttl < sender.ttlMin { sender.ttlMin = ttl }
        if ttl > sender.ttlMax { sender.ttlMax = ttl }
        sender.nonResetPackets &+= 1
        if ttl < sender.nonResetTTLMin { sender.nonResetTTLMin = ttl }
        if ttl > sender.nonResetTTLMax { sender.nonResetTTLMax = ttl }
        sender.lastIPID = p.ipID

        // Sequence space: the segment starts at the highest offset, so it only extends it.
        let length = Int64(p.payloadLength)
        let dataEnd = sender.highestOffset + length
        if length > 0 || isFIN {
            let segmentEnd = isFIN ? dataEnd + 1 : dataEnd
            sender.highestOffset = segmentEnd
            sender.nextSequence = sender.base.advanced(by: UInt32(truncatingIfNeeded: segmentEnd))
        }
        let bytes = dataEnd - (sender.sawSYN ? 1 : 0)
        if bytes > 0 && UInt64(bytes) > sender.streamBytes { sender.streamBytes = UInt64(bytes) }

        // Acknowledgment of the peer's stream (`noteAck`).
        let scaledWindow = UInt64(p.window) << UInt64(sender.windowScaleInUse)
        if sender.hasAck && length == 0 && !isFIN && ack == sender.lastAck && peer.nextSequence.distance(to: ack) < 0
            && scaledWindow == sender.lastAckWindow {
            sender.duplicateAcks += 1
        }
        if !sender.hasAck || sender.lastAck.distance(to: ack) > 0 {
            sender.lastAck = ack
            sender.hasAck = true
        }
        sender.lastAckWindow = scaledWindow
        let acked = ackOffset - (peer.sawSYN ? 1 : 0)
        if acked > 0 && UInt64(acked) > sender.acknowledgedPeerBytes { sender.acknowledgedPeerBytes = UInt64(acked) }
        let acknowledgesFIN = peer.finCount > 0 && !peer.finAcknowledged
            && peer.finSequence.advanced(by: 1).distance(to: ack) >= 0
        if acknowledgesFIN { peer.finAcknowledged = true }
        if !peer.episodes.isEmpty {
            for i in peer.episodes.indices where !peer.episodes[i].wasAcknowledged
                && peer.episodes[i].sequenceNumber.distance(to: ack) > 0 {
                peer.episodes[i].wasAcknowledged = true
            }
        }

        // Window (`noteWindow`): not zero, and the sender was not in a zero window.
        sender.windowLast = scaledWindow
        if scaledWindow > sender.windowMax { sender.windowMax = scaledWindow }
        if scaledWindow < sender.windowMinAfterHandshake { sender.windowMinAfterHandshake = scaledWindow }

        // The sender's first FIN (`noteFIN`, then the state change of `transition`).
        if isFIN {
            sender.finCount = 1
            sender.finPacket = number
            sender.finTime = time
            sender.finSequence = p.sequenceNumber
            sender.finAckAtFIN = ack
            sender.state = .closed
            return acknowledgesFIN ? .finAcknowledgingFIN : .fin
        }

        // Data bookkeeping: in order, so not a retransmission; with data the peer sent no FIN and the
        // sender is open.
        guard length > 0 else {
            return completesHandshake ? .completesHandshake : acknowledgesFIN ? .finAcknowledged : .applied
        }
        sender.dataPackets &+= 1
        let isFirstData = sender.lastDataPacket == 0
        sender.lastDataPacket = number
        sender.lastDataTime = time
        sender.receivedSinceLastSend = 0
        sender.firstUnansweredPacket = 0
        if peer.firstUnansweredPacket == 0 { peer.firstUnansweredPacket = number }
        peer.receivedSinceLastSend &+= UInt64(length)
        return isFirstData ? .firstData : .applied
    }

    /// The connection-wide bookkeeping of every packet.
    @inline(__always)
    mutating func noteConnectionWide(_ p: TCPPacketSummary, from role: Role, number: Int, time: Timestamp,
                                     configuration: TrackerConfiguration) {
        let gap = end.nanoseconds(to: time)
        if gap > longestIdleNanoseconds && lastPacket != 0 && number != firstPacket {
            longestIdleNanoseconds = gap
            longestIdleEndPacket = number
        }
        if time > end { end = time }
        lastPacket = number
        if endingKnown { packetsAfterEnding += 1 }
        if configuration.recordsLadder {
            recordLadder(PacketRecord(packet: number, time: time, from: role, flags: p.flags, sequenceNumber: p.sequenceNumber,
                                      acknowledgmentNumber: p.acknowledgmentNumber, payloadLength: p.payloadLength,
                                      window: p.window, ttl: p.ttl))
        }
    }

    /// Applies any packet sent by `role`: the full state machine.
    mutating func applyGeneral(_ p: TCPPacketSummary, from role: Role, number: Int, time: Timestamp, configuration: TrackerConfiguration) {
        var role = role
        let control = Control(p.flags)
        // A bare SYN from the side we took for the server, before any SYN from the other: roles were guessed wrong.
        if control == .syn && role == .server && rolesInferred && !clientSide.sawSYN && !serverSide.sawSYN {
            flipRoles(packet: number, time: time)
            roleEvidence = .syn
            rolesInferred = false
            role = .client
        }
        let peerRole = role.peer

        noteConnectionWide(p, from: role, number: number, time: time, configuration: configuration)
        zeek.observe(p, fromOriginator: role == .client, time: time)

        // Sender's counters.
        update(role) { s in
            s.packets &+= 1
            s.payloadBytes &+= UInt64(p.payloadLength)
        }
        if (role == .client ? clientSide.firstPacket : serverSide.firstPacket) == 0 { update(role) { $0.firstPacket = number } }
        update(role) { s in
            s.lastPacket = number
            s.lastTime = time
        }
        noteTTL(p.ttl, from: role, number: number, time: time)
        if control != .rst {
            update(role) { $0.nonResetPackets &+= 1 }
            if p.ttl < (role == .client ? clientSide.nonResetTTLMin : serverSide.nonResetTTLMin) { update(role) { $0.nonResetTTLMin = p.ttl } }
            if p.ttl > (role == .client ? clientSide.nonResetTTLMax : serverSide.nonResetTTLMax) { update(role) { $0.nonResetTTLMax = p.ttl } }
        }
        update(role) { $0.lastIPID = p.ipID }

        // Sequence space of the sender.
        let isSYN = control == .syn || control == .synAck
        if !(role == .client ? clientSide.hasBase : serverSide.hasBase) || (isSYN && !(role == .client ? clientSide.sawSYN : serverSide.sawSYN) && (role == .client ? clientSide.packets : serverSide.packets) == 1) {
            update(role) { s in
                s.hasBase = true
                s.base = p.sequenceNumber
                s.nextSequence = p.sequenceNumber
                s.highestOffset = 0
            }
        }
        let length = Int64(p.payloadLength)
        let start = sequenceOffset(in: role, of: p.sequenceNumber)
        let dataStart = start + (isSYN ? 1 : 0)
        let dataEnd = dataStart + length
        let segmentEnd = dataEnd + (p.flags.contains(.fin) ? 1 : 0)
        let highest = (role == .client ? clientSide.highestOffset : serverSide.highestOffset)
        let peerWindowWasZero = (peerRole == .client ? clientSide.inZeroWindow : serverSide.inZeroWindow)
        var isRetransmission = false
        if control != .rst {
            if length > 0 || p.flags.contains(.fin) {
                if segmentEnd <= highest && (role == .client ? clientSide.packets : serverSide.packets) > 1 {
                    // One byte at next - 1: a keepalive or zero-window probe carrying a garbage byte.
                    if length <= 1 && dataStart == highest - 1 && !p.flags.contains(.fin) {
                        noteProbe(role: role, peerWindowWasZero: peerWindowWasZero, number: number, time: time, p: p)
                    } else {
                        isRetransmission = true
                        noteRetransmission(role: role, sequence: p.sequenceNumber, length: p.payloadLength, number: number, time: time)
                    }
                } else if start > highest && (role == .client ? clientSide.packets : serverSide.packets) > 1 && (role == .client ? clientSide.nextSequence : serverSide.nextSequence) != p.sequenceNumber {
                    update(role) { $0.sequenceGaps += 1 }
                    record(ConnectionEvent(kind: .sequenceGap, packet: number, time: time, from: role, value: start - highest,
                                           sequenceNumber: p.sequenceNumber))
                } else if start < highest - 1 && (role == .client ? clientSide.packets : serverSide.packets) > 1 && dataEnd <= highest {
                    update(role) { $0.outOfOrder += 1 }
                }
            } else if length == 0 && !isSYN && start == highest - 1 && highest > 0 {
                // Empty segment one below the next sequence number: a keepalive or a zero-window probe.
                noteProbe(role: role, peerWindowWasZero: peerWindowWasZero, number: number, time: time, p: p)
            }
            if segmentEnd > highest {
                update(role) { s in
                    s.highestOffset = segmentEnd
                    s.nextSequence = s.base.advanced(by: UInt32(truncatingIfNeeded: segmentEnd))
                }
            }
            let synAdjust: Int64 = (role == .client ? clientSide.sawSYN : serverSide.sawSYN) || isSYN ? 1 : 0
            let bytes = dataEnd - synAdjust
            if bytes > 0 && UInt64(bytes) > (role == .client ? clientSide.streamBytes : serverSide.streamBytes) { update(role) { $0.streamBytes = UInt64(bytes) } }
        }

        // Acknowledgment of the peer's stream.
        if p.flags.contains(.ack) && control != .rst {
            noteAck(p, from: role, number: number, time: time)
        }

        // Window (RSTs carry no meaningful window).
        if control != .rst { noteWindow(p, from: role, isSYN: isSYN, number: number, time: time) }

        // Data bookkeeping.
        if length > 0 && control != .rst {
            update(role) { $0.dataPackets &+= 1 }
            if (role == .client ? clientSide.lastDataPacket : serverSide.lastDataPacket) == 0 {
                record(ConnectionEvent(kind: .firstData, packet: number, time: time, from: role, value: length,
                                       sequenceNumber: p.sequenceNumber))
            }
            update(role) { s in
                s.lastDataPacket = number
                s.lastDataTime = time
            }
            if !isRetransmission {
                update(role) { s in
                    s.receivedSinceLastSend = 0
                    s.firstUnansweredPacket = 0
                }
                if (peerRole == .client ? clientSide.firstUnansweredPacket : serverSide.firstUnansweredPacket) == 0 { update(peerRole) { $0.firstUnansweredPacket = number } }
                update(peerRole) { $0.receivedSinceLastSend &+= UInt64(length) }
                if (peerRole == .client ? clientSide.finCount : serverSide.finCount) > 0 {
                    if (role == .client ? clientSide.dataAfterPeerFIN : serverSide.dataAfterPeerFIN) == 0 {
                        update(role) { $0.firstDataAfterPeerFINPacket = number }
                        record(ConnectionEvent(kind: .dataAfterPeerFIN, packet: number, time: time, from: role, value: length,
                                               sequenceNumber: p.sequenceNumber))
                    }
                    update(role) { $0.dataAfterPeerFIN &+= UInt64(length) }
                }
                if (role == .client ? clientSide.state : serverSide.state) == .closed && (role == .client ? clientSide.finCount : serverSide.finCount) > 0 {
                    if (role == .client ? clientSide.dataAfterOwnClose : serverSide.dataAfterOwnClose) == 0 {
                        record(ConnectionEvent(kind: .dataAfterOwnClose, packet: number, time: time, from: role, value: length))
                    }
                    update(role) { $0.dataAfterOwnClose &+= UInt64(length) }
                }
            }
        }

        transition(control: control, p: p, from: role, number: number, time: time, segmentEnd: segmentEnd)
    }

    /// The state machine: one switch over (sender state, control). Every change is recorded.
    mutating func transition(control: Control, p: TCPPacketSummary, from role: Role, number: Int, time: Timestamp, segmentEnd: Int64) {
        let peerRole = role.peer
        let state = (role == .client ? clientSide.state : serverSide.state)
        switch (state, control) {
        // SYN: the start of an attempt; repeats are retransmissions, not new transitions.
        case (.inactive, .syn), (.partial, .syn):
            noteSYN(p, from: role, number: number, time: time)
            setState(.synSent, for: role, number: number, time: time)
        case (.synSent, .syn), (.synAckSent, .syn), (.established, .syn), (.closed, .syn), (.reset, .syn):
            noteSYN(p, from: role, number: number, time: time)

        // SYN-ACK: the answer; a SYN-ACK after our own SYN is a simultaneous open.
        case (.inactive, .synAck), (.synSent, .synAck), (.partial, .synAck):
            noteSYN(p, from: role, number: number, time: time)
            setState(.synAckSent, for: role, number: number, time: time)
        case (.synAckSent, .synAck), (.established, .synAck), (.closed, .synAck), (.reset, .synAck):
            noteSYN(p, from: role, number: number, time: time)

        // RST: this side aborted. Out-of-window RSTs are recorded but do not end the connection.
        case (.inactive, .rst), (.synSent, .rst), (.synAckSent, .rst), (.partial, .rst), (.established, .rst),
             (.closed, .rst), (.reset, .rst):
            let inWindow = noteRST(p, from: role, number: number, time: time)
            if state != .reset && inWindow {
                setState(.reset, for: role, number: number, time: time)
                markEndingKnown(time)
            }

        // FIN: this side closed its sending direction. Repeats are counted.
        case (.inactive, .fin), (.synSent, .fin), (.synAckSent, .fin), (.partial, .fin), (.established, .fin):
            noteFIN(p, from: role, number: number, time: time, segmentEnd: segmentEnd)
            setState(.closed, for: role, number: number, time: time)
        case (.closed, .fin), (.reset, .fin):
            noteFIN(p, from: role, number: number, time: time, segmentEnd: segmentEnd)

        // Plain segments.
        case (.inactive, .none):
            setState(.partial, for: role, number: number, time: time)
            if (peerRole == .client ? clientSide.state : serverSide.state) == .synAckSent { completeHandshake(from: role, number: number, time: time) }
        case (.synSent, .none):
            // The client's ACK of the SYN-ACK completes the handshake.
            if (peerRole == .client ? clientSide.state : serverSide.state) == .synAckSent || (peerRole == .client ? clientSide.state : serverSide.state) == .established {
                completeHandshake(from: role, number: number, time: time)
            }
        case (.synAckSent, .none):
            if (peerRole == .client ? clientSide.state : serverSide.state) == .established || (peerRole == .client ? clientSide.state : serverSide.state) == .partial {
                setState(.established, for: role, number: number, time: time)
            }
        case (.partial, .none), (.established, .none), (.closed, .none):
            break
        case (.reset, .none):
            if p.payloadLength > 0 {
                record(ConnectionEvent(kind: .dataAfterReset, packet: number, time: time, from: role, value: Int64(p.payloadLength)))
            }
        }
        // Both sides closed and both FINs acknowledged: the ending is known.
        if !endingKnown && clientSide.state == .closed && serverSide.state == .closed
            && clientSide.finAcknowledged && serverSide.finAcknowledged {
            markEndingKnown(time)
        }
    }

    mutating func completeHandshake(from role: Role, number: Int, time: Timestamp) {
        if handshakeAckPacket == 0 && synAckPacket != 0 {
            handshakeAckPacket = number
            handshakeAckTime = time
            record(ConnectionEvent(kind: .handshakeCompleted, packet: number, time: time, from: role))
        }
        setState(.established, for: role, number: number, time: time)
        if (role.peer == .client ? clientSide.state : serverSide.state) == .synAckSent { setState(.established, for: role.peer, number: number, time: time) }
    }

    mutating func setState(_ new: EndpointState, for role: Role, number: Int, time: Timestamp) {
        update(role) { $0.state = new }
    }

    mutating func markEndingKnown(_ time: Timestamp) {
        guard !endingKnown else { return }
        endingKnown = true
        endingKnownTime = time
        finishReason = clientSide.state == .reset || serverSide.state == .reset ? .reset : .closed
    }

    // MARK: - Notes per control

    /// Records a SYN or SYN-ACK: the first one per side sets the ISN and offers; repeats are retransmissions.
    mutating func noteSYN(_ p: TCPPacketSummary, from role: Role, number: Int, time: Timestamp) {
        let isSynAck = p.flags.contains(.ack)
        update(role) { $0.synCount += 1 }
        guard !(role == .client ? clientSide.sawSYN : serverSide.sawSYN) else {
            update(role) { $0.synRetransmissions += 1 }
            record(ConnectionEvent(kind: isSynAck ? .synAckRetransmitted : .synRetransmitted, packet: number, time: time,
                                   from: role, value: Int64((role == .client ? clientSide.synRetransmissions : serverSide.synRetransmissions)), sequenceNumber: p.sequenceNumber,
                                   flags: p.flags))
            return
        }
        update(role) { s in
            s.sawSYN = true
            s.isn = p.sequenceNumber
            s.synPacket = number
            s.synTime = time
            s.offeredWindowScale = p.options.windowScale
        }
        if isSynAck {
            if synAckPacket == 0 {
                synAckPacket = number
                synAckTime = time
            }
            // Window scaling is in force only when both SYNs offered it.
            if let mine = p.options.windowScale, let theirs = (role.peer == .client ? clientSide.offeredWindowScale : serverSide.offeredWindowScale) {
                update(role) { $0.windowScaleInUse = min(mine, 14) }
                update(role.peer) { $0.windowScaleInUse = min(theirs, 14) }
            }
        } else if synPacket == 0 {
            synPacket = number
            synTime = time
        }
        record(ConnectionEvent(kind: isSynAck ? .synAck : .syn, packet: number, time: time, from: role,
                               sequenceNumber: p.sequenceNumber, acknowledgmentNumber: p.acknowledgmentNumber, flags: p.flags))
    }

    /// Records a RST; returns whether its seq falls in the receiver's window (or cannot be judged).
    mutating func noteRST(_ p: TCPPacketSummary, from role: Role, number: Int, time: Timestamp) -> Bool {
        // The few fields needed, read in place (`self[role]` would copy a whole side and retain its arrays).
        let peerRole = role.peer
        let myState = role == .client ? clientSide.state : serverSide.state
        let peerState = peerRole == .client ? clientSide.state : serverSide.state
        let peerWindow = peerRole == .client ? clientSide.windowLast : serverSide.windowLast
        update(role) { $0.rstCount += 1 }
        let fromNext: Int32? = (role == .client ? clientSide.hasBase : serverSide.hasBase)
            ? (role == .client ? clientSide.nextSequence : serverSide.nextSequence).distance(to: p.sequenceNumber) : nil
        let fromPeerAck: Int32? = (peerRole == .client ? clientSide.hasAck : serverSide.hasAck)
            ? (peerRole == .client ? clientSide.lastAck : serverSide.lastAck).distance(to: p.sequenceNumber) : nil
        var outOfWindow = false
        if let d = fromPeerAck, peerState != .inactive {
            let window = Int64(max(peerWindow, 1))
            outOfWindow = Int64(d) < 0 || Int64(d) >= window
            // Zero-window or window unknown: only exact matches are safe to call in-window.
            if peerWindow == 0 { outOfWindow = d != 0 }
        }
        let record = ResetRecord(
            packet: number, time: time, sequenceNumber: p.sequenceNumber, acknowledgmentNumber: p.acknowledgmentNumber,
            hasACK: p.flags.contains(.ack), ttl: p.ttl, window: p.window, payloadLength: p.payloadLength,
            distanceFromNextSequence: fromNext, distanceFromPeerAck: fromPeerAck, isOutOfWindow: outOfWindow,
            senderStateBefore: myState, peerStateBefore: peerState)
        if (role == .client ? clientSide.resets : serverSide.resets).count < 4 { update(role) { $0.resets.append(record) } }
        self.record(ConnectionEvent(kind: .rst, packet: number, time: time, from: role, value: outOfWindow ? 1 : 0,
                                    sequenceNumber: p.sequenceNumber, acknowledgmentNumber: p.acknowledgmentNumber, flags: p.flags))
        return !outOfWindow
    }

    mutating func noteFIN(_ p: TCPPacketSummary, from role: Role, number: Int, time: Timestamp, segmentEnd: Int64) {
        update(role) { $0.finCount += 1 }
        if (role == .client ? clientSide.finCount : serverSide.finCount) == 1 {
            update(role) { s in
                s.finPacket = number
                s.finTime = time
                s.finSequence = p.sequenceNumber.advanced(by: p.payloadLength)
                s.finAckAtFIN = p.flags.contains(.ack) ? p.acknowledgmentNumber : nil
            }
            record(ConnectionEvent(kind: .fin, packet: number, time: time, from: role, value: Int64(p.payloadLength),
                                   sequenceNumber: p.sequenceNumber, acknowledgmentNumber: p.acknowledgmentNumber, flags: p.flags))
        } else {
            record(ConnectionEvent(kind: .finRetransmitted, packet: number, time: time, from: role,
                                   value: Int64((role == .client ? clientSide.finCount : serverSide.finCount) - 1), sequenceNumber: p.sequenceNumber, flags: p.flags))
        }
    }

    mutating func noteAck(_ p: TCPPacketSummary, from role: Role, number: Int, time: Timestamp) {
        let peerRole = role.peer
        let ack = p.acknowledgmentNumber
        let isPureAck = p.payloadLength == 0 && !p.flags.contains(.syn) && !p.flags.contains(.fin)
        if (role == .client ? clientSide.hasAck : serverSide.hasAck) && isPureAck && ack == (role == .client ? clientSide.lastAck : serverSide.lastAck)
            && (peerRole == .client ? clientSide.hasBase : serverSide.hasBase) && (peerRole == .client ? clientSide.nextSequence : serverSide.nextSequence).distance(to: ack) < 0
            && UInt64(p.window) << UInt64((role == .client ? clientSide.windowScaleInUse : serverSide.windowScaleInUse)) == (role == .client ? clientSide.lastAckWindow : serverSide.lastAckWindow) {
            update(role) { $0.duplicateAcks += 1 }
        }
        if !(role == .client ? clientSide.hasAck : serverSide.hasAck) || (role == .client ? clientSide.lastAck : serverSide.lastAck).distance(to: ack) > 0 {
            update(role) { s in
                s.lastAck = ack
                s.hasAck = true
            }
        }
        update(role) { $0.lastAckWindow = UInt64(p.window) << UInt64($0.windowScaleInUse) }
        guard (peerRole == .client ? clientSide.hasBase : serverSide.hasBase) else {
            // Acknowledging a peer the capture never saw: one direction is missing (or was lost).
            update(peerRole) { $0.acksForUnseenData += 1 }
            return
        }
        let ackOffset = sequenceOffset(in: peerRole, of: ack)
        if ackOffset > (peerRole == .client ? clientSide.highestOffset : serverSide.highestOffset) {
            update(peerRole) { $0.acksForUnseenData += 1 }
            if (peerRole == .client ? clientSide.acksForUnseenData : serverSide.acksForUnseenData) == 1 {
                record(ConnectionEvent(kind: .ackForUnseenData, packet: number, time: time, from: role,
                                       value: ackOffset - (peerRole == .client ? clientSide.highestOffset : serverSide.highestOffset), acknowledgmentNumber: ack))
            }
        }
        let synAdjust: Int64 = (peerRole == .client ? clientSide.sawSYN : serverSide.sawSYN) ? 1 : 0
        let acked = ackOffset - synAdjust
        if acked > 0 && UInt64(acked) > (role == .client ? clientSide.acknowledgedPeerBytes : serverSide.acknowledgedPeerBytes) { update(role) { $0.acknowledgedPeerBytes = UInt64(acked) } }
        if (peerRole == .client ? clientSide.finCount : serverSide.finCount) > 0 && !(peerRole == .client ? clientSide.finAcknowledged : serverSide.finAcknowledged)
            && (peerRole == .client ? clientSide.finSequence : serverSide.finSequence).advanced(by: 1).distance(to: ack) >= 0 {
            update(peerRole) { $0.finAcknowledged = true }
            record(ConnectionEvent(kind: .finAcknowledged, packet: number, time: time, from: role, acknowledgmentNumber: ack))
        }
        for i in (peerRole == .client ? clientSide.episodes : serverSide.episodes).indices where !(peerRole == .client ? clientSide.episodes : serverSide.episodes)[i].wasAcknowledged {
            if (peerRole == .client ? clientSide.episodes : serverSide.episodes)[i].sequenceNumber.distance(to: ack) > 0 {
                update(peerRole) { $0.episodes[i].wasAcknowledged = true }
            }
        }
    }

    mutating func noteWindow(_ p: TCPPacketSummary, from role: Role, isSYN: Bool, number: Int, time: Timestamp) {
        let scaled = isSYN ? UInt64(p.window) : UInt64(p.window) << UInt64((role == .client ? clientSide.windowScaleInUse : serverSide.windowScaleInUse))
        update(role) { $0.windowLast = scaled }
        if scaled > (role == .client ? clientSide.windowMax : serverSide.windowMax) { update(role) { $0.windowMax = scaled } }
        if !isSYN && scaled < (role == .client ? clientSide.windowMinAfterHandshake : serverSide.windowMinAfterHandshake) { update(role) { $0.windowMinAfterHandshake = scaled } }
        if p.window == 0 && !isSYN {
            update(role) { $0.zeroWindowAdvertisements += 1 }
            if !(role == .client ? clientSide.inZeroWindow : serverSide.inZeroWindow) {
                update(role) { s in
                    s.inZeroWindow = true
                    s.zeroWindowEpisodes += 1
                }
                if (role == .client ? clientSide.firstZeroWindowPacket : serverSide.firstZeroWindowPacket) == 0 { update(role) { $0.firstZeroWindowPacket = number } }
                record(ConnectionEvent(kind: .zeroWindow, packet: number, time: time, from: role,
                                       acknowledgmentNumber: p.acknowledgmentNumber))
            }
        } else if (role == .client ? clientSide.inZeroWindow : serverSide.inZeroWindow) && p.window > 0 {
            update(role) { $0.inZeroWindow = false }
            record(ConnectionEvent(kind: .windowReopened, packet: number, time: time, from: role, value: Int64(scaled)))
        }
    }

    mutating func noteProbe(role: Role, peerWindowWasZero: Bool, number: Int, time: Timestamp, p: TCPPacketSummary) {
        if peerWindowWasZero {
            update(role) { $0.zeroWindowProbes += 1 }
            if (role == .client ? clientSide.zeroWindowProbes : serverSide.zeroWindowProbes) == 1 || (role == .client ? clientSide.zeroWindowProbes : serverSide.zeroWindowProbes).nonzeroBitCount == 1 {
                record(ConnectionEvent(kind: .zeroWindowProbe, packet: number, time: time, from: role,
                                       value: Int64((role == .client ? clientSide.zeroWindowProbes : serverSide.zeroWindowProbes)), sequenceNumber: p.sequenceNumber))
            }
        } else {
            update(role) { $0.keepaliveProbes += 1 }
            if (role == .client ? clientSide.firstKeepalivePacket : serverSide.firstKeepalivePacket) == 0 { update(role) { $0.firstKeepalivePacket = number } }
            if (role == .client ? clientSide.keepaliveProbes : serverSide.keepaliveProbes) <= 12 {
                record(ConnectionEvent(kind: .keepalive, packet: number, time: time, from: role,
                                       value: Int64((role == .client ? clientSide.keepaliveProbes : serverSide.keepaliveProbes)), sequenceNumber: p.sequenceNumber))
            }
        }
    }

    mutating func noteRetransmission(role: Role, sequence: SequenceNumber, length: UInt32, number: Int, time: Timestamp) {
        update(role) { s in
            s.retransmissions += 1
            s.retransmittedBytes &+= UInt64(length)
        }
        if let last = (role == .client ? clientSide.episodes : serverSide.episodes).indices.last, (role == .client ? clientSide.episodes : serverSide.episodes)[last].sequenceNumber == sequence {
            update(role) { $0.episodes[last].count += 1 }
            if (role == .client ? clientSide.episodes : serverSide.episodes)[last].packets.count < RetransmissionEpisode.maximumRecorded {
                update(role) { s in
                    s.episodes[last].packets.append(number)
                    s.episodes[last].times.append(time)
                }
            }
            return
        }
        // A new episode; the original transmission is the last data packet seen at that seq (approximate:
        // the previous data packet time of this side).
        var episode = RetransmissionEpisode(sequenceNumber: sequence, originalPacket: (role == .client ? clientSide.lastDataPacket : serverSide.lastDataPacket),
                                            originalTime: (role == .client ? clientSide.lastDataTime : serverSide.lastDataTime), payloadLength: length)
        episode.packets = [number]
        episode.times = [time]
        episode.count = 1
        if (role == .client ? clientSide.episodes : serverSide.episodes).count >= EndpointData.maximumEpisodes { update(role) { $0.episodes.removeFirst() } }
        update(role) { $0.episodes.append(episode) }
        if (role == .client ? clientSide.retransmissions : serverSide.retransmissions) == 1 || (role == .client ? clientSide.retransmissions : serverSide.retransmissions).nonzeroBitCount == 1 {
            record(ConnectionEvent(kind: .retransmission, packet: number, time: time, from: role,
                                   value: Int64((role == .client ? clientSide.retransmissions : serverSide.retransmissions)), sequenceNumber: sequence))
        }
    }

    mutating func noteTTL(_ ttl: UInt8, from role: Role, number: Int, time: Timestamp) {
        if (role == .client ? clientSide.packets : serverSide.packets) == 1 { update(role) { $0.ttlFirst = ttl } }
        if ttl < (role == .client ? clientSide.ttlMin : serverSide.ttlMin) { update(role) { $0.ttlMin = ttl } }
        if ttl > (role == .client ? clientSide.ttlMax : serverSide.ttlMax) { update(role) { $0.ttlMax = ttl } }
    }

    mutating func recordLadder(_ row: PacketRecord) {
        if headPackets.count < Self.headCapacity {
            if headPackets.isEmpty { headPackets.reserveCapacity(Self.headCapacity) }  // one allocation, no regrowth
            headPackets.append(row)
            return
        }
        if tailPackets.count < Self.tailCapacity {
            tailPackets.append(row)
        } else {
            tailPackets[tailNext] = row
            tailNext = (tailNext + 1) % Self.tailCapacity
        }
    }
}
