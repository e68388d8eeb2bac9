import Analysis
import Diagnosis

/// Everything a bug-report bundle shows (`coroner report`): the captures, counts by cause over all
/// connections, the selected connections, and what the excerpt holds. Plain data; `BugReportMarkdown`
/// and `HTMLReport` render it. When `anonymized`, every address in it is already anonymized.
public struct BugReport: Sendable {
    /// One excerpt file of the bundle.
    public struct ExcerptFile: Sendable {
        public var file: String
        /// The capture it was cut from (as shown in `captures`).
        public var capture: String
        public var tcpPackets: Int
        public var icmpErrors: Int
        public var connections: Int
        /// Connections that are not selected but that a selected verdict rests on (listen_overflow: the same
        /// server answering other handshakes), included so the excerpt's re-analysis agrees.
        public var context: Int
        public var linkType: String
        public var convertedToRawIP: Bool
        public init(file: String, capture: String, tcpPackets: Int, icmpErrors: Int, connections: Int, context: Int = 0, linkType: String, convertedToRawIP: Bool) {
            self.file = file
            self.capture = capture
            self.tcpPackets = tcpPackets
            self.icmpErrors = icmpErrors
            self.connections = connections
            self.context = context
            self.linkType = linkType
            self.convertedToRawIP = convertedToRawIP
        }
    }

    public var captures: [CaptureReport]
    /// Over every connection of every capture, selected or not.
    public var summary: Summary
    /// The selected connections, in capture then id order.
    public var rows: [ConnectionRow]
    /// How they were chosen, in words ("abnormal connections", "cause refused", ...).
    public var selection: String
    public var filter: String?
    public var excerpts: [ExcerptFile]
    public var anonymized: Bool
    public var payloadStripped: Bool

    public init(
        captures: [CaptureReport], summary: Summary, rows: [ConnectionRow], selection: String, filter: String?,
        excerpts: [ExcerptFile], anonymized: Bool, payloadStripped: Bool
    ) {
        self.captures = captures
        self.summary = summary
        self.rows = rows
        self.selection = selection
        self.filter = filter
        self.excerpts = excerpts
        self.anonymized = anonymized
        self.payloadStripped = payloadStripped
    }

    /// The id users pass to `--connection`: "7", or "2:7" (capture 2, 1-based) with several captures.
    public func reference(_ r: ConnectionRow) -> String {
        captures.count > 1 ? "\(r.captureIndex + 1):\(r.id)" : "\(r.id)"
    }

    /// Causes by count, most frequent first, with how many of each were selected.
    public var causeTable: [(cause: String, all: Int, selected: Int)] {
        var selected: [String: Int] = [:]
        for r in rows { selected[r.cause.rawValue, default: 0] += 1 }
        return summary.byCause
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { ($0.key, $0.value, selected[$0.key] ?? 0) }
    }

    /// "RESET by server" / "GRACEFUL" / "REFUSED by server".
    public static func endingText(_ r: ConnectionRow) -> String {
        var s = r.ending.rawValue.uppercased()
        if let by = r.resetBy { s += " by \(by.rawValue)" } else if let by = r.closedBy { s += " by \(by.rawValue)" }
        return s
    }

    /// "7 TCP packets of 1 connection, link EN10MB" and what else the excerpt holds.
    public static func excerptLine(_ e: ExcerptFile) -> String {
        var s = "\(e.tcpPackets) TCP packets"
        s += e.icmpErrors > 0 ? " and \(e.icmpErrors) ICMP errors" : ""
        s += " of \(e.connections) connection\(e.connections == 1 ? "" : "s")"
        if e.context > 0 {
            s += " plus \(e.context) other connection\(e.context == 1 ? "" : "s") to the same server that the listen_overflow verdict rests on"
        }
        s += ", link \(e.linkType)"
        s += e.convertedToRawIP ? " (link headers removed: the capture mixed link types)" : ""
        return s
    }

    /// One line of capture facts.
    public static func captureLine(_ c: CaptureReport) -> String {
        if let error = c.error { return error.message }
        let links = c.linkTypes.map(\.description).joined(separator: ", ")
        var s = "\(Format.grouped(UInt64(c.packets))) packets (\(Format.grouped(UInt64(c.tcpPackets))) TCP), "
        s += "\(c.connections) connection\(c.connections == 1 ? "" : "s"), link \(links.isEmpty ? "-" : links)"
        if let first = c.firstTime, let last = c.lastTime {
            s += ", \(Format.rfc3339(first)) + \(Format.duration(nanoseconds: first.nanoseconds(to: last)))"
        }
        if c.vantage != .unknown { s += ", captured \(c.vantage.rawValue.replacingUnderscores)" }
        if c.truncated { s += ", damaged (verdicts cover what was read)" }
        return s
    }

    /// "#1 … packets 1–7, 400 ms, Zeek RSTR ShAfDr".
    public static func factsLine(_ r: ConnectionRow) -> String {
        "packets \(r.firstPacket)–\(r.lastPacket) (\(r.packetsClient) from the client, \(r.packetsServer) from the server), "
            + "\(Format.duration(nanoseconds: r.durationNanoseconds)), handshake \(r.handshake.replacingUnderscores)"
    }
}

extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}
