import ConnectionTracking
import WireFormat

/// The diagnosis rules. Each looks at one kind of ending and returns nil when it does not apply.
enum Rules {
    // MARK: - Shared facts

    /// The RST that ended the connection, with its sender.
    typealias EndingReset = (role: Role, record: ResetRecord)

    /// The RST that ended the connection: the first in-window RST, with its sender. Seven rules ask;
    /// `Diagnoser.diagnose` finds it once and hands it to them (the rules that need one are not called
    /// without it).
    static func endingReset(_ c: Connection) -> EndingReset? {
        var best: (role: Role, record: ResetRecord)?
        for role in [Role.client, .server] {
            guard let r = c[role].resets.first(where: { !$0.isOutOfWindow }) else { continue }
            if r.packet < best?.record.packet ?? .max { best = (role, r) }
        }
        return best
    }

    static func relation(_ r: ResetRecord) -> SequenceRelation {
        switch (r.distanceFromNextSequence, r.distanceFromPeerAck) {
        case (0?, 0?): return .both
        case (0?, _): return .senderNext
        case (_, 0?): return .peerAck
        case (nil, nil): return .unknown
        default: return .other
        }
    }

    static func resetReason(_ role: Role, _ r: ResetRecord, _ c: Connection) -> Reason {
        .reset(packet: r.packet, time: r.time, from: Party(role), hasACK: r.hasACK, relation: relation(r),
               afterFIN: c[role].finCount > 0 && c[role].finPacket < r.packet, ttl: r.ttl)
    }

    static func finReasons(_ c: Connection) -> [Reason] {
        let client = c.clientSide, server = c.serverSide
        let clientFIN = Reason.fin(packet: client.finPacket, time: client.finTime, from: .client)
        let serverFIN = Reason.fin(packet: server.finPacket, time: server.finTime, from: .server)
        switch (client.finCount > 0, server.finCount > 0) {
        case (true, true): return client.finPacket <= server.finPacket ? [clientFIN, serverFIN] : [serverFIN, clientFIN]
        case (true, false): return [clientFIN]
        case (false, true): return [serverFIN]
        case (false, false): return []
        }
    }

    /// Who sent the first FIN or in-window RST.
    /// Every connection asks this, so it reads the sides in place (no array of candidates, no copy of
    /// a side); on equal packets the earlier candidate wins (client FIN, client RST, server FIN, server RST).
    static func firstCloser(_ c: Connection) -> Role? {
        var best: (packet: Int, role: Role)?
        func consider(_ packet: Int, _ role: Role) {
            if packet < best?.packet ?? .max { best = (packet, role) }
        }
        if c.clientSide.finCount > 0 { consider(c.clientSide.finPacket, .client) }
        if let r = c.clientSide.resets.first(where: { !$0.isOutOfWindow }) { consider(r.packet, .client) }
        if c.serverSide.finCount > 0 { consider(c.serverSide.finPacket, .server) }
        if let r = c.serverSide.resets.first(where: { !$0.isOutOfWindow }) { consider(r.packet, .server) }
        return best?.role
    }

    static func outcome(_ role: Role, _ result: AppOutcome.Result, _ call: AppOutcome.Call, _ note: AppOutcome.Note = .none,
                        into v: inout Verdict) {
        if role == .client { v.clientView = AppOutcome(result, on: call, note: note) }
        else { v.serverView = AppOutcome(result, on: call, note: note) }
    }

    static func verdict(_ cause: CauseCode, _ ending: Ending, closedBy: Party?, resetBy: Party?, _ confidence: Confidence,
                        _ reasons: [Reason], advice: Advice? = nil) -> Verdict {
        Verdict(cause: cause, ending: ending, closedBy: closedBy, resetBy: resetBy, confidence: confidence, rule: "",
                reasons: reasons, advice: advice)
    }

    /// The sender's usual TTL: from its non-RST packets, when they all agree (nil otherwise).
    static func usualTTL(_ c: Connection, _ role: Role) -> UInt8? {
        let side = c[role]
        guard side.nonResetPackets > 0, side.nonResetTTLMin == side.nonResetTTLMax else { return nil }
        return side.nonResetTTLMin
    }

