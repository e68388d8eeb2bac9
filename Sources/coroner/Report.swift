import Analysis
import ArgumentParser
import ConnectionTracking
import Diagnosis
import Foundation
import Reporting
import WireFormat

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a bug-report bundle: report.md, report.html with ladder diagrams, and an excerpt capture.",
        discussion: """
            Analyzes the captures like `analyze`, then writes into --out DIR:
              report.md     Markdown to paste into an issue (verdicts, evidence, text ladders)
              report.html   one self-contained page with an SVG ladder diagram per connection
              excerpt.pcap  only the selected connections' packets (excerpt-N.pcap per capture N
                            when several captures are given), readable by Wireshark and by coroner

            Selection: abnormal connections by default; --all for every one; --cause and --connection
            narrow it (and then default to all causes). With several captures a connection is FILE:ID,
            FILE counting the captures from 1 as given.

            Examples:
              coroner report capture.pcap --out bug-1234
              coroner report capture.pcap --out bug --connection 7 --connection 12
              coroner report a.pcap b.pcapng --out bug --cause unread_data_on_close
              coroner report capture.pcap --out bug --anonymize --key 000102030405060708090a0b0c0d0e0f

            --anonymize maps every IP address (prefix-preserving, keyed) and MAC address in all three files,
            fixes the checksums, and drops payload bytes; without --key a random key is printed on stderr.

            Exit codes: 0 written; 1 the bundle could not be written; 2 a capture could not be read;
            3 a capture was damaged (the bundle covers what was read); 64 invalid command line.
            """
    )

    @Argument(help: ArgumentHelp("Capture files (pcap or pcapng).", valueName: "file"))
    var files: [String]

    @Option(name: .shortAndLong, help: ArgumentHelp("The folder to write the bundle into (created if missing).", valueName: "dir"))
    var out: String

    @Option(help: "Which connections: abnormal (the default) or all.")
    var only: Selection?

    @Flag(help: "Every connection (same as --only all).")
    var all = false

    @Option(name: .customLong("connection"), parsing: .singleValue,
            help: ArgumentHelp("A connection to include, by id (FILE:ID with several captures); repeatable.", valueName: "id"))
    var connectionIDs: [String] = []

    @Option(name: .customLong("cause"), parsing: .singleValue,
            help: ArgumentHelp("Only connections with this cause (comma-separated or repeated).", valueName: "cause"))
    var causes: [String] = []

    @Option(name: .shortAndLong, help: ArgumentHelp("A BPF filter in tcpdump syntax, applied by libpcap.", valueName: "expr"))
    var filter: String?

    @Flag(help: "Anonymize IP and MAC addresses everywhere in the bundle (implies --strip-payload).")
    var anonymize = false

    @Option(help: ArgumentHelp("Anonymization key: 32 hex digits (16 bytes). Random when absent.", valueName: "hex"))
    var key: String?

    @Flag(name: .customLong("strip-payload"), help: "Replace payload bytes in the excerpt by zeros (lengths kept).")
    var stripPayload = false

    @Option(help: ArgumentHelp("Seconds of silence after which a connection is finished as idle.", valueName: "seconds"))
    var idleTimeout: Double = 7500

    @Option(help: "At most this many connections are tracked at once; the longest idle are evicted beyond it.")
    var maxConnections: Int = 1_000_000

    /// A `--connection` value: capture index (0-based) and connection id.
    struct ConnectionReference: Hashable { var capture: Int; var id: Int }

    func parsedReferences() throws -> Set<ConnectionReference> {
        var refs: Set<ConnectionReference> = []
        for text in connectionIDs.flatMap({ $0.split(separator: ",") }) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 1, let id = Int(parts[0]), id > 0 {
                guard files.count == 1 else {
                    throw ValidationError("--connection \(text): with several captures write FILE:ID (FILE counts from 1)")
                }
                refs.insert(ConnectionReference(capture: 0, id: id))
            } else if parts.count == 2, let file = Int(parts[0]), let id = Int(parts[1]), id > 0, (1...files.count).contains(file) {
                refs.insert(ConnectionReference(capture: file - 1, id: id))
            } else {
                throw ValidationError("--connection \(text): expected ID or FILE:ID (FILE from 1 to \(files.count))")
            }
        }
        return refs
    }

    var causeCodes: Set<CauseCode> {
        Set(causes.flatMap { $0.split(separator: ",") }.compactMap { CauseCode(rawValue: String($0).trimmingCharacters(in: .whitespaces)) })
    }

    func validate() throws {
        if all && only == .abnormal { throw ValidationError("--all and --only abnormal contradict each other") }
        for name in causes.flatMap({ $0.split(separator: ",") }) {
            let code = String(name).trimmingCharacters(in: .whitespaces)
            guard CauseCode(rawValue: code) != nil else {
                throw ValidationError("unknown cause '\(code)' in --cause; known: \(CauseCode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        _ = try parsedReferences()
        if let key {
            guard anonymize else { throw ValidationError("--key needs --anonymize") }
            guard AddressAnonymizer.key(hex: key) != nil else { throw ValidationError("--key must be 32 hexadecimal digits (16 bytes)") }
        }
        guard idleTimeout > 0 else { throw ValidationError("--idle-timeout must be positive") }
        guard maxConnections >= 16 else { throw ValidationError("--max-connections must be at least 16") }
    }

    /// Which connections go in, and how that reads in the report.
    func selector() throws -> (matches: (ConnectionRow) -> Bool, words: String) {
        let refs = try parsedReferences()
        let codes = causeCodes
        let onlyAbnormal = all ? false : only.map { $0 == .abnormal } ?? (refs.isEmpty && codes.isEmpty)
        var words: [String] = [onlyAbnormal ? "abnormal connections" : "all connections"]
        if !codes.isEmpty { words.append("cause \(codes.map(\.rawValue).sorted().joined(separator: " or "))") }
        if !refs.isEmpty {
            let ids = refs.sorted { ($0.capture, $0.id) < ($1.capture, $1.id) }
                .map { files.count > 1 ? "#\($0.capture + 1):\($0.id)" : "#\($0.id)" }
            words.append("connection\(ids.count == 1 ? "" : "s") " + ids.joined(separator: ", "))
        }
        let matches: (ConnectionRow) -> Bool = { row in
            if onlyAbnormal && !row.isAbnormal { return false }
            if !codes.isEmpty && !codes.contains(row.cause) { return false }
            if !refs.isEmpty && !refs.contains(ConnectionReference(capture: row.captureIndex, id: row.id)) { return false }
            return true
        }
        return (matches, words.joined(separator: ", "))
    }

    func run() throws {
        var options = AnalysisOptions(filter: filter)
        options.tracker.idleTimeout = .seconds(idleTimeout)
        options.tracker.maxConnections = maxConnections
        let (matches, selectionWords) = try selector()
        var anonymizer: AddressAnonymizer? = nil
        if anonymize {
            let keyBytes = key.flatMap(AddressAnonymizer.key(hex:)) ?? AddressAnonymizer.randomKey()
            anonymizer = AddressAnonymizer(key: keyBytes)
            if key == nil {
                let line = "coroner: anonymization key \(anonymizer!.keyHex) (keep it private; --key maps the same way again)\n"
                FileHandle.standardError.write(Data(line.utf8))
            }
        }

        // 1. Analyze, keeping the selected rows and every connection's 4-tuple and packet range.
        var summary = Summary()
        var captures: [CaptureReport] = []
        var rows: [ConnectionRow] = []
        var perCapture: [[ExcerptConnection]] = []
        for (index, path) in files.enumerated() {
            var connections: [ExcerptConnection] = []
            var facts: [ContextFacts] = []
            let report = Analyzer.analyze(path: path, captureIndex: index, options: options) { analyzed in
                let row = ConnectionRow(analyzed, captureFile: Self.displayName(path))
                summary.add(row)
                let selected = matches(row)
                if selected { rows.append(row) }
                let c = analyzed.connection
                connections.append(ExcerptConnection(client: c.client, server: c.server, firstPacket: c.firstPacket, lastPacket: c.lastPacket, isSelected: selected))
                facts.append(ContextFacts(
                    needsAnswering: selected && row.cause == .listenOverflow && c.serverAnsweredOtherHandshakes,
                    needsOverflowing: selected && row.cause == .listenOverflow && c.serverShowedListenOverflow,
                    answered: c.serverSide.synCount > 0,
                    overflowed: c.serverSide.synCount > 1 && c.handshakeAckPacket != 0))
            }
            _ = Self.addContext(&connections, facts)
            if let error = report.error { Diagnostics.error(error.message) }
            for warning in report.warnings { Diagnostics.warning(warning) }
            captures.append(report)
            perCapture.append(connections)
        }
        rows.sort { ($0.captureIndex, $0.id) < ($1.captureIndex, $1.id) }
        if rows.isEmpty { Diagnostics.warning("no connection matched the selection (\(selectionWords)); the bundle holds only the summary") }

        // 2. The excerpts: one per capture with selected connections.
        let directory = URL(fileURLWithPath: out)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            Diagnostics.error("cannot create '\(out)': \(error.localizedDescription)")
            throw ExitCode.failure
        }
        var rewriter = PacketRewriter(anonymizer: anonymizer, stripPayload: stripPayload || anonymize)
        var excerpts: [BugReport.ExcerptFile] = []
        var written: [String] = []
        for (index, path) in files.enumerated() where captures[index].error == nil {
            let selected = rows.filter { $0.captureIndex == index }.count
            guard selected > 0 else { continue }
            let name = files.count == 1 ? "excerpt.pcap" : "excerpt-\(index + 1).pcap"
            let target = directory.appendingPathComponent(name).path
            do {
                let result = try Excerpt.write(capture: path, filter: filter, connections: perCapture[index], to: target, rewriter: &rewriter)
                if result.skippedPackets > 0 {
                    Diagnostics.warning("\(name): \(result.skippedPackets) packets left out: their link type differs from the capture's first")
                }
                excerpts.append(BugReport.ExcerptFile(
                    file: name, capture: Self.displayName(path), tcpPackets: result.tcpPackets, icmpErrors: result.icmpErrors,
                    connections: selected, context: perCapture[index].filter(\.isSelected).count - selected, linkType: result.linkType.description, convertedToRawIP: result.convertedToRawIP))
                written.append(name)
            } catch {
                Diagnostics.error("cannot write \(target): \(error.message)")
                throw ExitCode.failure
            }
        }

        // 3. The reports, anonymized through the same mapping as the packets.
        let text = anonymizer.map(TextAnonymizer.init)
        var shownCaptures = captures.map { c -> CaptureReport in
            var c = c
            c.file = Self.displayName(c.file)
            return c
        }
        if let text {
            rows = rows.map(text.row)
            shownCaptures = shownCaptures.map(text.capture)
            for i in excerpts.indices { excerpts[i].capture = text(excerpts[i].capture) }
        }
        let report = BugReport(
            captures: shownCaptures, summary: summary, rows: rows, selection: selectionWords,
            filter: filter.map { text?($0) ?? $0 }, excerpts: excerpts, anonymized: anonymize,
            payloadStripped: stripPayload || anonymize)
        for (name, content) in [("report.md", BugReportMarkdown.render(report)), ("report.html", HTMLReport.render(report))] {
            do {
                try content.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
                written.append(name)
            } catch {
                Diagnostics.error("cannot write \(directory.appendingPathComponent(name).path): \(error.localizedDescription)")
                throw ExitCode.failure
            }
        }
        let stdout = StandardOutput()
        stdout.write("\(rows.count) connection\(rows.count == 1 ? "" : "s") (\(selectionWords)) written to \(out)/: \(written.sorted().joined(separator: ", "))\n")
        if captures.contains(where: { $0.error != nil }) { throw ExitCode(ExitStatus.unreadableInput.rawValue) }
        if captures.contains(where: \.truncated) { throw ExitCode(ExitStatus.damagedInput.rawValue) }
    }

    /// What a listen_overflow verdict learned from other connections of the capture.
    struct ContextFacts {
        var needsAnswering: Bool
        var needsOverflowing: Bool
        var answered: Bool
        var overflowed: Bool
    }

    /// A listen_overflow verdict rests on other connections to the same server (it answered other
    /// handshakes, or repeated SYN-ACKs elsewhere): the earliest such connection goes into the excerpt
    /// too, so the excerpt's re-analysis reaches the same verdict. Returns how many were added.
    static func addContext(_ connections: inout [ExcerptConnection], _ facts: [ContextFacts]) -> Int {
        var added = 0
        for (i, f) in facts.enumerated() where f.needsAnswering || f.needsOverflowing {
            let server = connections[i].server
            let candidates = connections.indices
                .filter { connections[$0].server == server && $0 != i }
                .sorted { connections[$0].firstPacket < connections[$1].firstPacket }
            for (need, has) in [(f.needsAnswering, \ContextFacts.answered), (f.needsOverflowing, \ContextFacts.overflowed)] where need {
                guard !candidates.contains(where: { connections[$0].isSelected && facts[$0][keyPath: has] }),
                      let witness = candidates.first(where: { facts[$0][keyPath: has] }) else { continue }
                connections[witness].isSelected = true
                added += 1
            }
        }
        return added
    }

    /// The file's name without its folders: local paths (user names, project names) stay out of the bundle.
    static func displayName(_ path: String) -> String { URL(fileURLWithPath: path).lastPathComponent }
}
