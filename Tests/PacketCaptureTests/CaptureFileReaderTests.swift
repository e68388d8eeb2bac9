import PacketCapture
import TestSupport
import Testing
import WireFormat

@Suite("CaptureFileReader: formats")
struct CaptureFileReaderFormatTests {
    struct ClassicVariant: Sendable, CustomStringConvertible {
        var precision: PcapWriter.Precision
        var bigEndian: Bool
        var description: String { "\(precision == .nanoseconds ? "ns" : "µs") \(bigEndian ? "big" : "little")-endian" }
    }

    @Test(
        "Classic pcap, all four magics, agrees with libpcap",
        arguments: [
            ClassicVariant(precision: .microseconds, bigEndian: false),
            ClassicVariant(precision: .microseconds, bigEndian: true),
            ClassicVariant(precision: .nanoseconds, bigEndian: false),
            ClassicVariant(precision: .nanoseconds, bigEndian: true),
        ])
    func classic(variant: ClassicVariant) throws {
        let records = sampleRecords(microsecondAligned: variant.precision == .microseconds)
        let path = temporaryFile(
            "classic.pcap",
            PcapWriter.classic(
                linkType: .ethernet, records: records, precision: variant.precision, bigEndian: variant.bigEndian))
        let native = readWithNativeReader(path)
        #expect(native.error == nil)
        let expected = records.enumerated().map {
            ReadPacket(number: $0.offset + 1, record: $0.element, linkType: .ethernet)
        }
        #expect(native.packets == expected)
        #expect(readWithLibpcap(path).packets == expected)
    }

    @Test("Classic pcap of every link type; LINKTYPE_RAW reads as libpcap's DLT_RAW")
    func classicLinkTypes() throws {
        let links: [FrameBuilder.Link] = [.ethernet(), .linuxSLL, .linuxSLL2, .null(), .loop, .raw]
        for link in links {
            let path = temporaryFile(
                "link.pcap", PcapWriter.classic(linkType: link.linkType, records: sampleRecords(count: 2, link: link)))
            let native = readWithNativeReader(path)
            let libpcap = readWithLibpcap(path)
            #expect(native.error == nil && libpcap.error == nil)
            #expect(native.packets == libpcap.packets, "\(link)")
        }
        let raw101 = temporaryFile(
            "raw101.pcap", PcapWriter.classic(linkType: .linktypeRaw, records: sampleRecords(count: 1, link: .raw)))
        let reader = try CaptureFileReader.open(path: raw101)
        do {
            let actual = reader.linkTypes
            #expect(actual == [.raw])
        }
        #expect(readWithLibpcap(raw101).packets.first?.linkType == .raw)
    }

    @Test("pcapng in either byte order, timestamp resolutions, agrees with libpcap", arguments: [false, true])
    func pcapng(bigEndian: Bool) throws {
        for resolution: UInt8? in [nil, 3, 6, 9, 12, 0x80 | 10, 0x80 | 20, 0x80 | 30] {
            let records = sampleRecords(microsecondAligned: false)
            let path = temporaryFile(
                "res.pcapng",
                PcapWriter.pcapng(
                    interfaces: [.init(linkType: .ethernet, timestampResolution: resolution)], records: records,
                    bigEndian: bigEndian))
            let native = readWithNativeReader(path)
            let libpcap = readWithLibpcap(path)
            #expect(native.error == nil, "\(String(describing: resolution))")
            #expect(libpcap.error == nil)
            #expect(native.packets == libpcap.packets, "resolution \(String(describing: resolution))")
            if resolution == 9 {
                #expect(native.packets.map(\.timestamp.rawValue) == records.map(\.timestamp))
            }
        }
    }

    @Test("if_tsoffset shifts timestamps by whole seconds, as in libpcap")
    func timestampOffset() throws {
        var file = PcapngBuilder()
        // IDB with if_tsresol 9 and if_tsoffset 100.
        let body: [UInt8] =
            [1, 0, 0, 0, 0, 0, 4, 0] + [9, 0, 1, 0, 9, 0, 0, 0] + [14, 0, 8, 0, 100, 0, 0, 0, 0, 0, 0, 0] + [
                0, 0, 0, 0,
            ]
        file.block(type: 1, body: body)
        file.enhancedPacket(
            PcapRecord(timestamp: 5_000_000_001, bytes: sampleRecords(count: 1)[0].bytes), resolution: 9)
        let path = temporaryFile("offset.pcapng", file.bytes)
        let native = readWithNativeReader(path)
        #expect(native.packets.first?.timestamp.rawValue == 105_000_000_001)
        #expect(native.packets == readWithLibpcap(path).packets)
    }

