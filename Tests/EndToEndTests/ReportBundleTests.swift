import Foundation
import Testing
import TestSupport

/// `coroner report`: the bundle's excerpt holds exactly the selected connections (checked with tshark
/// when installed), re-analysis gives the same verdicts, and an anonymized bundle keeps no original
/// address anywhere, in text or in binary.
@Suite("Bug-report bundle (coroner report)")
struct ReportBundleTests {
    /// One connection as `analyze --format json` shows it.
    struct Verdict: Hashable, CustomStringConvertible {
        var client: String
        var server: String
        var cause: String
        var packets: Int
        var description: String { "\(client) → \(server) \(cause) (\(packets) packets)" }
    }

    static func bundleDirectory(_ name: String) throws -> URL {
        // A path that does not exist yet, in the test process's scratch folder: the bundle makes it.
        URL(fileURLWithPath: TestScratch.path("bundle-\(name)"))
    }

    static func verdicts(_ path: String) throws -> [Verdict] {
        let r = try runCoroner(["analyze", "--format", "json", path])
        #expect(r.status == 0, "analyze \(path): \(r.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let connections = try #require(doc["connections"] as? [[String: Any]])
        return connections.map { c in
            let client = c["client"] as? [String: Any] ?? [:]
            let server = c["server"] as? [String: Any] ?? [:]
            let packets = c["packets"] as? [String: Int] ?? [:]
            return Verdict(
                client: "\(client["ip"] ?? "")/\(client["port"] ?? "")", server: "\(server["ip"] ?? "")/\(server["port"] ?? "")",
                cause: c["cause"] as? String ?? "", packets: (packets["client"] ?? 0) + (packets["server"] ?? 0))
        }
    }

    static let abnormal: Set<String> = ["graceful_close", "still_open"]

    static var hasTshark: Bool {
        ["/usr/bin/tshark", "/usr/local/bin/tshark"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// TCP packets per canonical 4-tuple, as tshark reads the file (ICMP errors left out).
    static func tsharkTuples(_ path: String) throws -> [String: Int] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tshark", "-n", "-r", path, "-Y", "tcp && !icmp && !icmpv6", "-T", "fields",
                             "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "tshark opens \(path)")
        var counts: [String: Int] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 6 else { continue }
            let a = "\(f[0])\(f[1])/\(f[2])", b = "\(f[3])\(f[4])/\(f[5])"
            counts[a < b ? "\(a) \(b)" : "\(b) \(a)", default: 0] += 1
        }
        return counts
    }

    static func tuple(_ v: Verdict) -> String { v.client < v.server ? "\(v.client) \(v.server)" : "\(v.server) \(v.client)" }

    static let captures = [
        "mixed-24-connections.pcap", "server-closed-client-sends-twice.pcap", "syn-host-unreachable.pcap",
        "ipv6-connect-refused.pcap", "port-reuse-same-4-tuple.pcap", "peer-vanishes-retransmission-timeout.pcap",
        "cooked-sll2-client-sends-then-closes.pcap", "pcapng-server-abortive-close.pcapng",
        "snaplen-96-server-closes-with-unread-data.pcap", "listen-overflow-syn-dropped.pcap",
    ]