    // MARK: - Rules, in policy order

    /// Only one direction was captured (the other side's packets are missing, yet it clearly answered).
    static func oneDirectionOnly(_ c: Connection, _ ctx: CaptureContext) -> Verdict? {
        for role in [Role.client, .server] {
            let me = c[role], peer = c[role.peer]
            guard peer.packets == 0, me.packets > 1, peer.acksForUnseenData > 0
            else { continue }
            var reasons: [Reason] = [.midstream(packet: c.firstPacket, time: c.start)]
            if me.finCount > 0 {
                reasons.insert(.fin(packet: me.finPacket, time: me.finTime, from: Party(role)), at: 0)
                var v = verdict(.gracefulClose, .graceful, closedBy: Party(role), resetBy: nil, .low, reasons)
                v.alternatives = [.stillOpen]
                return v
            }
            if let r = me.resets.first {
                reasons.insert(resetReason(role, r, c), at: 0)
                return verdict(.unknown, .reset, closedBy: Party(role), resetBy: Party(role), .low, reasons)
            }
            reasons.append(.captureEnded(packet: c.lastPacket, time: c.end, idleNanoseconds: c.end.nanoseconds(to: ctx.captureEnd),
                                         halfClosedBy: nil))
            return verdict(.stillOpen, .unfinished, closedBy: nil, resetBy: nil, .low, reasons)
        }
        return nil
    }

    /// SYN answered by RST, no SYN-ACK: nothing listens on that port (or a firewall rejects).
    static func refused(_ c: Connection, _ ctx: CaptureContext) -> Verdict? {
        let client = c.clientSide, server = c.serverSide
        guard client.sawSYN, !server.sawSYN else { return nil }
        if let r = server.resets.first {
            var reasons: [Reason] = [
                .synAnsweredByReset(synPacket: client.synPacket, rstPacket: r.packet, time: r.time, hasACK: r.hasACK),
            ]
            if client.synRetransmissions > 0 {
                reasons.append(.synSent(packet: client.synPacket, time: client.synTime, retransmissions: client.synRetransmissions,
                                        spanNanoseconds: client.synTime.nanoseconds(to: client.lastTime)))
            }
            var v = verdict(.refused, .refused, closedBy: .server, resetBy: .server, r.hasACK ? .high : .medium, reasons,
                            advice: .checkListener)
            outcome(.client, .connectionRefused, .connect, into: &v)
            return v
        }
        if let icmp = c.icmpErrors.first(where: { $0.error.kindName == "port-unreachable" }) {
            var v = verdict(.refused, .refused, closedBy: .server, resetBy: nil, .medium,
                            [.icmpError(packet: icmp.packet, time: icmp.time, kind: icmp.error.kindName, reporter: "\(icmp.error.reporter)")],
                            advice: .checkListener)
            outcome(.client, .connectionRefused, .connect, into: &v)
            return v
        }
        return nil
    }

    /// The client sent SYN(s), got nothing, then reset its own attempt (a connect() given up, a scanner).
    /// Also when the client resets right after the SYN-ACK without completing the handshake (a half-open
    /// "SYN scan", or a connect() abandoned at that moment).
    static func attemptAborted(_ c: Connection, _ ctx: CaptureContext) -> Verdict? {
        let client = c.clientSide
        guard client.sawSYN, c.serverSide.packets == 0 || !c.serverSide.sawSYN || c.handshakeAckPacket == 0,
              let r = client.resets.first, c.serverSide.dataPackets == 0, client.dataPackets == 0 else { return nil }
        let v = verdict(.abortiveClose, .reset, closedBy: .client, resetBy: .client, .low, [
            resetReason(.client, r, c),
            .noSYNACK(lastSYNPacket: client.synPacket, time: client.synTime),
        ])
        return v
    }

