import Analysis
import ArgumentParser
import ConnectionTracking
import Diagnosis
import Foundation
import Reporting
import WireFormat

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, ndjson, markdown
}

enum Selection: String, ExpressibleByArgument, CaseIterable {
    case all, abnormal
}

enum ColorChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never
}

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain how every TCP connection in one or more capture files ended.",
        discussion: """
            Reads pcap and pcapng files (Ethernet, VLAN, Linux cooked SLL/SLL2, BSD loopback, raw IP), \
            follows every TCP connection, and prints a verdict per connection.

            Examples:
              coroner analyze capture.pcap
              coroner analyze -v --color always capture.pcapng | less -R
              coroner analyze --format json --filter 'tcp port 443' capture.pcap > verdicts.json
              coroner analyze --only abnormal --fail-on unread_data_on_close,data_after_close ci.pcap
            """ + ExitCode.documentation
    )

    @Argument(help: ArgumentHelp("Capture files (pcap or pcapng).", valueName: "file"))
    var files: [String]

    @Option(name: .long, help: "Output format: text, json, ndjson (one connection per line) or markdown.")
    var format: OutputFormat = .text

    @Option(name: .shortAndLong, help: ArgumentHelp("A BPF filter in tcpdump syntax, applied by libpcap.", valueName: "expr"))
    var filter: String?

    @Option(help: "Which connections to list: all, or abnormal (everything but graceful closes and still-open ones).")
    var only: Selection = .all

    @Flag(name: .shortAndLong, help: "Text: print the detailed block for every connection, not only abnormal ones.")
    var verbose = false

    @Option(help: "Colors in text output: auto (when stdout is a terminal), always or never.")
    var color: ColorChoice = .auto

    @Option(name: .customLong("fail-on"), parsing: .singleValue,
            help: ArgumentHelp("Exit with code 4 when any connection has one of these causes (comma-separated).", valueName: "cause,..."))
    var failOn: [String] = []

    @Option(help: ArgumentHelp("Seconds of silence after which a connection is finished as idle.", valueName: "seconds"))
    var idleTimeout: Double = 7500

    @Option(help: "At most this many connections are tracked at once; the longest idle are evicted beyond it.")
    var maxConnections: Int = 1_000_000

    @Flag(name: .shortAndLong, help: "No progress bar on stderr.")
    var quiet = false

    var failOnCauses: Set<CauseCode> {
        Set(failOn.flatMap { $0.split(separator: ",") }.compactMap { CauseCode(rawValue: String($0).trimmingCharacters(in: .whitespaces)) })
    }

    func validate() throws {
        for name in failOn.flatMap({ $0.split(separator: ",") }) {
            let code = String(name).trimmingCharacters(in: .whitespaces)
            guard CauseCode(rawValue: code) != nil else {
                throw ValidationError("unknown cause '\(code)' in --fail-on; known: \(CauseCode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        guard idleTimeout > 0 else { throw ValidationError("--idle-timeout must be positive") }
        guard maxConnections >= 16 else { throw ValidationError("--max-connections must be at least 16") }
    }

    func run() throws {
        var options = AnalysisOptions(filter: filter)
        options.tracker.idleTimeout = .seconds(idleTimeout)
        options.tracker.maxConnections = maxConnections
        options.tracker.recordsLadder = false  // no report here draws ladders (the bundle, `coroner report`, does)
        options.tracker.recordsEvents = false  // no verdict or report reads a connection's events
        // libpcap reads on a thread of its own when a core is free for it (with one core the hand-over
        // would only add work; the output thread is there in both cases).
        options.readAhead = Machine.availableCores >= 2
        let stdout = StandardOutput()
        let useColor = color == .always || (color == .auto && isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil)
        let progress = Progress(enabled: !quiet && isatty(STDERR_FILENO) == 1)
        let output = OutputPipeline(
            failOn: failOnCauses, onlyAbnormal: only == .abnormal,
            json: format == .json || format == .ndjson
                ? JSONReport(style: format == .json ? .document : .lines, emitBytes: stdout.write(bytes:)) : nil)
        var captures: [CaptureReport] = []
        for (index, path) in files.enumerated() {
            progress.start(path: path)
            let report = Analyzer.track(path: path, captureIndex: index, options: options, progress: progress.update) { (finished: consuming FinishedConnection) in
                output.submit(consume finished, captureFile: path)
            }
            output.drain()
            progress.finish()
            if let error = report.error { Diagnostics.error(error.message) }
            for warning in report.warnings { Diagnostics.warning(warning) }
            captures.append(report)
        }
        let (rows, summary, matched) = output.finish(captures: captures)
        switch format {
        case .json, .ndjson: break
        case .text:
            stdout.write(TextReport(color: useColor, verbose: verbose, onlyAbnormal: only == .abnormal)
                .render(rows: rows, captures: captures, summary: summary))
        case .markdown:
            stdout.write(MarkdownReport(onlyAbnormal: only == .abnormal).render(rows: rows, captures: captures, summary: summary))
        }
        stdout.flush()
        if captures.contains(where: { $0.error != nil }) { throw ExitCode(ExitStatus.unreadableInput.rawValue) }
        if captures.contains(where: \.truncated) { throw ExitCode(ExitStatus.damagedInput.rawValue) }
        if matched { throw ExitCode(ExitStatus.failOnMatched.rawValue) }
    }
}
