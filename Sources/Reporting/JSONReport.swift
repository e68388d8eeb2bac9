import Analysis
import Diagnosis
import WireFormat

/// The version written into reports.
public let coronerVersion = "0.1.0"

/// Writes the JSON document (`--format json`) or NDJSON lines (`--format ndjson`), streaming: each
/// connection is written when it is finished, so memory does not grow with the number of connections.
/// Connections appear in the order they finished; `id` gives the order they started.
public struct JSONReport {
    public enum Style: Sendable { case document, lines }
    let style: Style
    var emit: (String) -> Void
    /// Pending output as UTF-8 bytes (see `JSONWriter`), handed to `emit` in chunks.
    var out = JSONWriter(capacity: 1 << 17)
    var count = 0
    static let chunk = 1 << 16

    public init(style: Style, emit: @escaping (String) -> Void) {
        self.style = style
        self.emit = emit
    }

    public mutating func begin() {
        if style == .document {
            out.raw("{\"coroner_version\": ")
            out.string(coronerVersion)
            out.raw(",\n\"connections\": [\n")
        }
    }

    public mutating func add(_ row: ConnectionRow) {
        if style == .document && count > 0 { out.raw(",\n") }
        Self.write(row, into: &out)
        if style == .lines {
            out.raw("\n")
            flush()  // one line at a time, so `| jq` sees each verdict as it comes
        } else if out.count > Self.chunk {
            flush()
        }
        count += 1
    }

    public mutating func end(captures: [CaptureReport], summary: Summary) {
        if style == .document {
            out.raw("\n],\n\"captures\": [")
            for (i, capture) in captures.enumerated() {
                if i > 0 { out.raw(", ") }
                var text = ""
                Self.write(capture, into: &text)
                out.unescaped(text)
            }
            out.raw("],\n\"summary\": ")
            var text = ""
            Self.write(summary, into: &text)
            out.unescaped(text)
            out.raw("\n}\n")
        }
        flush()
    }

    mutating func flush() {
        if !out.isEmpty {
            emit(out.text)
            out.removeAll()
        }
    }

    // MARK: - Objects

    static func side(_ s: ConnectionRow.Side, into out: inout JSONWriter) {
        out.raw("{\"ip\": ")
        out.string(s.ip)
        out.raw(", \"port\": ")
        out.int(s.port)
        out.raw("}")
    }
    static func party(_ p: Party?, into out: inout JSONWriter) { out.stringOrNull(p?.rawValue) }
    static func app(_ a: ConnectionRow.AppLine?, into out: inout JSONWriter) {
        guard let a else { return out.raw("null") }
        out.raw("{\"linux\": ")
        out.string(a.linux)
        out.raw(", \"windows\": ")
        out.string(a.windows)
        out.raw(", \"detail\": ")
        out.string(a.detail)
        out.raw("}")
    }

    /// One connection object, keys as in the output contract (README "JSON output").
    public static func write(_ r: ConnectionRow, into text: inout String) {
        var out = JSONWriter(capacity: 4096)
        write(r, into: &out)
        text += out.text
    }