    /// SYNs never answered.
    static func synTimeout(_ c: Connection, _ ctx: CaptureContext) -> Verdict? {
        let client = c.clientSide
        guard client.sawSYN, c.serverSide.packets == 0, client.resets.isEmpty else { return nil }
        guard client.dataPackets == 0, client.finCount == 0 else { return nil }
        var reasons: [Reason] = [
            .synSent(packet: client.synPacket, time: client.synTime, retransmissions: client.synRetransmissions,
                     spanNanoseconds: client.synTime.nanoseconds(to: client.lastTime)),
        ]
        var result = AppOutcome.Result.timedOut
        if let icmp = c.icmpErrors.first {
            reasons.append(.icmpError(packet: icmp.packet, time: icmp.time, kind: icmp.error.kindName, reporter: "\(icmp.error.reporter)"))
            result = icmp.error.likelyErrno == "ENETUNREACH" ? .networkUnreachable : .hostUnreachable
        }
        let confidence: Confidence = client.synRetransmissions >= 2 || !c.icmpErrors.isEmpty ? .high
            : client.synRetransmissions == 1 ? .medium : .low
        if ctx.serverAnsweredOthers && c.icmpErrors.isEmpty && client.synRetransmissions > 0 {
            // The same server completed other handshakes in this capture: it is up and reachable, so these
            // SYNs were most likely dropped by a full accept queue (Linux drops SYNs while it is full).
            reasons.append(.serverAnsweredOthers(packet: client.synPacket, time: client.synTime, server: c.server.description))
            var v = verdict(.listenOverflow, .timeout, closedBy: .client, resetBy: nil, .medium, reasons,
                            advice: .raiseBacklogAcceptFaster)
            v.alternatives = [.synTimeout]
            outcome(.client, .timedOut, .connect, .neverAccepted, into: &v)
            return v
        }
        var v = verdict(.synTimeout, .timeout, closedBy: .client, resetBy: nil, confidence, reasons, advice: .checkPathOrFirewall)
        if client.synRetransmissions == 0 && c.icmpErrors.isEmpty { v.alternatives = [.stillOpen] }
        outcome(.client, result, .connect, into: &v)
        return v
    }

    /// The handshake completed on the wire but the server's application never took the connection:
    /// its accept queue was full (SYN-ACKs repeated, client data never acknowledged, or a RST right away).
    static func listenOverflow(_ c: Connection, _ ctx: CaptureContext) -> Verdict? {
        let client = c.clientSide, server = c.serverSide
        guard c.handshakeAckPacket != 0, server.dataPackets == 0, server.finCount == 0 else { return nil }
        let clientDataUnacked = client.streamBytes > 0 && server.acknowledgedPeerBytes == 0
        let synAckRepeatedAfterAck = server.synRetransmissions > 0 && server.lastPacket > c.handshakeAckPacket
        if let r = server.resets.first, !r.hasACK || clientDataUnacked, client.finCount == 0,
           clientDataUnacked || synAckRepeatedAfterAck, usualTTL(c, .server).map({ $0 == r.ttl }) ?? true {
            var reasons: [Reason] = [resetReason(.server, r, c), .resetRightAfterHandshake(packet: r.packet, time: r.time)]
            if clientDataUnacked {
                reasons.append(.handshakeThenSilence(packet: client.firstPacket, time: c.handshakeAckTime,
                                                     unacknowledgedClientBytes: client.streamBytes))
            }
            var v = verdict(.listenOverflow, .reset, closedBy: .server, resetBy: .server, .medium, reasons,
                            advice: .raiseBacklogAcceptFaster)
            outcome(.client, .connectionReset, .recvOrSend, into: &v)
            return v
        }
        // Data never acknowledged after the handshake is also what a server that vanished right then
        // looks like; call it an overflow only when this server showed the overflow signature somewhere.
        guard server.resets.isEmpty, client.resets.isEmpty || clientDataUnacked,
              synAckRepeatedAfterAck || (clientDataUnacked && client.retransmissions > 0 && ctx.serverShowedListenOverflow)
        else { return nil }
        var reasons: [Reason] = []
        if synAckRepeatedAfterAck {
            reasons.append(.synAckRetransmitted(packet: server.lastPacket, time: server.lastTime, count: server.synRetransmissions))
        }
        if clientDataUnacked {
            reasons.append(.handshakeThenSilence(packet: client.firstPacket, time: c.handshakeAckTime,
                                                 unacknowledgedClientBytes: client.streamBytes))
        }
        let resetByClient = client.resets.first
        var v = verdict(.listenOverflow, resetByClient == nil ? .timeout : .reset, closedBy: .client,
                        resetBy: resetByClient == nil ? nil : .client, .medium, reasons, advice: .raiseBacklogAcceptFaster)
        // A server host that died right after the handshake would look the same.
        if !synAckRepeatedAfterAck { v.alternatives = [.retransmissionTimeout] }
        outcome(.client, .resetOrTimeout, .recvOrSend, .neverAccepted, into: &v)
        return v
    }

