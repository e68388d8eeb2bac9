import Diagnosis
import Foundation

/// The bundle's report.html: one self-contained file (inline CSS and SVG, no scripts, no external
/// assets) with the same content as report.md and, per connection, an SVG ladder (`LadderSVG`) under
/// its explanation. Prints cleanly: one connection per page, colors kept.
public enum HTMLReport {
    static func e(_ s: String) -> String { LadderSVG.escape(s) }

    static func chipClass(_ cause: String) -> String {
        switch CauseCode(rawValue: cause) {
        case .gracefulClose?: "chip ok"
        case .stillOpen?: "chip open"
        case .unknown?: "chip unknown"
        default: "chip bad"
        }
    }

    static func chip(_ cause: String) -> String { "<span class=\"\(chipClass(cause))\">\(e(cause))</span>" }

    public static func render(_ report: BugReport) -> String {
        let title = "coroner report: \(report.rows.count) connection\(report.rows.count == 1 ? "" : "s")"
        var out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        out += "<title>\(e(title))</title>\n<style>\n\(css)</style>\n</head>\n<body>\n<main>\n"
        out += "<header>\n<h1>\(e(title))</h1>\n<p class=\"sub\">\(e(report.selection)) · made by coroner, which explains how each TCP connection in a capture ended</p>\n</header>\n"

        out += "<section class=\"card\">\n<h2 class=\"h\">Captures</h2>\n<ul class=\"facts\">\n"
        for c in report.captures {
            out += "<li><code>\(e(c.file))</code>: \(e(BugReport.captureLine(c)))"
            for w in c.warnings { out += "<br><span class=\"warn\">warning: \(e(w))</span>" }
            out += "</li>\n"
        }
        if let filter = report.filter { out += "<li>filter: <code>\(e(filter))</code></li>\n" }
        for x in report.excerpts {
            out += "<li>excerpt <code>\(e(x.file))</code> (from <code>\(e(x.capture))</code>): \(e(BugReport.excerptLine(x)))</li>\n"
        }
        if report.anonymized { out += "<li><strong>Addresses anonymized</strong> (prefix-preserving: same subnet, same anonymized subnet)</li>\n" }
        if report.payloadStripped { out += "<li><strong>Payloads removed</strong> (bytes replaced by zeros, lengths kept)</li>\n" }
        out += "</ul>\n</section>\n"

        out += "<section class=\"card\">\n<h2 class=\"h\">Endings by cause</h2>\n<table>\n<thead><tr><th>cause</th><th class=\"num\">connections</th><th class=\"num\">in this report</th></tr></thead>\n<tbody>\n"
        for line in report.causeTable {
            out += "<tr><td>\(chip(line.cause))</td><td class=\"num\">\(line.all)</td><td class=\"num\">\(line.selected)</td></tr>\n"
        }
        out += "</tbody>\n</table>\n"
        if report.rows.isEmpty {
            out += "<p>No connection matched the selection.</p>\n"
        } else {
            out += "<table class=\"list\">\n<thead><tr><th class=\"num\">#</th><th>client</th><th>server</th><th class=\"num\">packets c/s</th><th>ending</th><th>cause</th><th>confidence</th></tr></thead>\n<tbody>\n"
            for r in report.rows {
                out += "<tr><td class=\"num\"><a href=\"#\(anchor(r, report))\">\(e(report.reference(r)))</a></td><td><code>\(breakable(r.clientText))</code></td><td><code>\(breakable(r.serverText))</code></td>"
                out += "<td class=\"num\">\(r.packetsClient)/\(r.packetsServer)</td><td>\(e(r.ending.rawValue))</td><td>\(chip(r.cause.rawValue))</td><td>\(e(r.confidence.rawValue))</td></tr>\n"
            }
            out += "</tbody>\n</table>\n"
        }
        out += "</section>\n"
        for r in report.rows { out += section(r, report: report) }
        out += "</main>\n</body>\n</html>\n"
        return out
    }