    @Test("the excerpt holds exactly the selected connections and re-analysis gives the same verdicts", arguments: captures)
    func excerptMatches(_ capture: String) throws {
        let path = Paths.captures.appendingPathComponent(capture).path
        let original = try Self.verdicts(path)
        for all in [false, true] {
            let out = try Self.bundleDirectory("\(capture)-\(all)")
            let r = try runCoroner(["report", path, "--out", out.path] + (all ? ["--all"] : []))
            #expect(r.status == 0, "\(r.stderr)")
            let selected = original.filter { all || !Self.abnormal.contains($0.cause) }
            let excerpt = out.appendingPathComponent("excerpt.pcap")
            guard !selected.isEmpty else {
                #expect(!FileManager.default.fileExists(atPath: excerpt.path), "no excerpt without a selected connection")
                continue
            }
            // A listen_overflow verdict brings the connection it rests on (the same server answering
            // another handshake) into the excerpt; the report says so.
            let markdown = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
            let context = markdown.contains("that the listen_overflow verdict rests on")
            let again = try Self.verdicts(excerpt.path)
            let reanalyzed = again.filter { v in !context || selected.contains(v) }
            #expect(reanalyzed.sorted { $0.description < $1.description } == selected.sorted { $0.description < $1.description },
                    "\(capture) \(all ? "--all" : "abnormal"): re-analysis of the excerpt")
            #expect(context ? again.count > selected.count && Set(again).isSubset(of: Set(original)) : again.count == selected.count)
            if Self.hasTshark {
                var expected: [String: Int] = [:]
                for v in context ? again : selected { expected[Self.tuple(v), default: 0] += v.packets }
                #expect(try Self.tsharkTuples(excerpt.path) == expected, "\(capture): tshark's 4-tuples and packet counts")
            }
            for name in ["report.md", "report.html"] {
                #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), "\(name) written")
            }
        }
        if !Self.hasTshark { print("ReportBundleTests: tshark is not installed; skipped the tshark check of the excerpts") }
    }

    @Test("several captures: one excerpt per capture, FILE:ID selects one connection")
    func severalCaptures() throws {
        let a = Paths.captures.appendingPathComponent("mixed-24-connections.pcap").path
        let b = Paths.captures.appendingPathComponent("connect-refused.pcap").path
        let out = try Self.bundleDirectory("several")
        let r = try runCoroner(["report", a, b, "--out", out.path, "--connection", "2:1", "--connection", "1:3"])
        #expect(r.status == 0, "\(r.stderr)")
        let first = try Self.verdicts(out.appendingPathComponent("excerpt-1.pcap").path)
        let second = try Self.verdicts(out.appendingPathComponent("excerpt-2.pcap").path)
        #expect(first.count == 1 && second.count == 1)
        #expect(second.first?.cause == "refused")
        let markdown = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(markdown.contains("### #1:3 ") && markdown.contains("### #2:1 "))

        let bare = try runCoroner(["report", a, b, "--out", out.path, "--connection", "3"])
        #expect(bare.status == 64, "a bare id with several captures is ambiguous")
        let badKey = try runCoroner(["report", a, "--out", out.path, "--anonymize", "--key", "xyz"])
        #expect(badKey.status == 64)
    }

    /// Every address in a capture, as tshark sees it (inner ICMP-quoted headers too), plus the JSON's.
    static func addresses(in path: String, verdicts: [Verdict]) throws -> Set<String> {
        var found = Set(verdicts.flatMap { [$0.client, $0.server] }.map { String($0.split(separator: "/")[0]) })
        guard hasTshark else { return found }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
                             "-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        for field in String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\t" || $0 == "," }) {
            found.insert(String(field))
        }
        return found
    }

    /// The 4 or 16 network-order bytes of an address in text form.
    static func binary(_ text: String) -> [UInt8]? {
        if !text.contains(":") {
            let parts = text.split(separator: ".").compactMap { UInt8($0) }
            return parts.count == 4 ? parts : nil
        }
        var a = in6_addr()
        guard inet_pton(AF_INET6, text, &a) == 1 else { return nil }
        return withUnsafeBytes(of: &a) { Array($0) }
    }

    @Test("an anonymized bundle holds no original address, in text or binary, in any file")
    func anonymized() throws {
        let names = ["mixed-24-connections.pcap", "syn-host-unreachable.pcap", "ipv6-server-closed-client-sends-twice.pcap",
                     "cooked-sll-server-closed-client-sends-twice.pcap", "ipv6-connect-refused.pcap"]
        let paths = names.map { Paths.captures.appendingPathComponent($0).path }
        let out = try Self.bundleDirectory("anonymized")
        let r = try runCoroner(["report"] + paths + ["--out", out.path, "--all", "--anonymize"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("anonymization key"), "a random key is printed on stderr")
        var originals: Set<String> = []
        var original: [[Verdict]] = []
        for path in paths {
            let v = try Self.verdicts(path)
            original.append(v)
            originals.formUnion(try Self.addresses(in: path, verdicts: v))
        }
        #expect(originals.count >= 5)
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(files == ["excerpt-1.pcap", "excerpt-2.pcap", "excerpt-3.pcap", "excerpt-4.pcap", "excerpt-5.pcap", "report.html", "report.md"])
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: out.appendingPathComponent(file)))
            for address in originals {
                var needles = [Array(address.utf8)]
                if let b = Self.binary(address) { needles.append(b) }
                for needle in needles {
                    let hit = bytes.count >= needle.count
                        && (0...(bytes.count - needle.count)).contains { i in bytes[i] == needle[0] && Array(bytes[i..<i + needle.count]) == needle }
                    #expect(!hit, "\(file) still holds \(address) (\(needle.count == address.utf8.count ? "text" : "binary"))")
                }
            }
        }
        // The verdicts survive anonymization (addresses differ, causes and counts do not).
        for (i, v) in original.enumerated() {
            let again = try Self.verdicts(out.appendingPathComponent("excerpt-\(i + 1).pcap").path)
            #expect(again.map { "\($0.cause) \($0.packets)" }.sorted() == v.map { "\($0.cause) \($0.packets)" }.sorted(), "\(names[i])")
        }
        // The same key gives the same bundle.
        let again = try Self.bundleDirectory("anonymized-again")
        let key = "000102030405060708090a0b0c0d0e0f"
        _ = try runCoroner(["report", paths[0], "--out", out.path + "-k", "--anonymize", "--key", key])
        _ = try runCoroner(["report", paths[0], "--out", again.path, "--anonymize", "--key", key])
        #expect(try Data(contentsOf: again.appendingPathComponent("report.md")) == Data(contentsOf: URL(fileURLWithPath: out.path + "-k/report.md")))
    }
}
