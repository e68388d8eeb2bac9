// Reading ahead: libpcap reads the file, and each packet is decoded, on a thread of its own while the
// caller tracks. Reading (`pcap_dispatch`, two stdio reads per record) and decoding are about a third of
// a file analysis; on their own thread they overlap with tracking instead of adding to it. What the
// reading thread makes of each packet (a `Record`: for the analysis a `DecodedFrame`, a couple of
// hundred bytes of plain data, so no frame bytes are copied) travels in a few reused chunks: one
// hand-over per chunk, not per packet, no allocation in steady state, file order kept. Records stay
// in their chunk's slots: the reading thread fills a slot in place and the caller reads it there, so a
// record is never built aside and copied in, nor copied out to be read.

import CPrefetch
import Dispatch
import PacketCapture
import WireFormat

/// How a read-ahead pass ended.
public struct ReadAheadResult: Sendable {
    /// The file's link types (as `CaptureFile.linkTypes` after reading).
    public var linkTypes: [LinkType]
    /// Why reading stopped early (a damaged or cut-off file), nil when the whole file was read.
    public var failure: CaptureError?
}

/// What `ReadAhead` makes of each packet on its reading thread, in place in a slot of a chunk. A
/// protocol rather than a closure so that `fill` is inlined into the reading loop.
public protocol ReadAheadRecord {
    /// A blank record: what every slot holds before its first packet.
    init()
    /// Overwrites this record with what it makes of `packet`. It must set everything a reader uses:
    /// the slot holds an older packet's record.
    mutating func fill(from packet: CapturedPacket)
}

public enum ReadAhead {
    /// Reads `file` on another thread, filling a `Record` from each packet there, and lends the records
    /// to `body` on this thread in file order, up to `chunks` chunks of `recordsPerChunk` behind: a
    /// pointer to the record in its slot, valid during the call (a value would be copied out of the
    /// slot to be passed). Every record made before a failure is delivered; the failure is in the
    /// result. Consumes the file (it moves to the reading thread and is closed there).
    public static func forEachRecord<Record: ReadAheadRecord>(
        of file: consuming CaptureFile, chunks: Int = 4, recordsPerChunk: Int = 4096,
        lookahead: LookaheadDistances? = nil,
        ahead: (UnsafePointer<Record>, LookaheadStage) -> Void = { _, _ in },
        _ body: (UnsafePointer<Record>) -> Void
    ) -> ReadAheadResult {
        let ring = Ring<Record>(chunks: max(2, chunks), recordsPerChunk: max(1, recordsPerChunk))
        let box = FileBox(consume file)
        ring.reader.async { ring.produce(from: box) }
        let result = ring.consume(lookahead: lookahead, ahead: ahead, body)
        ring.readerDone.wait()  // the file is closed and the reader has let go of the ring
        return result
    }
}

/// How far ahead of `body` `forEachRecord` shows records to `ahead` (within a chunk): `.far` records
/// `far` ahead, `.near` records `near` ahead, so the caller can prefetch what `body` will touch. The
/// records themselves, written by the reading thread on another core, are asked for `records` ahead
/// (0: not), before `ahead` reads them.
public struct LookaheadDistances: Sendable {
    public var records: Int
    public var far: Int
    public var near: Int
    public init(records: Int = 0, far: Int, near: Int) {
        self.records = records
        self.far = far
        self.near = near
    }
}

public enum LookaheadStage { case far, near }

extension ReadAhead {
    /// `forEachRecord` without a second thread (one core: a hand-over would only add work): the records
    /// are made on this thread, in batches of `batch` in one reused buffer, and lent to `body` a batch at
    /// a time, so `ahead` can still look ahead within a batch. Every record made before a failure is lent
    /// before the failure is thrown.
    public static func forEachRecordInline<Record: ReadAheadRecord>(
        of file: inout CaptureFile, batch: Int = 256, lookahead: LookaheadDistances? = nil,
        ahead: (UnsafePointer<Record>, LookaheadStage) -> Void = { _, _ in },
        _ body: (UnsafePointer<Record>) -> Void
    ) throws(CaptureError) {
        let capacity = max(1, batch)
        let records = UnsafeMutablePointer<Record>.allocate(capacity: capacity)
        records.initialize(repeating: Record(), count: capacity)
        defer {
            records.deinitialize(count: capacity)
            records.deallocate()
        }
        var count = 0
        var failure: CaptureError? = nil
        do throws(CaptureError) {
            try file.forEachPacket { packet in
                records[count].fill(from: packet)
                count &+= 1
                if count == capacity {
                    lend(records, count: count, lookahead: lookahead, ahead: ahead, body)
                    count = 0
                }
                return .proceed
            }
        } catch {
            failure = error
        }
        lend(records, count: count, lookahead: lookahead, ahead: ahead, body)
        if let failure { throw failure }
    }