    /// One side closed (FIN), the other kept sending, and the closed side answered with RST.
    static func dataAfterClose(_ c: Connection, _ ctx: CaptureContext) -> Verdict? {
        for closer in [Role.client, .server] {
            let a = c[closer], b = c[closer.peer]
            guard a.finCount > 0, b.dataAfterPeerFIN > 0, let r = a.resets.first(where: { !$0.isOutOfWindow }),
                  r.packet > b.firstDataAfterPeerFINPacket else { continue }
            var v = verdict(.dataAfterClose, .reset, closedBy: Party(closer), resetBy: Party(closer), .high, [
                .fin(packet: a.finPacket, time: a.finTime, from: Party(closer)),
                .dataAfterPeerFIN(packet: b.firstDataAfterPeerFINPacket, time: r.time, from: Party(closer.peer),
                                  bytes: b.dataAfterPeerFIN, peerFINPacket: a.finPacket),
                resetReason(closer, r, c),
            ], advice: closer == .server ? .clientShouldCloseFirst : .drainBeforeClose)
            outcome(closer.peer, .brokenPipe, .secondSend, .firstSendSucceeds, into: &v)
            return v
        }
        return nil
    }

    /// Keepalive probes went unanswered; the prober gave up (Linux then sends RST+ACK).
    static func keepaliveTimeout(_ c: Connection, _ ctx: CaptureContext) -> Verdict? {
        for prober in [Role.client, .server] {
            let me = c[prober], peer = c[prober.peer]
            guard me.keepaliveProbes >= 2, me.firstKeepalivePacket > 0, peer.lastPacket < me.firstKeepalivePacket,
                  peer.resets.isEmpty, peer.finCount == 0 else { continue }
            var reasons: [Reason] = [
                .keepaliveProbes(packet: me.firstKeepalivePacket, time: me.lastTime, from: Party(prober), count: me.keepaliveProbes,
                                 answered: false),
                .silenceAfter(packet: peer.lastPacket, time: peer.lastTime, of: Party(prober.peer),
                              nanoseconds: peer.lastTime.nanoseconds(to: c.end)),
            ]
            let r = me.resets.first
            if let r { reasons.append(resetReason(prober, r, c)) }
            var v = verdict(.keepaliveTimeout, .timeout, closedBy: Party(prober), resetBy: nil,
                            r == nil ? .medium : .high, reasons, advice: .checkPeerAlive)
            outcome(prober, .timedOut, .recvOrSend, .afterKeepaliveProbes, into: &v)
            return v
        }
        return nil
    }

