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
    var buffer = ""
    var count = 0

    public init(style: Style, emit: @escaping (String) -> Void) {
        self.style = style
        self.emit = emit
        buffer.reserveCapacity(1 << 16)
    }

    public mutating func begin() {
        if style == .document { buffer += "{\"coroner_version\": \(Format.jsonString(coronerVersion)),\n\"connections\": [\n" }
    }

    public mutating func add(_ row: ConnectionRow) {
        if style == .document && count > 0 { buffer += ",\n" }
        Self.write(row, into: &buffer)
        if style == .lines {
            buffer += "\n"
            flush()  // one line at a time, so `| jq` sees each verdict as it comes
        } else if buffer.utf8.count > 1 << 16 {
            flush()
        }
        count += 1
    }

    public mutating func end(captures: [CaptureReport], summary: Summary) {
        if style == .document {
            buffer += "\n],\n\"captures\": ["
            for (i, capture) in captures.enumerated() {
                if i > 0 { buffer += ", " }
                Self.write(capture, into: &buffer)
            }
            buffer += "],\n\"summary\": "
            Self.write(summary, into: &buffer)
            buffer += "\n}\n"
        }
        flush()
    }

    mutating func flush() {
        if !buffer.isEmpty {
            emit(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }

    // MARK: - Objects

    static func side(_ s: ConnectionRow.Side) -> String { "{\"ip\": \(Format.jsonString(s.ip)), \"port\": \(s.port)}" }
    static func party(_ p: Party?) -> String { p.map { Format.jsonString($0.rawValue) } ?? "null" }
    static func app(_ a: ConnectionRow.AppLine?) -> String {
        guard let a else { return "null" }
        return "{\"linux\": \(Format.jsonString(a.linux)), \"windows\": \(Format.jsonString(a.windows)), \"detail\": \(Format.jsonString(a.detail))}"
    }

    /// One connection object, keys as in the output contract (README "JSON output").
    public static func write(_ r: ConnectionRow, into out: inout String) {
        out += "{\"id\": \(r.id), \"capture\": \(r.captureIndex), "
        out += "\"client\": \(side(r.client)), \"server\": \(side(r.server)), \"roles_inferred\": \(r.rolesInferred), "
        out += "\"first_packet\": \(r.firstPacket), \"last_packet\": \(r.lastPacket), "
        out += "\"start\": \(Format.jsonString(r.start)), \"end\": \(Format.jsonString(r.end)), "
        out += "\"duration_s\": \(Format.fixedSeconds(nanoseconds: r.durationNanoseconds)), "
        out += "\"packets\": {\"client\": \(r.packetsClient), \"server\": \(r.packetsServer)}, "
        out += "\"payload_bytes\": {\"client\": \(r.bytesClient), \"server\": \(r.bytesServer)}, "
        out += "\"handshake\": \(Format.jsonString(r.handshake)), \"ending\": \(Format.jsonString(r.ending.rawValue)), "
        out += "\"closed_by\": \(party(r.closedBy)), \"reset_by\": \(party(r.resetBy)), "
        out += "\"cause\": \(Format.jsonString(r.cause.rawValue)), \"confidence\": \(Format.jsonString(r.confidence.rawValue)), "
        out += "\"explanation\": \(Format.jsonString(r.explanation)), "
        out += "\"advice\": \(r.advice.map(Format.jsonString) ?? "null"), "
        out += "\"evidence\": ["
        for (i, e) in r.evidence.enumerated() {
            if i > 0 { out += ", " }
            out += "{\"packet\": \(e.packet), \"time\": \(Format.jsonString(e.time)), \"from\": \(e.from.map(Format.jsonString) ?? "null"), \"what\": \(Format.jsonString(e.what))}"
        }
        out += "], \"app_view\": {\"client\": \(app(r.clientView)), \"server\": \(app(r.serverView))}, "
        out += "\"alternatives\": [\(r.alternatives.map { Format.jsonString($0.rawValue) }.joined(separator: ", "))], "
        out += "\"rule\": \(Format.jsonString(r.rule)), \"finish_reason\": \(Format.jsonString(r.finishReason)), "
        out += "\"rtt_ms\": \(r.rttNanoseconds.map { Format.oneDecimal(Double($0) / 1e6) } ?? "null"), "
        out += "\"retransmissions\": {\"client\": \(r.retransmissionsClient), \"server\": \(r.retransmissionsServer)}, "
        out += "\"longest_idle_s\": \(Format.fixedSeconds(nanoseconds: r.longestIdleNanoseconds)), "
        out += "\"zeek\": {\"conn_state\": \(Format.jsonString(r.zeekConnState)), \"history\": \(Format.jsonString(r.zeekHistory))}}"
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
