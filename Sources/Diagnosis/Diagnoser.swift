// Diagnosis: a pure function from a finished connection to a verdict. Small named rules are tried in
// a fixed order (`Diagnoser.rules`); the first that returns a verdict wins. The order is the policy:
// specific explanations (refused, data after close, keepalive expiry) come before the general ones
// (abortive close), and "still open" / "unknown" come last. See TCP-ENDINGS.md §2 for the codes.

import ConnectionTracking
import WireFormat

/// Facts about the whole capture that a rule may need.
public struct CaptureContext: Sendable {
    /// Time of the last packet in the capture (to say how long a still-open connection was idle).
    public var captureEnd: Timestamp
    /// The connection's server completed handshakes on other connections of this capture (it is up).
    public var serverAnsweredOthers: Bool
    /// The connection's server repeated a SYN-ACK after the handshake ACK on some connection of this
    /// capture: its accept queue overflowed at some point.
    public var serverShowedListenOverflow: Bool
    public init(captureEnd: Timestamp, serverAnsweredOthers: Bool = false, serverShowedListenOverflow: Bool = false) {
        self.captureEnd = captureEnd
        self.serverAnsweredOthers = serverAnsweredOthers
        self.serverShowedListenOverflow = serverShowedListenOverflow
    }
}

extension CaptureContext {
    /// The context for `connection`, with the capture-wide facts the tracker stamped on it.
    public init(_ connection: borrowing Connection, captureEnd: Timestamp) {
        self.init(captureEnd: captureEnd, serverAnsweredOthers: connection.serverAnsweredOtherHandshakes,
                  serverShowedListenOverflow: connection.serverShowedListenOverflow)
    }

    /// The context for a connection the tracker hands on where it is, read in place.
    public init(_ slot: borrowing FinishedSlot, captureEnd: Timestamp) {
        self.init(captureEnd: captureEnd, serverAnsweredOthers: slot.connection.serverAnsweredOtherHandshakes,
                  serverShowedListenOverflow: slot.connection.serverShowedListenOverflow)
    }
}

/// A rule: a name and a function that returns a verdict or nothing.
public struct DiagnosisRule: Sendable {
    public var name: String { kind.rawValue }
    let kind: Kind

    /// Every rule, named as in verdicts and tests. A switch calls the rule's function directly: a
    /// stored closure per rule cost a call through a thunk and retains per rule tried, and up to 18
    /// rules are tried per connection.
    enum Kind: String, Sendable {
        case oneDirectionOnly = "one_direction_only", refused, attemptAborted = "attempt_aborted"
        case synTimeout = "syn_timeout", listenOverflow = "listen_overflow", dataAfterClose = "data_after_close"
        case keepaliveTimeout = "keepalive_timeout", idleTimeout = "idle_timeout"
        case retransmissionTimeout = "retransmission_timeout", middleboxReset = "middlebox_reset"
        case resetAfterGracefulClose = "reset_after_graceful_close", peerLostState = "peer_lost_state"
        case unreadDataOnClose = "unread_data_on_close", abortiveClose = "abortive_close", gracefulClose = "graceful_close"
        case zeroWindowStall = "zero_window_stall", stillOpen = "still_open", unknown
    }

    init(_ kind: Kind) { self.kind = kind }

    /// `ending` is `Rules.endingReset(c)`, found once per connection: the rules that need an ending
    /// RST are not called without one (their first condition), the others that look at it are given it.
    @inline(__always)
    func apply(_ c: Connection, _ ctx: CaptureContext, ending: Rules.EndingReset?) -> Verdict? {
        switch kind {
        case .oneDirectionOnly: Rules.oneDirectionOnly(c, ctx)
        case .refused: Rules.refused(c, ctx)
        case .attemptAborted: Rules.attemptAborted(c, ctx)
        case .synTimeout: Rules.synTimeout(c, ctx)
        case .listenOverflow: Rules.listenOverflow(c, ctx)
        case .dataAfterClose: Rules.dataAfterClose(c, ctx)
        case .keepaliveTimeout: Rules.keepaliveTimeout(c, ctx)
        case .idleTimeout: Rules.idleTimeout(c, ctx, ending)
        case .retransmissionTimeout: Rules.retransmissionTimeout(c, ctx)
        case .middleboxReset: if let ending { Rules.middleboxReset(c, ctx, ending) } else { nil }
        case .resetAfterGracefulClose: if let ending { Rules.resetAfterGracefulClose(c, ctx, ending) } else { nil }
        case .peerLostState: if let ending { Rules.peerLostState(c, ctx, ending) } else { nil }
        case .unreadDataOnClose: if let ending { Rules.unreadDataOnClose(c, ctx, ending) } else { nil }
        case .abortiveClose: if let ending { Rules.abortiveClose(c, ctx, ending) } else { nil }
        case .gracefulClose: Rules.gracefulClose(c, ctx)
        case .zeroWindowStall: Rules.zeroWindowStall(c, ctx)
        case .stillOpen: Rules.stillOpen(c, ctx)
        case .unknown: Rules.unknown(c, ctx, ending)
        }
    }
}

public enum Diagnoser {
    /// The rules in the order they are tried. The order is policy and is tested.
    public static let rules: [DiagnosisRule] = [
        DiagnosisRule(.oneDirectionOnly),
        DiagnosisRule(.refused),
        DiagnosisRule(.attemptAborted),
        DiagnosisRule(.synTimeout),
        DiagnosisRule(.listenOverflow),
        DiagnosisRule(.dataAfterClose),
        DiagnosisRule(.keepaliveTimeout),
        DiagnosisRule(.idleTimeout),
        DiagnosisRule(.retransmissionTimeout),
        DiagnosisRule(.middleboxReset),
        DiagnosisRule(.resetAfterGracefulClose),
        DiagnosisRule(.peerLostState),
        DiagnosisRule(.unreadDataOnClose),
        DiagnosisRule(.abortiveClose),
        DiagnosisRule(.gracefulClose),
        DiagnosisRule(.zeroWindowStall),
        DiagnosisRule(.stillOpen),
        DiagnosisRule(.unknown),
    ]

    /// Diagnoses a finished connection. Never fails: the last rule always answers.
    public static func diagnose(_ connection: Connection, context: CaptureContext) -> Verdict {
        let ending = Rules.endingReset(connection)
        for rule in rules {
            guard var verdict = rule.apply(connection, context, ending: ending) else { continue }
            verdict.rule = rule.name
            verdict.zeekConnState = connection.zeek.connState
            verdict.zeekHistory = connection.zeek.historyString
            return verdict
        }
        // Unreachable: `unknown` always answers.
        return Verdict(cause: .unknown, ending: .unfinished, closedBy: nil, resetBy: nil, confidence: .low, rule: "none", reasons: [])
    }
}
