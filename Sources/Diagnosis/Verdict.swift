import ConnectionTracking
import WireFormat

/// Why a connection ended: the codes of TCP-ENDINGS.md §2.
public enum CauseCode: String, CaseIterable, Sendable, Hashable, Codable {
    case gracefulClose = "graceful_close"
    case unreadDataOnClose = "unread_data_on_close"
    case abortiveClose = "abortive_close"
    case dataAfterClose = "data_after_close"
    case refused
    case synTimeout = "syn_timeout"
    case retransmissionTimeout = "retransmission_timeout"
    case keepaliveTimeout = "keepalive_timeout"
    case peerLostState = "peer_lost_state"
    case listenOverflow = "listen_overflow"
    case middleboxReset = "middlebox_reset"
    case idleTimeout = "idle_timeout"
    case stillOpen = "still_open"
    case unknown

    /// Whether a connection with this cause is worth a look (everything but a clean close or still open).
    public var isAbnormal: Bool { self != .gracefulClose && self != .stillOpen }
}

/// How the connection ended on the wire.
public enum Ending: String, CaseIterable, Sendable, Hashable, Codable {
    case graceful, reset, refused, timeout, unfinished
}

/// Who ended it, or who sent the RST that ended it.
public enum Party: String, Sendable, Hashable, Codable {
    case client, server, middlebox, unknown
    public init(_ role: Role) { self = role == .client ? .client : .server }
}

public enum Confidence: String, Sendable, Hashable, Codable {
    case high, medium, low
}

/// The diagnosis of one connection: a cause with the evidence that decided it. Data only; the words
/// are written by Reporting.
public struct Verdict: Sendable, Hashable {
    public var cause: CauseCode
    public var ending: Ending
    /// Who ended the connection first (first FIN or RST), when known.
    public var closedBy: Party?
    /// Who sent the RST that ended it (nil when no RST ended it).
    public var resetBy: Party?
    public var confidence: Confidence
    /// The rule that decided (its name, for tests and `--explain`).
    public var rule: String
    /// The evidence, most decisive first.
    public var reasons: [Reason]
    /// What each application most likely saw.
    public var clientView: AppOutcome?
    public var serverView: AppOutcome?
    public var advice: Advice?
    /// Causes the capture cannot tell apart from this one (said in the explanation, not picked silently).
    public var alternatives: [CauseCode]
    /// Zeek-compatible fields for cross-checking.
    public var zeekConnState: String
    public var zeekHistory: String

    public init(cause: CauseCode, ending: Ending, closedBy: Party?, resetBy: Party?, confidence: Confidence, rule: String,
                reasons: [Reason], clientView: AppOutcome? = nil, serverView: AppOutcome? = nil, advice: Advice? = nil,
                alternatives: [CauseCode] = [], zeekConnState: String = "", zeekHistory: String = "") {
        self.cause = cause
        self.ending = ending
        self.closedBy = closedBy
        self.resetBy = resetBy
        self.confidence = confidence
        self.rule = rule
        self.reasons = reasons
        self.clientView = clientView
        self.serverView = serverView
        self.advice = advice
        self.alternatives = alternatives
        self.zeekConnState = zeekConnState
        self.zeekHistory = zeekHistory
    }
}

/// How a RST's sequence number relates to what its sender and the peer had said.
public enum SequenceRelation: String, Sendable, Hashable {
    /// seq = the sender's own next sequence number (a socket being closed or aborted).
    case senderNext = "sender_next"
    /// seq = the peer's last ACK number (the kernel's reply to a segment for a connection it does not know).
    case peerAck = "peer_ack"
    /// Both at once (they coincide when nothing is in flight).
    case both
    /// Neither; out of step.
    case other
    /// Nothing to compare with.
    case unknown
}