    /// Data retransmitted with backoff, never acknowledged, the peer silent: the peer or the path is gone.
    static func retransmissionTimeout(_ c: Connection, _ ctx: CaptureContext) -> Verdict? {
        for sender in [Role.client, .server] {
            let me = c[sender], peer = c[sender.peer]
            // A FIN repeated after both sides closed is a graceful close missing its last ACK, not a timeout.
            guard let episode = me.episodes.last, !episode.wasAcknowledged, episode.count >= 2,
                  let firstRetransmission = episode.packets.first, peer.lastPacket < firstRetransmission,
                  peer.resets.isEmpty, !(me.finCount > 0 && peer.finCount > 0 && me.finPacket <= firstRetransmission)
            else { continue }
            var reasons: [Reason] = [
                .retransmissions(packet: episode.packets.last ?? firstRetransmission, time: episode.times.last ?? me.lastTime,
                                 from: Party(sender), count: episode.count, firstPacket: firstRetransmission,
                                 backoff: episode.showsBackoff, acknowledged: false),
                .silenceAfter(packet: peer.lastPacket, time: peer.lastTime, of: Party(sender.peer),
                              nanoseconds: peer.lastTime.nanoseconds(to: c.end)),
            ]
            let r = me.resets.first(where: { $0.packet > firstRetransmission })
            if let r { reasons.append(resetReason(sender, r, c)) }
            // Nothing acknowledged since the handshake: a full accept queue looks the same.
            let neverAcknowledged = sender == .client && c.handshakeAckPacket != 0 && peer.acknowledgedPeerBytes == 0
            let confidence: Confidence = episode.count >= 3 && episode.showsBackoff && !neverAcknowledged ? .high : .medium
            var v = verdict(.retransmissionTimeout, r == nil ? .timeout : .reset, closedBy: Party(sender),
                            resetBy: r == nil ? nil : Party(sender), confidence, reasons, advice: .checkPeerAlive)
            if neverAcknowledged { v.alternatives = [.listenOverflow] }
            outcome(sender, .timedOut, .recvOrSend, .windowsMayReport10053, into: &v)
            return v
        }
        return nil
    }

    /// A RST whose TTL does not match its claimed sender's other packets, or RSTs toward both ends at once.
    static func middleboxReset(_ c: Connection, _ ctx: CaptureContext, _ ending: EndingReset) -> Verdict? {
        let (role, r) = ending
        var reasons: [Reason] = []
        if let usual = usualTTL(c, role), usual != r.ttl {
            reasons.append(.ttlMismatch(packet: r.packet, time: r.time, claimed: Party(role), resetTTL: r.ttl, usualTTL: usual))
        }
        if let other = c[role.peer].resets.first, other.time.nanoseconds(to: r.time).magnitude < 1_000_000,
           c[role.peer].finCount == 0 {
            reasons.append(.resetsBothWays(packet: other.packet, time: other.time))
        }
        guard !reasons.isEmpty else { return nil }
        reasons.insert(resetReason(role, r, c), at: 0)
        var v = verdict(.middleboxReset, .reset, closedBy: .middlebox, resetBy: .middlebox, reasons.count >= 3 ? .high : .medium,
                        reasons, advice: .checkMiddlebox)
        outcome(role.peer, .connectionReset, .recvOrSend, into: &v)
        if reasons.contains(where: { if case .resetsBothWays = $0 { true } else { false } }) {
            outcome(role, .connectionReset, .recvOrSend, into: &v)
        }
        return v
    }

