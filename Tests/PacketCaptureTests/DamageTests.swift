import PacketCapture
import TestSupport
import Testing
import WireFormat

@Suite("CaptureFileReader: damaged and foreign files")
struct DamageTests {
    let records = sampleRecords(count: 5)

    /// Byte offsets where each classic record starts, and the end of the file.
    func classicLayout() -> (bytes: [UInt8], starts: [Int]) {
        let bytes = PcapWriter.classic(linkType: .ethernet, records: records)
        var starts: [Int] = []
        var offset = 24
        for record in records {
            starts.append(offset)
            offset += 16 + record.bytes.count
        }
        return (bytes, starts)
    }

    struct Cut: Sendable, CustomStringConvertible {
        var name: String
        /// Which record the cut falls in, and how far into it.
        var record: Int
        var into: Int?  // nil: one byte before the end of the file
        var description: String { name }
    }

    @Test(
        "Classic pcap cut anywhere: complete packets first, then .damaged naming offset and count",
        arguments: [
            Cut(name: "mid record header", record: 2, into: 7), Cut(name: "mid packet data", record: 3, into: 20),
            Cut(name: "right after a record header", record: 1, into: 16),
            Cut(name: "last byte missing", record: 4, into: nil),
        ])
    func classicCut(cut: Cut) throws {
        let (bytes, starts) = classicLayout()
        let length = cut.into.map { starts[cut.record] + $0 } ?? bytes.count - 1
        let path = temporaryFile("cut.pcap", Array(bytes.prefix(length)))
        let native = readWithNativeReader(path)
        #expect(native.packets.count == cut.record)
        let error = try #require(native.error)
        #expect(error.kind == .damaged)
        #expect(error.operation == "read")
        #expect(
            error.message.contains("at byte offset \(starts[cut.record]) after packet \(cut.record)"),
            "\(error.message)")
        #expect(error.message.contains(path))
        // libpcap agrees on what comes before the damage.
        let libpcap = readWithLibpcap(path)
        #expect(libpcap.packets == native.packets)
        #expect(libpcap.error?.kind == .damaged)
        // And through CaptureFile (libpcap backend) the packets arrive before the error.
        let viaFile = readWithCaptureFile(path)
        #expect(viaFile.packets.count == cut.record)
        #expect(viaFile.error?.kind == .damaged)
    }

    @Test("Classic file header cut off", arguments: [5, 10, 23])
    func classicHeaderCut(length: Int) {
        let path = temporaryFile("header.pcap", Array(classicLayout().bytes.prefix(length)))
        let native = readWithNativeReader(path)
        #expect(native.error?.kind == .damaged)
        #expect(native.error?.message.contains("file header cut off") == true)
        #expect(readWithCaptureFile(path).error?.kind == .damaged)
    }

    @Test("Impossible captured length in a classic record")
    func classicImpossibleLength() throws {
        var (bytes, starts) = classicLayout()
        // caplen field of record 2 (little-endian) := 0x20000000 (512 MiB)
        bytes.replaceSubrange((starts[2] + 8)..<(starts[2] + 12), with: [0, 0, 0, 0x20])
        let native = readWithNativeReader(temporaryFile("huge.pcap", bytes))
        #expect(native.packets.count == 2)
        #expect(native.error?.kind == .damaged)
        #expect(
            native.error?.message.contains(
                "impossible captured length 536870912 at byte offset \(starts[2]) after packet 2") == true)
    }

    func pcapngLayout() -> (bytes: [UInt8], starts: [Int]) {
        var file = PcapngBuilder()
        file.interface(.init(linkType: .ethernet))
        var starts: [Int] = []
        for record in records {
            starts.append(file.bytes.count)
            file.enhancedPacket(record)
        }
        return (file.bytes, starts)
    }

    @Test(
        "pcapng cut anywhere: complete packets first, then .damaged",
        arguments: [
            Cut(name: "mid block header", record: 2, into: 5), Cut(name: "mid block body", record: 3, into: 30),
            Cut(name: "trailer missing", record: 1, into: 40), Cut(name: "last byte missing", record: 4, into: nil),
        ])
    func pcapngCut(cut: Cut) throws {
        let (bytes, starts) = pcapngLayout()
        let length = cut.into.map { starts[cut.record] + $0 } ?? bytes.count - 1
        let path = temporaryFile("cut.pcapng", Array(bytes.prefix(length)))
        let native = readWithNativeReader(path)
        #expect(native.packets.count == cut.record)
        let error = try #require(native.error)
        #expect(error.kind == .damaged)
        #expect(
            error.message.contains("at byte offset \(starts[cut.record]) after packet \(cut.record)"),
            "\(error.message)")
        let libpcap = readWithLibpcap(path)
        #expect(libpcap.packets == native.packets)
        #expect(libpcap.error != nil)
    }

    struct Corruption: Sendable, CustomStringConvertible {
        var name: String
        /// Offset into the third EPB and the little-endian u32 written there.
        var offset: Int
        var value: UInt32
        var message: String
        var description: String { name }
    }

    @Test(
        "pcapng blocks with impossible lengths",
        arguments: [
            Corruption(
                name: "length not a multiple of 4", offset: 4, value: 0x66, message: "impossible block length 102"),
            Corruption(name: "length below 12", offset: 4, value: 8, message: "impossible block length 8"),
            Corruption(
                name: "length beyond any packet", offset: 4, value: 0x4000_0000, message: "impossible block length"),
            Corruption(
                name: "captured length past the block", offset: 20, value: 4000,
                message: "captured length 4000 runs past its block"),
            Corruption(
                name: "captured length over 256 MiB", offset: 20, value: 0x1000_0001,
                message: "impossible captured length"),
            Corruption(name: "undeclared interface", offset: 8, value: 3, message: "packet for undeclared interface 3"),
            Corruption(name: "trailer differs", offset: -4, value: 0x1234, message: "does not match its trailer"),
        ])
    func pcapngImpossibleLengths(corruption: Corruption) throws {
        var (bytes, starts) = pcapngLayout()
        let at = corruption.offset >= 0 ? starts[2] + corruption.offset : starts[3] + corruption.offset
        let value = corruption.value
        bytes.replaceSubrange(at..<(at + 4), with: (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) })
        let native = readWithNativeReader(temporaryFile("bad.pcapng", bytes))
        #expect(native.packets.count == 2)
        let error = try #require(native.error)
        #expect(error.kind == .damaged)
        #expect(error.message.contains(corruption.message), "\(error.message)")
        #expect(error.message.contains("at byte offset \(starts[2]) after packet 2"), "\(error.message)")
    }

    @Test("Not a capture: text, random bytes, a bad pcapng byte-order magic")
    func notACapture() throws {
        let text = temporaryFile("notes.txt", Array("hello, this is not a capture\n".utf8))
        let error = try #require(readWithNativeReader(text).error)
        #expect(error.kind == .notACapture)
        #expect(error.message == "'\(text)' is not a pcap or pcapng capture")
        let tiny = readWithNativeReader(temporaryFile("tiny", [0xd4, 0xc3]))
        #expect(tiny.error?.kind == .notACapture)
        let empty = readWithNativeReader(temporaryFile("empty", []))
        #expect(empty.error?.kind == .notACapture)
        #expect(empty.error?.message.contains("is empty") == true)
        var ng = PcapWriter.pcapng(interfaces: [.init(linkType: .ethernet)], records: records)
        ng[8] = 0x99
        #expect(readWithNativeReader(temporaryFile("bom.pcapng", ng)).error?.kind == .damaged)
    }

    @Test("A missing file cannot be opened")
    func missing() throws {
        let path = Fixtures.temporaryPath("nope.pcap")
        let error = try #require(readWithNativeReader(path).error)
        #expect(error.kind == .cannotOpen)
        #expect(error.message.contains(path))
    }
}