/// A piece of evidence, pointing at packets. Rendered into words by Reporting.
public enum Reason: Sendable, Hashable {
    case reset(packet: Int, time: Timestamp, from: Party, hasACK: Bool, relation: SequenceRelation, afterFIN: Bool, ttl: UInt8)
    case resetOutOfWindow(packet: Int, time: Timestamp, from: Party)
    case synSent(packet: Int, time: Timestamp, retransmissions: Int, spanNanoseconds: Int64)
    case synAnsweredByReset(synPacket: Int, rstPacket: Int, time: Timestamp, hasACK: Bool)
    case noSYNACK(lastSYNPacket: Int, time: Timestamp)
    case fin(packet: Int, time: Timestamp, from: Party)
    case simultaneousClose(packet: Int, time: Timestamp)
    case halfClose(packet: Int, time: Timestamp, from: Party, bytesAfter: UInt64)
    case finThenReset(packet: Int, time: Timestamp, from: Party)
    case unreadData(packet: Int, time: Timestamp, sentBy: Party, bytes: UInt64)
    case windowShrank(packet: Int, time: Timestamp, of: Party, maximum: UInt64, last: UInt64)
    case windowAtMaximum(packet: Int, time: Timestamp, of: Party, window: UInt64)
    case dataAfterPeerFIN(packet: Int, time: Timestamp, from: Party, bytes: UInt64, peerFINPacket: Int)
    case retransmissions(packet: Int, time: Timestamp, from: Party, count: Int, firstPacket: Int, backoff: Bool, acknowledged: Bool)
    case silenceAfter(packet: Int, time: Timestamp, of: Party, nanoseconds: Int64)
    case keepaliveProbes(packet: Int, time: Timestamp, from: Party, count: Int, answered: Bool)
    case zeroWindow(packet: Int, time: Timestamp, of: Party, probes: Int)
    case ttlMismatch(packet: Int, time: Timestamp, claimed: Party, resetTTL: UInt8, usualTTL: UInt8)
    case resetsBothWays(packet: Int, time: Timestamp)
    case idleGap(packet: Int, time: Timestamp, nanoseconds: Int64)
    case icmpError(packet: Int, time: Timestamp, kind: String, reporter: String)
    case handshakeThenSilence(packet: Int, time: Timestamp, unacknowledgedClientBytes: UInt64)
    case synAckRetransmitted(packet: Int, time: Timestamp, count: Int)
    case resetRightAfterHandshake(packet: Int, time: Timestamp)
    case captureEnded(packet: Int, time: Timestamp, idleNanoseconds: Int64, halfClosedBy: Party?)
    case onlyResetSeen(packet: Int, time: Timestamp, from: Party)
    case captureLoss(packet: Int, time: Timestamp, count: Int)
    case midstream(packet: Int, time: Timestamp)
    case serverAnsweredOthers(packet: Int, time: Timestamp, server: String)

    /// The packet the evidence points at (1-based, as in Wireshark).
    public var packet: Int {
        switch self {
        case let .reset(p, _, _, _, _, _, _), let .resetOutOfWindow(p, _, _), let .synSent(p, _, _, _),
             let .synAnsweredByReset(_, p, _, _), let .noSYNACK(p, _), let .fin(p, _, _), let .simultaneousClose(p, _),
             let .halfClose(p, _, _, _), let .finThenReset(p, _, _), let .unreadData(p, _, _, _),
             let .windowShrank(p, _, _, _, _), let .windowAtMaximum(p, _, _, _), let .dataAfterPeerFIN(p, _, _, _, _),
             let .retransmissions(p, _, _, _, _, _, _), let .silenceAfter(p, _, _, _), let .keepaliveProbes(p, _, _, _, _),
             let .zeroWindow(p, _, _, _), let .ttlMismatch(p, _, _, _, _), let .resetsBothWays(p, _), let .idleGap(p, _, _),
             let .icmpError(p, _, _, _), let .handshakeThenSilence(p, _, _), let .synAckRetransmitted(p, _, _),
             let .resetRightAfterHandshake(p, _), let .captureEnded(p, _, _, _), let .onlyResetSeen(p, _, _),
             let .captureLoss(p, _, _), let .midstream(p, _), let .serverAnsweredOthers(p, _, _):
            return p
        }
    }

    public var time: Timestamp {
        switch self {
        case let .reset(_, t, _, _, _, _, _), let .resetOutOfWindow(_, t, _), let .synSent(_, t, _, _),
             let .synAnsweredByReset(_, _, t, _), let .noSYNACK(_, t), let .fin(_, t, _), let .simultaneousClose(_, t),
             let .halfClose(_, t, _, _), let .finThenReset(_, t, _), let .unreadData(_, t, _, _),
             let .windowShrank(_, t, _, _, _), let .windowAtMaximum(_, t, _, _), let .dataAfterPeerFIN(_, t, _, _, _),
             let .retransmissions(_, t, _, _, _, _, _), let .silenceAfter(_, t, _, _), let .keepaliveProbes(_, t, _, _, _),
             let .zeroWindow(_, t, _, _), let .ttlMismatch(_, t, _, _, _), let .resetsBothWays(_, t), let .idleGap(_, t, _),
             let .icmpError(_, t, _, _), let .handshakeThenSilence(_, t, _), let .synAckRetransmitted(_, t, _),
             let .resetRightAfterHandshake(_, t), let .captureEnded(_, t, _, _), let .onlyResetSeen(_, t, _),
             let .captureLoss(_, t, _), let .midstream(_, t), let .serverAnsweredOthers(_, t, _):
            return t
        }
    }

    /// The party whose packet it is ("observer" facts have none).
    public var from: Party? {
        switch self {
        case let .reset(_, _, f, _, _, _, _), let .resetOutOfWindow(_, _, f), let .fin(_, _, f), let .halfClose(_, _, f, _),
             let .finThenReset(_, _, f), let .unreadData(_, _, f, _), let .windowShrank(_, _, f, _, _),
             let .windowAtMaximum(_, _, f, _), let .dataAfterPeerFIN(_, _, f, _, _), let .retransmissions(_, _, f, _, _, _, _),
             let .silenceAfter(_, _, f, _), let .keepaliveProbes(_, _, f, _, _), let .zeroWindow(_, _, f, _),
             let .onlyResetSeen(_, _, f):
            return f
        case let .ttlMismatch(_, _, claimed, _, _): return claimed
        case .synSent, .noSYNACK, .handshakeThenSilence: return .client
        case .synAnsweredByReset, .synAckRetransmitted, .resetRightAfterHandshake: return .server
        case .simultaneousClose, .resetsBothWays, .idleGap, .icmpError, .captureEnded, .captureLoss, .midstream,
             .serverAnsweredOthers: return nil
        }
    }
}