    /// A long silence, then the segment that broke it was answered by a RST or never answered at all:
    /// state expired somewhere (NAT, firewall or load-balancer idle timer, or the peer).
    static func idleTimeout(_ c: Connection, _ ctx: CaptureContext, _ ending: EndingReset?) -> Verdict? {
        guard c.longestIdleEndPacket > 0 else { return nil }
        let gap = c.longestIdleNanoseconds
        let rtt = c.handshakeRTTNanoseconds ?? 1_000_000
        // Saturating: capture timestamps can be anything (fuzzing found the overflow).
        let active = c.start.nanoseconds(to: c.end).subtractingReportingOverflow(gap)
        let rttTimes1000 = rtt.multipliedReportingOverflow(by: 1000)
        guard gap >= 30_000_000_000
            || (gap >= 2_000_000_000 && !rttTimes1000.overflow && gap >= rttTimes1000.partialValue
                && (active.overflow || gap >= active.partialValue))
        else { return nil }
        guard c.clientSide.finCount == 0, c.serverSide.finCount == 0 else { return nil }
        if let (role, r) = ending {
            // The RST must answer the segment (from the other side) that broke the silence, not break it
            // itself nor come long after it.
            guard r.packet > c.longestIdleEndPacket, r.packet - c.longestIdleEndPacket <= 3,
                  c[role.peer].lastPacket >= c.longestIdleEndPacket else { return nil }
            var reasons: [Reason] = [.idleGap(packet: c.longestIdleEndPacket, time: r.time, nanoseconds: gap), resetReason(role, r, c)]
            var by = Party(role)
            if let usual = usualTTL(c, role), usual != r.ttl {
                reasons.append(.ttlMismatch(packet: r.packet, time: r.time, claimed: Party(role), resetTTL: r.ttl, usualTTL: usual))
                by = .middlebox
            }
            var v = verdict(.idleTimeout, .reset, closedBy: by, resetBy: by, .medium, reasons, advice: .enableKeepaliveOrHeartbeat)
            outcome(role.peer, .connectionReset, .recvOrSend, into: &v)
            return v
        }
        // Or never answered: the first segment after the silence is retransmitted until the sender gives up.
        for sender in [Role.client, .server] {
            let me = c[sender], peer = c[sender.peer]
            guard let episode = me.episodes.last, !episode.wasAcknowledged, episode.count >= 2,
                  let first = episode.packets.first, first > c.longestIdleEndPacket || episode.originalPacket >= c.longestIdleEndPacket,
                  peer.lastPacket < c.longestIdleEndPacket else { continue }
            var v = verdict(.idleTimeout, .timeout, closedBy: Party(sender), resetBy: nil, .medium, [
                .idleGap(packet: c.longestIdleEndPacket, time: c.end, nanoseconds: gap),
                .retransmissions(packet: episode.packets.last ?? first, time: episode.times.last ?? me.lastTime, from: Party(sender),
                                 count: episode.count, firstPacket: first, backoff: episode.showsBackoff, acknowledged: false),
            ], advice: .enableKeepaliveOrHeartbeat)
            v.alternatives = [.retransmissionTimeout]
            outcome(sender, .timedOut, .recvOrSend, .afterRetransmissionsGiveUp, into: &v)
            return v
        }
        return nil
    }

    /// Both FINs, then a RST: a graceful close with an abortive tail.
    static func resetAfterGracefulClose(_ c: Connection, _ ctx: CaptureContext, _ ending: EndingReset) -> Verdict? {
        let (role, r) = ending
        guard c[role].finCount > 0, c[role].finPacket < r.packet,
              c[role.peer].dataAfterPeerFIN == 0 else { return nil }
        let closer = firstCloser(c) ?? role
        var reasons = finReasons(c)
        reasons.append(.finThenReset(packet: r.packet, time: r.time, from: Party(role)))
        reasons.append(resetReason(role, r, c))
        var v = verdict(.gracefulClose, .reset, closedBy: Party(closer), resetBy: Party(role), .medium, reasons)
        // The peer reads the FIN first (EOF); the RST then surfaces as EPIPE only if it sends again (Linux).
        outcome(role.peer, .eof, .recv, c[role.peer].finCount > 0 ? .none : .nextSendFailsEPIPE, into: &v)
        return v
    }

    /// A RST without ACK answering the peer's segment (seq = the peer's ACK number): the sender had no
    /// socket for this connection any more.
    static func peerLostState(_ c: Connection, _ ctx: CaptureContext, _ ending: EndingReset) -> Verdict? {
        let (role, r) = ending
        guard !r.hasACK, c[role].finCount == 0 else { return nil }
        let rel = relation(r)
        guard rel == .peerAck || rel == .both || (rel == .other && c[role].packets == 1) else { return nil }
        guard c[role].packets > 1 || c[role.peer].packets > 0 else { return nil }
        var reasons: [Reason] = [resetReason(role, r, c)]
        if c.longestIdleNanoseconds > 0 {
            reasons.append(.idleGap(packet: c.longestIdleEndPacket, time: r.time, nanoseconds: c.longestIdleNanoseconds))
        }
        var v = verdict(.peerLostState, .reset, closedBy: Party(role), resetBy: Party(role),
                        rel == .peerAck ? .high : .medium, reasons, advice: .reconnectOnReset)
        outcome(role.peer, .connectionReset, .recvOrSend, into: &v)
        return v
    }

