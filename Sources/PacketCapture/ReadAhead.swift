// Reading ahead: libpcap reads the file on a thread of its own while the caller decodes and tracks.
// libpcap's `pcap_next_ex` (two stdio reads per record) is about a sixth of a file analysis; on its
// own thread it overlaps with the rest instead of adding to it. The frames travel in a few reused
// chunks (one hand-over per chunk, not per packet; no allocation in steady state), in file order.

import Dispatch
import WireFormat

/// How a read-ahead pass ended.
public struct ReadAheadResult: Sendable {
    /// The file's link types (as `CaptureFile.linkTypes` after reading).
    public var linkTypes: [LinkType]
    /// Why reading stopped early (a damaged or cut-off file), nil when the whole file was read.
    public var failure: CaptureError?
}

extension CaptureFile {
    /// Lends every packet to `body` in file order, as `forEachPacket` does, while the file is read on
    /// another thread up to `chunks` chunks of about `chunkBytes` ahead. Packets delivered before a
    /// failure are all delivered; the failure is in the result. Consumes the file (it moves to the
    /// reading thread and is closed there).
    public consuming func forEachPacketReadingAhead(
        chunks: Int = 4, chunkBytes: Int = 1 << 19, _ body: (CapturedPacket) -> Void
    ) -> ReadAheadResult {
        let ring = ReadAheadRing(chunks: max(2, chunks), chunkBytes: max(4096, chunkBytes))
        let box = FileBox(consume self)
        ring.reader.async { ring.produce(from: box) }
        let result = ring.consume(body)
        ring.readerDone.wait()  // the file is closed and the reader has let go of the ring
        return result
    }
}

/// Moves the (non-copyable) file into the reading thread's closure.
private final class FileBox: @unchecked Sendable {
    var file: CaptureFile?
    init(_ file: consuming CaptureFile) { self.file = consume file }
}

/// Where one frame lies in its chunk, with the packet's other fields.
private struct Frame {
    var offset: Int
    var length: Int
    var wireLength: Int
    var number: Int
    var timestamp: Timestamp
    var linkType: LinkType
    var fileOffset: Int64
}

/// Frames of consecutive packets, copied out of libpcap's buffer into one block of bytes. The reader
/// fills it through a `ChunkWriter` (plain pointers: no reference counting per packet) and commits.
private final class PacketChunk {
    static let maximumFrames = 8192
    var storage: UnsafeMutableRawPointer
    var capacity: Int
    let normalCapacity: Int
    let frames = UnsafeMutablePointer<Frame>.allocate(capacity: maximumFrames)
    var count = 0
    /// Set on the last chunk of the file.
    var isLast = false
    var result = ReadAheadResult(linkTypes: [], failure: nil)

    init(bytes: Int) {
        capacity = bytes
        normalCapacity = bytes
        storage = .allocate(byteCount: bytes, alignment: 16)
    }

    deinit {
        storage.deallocate()
        frames.deallocate()
    }

    /// An empty writer over this chunk's memory (memory grown for a huge frame is given back first).
    func writer() -> ChunkWriter {
        if capacity > normalCapacity {
            storage.deallocate()
            capacity = normalCapacity
            storage = .allocate(byteCount: capacity, alignment: 16)
        }
        count = 0
        return ChunkWriter(storage: storage, capacity: capacity, frames: frames)
    }

    /// Takes what `writer` wrote.
    func commit(_ writer: ChunkWriter) {
        storage = writer.storage
        capacity = writer.capacity
        count = writer.count
    }

    func packet(_ i: Int) -> CapturedPacket {
        let frame = frames[i]
        return CapturedPacket(
            number: frame.number, timestamp: frame.timestamp,
            bytes: UnsafeRawBufferPointer(start: storage + frame.offset, count: frame.length),
            wireLength: frame.wireLength, linkType: frame.linkType, fileOffset: frame.fileOffset)
    }
}

private struct ChunkWriter {
    var storage: UnsafeMutableRawPointer
    var capacity: Int
    let frames: UnsafeMutablePointer<Frame>
    var used = 0
    var count = 0

    init(storage: UnsafeMutableRawPointer, capacity: Int, frames: UnsafeMutablePointer<Frame>) {
        self.storage = storage
        self.capacity = capacity
        self.frames = frames
    }

    /// Copies `packet` in; false when the chunk is full (an empty chunk grows to take a huge frame).
    @inline(__always) mutating func append(_ packet: CapturedPacket) -> Bool {
        let length = packet.bytes.count
        if count == PacketChunk.maximumFrames || used + length > capacity {
            guard count == 0 else { return false }
            storage.deallocate()
            capacity = length
            storage = .allocate(byteCount: length, alignment: 16)
        }
        if let source = packet.bytes.baseAddress, length > 0 {
            (storage + used).copyMemory(from: source, byteCount: length)
        }
        (frames + count).initialize(to: Frame(
            offset: used, length: length, wireLength: packet.wireLength, number: packet.number,
            timestamp: packet.timestamp, linkType: packet.linkType, fileOffset: packet.fileOffset))
        used += (length + 15) & ~15  // each frame 16-byte aligned, as in libpcap's buffer
        count += 1
        return true
    }
}

/// A single-producer, single-consumer ring of chunks: the reader fills chunk i while the caller
/// works through chunk i - 1. `free` counts chunks the reader may fill, `filled` those ready for the
/// caller; the semaphores also order the memory accesses (a chunk is touched by one side at a time).
private final class ReadAheadRing: @unchecked Sendable {
    let chunks: [PacketChunk]
    let free = DispatchSemaphore(value: 0)
    let filled = DispatchSemaphore(value: 0)
    let readerDone = DispatchSemaphore(value: 0)
    let reader = DispatchQueue(label: "coroner.read-ahead")

    init(chunks count: Int, chunkBytes: Int) {
        chunks = (0..<count).map { _ in PacketChunk(bytes: chunkBytes) }
        // Counted up here rather than created at `count`: libdispatch traps when a semaphore is freed
        // below its initial value, and the last chunks are never handed back.
        for _ in 0..<count { free.signal() }
    }

    /// The reading thread.
    func produce(from box: FileBox) {
        var file = box.file.take()!
        var index = 0
        free.wait()
        var writer = chunks[0].writer()
        var failure: CaptureError? = nil
        do {
            try file.forEachPacket { packet in
                if !writer.append(packet) {
                    chunks[index].commit(writer)
                    filled.signal()
                    index = (index + 1) % chunks.count
                    free.wait()
                    writer = chunks[index].writer()
                    _ = writer.append(packet)  // always fits an empty chunk
                }
                return .proceed
            }
        } catch {
            failure = error
        }
        let last = chunks[index]
        last.commit(writer)
        last.isLast = true
        last.result = ReadAheadResult(linkTypes: file.linkTypes, failure: failure)
        _ = consume file  // closed before the caller hears the reader is done
        filled.signal()
        readerDone.signal()
    }

    /// The caller's thread: every packet, in order, until the last chunk.
    func consume(_ body: (CapturedPacket) -> Void) -> ReadAheadResult {
        var index = 0
        while true {
            filled.wait()
            let chunk = chunks[index]
            for i in 0..<chunk.count { body(chunk.packet(i)) }
            if chunk.isLast { return chunk.result }
            free.signal()
            index = (index + 1) % chunks.count
        }
    }
}
