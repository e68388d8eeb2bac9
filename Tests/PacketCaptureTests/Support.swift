import Foundation
import PacketCapture
import TestSupport
import WireFormat

/// A packet copied out of a reader, for comparing readers.
struct ReadPacket: Hashable, CustomStringConvertible {
    var number: Int
    var timestamp: Timestamp
    var wireLength: Int
    var linkType: LinkType
    var bytes: [UInt8]

    init(_ packet: CapturedPacket) {
        number = packet.number
        timestamp = packet.timestamp
        wireLength = packet.wireLength
        linkType = packet.linkType
        bytes = Array(packet.bytes)
    }

    init(number: Int, record: PcapRecord, linkType: LinkType) {
        self.number = number
        timestamp = Timestamp(rawValue: record.timestamp)
        wireLength = record.wireLength
        self.linkType = linkType
        bytes = record.bytes
    }

    var description: String { "#\(number) t=\(timestamp.rawValue) len=\(wireLength)/\(bytes.count) \(linkType)" }
}

/// What reading a whole file gave: the packets, then the error that stopped it (if any).
struct ReadResult {
    var packets: [ReadPacket] = []
    var error: CaptureError? = nil
}

func readWithLibpcap(_ path: String) -> ReadResult {
    var result = ReadResult()
    do {
        var handle = try PcapHandle.openOffline(path: path)
        try handle.forEachPacket { packet in
            result.packets.append(ReadPacket(packet))
            return .proceed
        }
    } catch {
        result.error = error
    }
    return result
}

func readWithNativeReader(_ path: String) -> ReadResult {
    var result = ReadResult()
    do {
        var reader = try CaptureFileReader.open(path: path)
        try reader.forEachPacket { packet in
            result.packets.append(ReadPacket(packet))
            return .proceed
        }
    } catch {
        result.error = error
    }
    return result
}

func readWithCaptureFile(_ path: String, filter: String? = nil) -> ReadResult {
    var result = ReadResult()
    do {
        var file = try CaptureFile.open(path: path)
        if let filter { try file.setFilter(filter) }
        try file.forEachPacket { packet in
            result.packets.append(ReadPacket(packet))
            return .proceed
        }
    } catch {
        result.error = error
    }
    return result
}

/// Writes `bytes` to a fresh temporary file and returns its path.
func temporaryFile(_ name: String, _ bytes: [UInt8]) -> String {
    let path = Fixtures.temporaryPath(name)
    PcapWriter.write(bytes, to: path)
    return path
}

/// Sample records: the TestSupport fixture frames of one link type, with distinct timestamps.
func sampleRecords(count: Int = 6, link: FrameBuilder.Link = .ethernet(), microsecondAligned: Bool = true)
    -> [PcapRecord]
{
    (0..<count).map { i in
        let frame = FrameBuilder.tcp(
            src: "198.18.0.1", sport: 40000, dst: "198.18.0.2", dport: 80, seq: UInt32(1000 + i * 10), ack: 1,
            flags: i == 0 ? [.syn] : [.ack, .psh], payload: .count(i * 7), link: link)
        let base: Int64 = 1_700_000_000_000_000_000 + Int64(i) * 1_234_567_000
        return PcapRecord(timestamp: microsecondAligned ? base : base + 891, bytes: frame)
    }
}

/// The corpus of real captures: `/work/shared/corpus` in this checkout's layout, found from this file's
/// path (…/Tests/PacketCaptureTests/Support.swift), or `CORONER_CORPUS` when set.
let corpusDirectory: String? = {
    if let override = ProcessInfo.processInfo.environment["CORONER_CORPUS"] { return override }
    var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    for _ in 0..<6 {
        for candidate in ["shared/corpus", "corpus"] {
            let url = directory.appendingPathComponent(candidate)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
                return url.standardizedFileURL.path
            }
        }
        directory = directory.deletingLastPathComponent()
    }
    return nil
}()

/// Every *.pcap / *.pcapng under the corpus, relative paths sorted.
let corpusFiles: [String] = {
    guard let root = corpusDirectory, let walker = FileManager.default.enumerator(atPath: root) else { return [] }
    var files: [String] = []
    while let relative = walker.nextObject() as? String {
        if relative.hasSuffix(".pcap") || relative.hasSuffix(".pcapng") { files.append(relative) }
    }
    return files.sorted()
}()

/// Runs a program and returns its standard output, or nil when it cannot run.
func run(_ executable: String, _ arguments: [String]) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
}

let tsharkPath: String? = ["/usr/bin/tshark", "/usr/local/bin/tshark"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}
