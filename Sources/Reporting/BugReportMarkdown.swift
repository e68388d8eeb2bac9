import Diagnosis

/// The bundle's report.md: GitHub-flavored Markdown to paste into an issue. Capture facts, counts by
/// cause, then per selected connection its verdict, explanation, what each application saw, advice,
/// the evidence packets and a monospace ladder (`LadderText`).
public enum BugReportMarkdown {
    static func cell(_ s: String) -> String { s.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|") }

    public static func render(_ report: BugReport) -> String {
        var out = "## coroner report: \(report.rows.count) connection\(report.rows.count == 1 ? "" : "s") (\(report.selection))\n\n"
        for c in report.captures {
            out += "- `\(c.file)`: \(BugReport.captureLine(c))\n"
            for w in c.warnings { out += "  - warning: \(w)\n" }
        }
        if let filter = report.filter { out += "- filter: `\(filter)`\n" }
        for e in report.excerpts {
            out += "- excerpt `\(e.file)` (from `\(e.capture)`): \(BugReport.excerptLine(e))\n"
        }
        if report.anonymized || report.payloadStripped {
            var notes: [String] = []
            if report.anonymized { notes.append("IP and MAC addresses anonymized (prefix-preserving: same subnet, same anonymized subnet)") }
            if report.payloadStripped { notes.append("payload bytes replaced by zeros (lengths kept)") }
            out += "- " + notes.joined(separator: "; ") + "\n"
        }
        out += "\n| cause | connections | in this report |\n|---|---:|---:|\n"
        for line in report.causeTable { out += "| `\(line.cause)` | \(line.all) | \(line.selected) |\n" }
        if report.rows.isEmpty { return out + "\nNo connection matched the selection.\n" }
        out += "\n| # | client | server | packets c/s | ending | cause | confidence |\n|---:|---|---|---|---|---|---|\n"
        for r in report.rows {
            out += "| \(report.reference(r)) | `\(r.clientText)` | `\(r.serverText)` | \(r.packetsClient)/\(r.packetsServer) | \(r.ending.rawValue) | `\(r.cause.rawValue)` | \(r.confidence.rawValue) |\n"
        }
        for r in report.rows { out += "\n" + section(r, report: report) }
        return out
    }

    static func section(_ r: ConnectionRow, report: BugReport) -> String {
        var out = "### #\(report.reference(r)) `\(r.clientText)` → `\(r.serverText)`: `\(r.cause.rawValue)`\n\n"
        out += "**\(BugReport.endingText(r)): `\(r.cause.rawValue)`** (\(r.confidence.rawValue) confidence); \(BugReport.factsLine(r))"
        out += report.captures.count > 1 ? "; capture `\(r.captureFile)`\n\n" : "\n\n"
        out += r.explanation + "\n\n"
        for (name, view) in [("client", r.clientView), ("server", r.serverView)] {
            guard let view else { continue }
            out += "- **\(name) app**: \(view.linux) (Linux), \(view.windows) (Windows): \(view.detail)\n"
        }
        if let advice = r.advice { out += "- **advice**: \(advice)\n" }
        if !r.alternatives.isEmpty { out += "- **cannot rule out**: \(r.alternatives.map { "`\($0.rawValue)`" }.joined(separator: ", "))\n" }
        if !r.evidence.isEmpty {
            out += "\n| packet | time | from | evidence |\n|---:|---|---|---|\n"
            for e in r.evidence { out += "| \(e.packet) | \(shortTime(e.time)) | \(e.from ?? "") | \(cell(e.what)) |\n" }
        }
        if !r.ladder.isEmpty { out += "\n```text\n" + LadderText.render(r) + "```\n" }
        out += "\nZeek: `\(r.zeekConnState)` `\(r.zeekHistory)`\n"
        return out
    }

    /// "08:07:40.594817" from an RFC 3339 time.
    static func shortTime(_ t: String) -> String { t.count > 19 ? String(t.dropFirst(11).dropLast()) : t }
}
