import Analysis
import ConnectionTracking
import PacketCapture
import TestSupport
import Testing
import WireFormat

extension ReadAheadTests.Copied: ReadAheadRecord {
    init() {
        number = 0
        timestamp = .zero
        wireLength = 0
        fileOffset = 0
        bytes = []
    }
    mutating func fill(from packet: CapturedPacket) { self = Self(packet) }
}

/// `ReadAhead` must lend exactly the records that reading inline makes, in order, with the same failure
/// at the same place; small chunks make the hand-over happen often.
@Suite("ReadAhead: records made on the reading thread, in file order")
struct ReadAheadTests {
    /// A packet copied out whole (an array: a record that needs reference counting, unlike
    /// `DecodedFrame`, so the chunks' initialise/deinitialise is exercised too).
    struct Copied: Equatable, Sendable {
        var number: Int
        var timestamp: Timestamp
        var wireLength: Int
        var fileOffset: Int64
        var bytes: [UInt8]
        init(_ packet: CapturedPacket) {
            number = packet.number
            timestamp = packet.timestamp
            wireLength = packet.wireLength
            fileOffset = packet.fileOffset
            bytes = Array(packet.bytes)
        }
    }

    struct Read: Equatable {
        var packets: [Copied] = []
        var failure: String? = nil
        var linkTypes: [LinkType] = []
    }

    func readInline(_ path: String) throws -> Read {
        var read = Read()
        var file = try CaptureFile.open(path: path)
        do {
            try file.forEachPacket { packet in
                read.packets.append(Copied(packet))
                return .proceed
            }
        } catch {
            read.failure = error.message
        }
        read.linkTypes = file.linkTypes
        return read
    }

    func readAhead(_ path: String, chunks: Int, recordsPerChunk: Int) throws -> Read {
        var read = Read()
        let file = try CaptureFile.open(path: path)
        let result = ReadAhead.forEachRecord(of: file, chunks: chunks, recordsPerChunk: recordsPerChunk) {
            (copied: UnsafePointer<Copied>) in
            read.packets.append(copied.pointee)
        }
        read.failure = result.failure?.message
        read.linkTypes = result.linkTypes
        return read
    }

    func readBatched(_ path: String, batch: Int) throws -> Read {
        var read = Read()
        var file = try CaptureFile.open(path: path)
        do {
            try ReadAhead.forEachRecordInline(of: &file, batch: batch) { (copied: UnsafePointer<Copied>) in
                read.packets.append(copied.pointee)
            }
        } catch {
            read.failure = error.message
        }
        read.linkTypes = file.linkTypes
        return read
    }

    func records() -> [PcapRecord] {
        var random = SeededRandom(seed: 7)
        return (0..<600).map { i in
            let size = i % 97 == 5 ? 9_000 : Int(random.next() % 1_400)
            let frame = FrameBuilder.tcp(
                src: "198.18.0.1", sport: 40000, dst: "198.18.0.2", dport: 80, seq: UInt32(1000 + i * 10), ack: 1,
                flags: [.ack], payload: .count(size))
            return PcapRecord(timestamp: 1_700_000_000_000_000_000 + Int64(i) * 1_000_000, bytes: frame)
        }
    }

    @Test("Same packets, offsets and link types as reading inline", arguments: [(2, 1), (2, 7), (3, 64), (4, 4096)])
    func samePackets(chunks: Int, recordsPerChunk: Int) throws {
        let path = RobustnessPaths.write(PcapWriter.classic(linkType: .ethernet, records: records()), named: "ahead-\(chunks)-\(recordsPerChunk).pcap")
        let inline = try readInline(path)
        let ahead = try readAhead(path, chunks: chunks, recordsPerChunk: recordsPerChunk)
        #expect(inline.packets.count == 600)
        #expect(ahead == inline)
    }

    @Test("A cut-off file: every packet before the damage, then the same failure", arguments: [1, 7, 4096])
    func damagedFile(recordsPerChunk: Int) throws {
        let bytes = PcapWriter.classic(linkType: .ethernet, records: records())
        let path = RobustnessPaths.write(Array(bytes.prefix(bytes.count * 2 / 3)), named: "ahead-cut-\(recordsPerChunk).pcap")
        let inline = try readInline(path)
        let ahead = try readAhead(path, chunks: 2, recordsPerChunk: recordsPerChunk)
        #expect(inline.failure != nil)
        #expect(inline.packets.count > 100)
        #expect(ahead == inline)
    }

