import PacketCapture
import TestSupport
import Testing
import WireFormat

/// Reading ahead on another thread must lend exactly the packets `forEachPacket` lends, in order, with
/// the same failure at the same place; small chunks make the hand-over and the huge-frame path happen.
@Suite("CaptureFile.forEachPacketReadingAhead")
struct ReadAheadTests {
    struct Read: Equatable {
        var packets: [ReadPacket] = []
        var offsets: [Int64] = []
        var failure: String? = nil
        var linkTypes: [LinkType] = []
    }

    func readDirectly(_ path: String) throws -> Read {
        var read = Read()
        var file = try CaptureFile.open(path: path)
        do {
            try file.forEachPacket { packet in
                read.packets.append(ReadPacket(packet))
                read.offsets.append(packet.fileOffset)
                return .proceed
            }
        } catch {
            read.failure = error.message
        }
        read.linkTypes = file.linkTypes
        return read
    }

    func readAhead(_ path: String, chunks: Int, chunkBytes: Int) throws -> Read {
        var read = Read()
        let file = try CaptureFile.open(path: path)
        let result = file.forEachPacketReadingAhead(chunks: chunks, chunkBytes: chunkBytes) { packet in
            read.packets.append(ReadPacket(packet))
            read.offsets.append(packet.fileOffset)
        }
        read.failure = result.failure?.message
        read.linkTypes = result.linkTypes
        return read
    }

    /// Frames of varied sizes, some bigger than a 4 KB chunk (jumbo frames), so chunks fill at
    /// different points and an empty chunk must grow.
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

    @Test("Same packets, offsets and link types as reading directly", arguments: [(2, 4096), (3, 65_536), (4, 1 << 19)])
    func samePackets(chunks: Int, chunkBytes: Int) throws {
        let path = temporaryFile("ahead.pcap", PcapWriter.classic(linkType: .ethernet, records: records()))
        let direct = try readDirectly(path)
        let ahead = try readAhead(path, chunks: chunks, chunkBytes: chunkBytes)
        #expect(direct.packets.count == 600)
        #expect(ahead == direct)
    }

    @Test("A cut-off file: every packet before the damage, then the same failure")
    func damagedFile() throws {
        let bytes = PcapWriter.classic(linkType: .ethernet, records: records())
        let path = temporaryFile("ahead-cut.pcap", Array(bytes.prefix(bytes.count * 2 / 3)))
        let direct = try readDirectly(path)
        let ahead = try readAhead(path, chunks: 2, chunkBytes: 4096)
        #expect(direct.failure != nil)
        #expect(direct.packets.count > 100)
        #expect(ahead == direct)
    }

    @Test("An empty capture (header only) ends at once")
    func emptyFile() throws {
        let path = temporaryFile("ahead-empty.pcap", PcapWriter.classic(linkType: .ethernet, records: []))
        let ahead = try readAhead(path, chunks: 2, chunkBytes: 4096)
        #expect(ahead.packets.isEmpty)
        #expect(ahead.failure == nil)
        #expect(ahead.linkTypes == [.ethernet])
    }
}