    /// One connection object as bytes: the streaming path (no `String` built per fragment).
    static func write(_ r: ConnectionRow, into out: inout JSONWriter) {
        out.raw("{\"id\": ")
        out.int(r.id)
        out.raw(", \"capture\": ")
        out.int(r.captureIndex)
        out.raw(", \"client\": ")
        side(r.client, into: &out)
        out.raw(", \"server\": ")
        side(r.server, into: &out)
        out.raw(", \"roles_inferred\": ")
        out.bool(r.rolesInferred)
        out.raw(", \"first_packet\": ")
        out.int(r.firstPacket)
        out.raw(", \"last_packet\": ")
        out.int(r.lastPacket)
        out.raw(", \"start\": ")
        out.timestamp(r.startTime)
        out.raw(", \"end\": ")
        out.timestamp(r.endTime)
        out.raw(", \"duration_s\": ")
        out.fixedSeconds(nanoseconds: r.durationNanoseconds)
        out.raw(", \"packets\": {\"client\": ")
        out.int(r.packetsClient)
        out.raw(", \"server\": ")
        out.int(r.packetsServer)
        out.raw("}, \"payload_bytes\": {\"client\": ")
        out.int(r.bytesClient)
        out.raw(", \"server\": ")
        out.int(r.bytesServer)
        out.raw("}, \"handshake\": ")
        out.string(r.handshake)
        out.raw(", \"ending\": ")
        out.string(r.ending.rawValue)
        out.raw(", \"closed_by\": ")
        party(r.closedBy, into: &out)
        out.raw(", \"reset_by\": ")
        party(r.resetBy, into: &out)
        out.raw(", \"cause\": ")
        out.string(r.cause.rawValue)
        out.raw(", \"confidence\": ")
        out.string(r.confidence.rawValue)
        out.raw(", \"explanation\": ")
        out.string(r.explanation)
        out.raw(", \"advice\": ")
        out.stringOrNull(r.advice)
        out.raw(", \"evidence\": [")
        for (i, e) in r.evidence.enumerated() {
            if i > 0 { out.raw(", ") }
            out.raw("{\"packet\": ")
            out.int(e.packet)
            out.raw(", \"time\": ")
            out.timestamp(e.timestamp)
            out.raw(", \"from\": ")
            out.stringOrNull(e.from)
            out.raw(", \"what\": ")
            out.string(e.what)
            out.raw("}")
        }
        out.raw("], \"app_view\": {\"client\": ")
        app(r.clientView, into: &out)
        out.raw(", \"server\": ")
        app(r.serverView, into: &out)
        out.raw("}, \"alternatives\": [")
        for (i, a) in r.alternatives.enumerated() {
            if i > 0 { out.raw(", ") }
            out.string(a.rawValue)
        }
        out.raw("], \"rule\": ")
        out.string(r.rule)
        out.raw(", \"finish_reason\": ")
        out.string(r.finishReason)
        out.raw(", \"rtt_ms\": ")
        if let rtt = r.rttNanoseconds { out.unescaped(Format.oneDecimal(Double(rtt) / 1e6)) } else { out.raw("null") }
        out.raw(", \"retransmissions\": {\"client\": ")
        out.int(r.retransmissionsClient)
        out.raw(", \"server\": ")
        out.int(r.retransmissionsServer)
        out.raw("}, \"longest_idle_s\": ")
        out.fixedSeconds(nanoseconds: r.longestIdleNanoseconds)
        out.raw(", \"zeek\": {\"conn_state\": ")
        out.string(r.zeekConnState)
        out.raw(", \"history\": ")
        out.string(r.zeekHistory)
        out.raw("}}")
    }

    public static func write(_ c: CaptureReport, into out: inout String) {
        out += "{\"file\": \(Format.jsonString(c.file)), "
        out += "\"link_types\": [\(c.linkTypes.map { Format.jsonString($0.description) }.joined(separator: ", "))], "
        out += "\"packets\": \(c.packets), \"tcp_packets\": \(c.tcpPackets), \"icmp_errors\": \(c.icmpErrors), "
        out += "\"undecodable_packets\": \(c.undecodablePackets), "
        out += "\"undecodable_reasons\": {\(c.undecodableReasons.sorted { $0.key < $1.key }.map { "\(Format.jsonString($0.key)): \($0.value)" }.joined(separator: ", "))}, "
        out += "\"snap_truncated_packets\": \(c.snapTruncatedPackets), "
        out += "\"connections\": \(c.connections), \"evictions\": \(c.tracker.evictions), "
        out += "\"vantage\": \(Format.jsonString(c.vantage.rawValue)), "
        out += "\"truncated\": \(c.truncated), "
        out += "\"error\": \(c.error.map { Format.jsonString($0.message) } ?? "null"), "
        out += "\"warnings\": [\(c.warnings.map(Format.jsonString).joined(separator: ", "))]}"
    }

    public static func write(_ s: Summary, into out: inout String) {
        func dict(_ d: [String: Int]) -> String {
            "{" + d.sorted { $0.key < $1.key }.map { "\(Format.jsonString($0.key)): \($0.value)" }.joined(separator: ", ") + "}"
        }
        out += "{\"connections\": \(s.connections), \"by_ending\": \(dict(s.byEnding)), \"by_cause\": \(dict(s.byCause))}"
    }
}
