import Analysis
import ConnectionTracking
import Diagnosis
import Foundation
import PacketCapture
import Reporting
import TestSupport
import Testing
import WireFormat

private let base = Timestamp(seconds: 1_800_000_000, nanoseconds: 0)

private func summary(
    _ src: IPAddress, _ sport: UInt16, _ dst: IPAddress, _ dport: UInt16, _ flags: TCPFlags, seq: UInt32,
    ack: UInt32 = 0, length: UInt32 = 0
) -> TCPPacketSummary {
    TCPPacketSummary(
        source: src, destination: dst, sourcePort: sport, destinationPort: dport, sequenceNumber: SequenceNumber(seq),
        acknowledgmentNumber: SequenceNumber(ack), flags: flags, payloadLength: length)
}

/// Writes `frames` (Ethernet) as a classic pcap, 1 ms apart unless `times` says otherwise.
private func capture(_ name: String, _ frames: [[UInt8]], times: [Int64]? = nil, wireLengths: [Int?]? = nil,
                     snapLength: UInt32 = 262_144, linkType: LinkType = .ethernet) -> String {
    let records = frames.enumerated().map { i, bytes in
        PcapRecord(timestamp: times?[i] ?? base.rawValue + Int64(i) * 1_000_000, bytes: bytes,
                   wireLength: wireLengths?[i] ?? nil)
    }
    return RobustnessPaths.write(
        PcapWriter.classic(linkType: linkType, records: records, snapLength: snapLength), named: name)
}

/// A complete graceful conversation as Ethernet frames: handshake, `data` client sends, FIN each way.
private func conversation(client: String = "198.18.0.1", server: String = "198.19.0.2", data: Int = 100) -> [[UInt8]] {
    let c = client, s = server
    return [
        FrameBuilder.tcp(src: c, sport: 40000, dst: s, dport: 80, seq: 1000, flags: .syn),
        FrameBuilder.tcp(src: s, sport: 80, dst: c, dport: 40000, seq: 5000, ack: 1001, flags: [.syn, .ack]),
        FrameBuilder.tcp(src: c, sport: 40000, dst: s, dport: 80, seq: 1001, ack: 5001, flags: .ack),
        FrameBuilder.tcp(src: c, sport: 40000, dst: s, dport: 80, seq: 1001, ack: 5001, flags: [.psh, .ack],
                         payload: .count(data)),
        FrameBuilder.tcp(src: s, sport: 80, dst: c, dport: 40000, seq: 5001, ack: UInt32(1001 + data), flags: .ack),
        FrameBuilder.tcp(src: c, sport: 40000, dst: s, dport: 80, seq: UInt32(1001 + data), ack: 5001, flags: [.fin, .ack]),
        FrameBuilder.tcp(src: s, sport: 80, dst: c, dport: 40000, seq: 5001, ack: UInt32(1002 + data), flags: [.fin, .ack]),
        FrameBuilder.tcp(src: c, sport: 40000, dst: s, dport: 80, seq: UInt32(1002 + data), ack: 5002, flags: .ack),
    ]
}

@Suite("Hostile and odd traffic")
struct HostileTrafficTests {
    @Test("A SYN flood of 1 M random sources stays under --max-connections, evictions counted")
    func synFlood() {
        var configuration = TrackerConfiguration()
        configuration.maxConnections = 100_000
        var tracker = ConnectionTracker(configuration: configuration, expectedConcurrent: 100_000)
        var random = SeededRandom(seed: 7)
        let victim = IPAddress(ipv4: 0xC613_0002)
        var finished = 0
        var diagnosed = 0
        var peak = 0
        for i in 0..<1_000_000 {
            let source = IPAddress(ipv4: UInt32(truncatingIfNeeded: random.next()))
            let packet = summary(source, UInt16(truncatingIfNeeded: random.next()), victim, 80, .syn,
                                 seq: UInt32(truncatingIfNeeded: random.next()))
            tracker.process(packet, number: i + 1, time: base.advanced(byNanoseconds: Int64(i) * 1_000)) { connection in
                finished += 1
                if diagnosed < 200 {
                    diagnosed += 1
                    _ = Diagnoser.diagnose(connection, context: CaptureContext(captureEnd: connection.end))
                }
            }
            peak = max(peak, tracker.activeCount)
        }
        #expect(peak <= 100_000)
        #expect(tracker.statistics.peakConcurrent <= 100_000)
        #expect(tracker.statistics.evictions > 0)
        #expect(tracker.statistics.connectionsStarted == UInt64(finished + tracker.activeCount))
        tracker.finishAll { _ in finished += 1 }
        #expect(finished == Int(tracker.statistics.connectionsStarted))
        #expect(tracker.activeCount == 0)
    }