    /// Lends `count` records from `records` to `body` in order; with `lookahead`, first to `ahead` at its
    /// distances (within these records), and the records themselves are asked for from the cache ahead.
    @inline(__always)
    static func lend<Record>(
        _ records: UnsafeMutablePointer<Record>, count: Int, lookahead: LookaheadDistances?,
        ahead: (UnsafePointer<Record>, LookaheadStage) -> Void, _ body: (UnsafePointer<Record>) -> Void
    ) {
        guard let lookahead else {
            for i in 0..<count { body(records + i) }
            return
        }
        let far = lookahead.far, near = lookahead.near, early = lookahead.records
        if early > 0 { prefetch(records, count: min(early, count)) }
        for i in 0..<min(far, count) { ahead(records + i, .far) }
        for i in 0..<min(near, count) { ahead(records + i, .near) }
        for i in 0..<count {
            if early > 0 && i &+ early < count { prefetch(records + (i &+ early), count: 1) }
            if i &+ far < count { ahead(records + (i &+ far), .far) }
            if i &+ near < count { ahead(records + (i &+ near), .near) }
            body(records + i)
        }
    }

    /// Asks the cache for `count` records from `first`.
    @inline(__always) static func prefetch<Record>(_ first: UnsafeMutablePointer<Record>, count: Int) {
        coroner_prefetch_range(first, count &* MemoryLayout<Record>.stride)
    }
}

/// Moves the (non-copyable) file into the reading thread's closure.
private final class FileBox: @unchecked Sendable {
    var file: CaptureFile?
    init(_ file: consuming CaptureFile) { self.file = consume file }
}

/// Records of consecutive packets: `count` slots filled of `capacity`, all initialized (to the blank
/// record at first) for the chunk's life.
private final class Chunk<Record: ReadAheadRecord> {
    let records: UnsafeMutablePointer<Record>
    let capacity: Int
    var count = 0
    /// Set on the last chunk of the file.
    var isLast = false
    var result = ReadAheadResult(linkTypes: [], failure: nil)

    init(capacity: Int) {
        self.capacity = capacity
        records = .allocate(capacity: capacity)
        records.initialize(repeating: Record(), count: capacity)
    }

    deinit {
        records.deinitialize(count: capacity)
        records.deallocate()
    }
}

/// A single-producer, single-consumer ring of chunks: the reader fills chunk i while the caller works
/// through chunk i - 1. `free` counts chunks the reader may fill, `filled` those ready for the caller;
/// the semaphores also order the memory accesses (a chunk is touched by one side at a time).
private final class Ring<Record: ReadAheadRecord>: @unchecked Sendable {
    let chunks: [Chunk<Record>]
    let free = DispatchSemaphore(value: 0)
    let filled = DispatchSemaphore(value: 0)
    let readerDone = DispatchSemaphore(value: 0)
    let reader = DispatchQueue(label: "coroner.read-ahead")

    init(chunks count: Int, recordsPerChunk: Int) {
        chunks = (0..<count).map { _ in Chunk<Record>(capacity: recordsPerChunk) }
        // Counted up here rather than created at `count`: libdispatch traps when a semaphore is freed
        // below its initial value, and the last chunks are never handed back.
        for _ in 0..<count { free.signal() }
    }

    /// The reading thread.
    func produce(from box: FileBox) {
        var file = box.file.take()!
        var index = 0
        free.wait()
        // The chunk being filled, as plain pointers (a class reference would be retained per packet).
        var records = chunks[0].records
        var capacity = chunks[0].capacity
        var count = 0
        var failure: CaptureError? = nil
        do {
            try file.forEachPacket { packet in
                if count == capacity {
                    chunks[index].count = count
                    filled.signal()
                    index = (index + 1) % chunks.count
                    free.wait()
                    records = chunks[index].records
                    capacity = chunks[index].capacity
                    count = 0
                }
                // Counted before filling: nothing is left to do after the fill, which may call out.
                let slot = records + count
                count &+= 1  // below `capacity`
                slot.pointee.fill(from: packet)
                return .proceed
            }
        } catch {
            failure = error
        }
        let last = chunks[index]
        last.count = count
        last.isLast = true
        last.result = ReadAheadResult(linkTypes: file.linkTypes, failure: failure)
        _ = consume file  // closed before the caller hears the reader is done
        filled.signal()
        readerDone.signal()
    }

    /// The caller's thread: every record, in order, until the last chunk.
    func consume(lookahead: LookaheadDistances?, ahead: (UnsafePointer<Record>, LookaheadStage) -> Void,
                 _ body: (UnsafePointer<Record>) -> Void) -> ReadAheadResult {
        var index = 0
        while true {
            filled.wait()
            let chunk = chunks[index]
            let records = chunk.records
            let count = chunk.count
            ReadAhead.lend(records, count: count, lookahead: lookahead, ahead: ahead, body)
            if chunk.isLast {
                chunk.count = 0
                return chunk.result
            }
            chunk.count = 0
            free.signal()
            index = (index + 1) % chunks.count
        }
    }
}
