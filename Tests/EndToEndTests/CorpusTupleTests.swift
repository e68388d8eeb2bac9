import Foundation
import Testing

/// Every TCP 4-tuple tshark sees in a corpus file must appear in `coroner analyze --format json`.
@Suite("Corpus: coroner reports every TCP 4-tuple tshark reports")
struct CorpusTupleTests {
    static var tshark: URL? {
        for dir in ["/usr/bin", "/usr/local/bin", "/opt/homebrew/bin"] {
            let url = URL(fileURLWithPath: dir).appendingPathComponent("tshark")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    static func files() -> [URL] {
        Paths.files(under: Paths.corpus, extensions: ["pcap", "pcapng"]) + Paths.files(under: Paths.captures, extensions: ["pcap", "pcapng"])
    }

    static func tsharkTuples(_ file: URL, tshark: URL) throws -> Set<String> {
        let p = Process()
        p.executableURL = tshark
        p.arguments = ["-r", file.path, "-Y", "tcp", "-T", "fields", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport",
                       "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        var tuples: Set<String> = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 6 else { continue }
            // Tunnelled packets list several addresses; the innermost (last) carries the TCP header.
            let src = (f[0].isEmpty ? f[1] : f[0]).split(separator: ",").last.map(String.init) ?? ""
            let dst = (f[3].isEmpty ? f[4] : f[3]).split(separator: ",").last.map(String.init) ?? ""
            let sport = f[2].split(separator: ",").last.map(String.init) ?? ""
            let dport = f[5].split(separator: ",").last.map(String.init) ?? ""
            tuples.insert(canonical(src, sport, dst, dport))
        }
        return tuples
    }

    static func canonical(_ a: String, _ ap: String, _ b: String, _ bp: String) -> String {
        let x = "\(a)|\(ap)", y = "\(b)|\(bp)"
        return x < y ? "\(x)-\(y)" : "\(y)-\(x)"
    }

    @Test("4-tuples match tshark on every corpus and lab capture")
    func tuples() throws {
        guard let tshark = Self.tshark else {
            print("SKIPPED: tshark is not installed (make test installs it)")
            return
        }
        var checked = 0, total = 0
        var missing: [String] = []
        for file in Self.files() {
            let expected = try Self.tsharkTuples(file, tshark: tshark)
            let r = try runCoroner(["analyze", "--format", "json", "--quiet", file.path])
            let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            var got: Set<String> = []
            for c in doc?["connections"] as? [[String: Any]] ?? [] {
                let client = c["client"] as? [String: Any] ?? [:], server = c["server"] as? [String: Any] ?? [:]
                got.insert(Self.canonical("\(client["ip"] ?? "")", "\(client["port"] ?? "")", "\(server["ip"] ?? "")", "\(server["port"] ?? "")"))
            }
            total += expected.count
            let lost = expected.subtracting(got)
            checked += expected.count - lost.count
            missing += lost.map { "\(file.lastPathComponent): \($0)" }
        }
        print("corpus 4-tuples: coroner reports \(checked) of the \(total) TCP 4-tuples tshark reports in \(Self.files().count) files")
        #expect(total > 0)
        #expect(missing.isEmpty, "missing: \(missing.prefix(20))")
    }
}