/// What an application most likely got from its socket calls.
public struct AppOutcome: Sendable, Hashable {
    public enum Result: String, Sendable, Hashable {
        case eof = "EOF"
        case connectionReset = "ECONNRESET"
        case brokenPipe = "EPIPE"
        case timedOut = "ETIMEDOUT"
        case connectionRefused = "ECONNREFUSED"
        case hostUnreachable = "EHOSTUNREACH"
        case networkUnreachable = "ENETUNREACH"
        case resetOrTimeout = "ECONNRESET or ETIMEDOUT"

        /// The Linux errno name and number.
        public var linux: String { linuxText.description }

        /// The Winsock name and code.
        public var windows: String { windowsText.description }

        /// `linux` as a `StaticString`, the one spelling (the JSON writer copies it without a `String`).
        public var linuxText: StaticString {
            switch self {
            case .eof: "EOF (recv() returned 0)"
            case .connectionReset: "ECONNRESET (104)"
            case .brokenPipe: "EPIPE (32) + SIGPIPE"
            case .timedOut: "ETIMEDOUT (110)"
            case .connectionRefused: "ECONNREFUSED (111)"
            case .hostUnreachable: "EHOSTUNREACH (113)"
            case .networkUnreachable: "ENETUNREACH (101)"
            case .resetOrTimeout: "ECONNRESET (104) or ETIMEDOUT (110)"
            }
        }

        /// `windows` as a `StaticString`.
        public var windowsText: StaticString {
            switch self {
            case .eof: "EOF (recv() returned 0)"
            case .connectionReset: "WSAECONNRESET (10054)"
            case .brokenPipe: "WSAECONNABORTED (10053)"
            case .timedOut: "WSAETIMEDOUT (10060)"
            case .connectionRefused: "WSAECONNREFUSED (10061)"
            case .hostUnreachable: "WSAEHOSTUNREACH (10065)"
            case .networkUnreachable: "WSAENETUNREACH (10051)"
            case .resetOrTimeout: "WSAECONNRESET (10054) or WSAETIMEDOUT (10060)"
            }
        }
    }

    /// Which call surfaced it.
    public enum Call: String, Sendable, Hashable {
        case connect, recv, send, recvOrSend = "recv or send", secondSend = "second send", accept, none
    }

    /// Qualifications that change what the application saw.
    public enum Note: String, Sendable, Hashable {
        /// Linux keeps already-received data readable after a RST; Windows may discard it.
        case receivedDataMayBeLostOnWindows = "received_data_may_be_lost_on_windows"
        /// The first send after the peer closed succeeds and provokes the RST; the next fails.
        case firstSendSucceeds = "first_send_succeeds"
        /// recv() returns the remaining data then EOF on Linux; Windows recv fails with 10053.
        case recvEOFOnLinux10053OnWindows = "recv_eof_on_linux_10053_on_windows"
        /// The error surfaces only on the next call, after the timeout.
        case afterRetransmissionsGiveUp = "after_retransmissions_give_up"
        case afterKeepaliveProbes = "after_keepalive_probes"
        /// The server application never accepted the connection.
        case neverAccepted = "never_accepted"
        /// Windows may report 10053 instead after failed retransmissions.
        case windowsMayReport10053 = "windows_may_report_10053"
        /// After the EOF, a further send() fails with EPIPE (Linux) / 10053 (Windows) because of the RST.
        case nextSendFailsEPIPE = "next_send_fails_epipe"
        /// send() blocked because the peer advertised a zero window (it stopped reading).
        case blockedByZeroWindow = "blocked_by_zero_window"
        case none
    }

    public var result: Result
    public var call: Call
    public var note: Note

    public init(_ result: Result, on call: Call, note: Note = .none) {
        self.result = result
        self.call = call
        self.note = note
    }
}

/// A short piece of advice, as a code; Reporting words it.
public enum Advice: String, Sendable, Hashable {
    case drainBeforeClose = "drain_before_close"
    case clientShouldCloseFirst = "client_should_close_first"
    case avoidLingerZero = "avoid_linger_zero"
    case checkListener = "check_listener"
    case checkPathOrFirewall = "check_path_or_firewall"
    case enableKeepaliveOrHeartbeat = "enable_keepalive_or_heartbeat"
    case checkMiddlebox = "check_middlebox"
    case raiseBacklogAcceptFaster = "raise_backlog_accept_faster"
    case reconnectOnReset = "reconnect_on_reset"
    case checkPeerAlive = "check_peer_alive"
}
