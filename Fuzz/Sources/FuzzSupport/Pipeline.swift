// What both fuzzers drive: the real per-file pipeline (`Run`: decode, track, diagnose) and every
// renderer, so a trap anywhere from the first header byte to the last word of a report is found.

import Analysis
import ConnectionTracking
import PacketCapture
import Reporting
import WireFormat

public struct Pipeline {
    var run: Run
    public var report = CaptureReport(file: "fuzz-input")
    var rows: [ConnectionRow] = []
    var summary = Summary()
    var json = ""
    let rendersEverything: Bool

    nonisolated(unsafe) static var template = Run(options: AnalysisOptions(), captureIndex: 0)

    public init(configuration: UInt8 = 0) {
        var options = AnalysisOptions()
        if configuration & 0x01 != 0 { options.tracker.maxConnections = 16 }
        if configuration & 0x02 != 0 { options.tracker.idleTimeout = .seconds(2) }
        // `Run.init` reserves room for 4,096 connections (megabytes, mapped and unmapped per input under
        // ASan); a fuzz input has a few. Copy one made once and give it a small tracker instead.
        run = Self.template
        run.tracker = ConnectionTracker(configuration: options.tracker, expectedConcurrent: 8)
        rendersEverything = configuration & 0x08 != 0
    }

    public mutating func consume(_ packet: CapturedPacket) {
        var rows = self.rows
        var summary = self.summary
        var json = self.json
        let keep = rendersEverything
        run.consume(packet, report: &report) { analyzed in
            Self.render(analyzed, rows: &rows, summary: &summary, json: &json, keep: keep)
        }
        self.rows = rows
        self.summary = summary
        self.json = json
    }

    public mutating func finish() {
        var rows = self.rows
        var summary = self.summary
        var json = self.json
        let keep = rendersEverything
        run.finish(report: &report) { analyzed in
            Self.render(analyzed, rows: &rows, summary: &summary, json: &json, keep: keep)
        }
        JSONReport.write(report, into: &json)
        JSONReport.write(summary, into: &json)
        if rendersEverything {
            _ = TextReport(verbose: true).render(rows: rows, captures: [report], summary: summary)
            _ = MarkdownReport().render(rows: rows, captures: [report], summary: summary)
        }
    }

    static func render(
        _ analyzed: AnalyzedConnection, rows: inout [ConnectionRow], summary: inout Summary, json: inout String,
        keep: Bool
    ) {
        let row = ConnectionRow(analyzed, captureFile: "fuzz-input")
        summary.add(row)
        json.removeAll(keepingCapacity: true)
        JSONReport.write(row, into: &json)
        if keep && rows.count < 64 { rows.append(row) }
    }
}