    /// RST+ACK at the sender's next sequence number while data it had received was unread.
    ///
    /// Direct evidence: peer data the closer never answered, or a receive window that shrank. Without
    /// it, a RST+ACK at close from a side that had received data is still most likely unread data
    /// (Linux's window keeps growing while a few KB sit unread, so small amounts leave no mark), but
    /// an abort (SO_LINGER {on, 0}) looks the same: low confidence, and the alternative is named.
    static func unreadDataOnClose(_ c: Connection, _ ctx: CaptureContext, _ ending: EndingReset) -> Verdict? {
        let (role, r) = ending
        guard r.hasACK, c[role].finCount == 0 else { return nil }
        let rel = relation(r)
        guard rel == .senderNext || rel == .both else { return nil }
        let me = c[role]
        guard c[role.peer].streamBytes > 0 else { return nil }
        let unanswered = me.receivedSinceLastSend
        let shrink = me.windowMax > me.windowLast ? me.windowMax - me.windowLast : 0
        let windowEvidence = shrink >= 1024 && me.acknowledgedPeerBytes > 0
        var reasons: [Reason] = [resetReason(role, r, c)]
        if unanswered > 0 {
            reasons.append(.unreadData(packet: me.firstUnansweredPacket, time: r.time, sentBy: Party(role.peer), bytes: unanswered))
        }
        if windowEvidence {
            reasons.append(.windowShrank(packet: me.lastPacket, time: r.time, of: Party(role), maximum: me.windowMax, last: me.windowLast))
        }
        let confidence: Confidence = unanswered > 0 && windowEvidence ? .high : unanswered > 0 || windowEvidence ? .medium : .low
        var v = verdict(.unreadDataOnClose, .reset, closedBy: Party(role), resetBy: Party(role), confidence, reasons,
                        advice: .drainBeforeClose)
        if confidence != .high { v.alternatives = [.abortiveClose] }
        outcome(role.peer, .connectionReset, .recvOrSend, .receivedDataMayBeLostOnWindows, into: &v)
        return v
    }

    /// RST+ACK with nothing unread: SO_LINGER {on, 0}, a proxy dropping the connection, an abort.
    static func abortiveClose(_ c: Connection, _ ctx: CaptureContext, _ ending: EndingReset) -> Verdict? {
        let (role, r) = ending
        var reasons: [Reason] = [resetReason(role, r, c)]
        let me = c[role]
        if me.windowMax > 0 && me.windowLast >= me.windowMax {
            reasons.append(.windowAtMaximum(packet: me.lastPacket, time: me.lastTime, of: Party(role), window: me.windowLast))
        }
        let exact = r.hasACK && (relation(r) == .senderNext || relation(r) == .both)
        if c[role].packets == 1 && c[role.peer].packets == 0 {
            var v = verdict(.unknown, .reset, closedBy: Party(role), resetBy: Party(role), .low,
                            [.onlyResetSeen(packet: r.packet, time: r.time, from: Party(role))])
            v.alternatives = [.peerLostState, .abortiveClose]
            return v
        }
        var v = verdict(.abortiveClose, .reset, closedBy: Party(role), resetBy: Party(role), exact ? .high : .low, reasons,
                        advice: .avoidLingerZero)
        outcome(role.peer, .connectionReset, .recvOrSend, .receivedDataMayBeLostOnWindows, into: &v)
        noteZeroWindowStall(c, closer: role, into: &v)
        return v
    }

    /// A sender stalled by the peer's zero window before it gave up: its send() was blocked.
    static func noteZeroWindowStall(_ c: Connection, closer role: Role, into v: inout Verdict) {
        let peer = c[role.peer]
        guard peer.inZeroWindow, peer.firstZeroWindowPacket > 0 else { return }
        v.reasons.append(.zeroWindow(packet: peer.firstZeroWindowPacket, time: c.end, of: Party(role.peer),
                                     probes: c[role].zeroWindowProbes))
        outcome(role, .timedOut, .send, .blockedByZeroWindow, into: &v)
    }

