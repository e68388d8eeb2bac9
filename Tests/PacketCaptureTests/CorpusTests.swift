import Foundation
import PacketCapture
import Testing
import WireFormat

@Suite("Real captures in the shared corpus")
struct CorpusTests {
    @Test("The corpus is present (other corpus tests run once per file)")
    func corpusPresent() throws {
        try #require(
            corpusDirectory != nil, "corpus not found above \(#filePath) and CORONER_CORPUS unset: corpus tests skipped"
        )
        #expect(corpusFiles.count >= 40)
    }

    @Test("libpcap reads every corpus file; packet count matches tshark", arguments: corpusFiles)
    func libpcapReadsEveryFile(relative: String) throws {
        let path = try #require(corpusDirectory) + "/" + relative
        let result = readWithLibpcap(path)
        #expect(result.error == nil, "\(relative): \(String(describing: result.error))")
        #expect(!result.packets.isEmpty)
        #expect(result.packets.map(\.number) == Array(1...result.packets.count))
        guard let tshark = tsharkPath else { return }  // tshark not installed: count check skipped
        let output = try #require(run(tshark, ["-n", "-r", path, "-T", "fields", "-e", "frame.number"]))
        let count = output.split(separator: "\n").count
        #expect(result.packets.count == count, "\(relative): libpcap \(result.packets.count), tshark \(count)")
    }

    @Test("CaptureFileReader gives libpcap's packets, timestamps and bytes", arguments: corpusFiles)
    func nativeReaderMatchesLibpcap(relative: String) throws {
        let path = try #require(corpusDirectory) + "/" + relative
        let expected = readWithLibpcap(path)
        let actual = readWithNativeReader(path)
        #expect(actual.error == nil, "\(relative): \(String(describing: actual.error))")
        #expect(actual.packets.count == expected.packets.count)
        #expect(actual.packets == expected.packets, "\(relative)")
        var reader = try CaptureFileReader.open(path: path)
        var libpcap = try PcapHandle.openOffline(path: path)
        do {
            let actual = reader.linkTypes
            #expect(actual == [libpcap.linkType])
        }
        try reader.forEachPacket { _ in .proceed }
        try libpcap.forEachPacket { _ in .proceed }
        do {
            let actual = reader.position
            #expect(actual == reader.fileSize)
        }
    }

    @Test("CaptureFile reads every corpus file through libpcap", arguments: corpusFiles)
    func captureFileUsesLibpcap(relative: String) throws {
        let path = try #require(corpusDirectory) + "/" + relative
        var file = try CaptureFile.open(path: path)
        do {
            let value = !file.isUsingNativeReader
            #expect(value)
        }
        do {
            let actual = file.linkTypes
            #expect(actual == [.ethernet])
        }
        var count = 0
        var lastOffset: Int64 = 0
        try file.forEachPacket { packet in
            count += 1
            #expect(packet.fileOffset >= lastOffset)
            lastOffset = packet.fileOffset
            return .proceed
        }
        #expect(count == readWithLibpcap(path).packets.count)
        do {
            let actual = file.position
            #expect(actual > 0)
        }
        do {
            let actual = file.position
            #expect(actual <= file.fileSize ?? 0)
        }
    }
}
