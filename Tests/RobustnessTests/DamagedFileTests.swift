import Analysis
import Foundation
import PacketCapture
import Testing
import TestSupport

/// One capture with its bytes and where each of its packets ends in the file.
struct CaptureFixture: Sendable, CustomStringConvertible {
    var path: String
    var description: String { URL(fileURLWithPath: path).lastPathComponent }

    var bytes: [UInt8] { (FileManager.default.contents(atPath: path)).map { [UInt8]($0) } ?? [] }

    /// File offsets just after each packet record, read with the pure-Swift reader.
    var packetEnds: [Int64] {
        var ends: [Int64] = []
        guard var reader = try? CaptureFileReader.open(path: path) else { return [] }
        try? reader.forEachPacket { packet in
            ends.append(packet.fileOffset)
            return .proceed
        }
        return ends
    }

    static let all: [CaptureFixture] = RobustnessPaths.captureFiles.map { CaptureFixture(path: $0.path) }
}

/// Each analysis of a damaged file must finish well within this (debug build, 2 shared cores).
let analysisTimeLimit = 20.0

@Suite("Damaged captures: no crash, no hang, a clear message, verdicts before the damage, valid JSON")
struct DamagedFileTests {
    @Test("The corpus is there", .tags(.damage))
    func corpusFound() {
        #expect(CaptureFixture.all.count >= 30, "captures/ should hold the lab's captures")
    }

    @Test("Cut in the file header: unreadable (exit 2) with the file named", arguments: CaptureFixture.all)
    func headerCut(fixture: CaptureFixture) throws {
        let bytes = fixture.bytes
        for length in [1, 3, 7, 12, 23] where length < bytes.count {
            let path = RobustnessPaths.write(Array(bytes.prefix(length)), named: "header-\(length)-\(fixture)")
            let result = AnalyzedFile(path: path)
            #expect(result.seconds < analysisTimeLimit)
            let error = try #require(result.report.error, "\(fixture) cut to \(length) bytes")
            #expect(error.message.contains(path), "\(error.message)")
            #expect(result.exitCode == 2)
            #expect(result.rows.isEmpty)
            #expect(result.isValidJSON)
        }
    }

    @Test("Cut mid-record and by the last byte: every packet before the cut, exit 3", arguments: CaptureFixture.all)
    func recordCut(fixture: CaptureFixture) throws {
        let bytes = fixture.bytes
        let ends = fixture.packetEnds
        guard ends.count >= 2 else { return }
        let whole = AnalyzedFile(path: fixture.path)
        // Last byte missing; 5 bytes into the middle packet's record; 3 bytes into the second record.
        let cuts = [bytes.count - 1, Int(ends[ends.count / 2 - 1]) + 5, Int(ends[0]) + 3]
        for cut in Set(cuts) where cut > 0 && cut < bytes.count {
            let path = RobustnessPaths.write(Array(bytes.prefix(cut)), named: "cut-\(cut)-\(fixture)")
            let result = AnalyzedFile(path: path)
            let label = "\(fixture) cut at \(cut) of \(bytes.count)"
            #expect(result.seconds < analysisTimeLimit, "\(label)")
            #expect(result.report.error == nil, "\(label): \(result.report.error?.message ?? "")")
            #expect(result.report.truncated, "\(label)")
            #expect(result.exitCode == 3, "\(label)")
            // Verdicts for everything before the damage: each complete packet was read...
            let complete = ends.filter { $0 <= Int64(cut) }.count
            #expect(result.report.packets == complete, "\(label)")
            #expect(result.report.stoppedAfterPacket == complete, "\(label)")
            // ... and every connection it started got a verdict.
            #expect(result.rows.count == result.report.connections, "\(label)")
            // The warning names the file and says where reading stopped.
            let warning = result.report.warnings.first { $0.contains("verdicts cover") }
            #expect(warning?.contains(path) == true, "\(label): \(result.report.warnings)")
            #expect(warning?.contains("verdicts cover the \(complete) packets") == true, "\(label): \(result.report.warnings)")
            #expect(result.isValidJSON, "\(label)")
            // Nothing is lost: what the whole file says about a connection that ended before the cut, the
            // cut file says too (same ids and causes for connections finished before the damage).
            if cut == bytes.count - 1 {
                #expect(result.rows.count <= whole.rows.count + 1, "\(label)")
            }
        }
    }

