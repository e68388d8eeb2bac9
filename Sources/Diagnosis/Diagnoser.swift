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
}

/// A rule: a name and a function that returns a verdict or nothing.
public struct DiagnosisRule: Sendable {
    public let name: String
    let apply: @Sendable (Connection, CaptureContext) -> Verdict?
}

public enum Diagnoser {
    /// The rules in the order they are tried. The order is policy and is tested.
    public static let rules: [DiagnosisRule] = [
        DiagnosisRule(name: "one_direction_only", apply: Rules.oneDirectionOnly),
        DiagnosisRule(name: "refused", apply: Rules.refused),
        DiagnosisRule(name: "attempt_aborted", apply: Rules.attemptAborted),
        DiagnosisRule(name: "syn_timeout", apply: Rules.synTimeout),
        DiagnosisRule(name: "listen_overflow", apply: Rules.listenOverflow),
        DiagnosisRule(name: "data_after_close", apply: Rules.dataAfterClose),
        DiagnosisRule(name: "keepalive_timeout", apply: Rules.keepaliveTimeout),
        DiagnosisRule(name: "idle_timeout", apply: Rules.idleTimeout),
        DiagnosisRule(name: "retransmission_timeout", apply: Rules.retransmissionTimeout),
        DiagnosisRule(name: "middlebox_reset", apply: Rules.middleboxReset),
        DiagnosisRule(name: "reset_after_graceful_close", apply: Rules.resetAfterGracefulClose),
        DiagnosisRule(name: "peer_lost_state", apply: Rules.peerLostState),
        DiagnosisRule(name: "unread_data_on_close", apply: Rules.unreadDataOnClose),
        DiagnosisRule(name: "abortive_close", apply: Rules.abortiveClose),
        DiagnosisRule(name: "graceful_close", apply: Rules.gracefulClose),
        DiagnosisRule(name: "zero_window_stall", apply: Rules.zeroWindowStall),
        DiagnosisRule(name: "still_open", apply: Rules.stillOpen),
        DiagnosisRule(name: "unknown", apply: Rules.unknown),
    ]

    /// Diagnoses a finished connection. Never fails: the last rule always answers.
    public static func diagnose(_ connection: Connection, context: CaptureContext) -> Verdict {
        for rule in rules {
            if var verdict = rule.apply(connection, context) {
                verdict.rule = rule.name
                verdict.zeekConnState = connection.zeek.connState
                verdict.zeekHistory = connection.zeek.historyString
                return verdict
            }
        }
        // Unreachable: `unknown` always answers.
        return Verdict(cause: .unknown, ending: .unfinished, closedBy: nil, resetBy: nil, confidence: .low, rule: "none", reasons: [])
    }
}
