// The per-packet hot path on a pre-loaded packet array: decode, and decode + track (no diagnosis, no
// output). The packets come from a capture made by coroner-gen:
//   swift run -c release coroner-gen -n 2000 -c 200 -o /tmp/coroner-bench-micro.pcap   (from the repository root)
// or another file named by CORONER_BENCH_CAPTURE.
import Analysis
import Benchmark
import ConnectionTracking
import PacketCapture
import WireFormat

#if canImport(Glibc)
    import Glibc
#endif

/// Frames copied out of the capture once, so the benchmark measures decoding and tracking, not I/O.
struct LoadedPackets {
    var storage: UnsafeMutableRawBufferPointer
    var frames: [(offset: Int, length: Int, wireLength: Int, time: Timestamp)] = []
    var linkType = LinkType.ethernet

    static func load() -> LoadedPackets {
        let path = getenv("CORONER_BENCH_CAPTURE").map { String(cString: $0) } ?? "/tmp/coroner-bench-micro.pcap"
        var bytes: [UInt8] = []
        var frames: [(offset: Int, length: Int, wireLength: Int, time: Timestamp)] = []
        var linkType = LinkType.ethernet
        do {
            var file = try CaptureFile.open(path: path)
            try file.forEachPacket { packet in
                frames.append((bytes.count, packet.bytes.count, packet.wireLength, packet.timestamp))
                bytes.append(contentsOf: packet.bytes)
                linkType = packet.linkType
                return .proceed
            }
        } catch {
            fatalError("cannot read \(path): \(error). Make it with coroner-gen (see the top of HotPath.swift).")
        }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 16)
        bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
        return LoadedPackets(storage: storage, frames: frames, linkType: linkType)
    }

    func bytes(_ i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage[frames[i].offset..<frames[i].offset + frames[i].length])
    }
}

nonisolated(unsafe) let packets = LoadedPackets.load()

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 50
    )

    // Decoding alone: must never allocate.
    Benchmark("decode (per 1000 packets)") { benchmark in
        var tcp = 0
        let n = packets.frames.count
        for _ in benchmark.scaledIterations {
            for i in 0..<n {
                if case .tcp = PacketDecoder.decode(
                    linkType: packets.linkType, bytes: packets.bytes(i), wireLength: packets.frames[i].wireLength)
                { tcp &+= 1 }
            }
        }
        blackHole(tcp)
    }

    // Decode + track the whole capture as `coroner analyze` does (no ladder rows, no event lists):
    // allocations here are per connection (retransmission episodes, reset records), not per packet;
    // divide by the connection count for the per-connection figure.
    Benchmark("decode + track (whole capture)", configuration: .init(scalingFactor: .one)) { benchmark in
        var configuration = TrackerConfiguration()
        configuration.recordsLadder = false
        configuration.recordsEvents = false
        for _ in benchmark.scaledIterations {
            var tracker = ConnectionTracker(configuration: configuration, expectedConcurrent: 4096)
            var finished = 0
            for i in 0..<packets.frames.count {
                if case .tcp(let summary) = PacketDecoder.decode(
                    linkType: packets.linkType, bytes: packets.bytes(i), wireLength: packets.frames[i].wireLength)
                {
                    tracker.process(summary, number: i + 1, time: packets.frames[i].time) { _ in finished += 1 }
                }
            }
            tracker.finishAll { _ in finished += 1 }
            blackHole(finished)
        }
    }
}
