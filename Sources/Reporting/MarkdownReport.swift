import Analysis
import Diagnosis

/// GitHub-flavored Markdown for pasting into an issue tracker (`--format markdown`).
public struct MarkdownReport {
    public var onlyAbnormal: Bool
    public init(onlyAbnormal: Bool = false) { self.onlyAbnormal = onlyAbnormal }

    static func cell(_ s: String) -> String { s.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|") }

    public func render(rows: [ConnectionRow], captures: [CaptureReport], summary: Summary) -> String {
        var out = "## coroner report\n\n"
        for c in captures {
            if let error = c.error { out += "- `\(c.file)`: \(error.message)\n"; continue }
            out += "- `\(c.file)`: \(c.packets) packets, \(c.connections) connections, link \(c.linkTypes.map(\.description).joined(separator: ", ")), vantage \(c.vantage.rawValue)\n"
            for w in c.warnings { out += "  - warning: \(w)\n" }
        }
        out += "\n| cause | connections |\n|---|---:|\n"
        for (cause, n) in summary.byCause.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
            out += "| `\(cause)` | \(n) |\n"
        }
        let listed = rows.filter { !onlyAbnormal || $0.isAbnormal }
        if !listed.isEmpty {
            out += "\n| # | client | server | packets c/s | ending | cause | confidence |\n|---:|---|---|---|---|---|---|\n"
            for r in listed {
                out += "| \(r.id) | `\(r.clientText)` | `\(r.serverText)` | \(r.packetsClient)/\(r.packetsServer) | \(r.ending.rawValue) | `\(r.cause.rawValue)` | \(r.confidence.rawValue) |\n"
            }
        }
        for r in rows where r.isAbnormal {
            out += "\n### #\(r.id) `\(r.clientText)` → `\(r.serverText)`: `\(r.cause.rawValue)`\n\n"
            out += "\(r.explanation)\n\n"
            for (name, view) in [("client", r.clientView), ("server", r.serverView)] {
                guard let view else { continue }
                out += "- **\(name) app**: \(view.linux) (Linux), \(view.windows) (Windows): \(view.detail)\n"
            }
            if let advice = r.advice { out += "- **advice**: \(advice)\n" }
            if !r.evidence.isEmpty {
                out += "\n| packet | from | evidence |\n|---:|---|---|\n"
                for e in r.evidence { out += "| \(e.packet) | \(e.from ?? "") | \(Self.cell(e.what)) |\n" }
            }
            out += "\nZeek: `\(r.zeekConnState)` `\(r.zeekHistory)`\n"
        }
        return out
    }
}
