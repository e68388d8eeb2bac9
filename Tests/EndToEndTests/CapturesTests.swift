import Analysis
import Diagnosis
import Foundation
import Reporting
import Testing

/// The scenario lab's captures (real Linux kernel, see lab/README.md) and their expected verdicts.
struct LabCapture: CustomTestStringConvertible {
    let name: String
    let capture: URL
    let expected: [[String: Any]]
    var testDescription: String { name }

    static func all() -> [LabCapture] {
        Paths.files(under: Paths.captures, extensions: ["json"]).compactMap { url in
            guard url.lastPathComponent.hasSuffix(".expected.json"),
                  let data = try? Data(contentsOf: url),
                  let doc = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let file = doc["capture"] as? String,
                  let connections = doc["connections"] as? [[String: Any]] else { return nil }
            return LabCapture(name: String(url.lastPathComponent.dropLast(".expected.json".count)),
                              capture: Paths.captures.appendingPathComponent(file), expected: connections)
        }
    }
}

extension LabCapture: @unchecked Sendable {}

/// Maps what a program observed on its socket to the names coroner's app view uses.
func observedOutcomes(_ calls: [[String: Any]]) -> Set<String> {
    var names: Set<String> = []
    let io: Set<String> = ["connect", "accept", "recv", "recv_into", "send", "sendall", "read", "write"]
    for call in calls {
        guard let name = call["call"] as? String, io.contains(name),
              let result = call["result"] as? String, result != "ok" else { continue }
        switch result {
        case "eof": names.insert("EOF")
        case "timeout": continue  // the program's own wait expired with nothing received: it saw nothing
        default: names.insert(result)
        }
    }
    return names
}

@Suite("Scenario-lab captures")
struct CapturesTests {
    @Test("the lab's captures are present and cover every cause code")
    func coverage() {
        let captures = LabCapture.all()
        #expect(captures.count >= 30, "captures/ should hold at least 30 lab captures, found \(captures.count)")
        let causes = Set(captures.flatMap { $0.expected.compactMap { $0["cause"] as? String } })
        let missing = CauseCode.allCases.map(\.rawValue).filter { !causes.contains($0) && $0 != "unknown" }
        #expect(missing.isEmpty, "no capture for causes: \(missing)")
    }

    @Test("analyze gives each lab connection its expected ending, reset_by, cause and app view", arguments: LabCapture.all())
    func verdicts(_ lab: LabCapture) throws {
        var found: [String: [AnalyzedConnection]] = [:]
        let report = Analyzer.analyze(path: lab.capture.path) { analyzed in
            let c = analyzed.connection
            found["\(c.client.ip):\(c.client.port)-\(c.server.ip):\(c.server.port)", default: []].append(analyzed)
        }
        #expect(report.error == nil)
        #expect(!report.truncated)
        for key in found.keys { found[key]!.sort { $0.connection.id < $1.connection.id } }
        for expected in lab.expected {
            let client = expected["client"] as? [String: Any] ?? [:]
            let server = expected["server"] as? [String: Any] ?? [:]
            let key = "\(client["ip"] ?? ""):\(client["port"] ?? "")-\(server["ip"] ?? ""):\(server["port"] ?? "")"
            guard var list = found[key], !list.isEmpty else {
                Issue.record("\(lab.name): no connection \(key)")
                continue
            }
            let got = list.removeFirst()
            found[key] = list
            let v = got.verdict
            let wantCause = expected["cause"] as? String ?? ""
            let wantEnding = expected["ending"] as? String ?? ""
            let wantResetBy = expected["reset_by"] as? String
            #expect(v.ending.rawValue == wantEnding, "\(lab.name) \(key): ending")
            #expect(v.resetBy?.rawValue == wantResetBy, "\(lab.name) \(key): reset_by")
            if v.cause.rawValue != wantCause {
                // Only acceptable where the wire cannot separate the two causes: then coroner must say so
                // (low confidence, the expected cause named as the alternative).
                let honest = v.confidence == .low && v.alternatives.map(\.rawValue).contains(wantCause)
                #expect(honest, "\(lab.name) \(key): cause \(v.cause.rawValue) (\(v.confidence.rawValue)), expected \(wantCause)")
            }
            // What the applications really saw must be among what coroner says they saw. (Not for
            // still-open connections: whatever the programs saw happened after the capture ended.)
            guard wantCause != "still_open" else { continue }
            let calls = expected["calls"] as? [String: Any] ?? [:]
            for (side, view) in [("client", v.clientView), ("server", v.serverView)] {
                let observed = observedOutcomes(calls[side] as? [[String: Any]] ?? [])
                let errors = observed.subtracting(["EOF"])
                guard !errors.isEmpty || (observed.contains("EOF") && v.cause == .gracefulClose) else { continue }
                guard let view else {
                    Issue.record("\(lab.name) \(key): \(side) app saw \(observed.sorted()) but coroner's app_view is null")
                    continue
                }
                let said = view.result.rawValue
                #expect(observed.contains { said.contains($0) },
                        "\(lab.name) \(key): \(side) app saw \(observed.sorted()), coroner says \(said)")
            }
        }
    }
}