    @Test("Evictions are reported in the capture report, its warnings and the JSON")
    func evictionsReported() throws {
        var frames: [[UInt8]] = []
        for i in 0..<300 {
            frames.append(FrameBuilder.tcp(src: "10.\(i / 250).\(i % 250).1", sport: UInt16(1024 + i),
                                           dst: "198.19.0.2", dport: 80, seq: UInt32(i), flags: .syn))
        }
        let path = capture("syn-flood-small.pcap", frames)
        var options = AnalysisOptions()
        options.tracker.maxConnections = 16
        let result = AnalyzedFile(path: path, options: options)
        #expect(result.report.tracker.evictions > 0)
        #expect(result.report.tracker.peakConcurrent <= 16)
        #expect(result.report.warnings.contains { $0.contains("evicted") }, "\(result.report.warnings)")
        #expect(result.rows.count == 300)
        #expect(result.rows.contains { $0.finishReason == "evicted" })
        #expect(result.json.contains("\"evictions\": \(result.report.tracker.evictions)"))
        #expect(result.isValidJSON)
    }

    @Test("Timestamps that go backwards: counted, warned about, verdict still given")
    func timeGoesBackwards() {
        let frames = conversation()
        let times = [0, 5, 3, 9, -2_000, 11, 12, 1].map { base.rawValue + Int64($0) * 1_000_000 }
        let result = AnalyzedFile(path: capture("backwards.pcap", frames, times: times))
        #expect(result.report.tracker.timeWentBackwards >= 3)
        #expect(result.report.warnings.contains { $0.contains("backwards") })
        #expect(result.rows.count >= 1)
        #expect(result.exitCode == 0)
        #expect(result.isValidJSON)
    }

    @Test("Captured length larger than the wire length")
    func capturedLongerThanWire() {
        let frames = conversation()
        let result = AnalyzedFile(path: capture("caplen-over-len.pcap", frames, wireLengths: frames.map { _ in 20 }))
        #expect(result.seconds < analysisTimeLimit)
        #expect([0, 3].contains(result.exitCode), "\(result.report.warnings) \(result.report.error?.message ?? "")")
        #expect(result.rows.count == result.report.connections)
        #expect(result.isValidJSON)
    }

    @Test("Zero-length records between packets are counted and skipped")
    func zeroLengthRecords() throws {
        var frames: [[UInt8]] = []
        for frame in conversation() { frames += [[], frame] }
        let result = AnalyzedFile(path: capture("zero-length.pcap", frames))
        #expect(result.exitCode == 0)
        #expect(result.report.packets == 16)
        #expect(result.report.undecodablePackets == 8)
        let row = try #require(result.rows.first)
        #expect(result.rows.count == 1)
        #expect(row.cause == .gracefulClose)
        #expect(result.isValidJSON)
    }

    @Test("A huge snap length in the file header", arguments: [UInt32.max, 0x7FFF_FFFF, 0])
    func hugeSnapLength(snapLength: UInt32) {
        let path = capture("snaplen-\(snapLength).pcap", conversation(), snapLength: snapLength)
        let result = AnalyzedFile(path: path)
        #expect(result.seconds < analysisTimeLimit)
        if let error = result.report.error {
            #expect(error.message.contains(path), "\(error.message)")
        } else {
            #expect(result.report.packets == 8)
            #expect(result.rows.first?.cause == .gracefulClose)
        }
        #expect(result.isValidJSON)
    }

    @Test("IPv6 with long extension-header chains", arguments: [1, 8, 31, 32, 40, 200])
    func longExtensionChain(count: Int) {
        let src = FrameBuilder.address("2001:db8::1")
        let dst = FrameBuilder.address("2001:db8::2")
        let tcp = FrameBuilder.tcpHeader(source: src, destination: dst, sport: 40000, dport: 80, seq: 1, ack: 0, flags: .syn)
        let extensions = (0..<count).map { i -> FrameBuilder.IPv6Extension in
            i % 2 == 0 ? .destinationOptions(length: UInt8(i % 3)) : .hopByHop(length: 0)
        }
        let packet = FrameBuilder.ipv6(src: src, dst: dst, nextHeader: 6, payload: tcp, extensions: extensions)
        let outcome = packet.withUnsafeBytes {
            PacketDecoder.decode(linkType: .raw, bytes: $0, wireLength: $0.count)
        }
        switch outcome {
        case .tcp(let summary):
            #expect(count <= IPv6Packet.maximumExtensionHeaders)
            #expect(summary.flags == .syn)
        case .undecodable(let error):
            #expect(count > IPv6Packet.maximumExtensionHeaders, "\(error)")
        default:
            Issue.record("\(count) headers: \(outcome)")
        }
        // And each prefix of the long chain decodes or is undecodable.
        for length in stride(from: 0, to: packet.count, by: 7) {
            _ = Array(packet.prefix(length)).withUnsafeBytes {
                PacketDecoder.decode(linkType: .raw, bytes: $0, wireLength: packet.count)
            }
        }
    }