    @Test("Seeded random byte flips: exit 0, 2 or 3, never a crash or hang, always valid JSON",
          arguments: CaptureFixture.all)
    func randomFlips(fixture: CaptureFixture) {
        let original = fixture.bytes
        guard !original.isEmpty else { return }
        var random = SeededRandom(seed: 0x0C0_2011E5 ^ UInt64(original.count))
        for round in 0..<8 {
            var bytes = original
            let flips = 1 + Int(random.next() % 24)
            // Half the rounds aim at the first 4 KiB, where the headers that steer parsing are.
            let span = round % 2 == 0 ? min(bytes.count, 4096) : bytes.count
            for _ in 0..<flips {
                let at = Int(random.next() % UInt64(span))
                bytes[at] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            }
            let path = RobustnessPaths.write(bytes, named: "flip-\(round)-\(fixture)")
            let result = AnalyzedFile(path: path)
            let label = "\(fixture) round \(round) (\(flips) flips)"
            #expect(result.seconds < analysisTimeLimit, "\(label)")
            #expect([0, 2, 3].contains(result.exitCode), "\(label)")
            if let error = result.report.error { #expect(error.message.contains(path), "\(label): \(error.message)") }
            if result.report.truncated {
                #expect(result.report.warnings.contains { $0.contains(path) }, "\(label): \(result.report.warnings)")
            }
            #expect(result.rows.count == result.report.connections, "\(label)")
            #expect(result.isValidJSON, "\(label)")
        }
    }
}

@Suite("Damaged captures through the real binary")
struct DamagedFileCLITests {
    static let samples = ["server-closed-client-sends-twice.pcap", "pcapng-server-abortive-close.pcapng",
                          "ipv6-connect-refused.pcap", "mixed-24-connections.pcap"]

    @Test("Header cut: exit 2, the file named on stderr, valid JSON", arguments: samples)
    func headerCut(name: String) throws {
        let fixture = CaptureFixture(path: RobustnessPaths.repository.appendingPathComponent("captures/\(name)").path)
        let path = RobustnessPaths.write(Array(fixture.bytes.prefix(10)), named: "cli-header-\(name)")
        let run = try runCoroner(["analyze", "--quiet", "--format", "json", path])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains(path), "\(run.stderr)")
        #expect(AnalyzedFile.isValidJSON(run.stdout), "\(run.stdout)")
    }

    @Test("Mid-record cut: exit 3, verdicts for what came before, a warning, valid JSON", arguments: samples)
    func recordCut(name: String) throws {
        let fixture = CaptureFixture(path: RobustnessPaths.repository.appendingPathComponent("captures/\(name)").path)
        let ends = fixture.packetEnds
        let cut = Int(ends[max(0, ends.count / 2 - 1)]) + 7
        try #require(cut < fixture.bytes.count)
        let path = RobustnessPaths.write(Array(fixture.bytes.prefix(cut)), named: "cli-cut-\(name)")
        for format in ["json", "ndjson", "text", "markdown"] {
            let run = try runCoroner(["analyze", "--quiet", "--format", format, path])
            #expect(run.status == 3, "\(format): \(run.stderr)")
            #expect(run.seconds < 30)
            #expect(run.stderr.contains("verdicts cover") && run.stderr.contains(path), "\(run.stderr)")
            if format == "json" {
                #expect(AnalyzedFile.isValidJSON(run.stdout), "\(run.stdout)")
                let data = try #require(run.stdout.data(using: .utf8))
                let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
                let connections = try #require(object["connections"] as? [[String: Any]])
                #expect(!connections.isEmpty)
                let captures = try #require(object["captures"] as? [[String: Any]])
                #expect(captures.first?["truncated"] as? Bool == true)
            }
            if format == "ndjson" {
                for line in run.stdout.split(separator: "\n") {
                    #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "\(line)")
                }
            }
        }
    }

    @Test("A random flip sample through the binary: exit 0, 2 or 3 and valid JSON")
    func flips() throws {
        var random = SeededRandom(seed: 42)
        for name in Self.samples {
            let fixture = CaptureFixture(path: RobustnessPaths.repository.appendingPathComponent("captures/\(name)").path)
            var bytes = fixture.bytes
            for _ in 0..<12 { bytes[Int(random.next() % UInt64(bytes.count))] ^= 0x5A }
            let path = RobustnessPaths.write(bytes, named: "cli-flip-\(name)")
            let run = try runCoroner(["analyze", "--quiet", "--format", "json", path])
            #expect([0, 2, 3].contains(run.status), "\(name): \(run.status) \(run.stderr)")
            #expect(AnalyzedFile.isValidJSON(run.stdout), "\(name)")
        }
    }
}

extension Tag {
    @Tag static var damage: Self
}
