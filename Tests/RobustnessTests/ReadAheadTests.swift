import Analysis
import PacketCapture
import TestSupport
import Testing
import WireFormat

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
        let result = ReadAhead.forEachRecord(of: file, chunks: chunks, recordsPerChunk: recordsPerChunk,
                                             transform: { Copied($0) }) { copied in
            read.packets.append(copied)
        }
        read.failure = result.failure?.message
        read.linkTypes = result.linkTypes
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

    @Test("An empty capture (header only) ends at once")
    func emptyFile() throws {
        let path = RobustnessPaths.write(PcapWriter.classic(linkType: .ethernet, records: []), named: "ahead-empty.pcap")
        let ahead = try readAhead(path, chunks: 2, recordsPerChunk: 4)
        #expect(ahead.packets.isEmpty)
        #expect(ahead.failure == nil)
        #expect(ahead.linkTypes == [.ethernet])
    }
}
