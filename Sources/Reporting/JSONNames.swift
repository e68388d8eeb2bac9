import ConnectionTracking
import Diagnosis

// The codes the JSON output writes for enums, as `StaticString`s: `rawValue` builds a `String` per use,
// which the writer then scans for escapes and releases; a connection object has about fifteen of
// them. Each switch returns the case's raw value, spelled again (JSONNamesTests checks every case).
// The names are literals of this package, so they need no JSON escapes (`JSONWriter.name` asserts it).

extension Ending {
    var jsonName: StaticString {
        switch self {
        case .graceful: "graceful"
        case .reset: "reset"
        case .refused: "refused"
        case .timeout: "timeout"
        case .unfinished: "unfinished"
        }
    }
}

extension Party {
    var jsonName: StaticString {
        switch self {
        case .client: "client"
        case .server: "server"
        case .middlebox: "middlebox"
        case .unknown: "unknown"
        }
    }
}

extension Confidence {
    var jsonName: StaticString {
        switch self {
        case .high: "high"
        case .medium: "medium"
        case .low: "low"
        }
    }
}

extension CauseCode {
    var jsonName: StaticString {
        switch self {
        case .gracefulClose: "graceful_close"
        case .unreadDataOnClose: "unread_data_on_close"
        case .abortiveClose: "abortive_close"
        case .dataAfterClose: "data_after_close"
        case .refused: "refused"
        case .synTimeout: "syn_timeout"
        case .retransmissionTimeout: "retransmission_timeout"
        case .keepaliveTimeout: "keepalive_timeout"
        case .peerLostState: "peer_lost_state"
        case .listenOverflow: "listen_overflow"
        case .middleboxReset: "middlebox_reset"
        case .idleTimeout: "idle_timeout"
        case .stillOpen: "still_open"
        case .unknown: "unknown"
        }
    }
}

extension Handshake {
    var jsonName: StaticString {
        switch self {
        case .complete: "complete"
        case .synOnly: "syn_only"
        case .synSynAck: "syn_synack"
        case .notSeen: "not_seen"
        }
    }
}

extension FinishReason {
    var jsonName: StaticString {
        switch self {
        case .reset: "reset"
        case .closed: "closed"
        case .idle: "idle"
        case .gaveUp: "gave_up"
        case .attemptTimeout: "attempt_timeout"
        case .reused: "reused"
        case .evicted: "evicted"
        case .endOfInput: "end_of_input"
        }
    }
}

/// A string value of a `JSONConnectionSource`: a row holds `String`s, an analyzed connection gives
/// the `StaticString` names above.
protocol JSONText {
    /// Writes the value as a JSON string, quotes included.
    func writeQuoted(into out: inout JSONWriter)
}

extension String: JSONText {
    @inline(__always) func writeQuoted(into out: inout JSONWriter) { out.string(self) }
}

extension StaticString: JSONText {
    @inline(__always) func writeQuoted(into out: inout JSONWriter) { out.name(self) }
}
