import Analysis
import ConnectionTracking
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
    /// Receives each chunk of output as UTF-8 bytes, valid only during the call.
    var emit: (UnsafeRawBufferPointer) -> Void
    /// Pending output as UTF-8 bytes, handed to `emit` in chunks. A class holds the writer, which
    /// cannot be copied (it owns its buffer), so the report can: copies share the pending output.
    private let pending = PendingOutput()
    private final class PendingOutput {
        /// Unchecked: each access to a class's stored property is otherwise a dynamic exclusivity check
        /// (a few per connection); a report is written by one thread, and the accesses do not nest.
        @exclusivity(unchecked) var out = JSONWriter(capacity: 1 << 17)
    }
    var count = 0
    static let chunk = 1 << 16

    /// Output handed on as `String`s (tests, and callers that keep the text).
    public init(style: Style, emit: @escaping (String) -> Void) {
        self.style = style
        self.emit = { bytes in emit(String(decoding: bytes, as: UTF8.self)) }
    }

    /// Output handed on as bytes, for a writer to a file descriptor: no `String` per chunk (building
    /// one validates every byte again, about a tenth of the output thread's work for JSON).
    public init(style: Style, emitBytes: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.style = style
        self.emit = emitBytes
    }

    public mutating func begin() {
        if style == .document {
            pending.out.raw("{\"coroner_version\": ")
            pending.out.string(coronerVersion)
            pending.out.raw(",\n\"connections\": [\n")
        }
    }

    public mutating func add(_ row: ConnectionRow) { add(source: row) }

    /// The streaming path: the object is written from the verdict and the connection, the words
    /// straight into the JSON bytes, without building a `ConnectionRow`.
    public mutating func add(_ analyzed: AnalyzedConnection) { add(source: analyzed) }

    private mutating func add(source: some JSONConnectionSource) {
        if style == .document && count > 0 { pending.out.raw(",\n") }
        Self.write(source, into: &pending.out)
        if style == .lines {
            pending.out.raw("\n")
            flush()  // one line at a time, so `| jq` sees each verdict as it comes
        } else if pending.out.count > Self.chunk {
            flush()
        }
        count += 1
    }

    public mutating func end(captures: [CaptureReport], summary: Summary) {
        if style == .document {
            pending.out.raw("\n],\n\"captures\": [")
            for (i, capture) in captures.enumerated() {
                if i > 0 { pending.out.raw(", ") }
                var text = ""
                Self.write(capture, into: &text)
                pending.out.unescaped(text)
            }
            pending.out.raw("],\n\"summary\": ")
            var text = ""
            Self.write(summary, into: &text)
            pending.out.unescaped(text)
            pending.out.raw("\n}\n")
        }
        flush()
    }

    mutating func flush() {
        if !pending.out.isEmpty {
            pending.out.withBytes { emit($0) }
            pending.out.removeAll()
        }
    }

    // MARK: - Objects

    /// One connection object, keys as in the output contract (README "JSON output").
    public static func write(_ r: ConnectionRow, into text: inout String) {
        var out = JSONWriter(capacity: 4096)
        write(r, into: &out)
        text += out.text
    }

    /// One connection object as bytes, from a row or straight from the analyzed connection: the one
    /// place that says which keys a connection has and in which order.
    static func write(_ r: some JSONConnectionSource, into out: inout JSONWriter) {
        // Each key is written with its value (`after:`): one capacity check for the pair.
        out.int(r.id, after: "{\"id\": ")
        out.int(r.captureIndex, after: ", \"capture\": ")
        r.writeAddress(.client, after: ", \"client\": {\"ip\": ", into: &out)
        out.int(r.port(.client), after: ", \"port\": ")
        r.writeAddress(.server, after: "}, \"server\": {\"ip\": ", into: &out)
        out.int(r.port(.server), after: ", \"port\": ")
        out.raw("}, \"roles_inferred\": ")
        out.bool(r.rolesInferred)
        out.int(r.firstPacket, after: ", \"first_packet\": ")
        out.int(r.lastPacket, after: ", \"last_packet\": ")
        out.timestamp(r.startTime, after: ", \"start\": ")
        out.timestamp(r.endTime, after: ", \"end\": ")
        out.fixedSeconds(nanoseconds: r.durationNanoseconds, after: ", \"duration_s\": ")
        out.int(r.packetsClient, after: ", \"packets\": {\"client\": ")
        out.int(r.packetsServer, after: ", \"server\": ")
        out.int(r.bytesClient, after: "}, \"payload_bytes\": {\"client\": ")
        out.int(r.bytesServer, after: ", \"server\": ")
        out.raw("}, \"handshake\": ")
        r.handshake.writeQuoted(into: &out)
        out.name(r.ending.jsonName, after: ", \"ending\": ")
        out.nameOrNull(r.closedBy?.jsonName, after: ", \"closed_by\": ")
        out.nameOrNull(r.resetBy?.jsonName, after: ", \"reset_by\": ")
        out.name(r.cause.jsonName, after: ", \"cause\": ")
        out.name(r.confidence.jsonName, after: ", \"confidence\": ")
        // Words are escaped straight into the open JSON string (a closure here would copy `r`).
        out.raw(", \"explanation\": \"")
        r.writeExplanation(into: &out)
        out.raw("\", \"advice\": ")
        if let advice = r.advice { advice.writeQuoted(into: &out) } else { out.raw("null") }
        out.raw(", \"evidence\": [")
        for i in 0..<r.evidenceCount {
            if i > 0 { out.raw(", ") }
            let e = r.evidence(i)
            out.int(e.packet, after: "{\"packet\": ")
            out.timestamp(e.time, after: ", \"time\": ")
            out.raw(", \"from\": ")
            if let from = e.from { from.writeQuoted(into: &out) } else { out.raw("null") }
            out.raw(", \"what\": \"")
            r.writeEvidenceWords(i, into: &out)
            out.raw("\"}")
        }
        out.raw("], \"app_view\": {\"client\": ")
        app(r, .client, into: &out)
        out.raw(", \"server\": ")
        app(r, .server, into: &out)
        out.raw("}, \"alternatives\": [")
        for (i, a) in r.alternatives.enumerated() {
            if i > 0 { out.raw(", ") }
            out.name(a.jsonName)
        }
        out.raw("], \"rule\": ")
        out.string(r.rule)
        out.raw(", \"finish_reason\": ")
        r.finishReason.writeQuoted(into: &out)
        out.raw(", \"rtt_ms\": ")
        if let rtt = r.rttNanoseconds { out.oneDecimal(Double(rtt) / 1e6) } else { out.raw("null") }
        out.int(r.retransmissionsClient, after: ", \"retransmissions\": {\"client\": ")
        out.int(r.retransmissionsServer, after: ", \"server\": ")
        out.fixedSeconds(nanoseconds: r.longestIdleNanoseconds, after: "}, \"longest_idle_s\": ")
        out.raw(", \"zeek\": {\"conn_state\": ")
        out.string(r.zeekConnState)
        out.raw(", \"history\": ")
        out.string(r.zeekHistory)
        out.raw("}}")
    }

    static func app(_ r: some JSONConnectionSource, _ side: Role, into out: inout JSONWriter) {
        guard let errors = r.appErrors(side) else { return out.raw("null") }
        out.raw("{\"linux\": ")
        errors.linux.writeQuoted(into: &out)
        out.raw(", \"windows\": ")
        errors.windows.writeQuoted(into: &out)
        out.raw(", \"detail\": \"")
        r.writeAppDetail(side, into: &out)
        out.raw("\"}")
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

/// What `JSONReport.write` needs of one connection. A `ConnectionRow` has it (`coroner live`, tests), and
/// so has an `AnalyzedConnection` (the streaming output: `Words` write into the JSON bytes, no row is
/// built). Both go through the one writer, so the keys and their order are defined once.
protocol JSONConnectionSource {
    /// `String` for a row; `StaticString` names (JSONNames.swift) for an analyzed connection.
    associatedtype Text: JSONText
    var id: Int { get }
    var captureIndex: Int { get }
    /// `key`, then the address as a JSON string.
    func writeAddress(_ role: Role, after key: StaticString, into out: inout JSONWriter)
    func port(_ role: Role) -> Int
    var rolesInferred: Bool { get }
    var firstPacket: Int { get }
    var lastPacket: Int { get }
    var startTime: Timestamp { get }
    var endTime: Timestamp { get }
    var durationNanoseconds: Int64 { get }
    var packetsClient: UInt64 { get }
    var packetsServer: UInt64 { get }
    var bytesClient: UInt64 { get }
    var bytesServer: UInt64 { get }
    var handshake: Text { get }
    var ending: Ending { get }
    var closedBy: Party? { get }
    var resetBy: Party? { get }
    var cause: CauseCode { get }
    var confidence: Confidence { get }
    /// Writes `Words.explanation` (inside a JSON string).
    func writeExplanation(into out: inout JSONWriter)
    var advice: Text? { get }
    var evidenceCount: Int { get }
    func evidence(_ i: Int) -> (packet: Int, time: Timestamp, from: Text?)
    /// Writes `Words.evidence` of the `i`th reason (inside a JSON string).
    func writeEvidenceWords(_ i: Int, into out: inout JSONWriter)
    /// What `side`'s application saw on Linux and on Windows, when known.
    func appErrors(_ side: Role) -> (linux: Text, windows: Text)?
    /// Writes `Words.appDetail` for `side` (inside a JSON string); only called when `appErrors(side)` is not nil.
    func writeAppDetail(_ side: Role, into out: inout JSONWriter)
    var alternatives: [CauseCode] { get }
    var rule: String { get }
    var finishReason: Text { get }
    var rttNanoseconds: Int64? { get }
    var retransmissionsClient: Int { get }
    var retransmissionsServer: Int { get }
    var longestIdleNanoseconds: Int64 { get }
    var zeekConnState: String { get }
    var zeekHistory: String { get }
}

extension ConnectionRow: JSONConnectionSource {
    func writeAddress(_ role: Role, after key: StaticString, into out: inout JSONWriter) {
        out.raw(key)
        out.string(role == .client ? client.ip : server.ip)
    }
    func port(_ role: Role) -> Int { role == .client ? client.port : server.port }
    func writeExplanation(into out: inout JSONWriter) { out.escaped(explanation) }
    var evidenceCount: Int { evidence.count }
    func evidence(_ i: Int) -> (packet: Int, time: Timestamp, from: String?) {
        (evidence[i].packet, evidence[i].timestamp, evidence[i].from)
    }
    func writeEvidenceWords(_ i: Int, into out: inout JSONWriter) { out.escaped(evidence[i].what) }
    func appErrors(_ side: Role) -> (linux: String, windows: String)? {
        (side == .client ? clientView : serverView).map { ($0.linux, $0.windows) }
    }
    func writeAppDetail(_ side: Role, into out: inout JSONWriter) {
        out.escaped((side == .client ? clientView : serverView)?.detail ?? "")
    }
}

extension AnalyzedConnection: JSONConnectionSource {
    var id: Int { connection.id }
    func writeAddress(_ role: Role, after key: StaticString, into out: inout JSONWriter) {
        out.address(connection.endpoint(role).ip, after: key)
    }
    func port(_ role: Role) -> Int { Int(connection.endpoint(role).port) }
    var rolesInferred: Bool { connection.rolesInferred }
    var firstPacket: Int { connection.firstPacket }
    var lastPacket: Int { connection.lastPacket }
    var startTime: Timestamp { connection.start }
    var endTime: Timestamp { connection.end }
    var durationNanoseconds: Int64 { connection.start.nanoseconds(to: connection.end) }
    var packetsClient: UInt64 { connection.clientSide.packets }
    var packetsServer: UInt64 { connection.serverSide.packets }
    var bytesClient: UInt64 { connection.clientSide.payloadBytes }
    var bytesServer: UInt64 { connection.serverSide.payloadBytes }
    var handshake: StaticString { connection.handshake.jsonName }
    var ending: Ending { verdict.ending }
    var closedBy: Party? { verdict.closedBy }
    var resetBy: Party? { verdict.resetBy }
    var cause: CauseCode { verdict.cause }
    var confidence: Confidence { verdict.confidence }
    func writeExplanation(into out: inout JSONWriter) { Words.explanation(verdict, connection, into: &out) }
    var advice: StaticString? { verdict.advice.map(Words.adviceText) }
    var evidenceCount: Int { verdict.reasons.count }
    func evidence(_ i: Int) -> (packet: Int, time: Timestamp, from: StaticString?) {
        // Read in place: a copy of the reason (`let r = ...`) is a copy and a destroy of an enum with strings.
        (verdict.reasons[i].packet, verdict.reasons[i].time, verdict.reasons[i].from?.jsonName)
    }
    func writeEvidenceWords(_ i: Int, into out: inout JSONWriter) { Words.evidence(verdict.reasons[i], connection, into: &out) }
    func appErrors(_ side: Role) -> (linux: StaticString, windows: StaticString)? {
        (side == .client ? verdict.clientView : verdict.serverView).map { ($0.result.linuxText, $0.result.windowsText) }
    }
    func writeAppDetail(_ side: Role, into out: inout JSONWriter) {
        guard let outcome = side == .client ? verdict.clientView : verdict.serverView else { return }
        Words.appDetail(outcome, side: side, verdict, connection, into: &out)
    }
    var alternatives: [CauseCode] { verdict.alternatives }
    var rule: String { verdict.rule }
    var finishReason: StaticString { connection.finishReason.jsonName }
    var rttNanoseconds: Int64? { connection.handshakeRTTNanoseconds }
    var retransmissionsClient: Int { connection.clientSide.retransmissions }
    var retransmissionsServer: Int { connection.serverSide.retransmissions }
    var longestIdleNanoseconds: Int64 { connection.longestIdleNanoseconds }
    var zeekConnState: String { verdict.zeekConnState }
    var zeekHistory: String { verdict.zeekHistory }
}