    @Test("Several sections, SPB, obsolete PB and unknown blocks, as libpcap reads them", arguments: [false, true])
    func blocks(switchByteOrder: Bool) throws {
        let frames = sampleRecords(count: 4)
        var file = PcapngBuilder(bigEndian: false)
        file.block(type: 0x0000_0BAD, body: [1, 2, 3, 4, 5])  // unknown block before any interface
        file.interface(.init(linkType: .ethernet, timestampResolution: 9))
        file.block(type: 4, body: [0, 0, 0, 0])  // name resolution block (empty)
        file.enhancedPacket(frames[0], resolution: 9)
        file.simplePacket(frames[1].bytes)
        file.obsoletePacket(frames[2], resolution: 9)
        file.block(type: 5, body: [0, 0, 0, 0] + [UInt8](repeating: 0, count: 8))  // interface statistics
        file.section(bigEndian: switchByteOrder)
        file.interface(.init(linkType: .ethernet))
        file.enhancedPacket(frames[3])
        let path = temporaryFile("blocks.pcapng", file.bytes)
        let native = readWithNativeReader(path)
        #expect(native.error == nil)
        #expect(native.packets.count == 4)
        #expect(native.packets[1].timestamp == .zero)
        #expect(native.packets[2].timestamp.rawValue == frames[2].timestamp)
        #expect(native.packets.map(\.bytes) == frames.map(\.bytes))
        #expect(native.packets.map(\.number) == [1, 2, 3, 4])
        let libpcap = readWithLibpcap(path)
        if switchByteOrder {
            // libpcap 1.10 reads a new section's length in the old byte order and gives up there.
            #expect(Array(native.packets.prefix(3)) == libpcap.packets)
        } else {
            #expect(libpcap.error == nil)
            #expect(native.packets == libpcap.packets)
        }
    }

    @Test("Simple packet blocks honour the interface snap length")
    func simplePacketSnapLength() throws {
        var file = PcapngBuilder()
        file.interface(.init(linkType: .ethernet, snapLength: 40))
        let frame = sampleRecords(count: 3)[2].bytes
        file.simplePacket(Array(frame.prefix(40)), wireLength: frame.count)
        let packets = readWithNativeReader(temporaryFile("spb.pcapng", file.bytes)).packets
        #expect(packets.first?.bytes.count == 40)
        #expect(packets.first?.wireLength == frame.count)
    }

    @Test("Packets of different interfaces carry their interface's link type")
    func perPacketLinkType() throws {
        let ethernet = sampleRecords(count: 2, link: .ethernet())
        var sll = sampleRecords(count: 2, link: .linuxSLL2)
        for i in sll.indices { sll[i].interface = 1 }
        let path = temporaryFile(
            "multi.pcapng",
            PcapWriter.pcapng(
                interfaces: [.init(linkType: .ethernet), .init(linkType: .linuxSLL2)],
                records: [ethernet[0], sll[0], ethernet[1], sll[1]]))
        var reader = try CaptureFileReader.open(path: path)
        do {
            let actual = reader.linkTypes
            #expect(actual == [.ethernet, .linuxSLL2])
        }
        var seen: [LinkType] = []
        try reader.forEachPacket { packet in
            seen.append(packet.linkType)
            #expect(
                PacketDecoder.decode(linkType: packet.linkType, bytes: packet.bytes, wireLength: packet.wireLength)
                    .isTCP)
            return .proceed
        }
        #expect(seen == [.ethernet, .linuxSLL2, .ethernet, .linuxSLL2])
        do {
            let actual = reader.packetsRead
            #expect(actual == 4)
        }
    }

    @Test("Stopping early and large packets (the buffer grows past one chunk)")
    func stopAndGrow() throws {
        let big = PcapRecord(timestamp: 1, bytes: [UInt8](repeating: 0xAB, count: 200_000))
        let records = [big] + sampleRecords(count: 3) + [big]
        let path = temporaryFile(
            "big.pcap", PcapWriter.classic(linkType: .ethernet, records: records, snapLength: 262_144))
        var reader = try CaptureFileReader.open(path: path)
        var count = 0
        try reader.forEachPacket { packet in
            count += 1
            return packet.number == 2 ? .stop : .proceed
        }
        #expect(count == 2)
        try reader.forEachPacket { _ in
            count += 1
            return .proceed
        }
        #expect(count == 5)
        let all = readWithNativeReader(path)
        #expect(all.packets.map(\.bytes) == records.map(\.bytes))
        #expect(all.packets == readWithLibpcap(path).packets)
    }

    @Test("Empty captures: header only")
    func headerOnly() throws {
        #expect(
            readWithNativeReader(temporaryFile("empty.pcap", PcapWriter.classic(linkType: .ethernet, records: [])))
                .packets.isEmpty)
        let ng = readWithNativeReader(temporaryFile("empty.pcapng", PcapWriter.pcapng(interfaces: [], records: [])))
        #expect(ng.packets.isEmpty && ng.error == nil)
    }
}

extension DecodedPacket {
    var isTCP: Bool {
        if case .tcp = self { return true }
        return false
    }
}