    @Test("TCP data offset pointing past the packet, or below 5 words", arguments: [UInt8(15), 9, 6, 4, 0])
    func dataOffsetPastPacket(dataOffset: UInt8) {
        let src = FrameBuilder.address("198.18.0.1")
        let dst = FrameBuilder.address("198.19.0.2")
        let tcp = FrameBuilder.tcpHeader(source: src, destination: dst, sport: 1, dport: 2, seq: 1, ack: 0, flags: .syn,
                                         dataOffsetOverride: dataOffset)
        let packet = FrameBuilder.ipv4(src: src, dst: dst, protocolNumber: 6, payload: tcp)
        let outcome = packet.withUnsafeBytes { PacketDecoder.decode(linkType: .raw, bytes: $0, wireLength: $0.count) }
        guard case .undecodable(let error) = outcome else {
            Issue.record("data offset \(dataOffset): \(outcome)")
            return
        }
        #expect(error.reasonName.hasSuffix("tcp"), "\(error.reasonName)")
    }

    @Test("TCP options with length 0 or 1 are malformed, not fatal", arguments: [UInt8(0), 1])
    func optionLengthZeroOrOne(length: UInt8) throws {
        let frame = FrameBuilder.tcp(
            src: "198.18.0.1", sport: 40000, dst: "198.19.0.2", dport: 80, seq: 1, flags: .syn,
            options: [.mss(1460), .raw(kind: 8, length: length, data: [0, 0]), .windowScale(7)], link: .raw)
        let outcome = frame.withUnsafeBytes { PacketDecoder.decode(linkType: .raw, bytes: $0, wireLength: $0.count) }
        guard case .tcp(let summary) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(summary.options.isMalformed)
        #expect(summary.options.mss == 1460)
    }

    @Test("Overlapping retransmissions carrying different bytes")
    func overlappingRetransmissions() throws {
        let c = "198.18.0.1", s = "198.19.0.2"
        var frames = Array(conversation(data: 0).prefix(3))
        frames.append(FrameBuilder.tcp(src: c, sport: 40000, dst: s, dport: 80, seq: 1001, ack: 5001, flags: [.psh, .ack],
                                       payload: FrameBuilder.Payload([UInt8](repeating: 0x41, count: 100))))
        frames.append(FrameBuilder.tcp(src: c, sport: 40000, dst: s, dport: 80, seq: 1051, ack: 5001, flags: [.psh, .ack],
                                       payload: FrameBuilder.Payload([UInt8](repeating: 0x42, count: 100))))
        frames.append(FrameBuilder.tcp(src: c, sport: 40000, dst: s, dport: 80, seq: 1001, ack: 5001, flags: [.psh, .ack],
                                       payload: FrameBuilder.Payload([UInt8](repeating: 0x43, count: 150))))
        frames.append(FrameBuilder.tcp(src: s, sport: 80, dst: c, dport: 40000, seq: 5001, ack: 1151, flags: .ack))
        frames.append(FrameBuilder.tcp(src: c, sport: 40000, dst: s, dport: 80, seq: 1151, ack: 5001, flags: [.fin, .ack]))
        frames.append(FrameBuilder.tcp(src: s, sport: 80, dst: c, dport: 40000, seq: 5001, ack: 1152, flags: [.fin, .ack]))
        frames.append(FrameBuilder.tcp(src: c, sport: 40000, dst: s, dport: 80, seq: 1152, ack: 5002, flags: .ack))
        let result = AnalyzedFile(path: capture("overlap.pcap", frames))
        let row = try #require(result.rows.first)
        #expect(result.rows.count == 1)
        #expect(row.cause == .gracefulClose)
        #expect(row.bytesClient == 350)
        #expect(row.retransmissionsClient >= 1)
        #expect(result.isValidJSON)
    }

    @Test("A RST storm: 50,000 resets with random sequence numbers on one 4-tuple, events capped")
    func rstStorm() {
        var script = SegmentScript()
        script.handshake()
        var random = SeededRandom(seed: 99)
        for i in 0..<50_000 {
            let seq = UInt32(truncatingIfNeeded: random.next())
            if i % 2 == 0 {
                script.client(random.next() % 3 == 0 ? [.rst, .ack] : .rst, seq: seq, ack: seq &+ 7, after: 0.000_01)
            } else {
                script.server(.rst, seq: seq, after: 0.000_01)
            }
        }
        let connections = script.run()
        #expect(!connections.isEmpty)
        for connection in connections.prefix(50) {
            #expect(connection.events.count <= Connection.maximumEvents)
            #expect(connection.clientSide.resets.count <= 4)
            _ = Diagnoser.diagnose(connection, context: CaptureContext(captureEnd: connection.end))
        }
    }

