import Foundation
import Testing
import TestSupport

/// Runs the built `coroner` executable, as a user would.
struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

func runCoroner(_ arguments: [String]) throws -> CLIResult {
    let executable = try #require(Paths.coronerExecutable, "the coroner executable is built with the tests (swift build --build-tests)")
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes before waiting so a large report cannot block the child.
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CLIResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                     stderr: String(decoding: errData, as: UTF8.self))
}

func temporaryFile(_ name: String, _ bytes: Data) throws -> URL {
    let dir = URL(fileURLWithPath: TestScratch.directory("cli"))
    let url = dir.appendingPathComponent(name)
    try bytes.write(to: url)
    return url
}

@Suite("The coroner command line")
struct CLITests {
    static let sample = Paths.captures.appendingPathComponent("server-closed-client-sends-twice.pcap")

    @Test("--help teaches: an example and the exit codes")
    func help() throws {
        let root = try runCoroner(["--help"])
        #expect(root.status == 0)
        #expect(root.stdout.contains("coroner analyze"))
        #expect(root.stdout.contains("Exit codes"))
        let analyze = try runCoroner(["analyze", "--help"])
        #expect(analyze.stdout.contains("Examples:") && analyze.stdout.contains("--fail-on"))
    }

    @Test("text report names the cause, the explanation and the evidence packets")
    func text() throws {
        let r = try runCoroner(["analyze", Self.sample.path])
        #expect(r.status == 0)
        #expect(r.stdout.contains("data_after_close"))
        #expect(r.stdout.contains("EPIPE"))
        #expect(r.stdout.contains("#7"))
        #expect(!r.stdout.contains("\u{1B}["), "no colors when stdout is not a terminal")
    }

    @Test("JSON output follows the contract's field names")
    func json() throws {
        let r = try runCoroner(["analyze", "--format", "json", Self.sample.path])
        #expect(r.status == 0)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(doc["coroner_version"] is String)
        let connection = try #require((doc["connections"] as? [[String: Any]])?.first)
        for key in ["id", "client", "server", "roles_inferred", "first_packet", "last_packet", "start", "end", "duration_s",
                    "packets", "payload_bytes", "handshake", "ending", "closed_by", "reset_by", "cause", "confidence",
                    "explanation", "evidence", "app_view", "zeek"] {
            #expect(connection[key] != nil, "missing \(key)")
        }
        #expect(connection["cause"] as? String == "data_after_close")
        let capture = try #require((doc["captures"] as? [[String: Any]])?.first)
        for key in ["file", "link_types", "packets", "undecodable_packets", "truncated", "warnings"] {
            #expect(capture[key] != nil, "missing \(key)")
        }
        let summary = try #require(doc["summary"] as? [String: Any])
        #expect(summary["connections"] as? Int == 1)
    }

    @Test("NDJSON: one connection object per line")
    func ndjson() throws {
        let r = try runCoroner(["analyze", "--format", "ndjson", Paths.captures.appendingPathComponent("port-reuse-same-4-tuple.pcap").path])
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        for line in lines { #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil) }
    }

    @Test("bad input: one clear line naming the file, exit 2, and nothing lost for the good files",
          arguments: ["missing", "directory", "not-a-capture", "empty"])
    func badInput(_ kind: String) throws {
        let path: String
        switch kind {
        case "missing": path = "/nonexistent/coroner-test.pcap"
        case "directory": path = FileManager.default.temporaryDirectory.path
        case "not-a-capture": path = try temporaryFile("text.pcap", Data("this is not a capture\n".utf8)).path
        default: path = try temporaryFile("empty.pcap", Data()).path
        }
        let r = try runCoroner(["analyze", "--format", "json", path, Self.sample.path])
        #expect(r.status == 2)
        let errors = r.stderr.split(separator: "\n").filter { $0.contains("error") }
        #expect(errors.count == 1 && errors.first?.contains(path) == true, "\(r.stderr)")
        let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect((doc?["connections"] as? [Any])?.count == 1, "the good file's verdicts are still there")
    }

    @Test("a capture cut mid-record: verdicts for what came before, a warning naming the file, exit 3, valid JSON")
    func truncated() throws {
        let whole = try Data(contentsOf: Self.sample)
        let cut = try temporaryFile("cut.pcap", whole.prefix(whole.count - 10))
        let r = try runCoroner(["analyze", "--format", "json", cut.path])
        #expect(r.status == 3)
        #expect(r.stderr.contains("warning") && r.stderr.contains(cut.path))
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect((doc["connections"] as? [Any])?.count == 1)
        #expect((doc["captures"] as? [[String: Any]])?.first?["truncated"] as? Bool == true)
    }

    @Test("--fail-on exits 4 when a cause matches, 0 when not; an unknown cause is a usage error")
    func failOn() throws {
        #expect(try runCoroner(["analyze", "--fail-on", "data_after_close", Self.sample.path]).status == 4)
        #expect(try runCoroner(["analyze", "--fail-on", "refused,syn_timeout", Self.sample.path]).status == 0)
        let bad = try runCoroner(["analyze", "--fail-on", "exploded", Self.sample.path])
        #expect(bad.status == 64 && bad.stderr.contains("unknown cause"))
    }

    @Test("--filter applies a BPF filter; a bad one is a clear error")
    func filter() throws {
        let none = try runCoroner(["analyze", "--format", "json", "--filter", "tcp port 9", Self.sample.path])
        let doc = try JSONSerialization.jsonObject(with: Data(none.stdout.utf8)) as? [String: Any]
        #expect((doc?["connections"] as? [Any])?.count == 0)
        let bad = try runCoroner(["analyze", "--filter", "tcp port banana", Self.sample.path])
        #expect(bad.status == 2 && bad.stderr.contains("banana"))
    }
}