    /// An endpoint whose IPv6 address may wrap after its colons in a narrow table cell.
    static func breakable(_ endpoint: String) -> String {
        endpoint.hasPrefix("[") ? e(endpoint).replacingOccurrences(of: ":", with: ":<wbr>") : e(endpoint)
    }

    static func anchor(_ r: ConnectionRow, _ report: BugReport) -> String { "conn-\(r.captureIndex + 1)-\(r.id)" }

    static func section(_ r: ConnectionRow, report: BugReport) -> String {
        var out = "<section class=\"card conn\" id=\"\(anchor(r, report))\">\n"
        out += "<h2><span class=\"id\">#\(e(report.reference(r)))</span> <code>\(e(r.clientText))</code> <span class=\"arrow\">→</span> <code>\(e(r.serverText))</code></h2>\n"
        out += "<p class=\"verdict\"><strong>\(e(BugReport.endingText(r)))</strong> \(chip(r.cause.rawValue)) <span class=\"conf \(e(r.confidence.rawValue))\">\(e(r.confidence.rawValue)) confidence</span></p>\n"
        out += "<p class=\"meta\">\(e(BugReport.factsLine(r)))\(report.captures.count > 1 ? "; capture <code>\(e(r.captureFile))</code>" : "")</p>\n"
        out += "<p class=\"explanation\">\(e(r.explanation))</p>\n"
        if r.clientView != nil || r.serverView != nil {
            out += "<div class=\"apps\">\n"
            for (name, view) in [("client", r.clientView), ("server", r.serverView)] {
                out += "<div class=\"app\"><h3>\(name) application saw</h3>"
                if let view {
                    out += "<p class=\"errno\">\(e(view.linux)) <span class=\"os\">Linux</span></p><p class=\"errno\">\(e(view.windows)) <span class=\"os\">Windows</span></p><p>\(e(view.detail))</p>"
                } else {
                    out += "<p class=\"none\">nothing (no error)</p>"
                }
                out += "</div>\n"
            }
            out += "</div>\n"
        }
        if let advice = r.advice { out += "<p class=\"advice\"><strong>Advice.</strong> \(e(advice))</p>\n" }
        if !r.alternatives.isEmpty {
            out += "<p class=\"meta\">Cannot rule out: \(r.alternatives.map { chip($0.rawValue) }.joined(separator: " "))</p>\n"
        }
        if !r.ladder.isEmpty {
            out += "<figure class=\"ladder\">\n" + LadderSVG.render(r)
            out += "<figcaption>" + legend + (r.elidedPackets > 0 ? " · first and last packets shown" : "") + " · seq/ack relative to each side's first sequence number</figcaption>\n</figure>\n"
        }
        if !r.evidence.isEmpty {
            out += "<table class=\"evidence\">\n<thead><tr><th class=\"num\">packet</th><th>time (UTC)</th><th>from</th><th>evidence</th></tr></thead>\n<tbody>\n"
            for x in r.evidence {
                out += "<tr><td class=\"num\">\(x.packet)</td><td class=\"mono\">\(e(BugReportMarkdown.shortTime(x.time)))</td><td>\(e(x.from ?? ""))</td><td>\(e(x.what))</td></tr>\n"
            }
            out += "</tbody>\n</table>\n"
        }
        out += "<p class=\"meta\">Zeek: <code>\(e(r.zeekConnState))</code> <code>\(e(r.zeekHistory))</code> · rule <code>\(e(r.rule))</code></p>\n"
        out += "</section>\n"
        return out
    }

    static let legend = """
        <span class="key"><i style="background:#2563eb"></i>SYN</span> \
        <span class="key"><i style="background:#1f2937"></i>data</span> \
        <span class="key"><i style="background:#9ca3af"></i>ACK</span> \
        <span class="key"><i style="background:#d97706"></i>FIN</span> \
        <span class="key"><i style="background:#dc2626"></i>RST</span> \
        <span class="key"><b>●</b> evidence</span>
        """