    /// The receiver's window stayed at zero, the sender probed, then went silent without FIN or RST long
    /// before the capture ended: it gave up on its own (TCP_USER_TIMEOUT or an application timeout).
    /// No cause code covers this; it is reported as unknown with the stall as evidence.
    static func zeroWindowStall(_ c: Connection, _ ctx: CaptureContext) -> Verdict? {
        for sender in [Role.client, .server] {
            let me = c[sender], peer = c[sender.peer]
            guard peer.inZeroWindow, me.zeroWindowProbes >= 2, me.finCount == 0, me.resets.isEmpty, peer.resets.isEmpty,
                  peer.finCount == 0 else { continue }
            let quiet = c.end.nanoseconds(to: ctx.captureEnd)
            guard quiet >= 1_000_000_000, quiet >= 2 * c.longestIdleNanoseconds else { continue }
            var v = verdict(.unknown, .timeout, closedBy: Party(sender), resetBy: nil, .low, [
                .zeroWindow(packet: peer.firstZeroWindowPacket, time: c.end, of: Party(sender.peer), probes: me.zeroWindowProbes),
                .captureEnded(packet: c.lastPacket, time: c.end, idleNanoseconds: quiet, halfClosedBy: nil),
            ], advice: .drainBeforeClose)
            outcome(sender, .timedOut, .send, .blockedByZeroWindow, into: &v)
            return v
        }
        return nil
    }

    /// FIN from both sides.
    static func gracefulClose(_ c: Connection, _ ctx: CaptureContext) -> Verdict? {
        guard c.clientSide.finCount > 0, c.serverSide.finCount > 0 else { return nil }
        guard let first = firstCloser(c) else { return nil }
        var reasons = finReasons(c)
        let a = c[first], b = c[first.peer]
        // FINs cross when the second FIN does not acknowledge the first.
        if b.finPacket > a.finPacket, let ackOfFirst = b.finAckAtFIN, ackOfFirst.distance(to: a.finSequence.advanced(by: 1)) > 0 {
            reasons.append(.simultaneousClose(packet: b.finPacket, time: b.finTime))
        } else if b.dataAfterPeerFIN > 0 {
            reasons.append(.halfClose(packet: b.firstDataAfterPeerFINPacket, time: b.finTime, from: Party(first.peer),
                                      bytesAfter: b.dataAfterPeerFIN))
        }
        let acknowledged = a.finAcknowledged && b.finAcknowledged
        var v = verdict(.gracefulClose, .graceful, closedBy: Party(first), resetBy: nil, acknowledged ? .high : .medium, reasons)
        outcome(.client, .eof, .recv, into: &v)
        outcome(.server, .eof, .recv, into: &v)
        return v
    }

    /// No RST and not both FINs: the capture ended (or went quiet) while the connection was open.
    static func stillOpen(_ c: Connection, _ ctx: CaptureContext) -> Verdict? {
        guard c.clientSide.resets.allSatisfy(\.isOutOfWindow), c.serverSide.resets.allSatisfy(\.isOutOfWindow) else { return nil }
        let halfClosedBy: Role? = c.clientSide.finCount > 0 ? .client : c.serverSide.finCount > 0 ? .server : nil
        var reasons: [Reason] = [.captureEnded(packet: c.lastPacket, time: c.end, idleNanoseconds: c.end.nanoseconds(to: ctx.captureEnd),
                                               halfClosedBy: halfClosedBy.map(Party.init))]
        if c.handshake == .notSeen { reasons.append(.midstream(packet: c.firstPacket, time: c.start)) }
        let lost = c.clientSide.acksForUnseenData + c.serverSide.acksForUnseenData
        if lost > 0 { reasons.append(.captureLoss(packet: c.firstPacket, time: c.start, count: lost)) }
        return verdict(.stillOpen, .unfinished, closedBy: halfClosedBy.map(Party.init), resetBy: nil,
                       c.finishReason == .endOfInput ? .high : .medium, reasons)
    }

    static func unknown(_ c: Connection, _ ctx: CaptureContext, _ ending: EndingReset?) -> Verdict? {
        let reset = ending
        var reasons: [Reason] = []
        if let (role, r) = reset { reasons.append(resetReason(role, r, c)) }
        reasons += finReasons(c)
        return verdict(.unknown, reset == nil ? .unfinished : .reset, closedBy: firstCloser(c).map(Party.init),
                       resetBy: reset.map { Party($0.role) }, .low, reasons)
    }
}