    @Test("A RST storm in a capture file: verdicts, words and JSON")
    func rstStormFile() throws {
        let c = "198.18.0.1", s = "198.19.0.2"
        var frames = Array(conversation(data: 0).prefix(3))
        var random = SeededRandom(seed: 5)
        for i in 0..<3_000 {
            let seq = UInt32(truncatingIfNeeded: random.next())
            frames.append(i % 2 == 0
                ? FrameBuilder.tcp(src: c, sport: 40000, dst: s, dport: 80, seq: seq, ack: 5001, flags: [.rst, .ack])
                : FrameBuilder.tcp(src: s, sport: 80, dst: c, dport: 40000, seq: seq, flags: .rst, ttl: UInt8(i % 255)))
        }
        let result = AnalyzedFile(path: capture("rst-storm.pcap", frames))
        #expect(result.exitCode == 0)
        #expect(!result.rows.isEmpty)
        #expect(result.rows.count == result.report.connections)
        #expect(result.isValidJSON)
        _ = TextReport(verbose: true).render(rows: result.rows, captures: [result.report], summary: Summary())
    }

    @Test("A billion-byte sequence jump (and one past 2^31) mid-connection",
          arguments: [UInt32(1_000_000_000), 3_000_000_000])
    func sequenceJump(jump: UInt32) throws {
        let c = "198.18.0.1", s = "198.19.0.2"
        var frames = Array(conversation(data: 0).prefix(3))
        func client(_ seq: UInt32, _ ack: UInt32, _ flags: TCPFlags, _ data: Int = 0) -> [UInt8] {
            FrameBuilder.tcp(src: c, sport: 40000, dst: s, dport: 80, seq: seq, ack: ack, flags: flags, payload: .count(data))
        }
        func server(_ seq: UInt32, _ ack: UInt32, _ flags: TCPFlags) -> [UInt8] {
            FrameBuilder.tcp(src: s, sport: 80, dst: c, dport: 40000, seq: seq, ack: ack, flags: flags)
        }
        frames += [
            client(1001, 5001, [.psh, .ack], 100), server(5001, 1101, .ack),
            client(1101 &+ jump, 5001, [.psh, .ack], 100), server(5001, 1201 &+ jump, .ack),
            client(1201 &+ jump, 5001, [.fin, .ack]), server(5001, 1202 &+ jump, [.fin, .ack]),
            client(1202 &+ jump, 5002, .ack),
        ]
        let result = AnalyzedFile(path: capture("jump-\(jump).pcap", frames))
        #expect(result.exitCode == 0)
        #expect(!result.rows.isEmpty)
        for row in result.rows { #expect(row.bytesClient <= 200 || row.bytesClient >= UInt64(jump) / 2) }
        #expect(result.isValidJSON)
        _ = TextReport(verbose: true).render(rows: result.rows, captures: [result.report], summary: Summary())
        _ = MarkdownReport().render(rows: result.rows, captures: [result.report], summary: Summary())
    }
}

@Suite("Fuzzer regressions: every input that once crashed a fuzzer")
struct FuzzRegressionTests {
    static func inputs(_ target: String) -> [String] {
        let dir = RobustnessPaths.regressions.appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { dir.appendingPathComponent($0).path }
    }

    @Test("FrameFuzzer inputs", arguments: inputs("FrameFuzzer"))
    func frames(path: String) throws {
        let bytes = try #require(FileManager.default.contents(atPath: path))
        bytes.withUnsafeBytes { data in
            guard var stream = FrameStream(data) else { return }
            var pipeline = Pipeline(configuration: stream.configuration)
            var number = 0
            while let frame = stream.next() {
                number += 1
                pipeline.consume(CapturedPacket(number: number, timestamp: frame.timestamp, bytes: frame.bytes,
                                                wireLength: frame.wireLength, linkType: stream.linkType))
            }
            pipeline.finish()
        }
    }

    @Test("CaptureFileFuzzer inputs", arguments: inputs("CaptureFileFuzzer"))
    func captureFiles(path: String) {
        let result = AnalyzedFile(path: path)
        #expect([0, 2, 3].contains(result.exitCode))
        #expect(result.isValidJSON)
        guard var reader = try? CaptureFileReader.open(path: path) else { return }
        var pipeline = Pipeline(configuration: 0x08)
        try? reader.forEachPacket { packet in
            pipeline.consume(packet)
            return .proceed
        }
        pipeline.finish()
    }
}
