import Analysis
import Foundation
import Reporting
import Testing
import TestSupport

/// Folders and files the robustness tests read, found from this file's path.
enum RobustnessPaths {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let regressions = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Regressions")
    /// captures/ and, when present, ../shared/corpus/.
    static var captureFiles: [URL] {
        let corpus = repository.deletingLastPathComponent().appendingPathComponent("shared/corpus")
        return [repository.appendingPathComponent("captures"), corpus].flatMap { root -> [URL] in
            guard let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
            return e.compactMap { $0 as? URL }.filter { ["pcap", "pcapng"].contains($0.pathExtension) }
        }.sorted { $0.path < $1.path }
    }

    /// The built `coroner` executable next to the test bundle (`swift build --build-tests` builds it).
    static var coroner: URL? {
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("coroner")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    /// A fresh per-process scratch folder.
    static let scratch: URL = {
        URL(fileURLWithPath: TestScratch.directory("robustness"))
    }()

    static func write(_ bytes: [UInt8], named name: String) -> String {
        let url = scratch.appendingPathComponent(name)
        FileManager.default.createFile(atPath: url.path, contents: Data(bytes))
        return url.path
    }
}

/// What analysing one file gave, in process, the way the CLI does it.
struct AnalyzedFile {
    var report: CaptureReport
    var rows: [ConnectionRow]
    var json: String
    var seconds: Double

    /// Analyzes `path`, renders the JSON document, and times it.
    init(path: String, options: AnalysisOptions = AnalysisOptions()) {
        let clock = ContinuousClock()
        let start = clock.now
        var rows: [ConnectionRow] = []
        var out = ""
        var json = JSONReport(style: .document) { out += $0 }
        json.begin()
        var summary = Summary()
        report = Analyzer.analyze(path: path, options: options) { analyzed in
            let row = ConnectionRow(analyzed, captureFile: path)
            summary.add(row)
            json.add(row)
            rows.append(row)
        }
        json.end(captures: [report], summary: summary)
        self.rows = rows
        self.json = out
        seconds = Double((clock.now - start).components.attoseconds) / 1e18 + Double((clock.now - start).components.seconds)
    }

    /// The exit code the CLI gives for this one file (Analyze.run: 2 unreadable, 3 damaged, else 0).
    var exitCode: Int32 { report.error != nil ? 2 : report.truncated ? 3 : 0 }

    /// Whether `json` parses as a JSON object.
    var isValidJSON: Bool { Self.isValidJSON(json) }

    static func isValidJSON(_ text: String) -> Bool {
        guard let data = text.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return false }
        return object["connections"] is [Any] && object["captures"] is [Any]
    }
}


/// The result of running the real binary.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var seconds: Double
}

/// Runs `coroner` with `arguments`, killing it after `timeout` seconds (a hang is a failure, not a stuck run).
func runCoroner(_ arguments: [String], timeout: Double = 60) throws -> CommandResult {
    let executable = try #require(RobustnessPaths.coroner, "coroner is built with the tests (swift build --build-tests)")
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let start = Date()
    try process.run()
    let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    watchdog.cancel()
    return CommandResult(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self), seconds: Date().timeIntervalSince(start))
}