    static let css = """
        :root { --fg: #0f172a; --muted: #64748b; --line: #e2e8f0; --bg: #f1f5f9; }
        * { box-sizing: border-box; }
        body { margin: 0; background: var(--bg); color: var(--fg);
          font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Liberation Sans", sans-serif; }
        main { max-width: 940px; margin: 0 auto; padding: 28px 20px 56px; }
        header h1 { font-size: 26px; margin: 0; letter-spacing: -0.01em; }
        .sub { color: var(--muted); margin: 2px 0 0; }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 12px; padding: 18px 22px; margin: 18px 0;
          box-shadow: 0 1px 2px rgba(15, 23, 42, 0.05); }
        h2.h { font-size: 13px; text-transform: uppercase; letter-spacing: 0.08em; color: var(--muted); margin: 0 0 8px; }
        ul.facts { margin: 0; padding-left: 18px; }
        .warn { color: #b45309; }
        code, .mono { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 0.9em; }
        table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 8px 0; }
        th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
        .num { text-align: right; font-variant-numeric: tabular-nums; }
        table.list { margin-top: 16px; font-size: 13px; }
        table.list td.num, table.list td:nth-last-child(-n+3) { white-space: nowrap; }
        a { color: #1d4ed8; text-decoration: none; }
        .chip { display: inline-block; padding: 0 9px; border-radius: 999px; font: 600 12.5px/1.7 ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; }
        .chip.bad { background: #fee2e2; color: #991b1b; }
        .chip.ok { background: #dcfce7; color: #166534; }
        .chip.open { background: #e0f2fe; color: #075985; }
        .chip.unknown { background: #f3e8ff; color: #6b21a8; }
        .conn h2 { font-size: 19px; margin: 0 0 4px; font-weight: 650; }
        .conn h2 .id { color: var(--muted); margin-right: 4px; }
        .conn h2 .arrow { color: var(--muted); }
        .verdict { margin: 6px 0 2px; font-size: 15px; }
        .conf { color: var(--muted); font-size: 13px; margin-left: 6px; }
        .conf.high { color: #166534; } .conf.low { color: #b45309; }
        .meta { color: var(--muted); font-size: 13px; margin: 4px 0; }
        .explanation { font-size: 16px; margin: 14px 0; max-width: 70ch; }
        .apps { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; margin: 12px 0; }
        .app { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; font-size: 14px; }
        .app h3 { margin: 0 0 4px; font-size: 12px; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted); }
        .app p { margin: 2px 0; }
        .errno { font: 600 14px ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; color: #991b1b; }
        .errno .os { font: 400 12px system-ui, sans-serif; color: var(--muted); margin-left: 4px; }
        .none { color: var(--muted); }
        .advice { border-left: 4px solid #2563eb; background: #eff6ff; padding: 10px 14px; border-radius: 0 8px 8px 0; margin: 12px 0; font-size: 14px; }
        figure.ladder { margin: 18px 0 8px; overflow-x: auto; }
        figure.ladder svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
        figcaption { color: var(--muted); font-size: 12.5px; text-align: center; margin-top: 4px; }
        .key { white-space: nowrap; margin: 0 4px; }
        .key i { display: inline-block; width: 14px; height: 4px; border-radius: 2px; vertical-align: middle; margin-right: 4px; }
        @media (max-width: 640px) { .apps { grid-template-columns: 1fr; } }
        @media print {
          body { background: #fff; font-size: 10.5pt; }
          main { max-width: none; padding: 0; }
          .card { box-shadow: none; border: none; padding: 0; margin: 0 0 14pt; }
          .conn { break-before: page; }
          figure.ladder, table, .apps { break-inside: avoid; }
          a { color: inherit; }
          * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
        }

        """
}