    /// With a lookahead, `ahead` sees every record twice before `body` does: `.far` then `.near`, each
    /// once, at the distances asked for (or as soon as a chunk starts, for its first records); records
    /// and failure are unchanged.
    @Test("Lookahead: each record is shown far, then near, then to body", arguments: [(2, 1), (2, 7), (3, 64), (4, 4096)])
    func lookahead(chunks: Int, recordsPerChunk: Int) throws {
        let path = RobustnessPaths.write(PcapWriter.classic(linkType: .ethernet, records: records()), named: "ahead-look-\(chunks)-\(recordsPerChunk).pcap")
        let inline = try readInline(path)
        let distances = LookaheadDistances(records: 3, far: 5, near: 2)
        var events: [(number: Int, stage: Int)] = []  // 0 far, 1 near, 2 body
        var read = Read()
        let result = ReadAhead.forEachRecord(
            of: try CaptureFile.open(path: path), chunks: chunks, recordsPerChunk: recordsPerChunk, lookahead: distances,
            ahead: { record, stage in events.append((record.pointee.number, stage == .far ? 0 : 1)) }
        ) { (copied: UnsafePointer<Copied>) in
            read.packets.append(copied.pointee)
            events.append((copied.pointee.number, 2))
        }
        read.failure = result.failure?.message
        read.linkTypes = result.linkTypes
        #expect(read == inline)
        var seen: [Int: [Int]] = [:]
        var bodyCount = 0
        for (index, event) in events.enumerated() {
            seen[event.number, default: []].append(event.stage)
            guard event.stage == 2 else { continue }
            bodyCount += 1
            // When record n reaches `body`, record n + far of the same chunk was already shown far.
            let chunkStart = (event.number - 1) / recordsPerChunk * recordsPerChunk + 1
            let chunkEnd = min(chunkStart + recordsPerChunk - 1, inline.packets.count)
            let ahead = event.number + distances.far
            if ahead <= chunkEnd {
                #expect(events[..<index].contains { $0.number == ahead && $0.stage == 0 }, "record \(ahead) far before \(event.number)")
            }
        }
        #expect(bodyCount == 600)
        for n in 1...600 { #expect(seen[n] == [0, 1, 2], "record \(n): \(seen[n] ?? [])") }
    }

    @Test("One thread, in batches: same packets as reading inline, and a cut file's packets then its failure",
          arguments: [1, 7, 256, 4096])
    func batched(batch: Int) throws {
        let path = RobustnessPaths.write(PcapWriter.classic(linkType: .ethernet, records: records()), named: "batched-\(batch).pcap")
        let inline = try readInline(path)
        #expect(try readBatched(path, batch: batch) == inline)
        let bytes = PcapWriter.classic(linkType: .ethernet, records: records())
        let cut = RobustnessPaths.write(Array(bytes.prefix(bytes.count * 2 / 3)), named: "batched-cut-\(batch).pcap")
        let cutInline = try readInline(cut)
        #expect(cutInline.failure != nil && cutInline.packets.count > 100)
        #expect(try readBatched(cut, batch: batch) == cutInline)
    }

    @Test("One thread, in batches, with a lookahead: each record far, then near, then to body", arguments: [1, 7, 256])
    func batchedLookahead(batch: Int) throws {
        let path = RobustnessPaths.write(PcapWriter.classic(linkType: .ethernet, records: records()), named: "batched-look-\(batch).pcap")
        var file = try CaptureFile.open(path: path)
        var stages: [Int: [Int]] = [:]
        try ReadAhead.forEachRecordInline(
            of: &file, batch: batch, lookahead: LookaheadDistances(records: 3, far: 5, near: 2),
            ahead: { record, stage in stages[record.pointee.number, default: []].append(stage == .far ? 0 : 1) }
        ) { (copied: UnsafePointer<Copied>) in
            stages[copied.pointee.number, default: []].append(2)
        }
        #expect(stages.count == 600)
        for n in 1...600 { #expect(stages[n] == [0, 1, 2], "record \(n)") }
    }

    @Test("An empty capture (header only) ends at once")
    func emptyFile() throws {
        let path = RobustnessPaths.write(PcapWriter.classic(linkType: .ethernet, records: []), named: "ahead-empty.pcap")
        let ahead = try readAhead(path, chunks: 2, recordsPerChunk: 4)
        #expect(ahead.packets.isEmpty)
        #expect(ahead.failure == nil)
        #expect(ahead.linkTypes == [.ethernet])
    }
}

/// `DecodedFrame` is filled in place in a reused slot: whatever the slot held before, it must then say
/// what `PacketDecoder.decode` says of the new packet, with the packet's number, time and offset.
@Suite("DecodedFrame: a reused slot says what the decoder says")
struct DecodedFrameTests {
    @Test("TCP, non-TCP and damaged frames in turn through one slot")
    func reusedSlot() {
        let syn = FrameBuilder.tcp(src: "198.18.0.1", sport: 40000, dst: "198.18.0.2", dport: 80, flags: [.syn],
                                   options: [.mss(1460), .windowScale(7)])
        let data6 = FrameBuilder.tcp(src: "2001:db8::1", sport: 40000, dst: "2001:db8::2", dport: 443, seq: 5, ack: 9,
                                     flags: [.ack, .psh], payload: .count(300))
        let vlan = FrameBuilder.tcp(src: "198.18.0.3", sport: 1, dst: "198.18.0.4", dport: 2, flags: [.ack],
                                    link: .ethernet(vlans: [.dot1Q(7)]))
        let icmp = FrameBuilder.icmpError(reporter: "198.18.0.9", recipient: "198.18.0.1", type: 3, code: 1,
                                          quoting: Array(syn.dropFirst(14)), quoteLength: 28)
        var udp = syn
        udp[14 + 9] = 17
        let frames: [(String, [UInt8], wireLength: Int, LinkType)] = [
            ("syn", syn, syn.count, .ethernet), ("udp", udp, udp.count, .ethernet), ("v6 data", data6, data6.count, .ethernet),
            ("icmp", icmp, icmp.count, .ethernet), ("v6 data cut", Array(data6.prefix(90)), data6.count, .ethernet),
            ("vlan", vlan, vlan.count, .ethernet), ("syn again", syn, syn.count, .ethernet),
            ("cut in ip", Array(syn.prefix(30)), syn.count, .ethernet), ("raw", Array(syn.dropFirst(14)), syn.count - 14, .raw),
            ("unsupported", syn, syn.count, LinkType(rawValue: 147)), ("v6 data again", data6, data6.count, .ethernet),
        ]
        var frame = DecodedFrame()
        var fastCount = 0
        for (i, (name, bytes, wireLength, linkType)) in frames.enumerated() {
            bytes.withUnsafeBytes { buffer in
                let packet = CapturedPacket(
                    number: i + 1, timestamp: Timestamp(rawValue: 1_000 + Int64(i)), bytes: buffer, wireLength: wireLength,
                    linkType: linkType, fileOffset: Int64(100 * i))
                frame.fill(from: packet)
                let expected = PacketDecoder.decode(linkType: linkType, bytes: buffer, wireLength: wireLength)
                #expect(String(describing: frame.decoded) == String(describing: expected), "\(name)")
                #expect(String(describing: DecodedFrame(packet).decoded) == String(describing: expected), "\(name)")
                #expect(frame.number == i + 1 && frame.timestamp.rawValue == 1_000 + Int64(i), "\(name)")
                #expect(frame.fileOffset == Int64(100 * i), "\(name)")
                #expect(frame.isSnapTruncated == (bytes.count < wireLength), "\(name)")
                if frame.isFastTCP {
                    fastCount += 1
                    #expect(frame.flowHash == ConnectionTracker.flowHash(of: frame.summary), "\(name)")
                }
            }
        }
        // syn, v6 data, v6 data cut, syn again, v6 data again: the rest went through `other`.
        #expect(fastCount == 5)
    }
}
