import CPrefetch

/// The tracker's connection slots, in fixed pages of `pageSize`: growing adds a page instead of
/// doubling and copying one big array, so memory follows the number of slots in use (a doubling
/// array of 1.4 KB connections wastes up to half and needs old + new during the copy).
///
/// Each slot also has its "not before" time (`ConnectionTracker`'s expiry bound) in a dense array the
/// sweep reads without touching the connections, and whether it holds a connection: a free slot's
/// memory is uninitialized, so handing a connection on is one move, with nothing written back.
///
/// Slots are reached through plain pointers: an access is a page lookup and an offset, with no
/// uniqueness check and no `endMutation` (nested arrays cost three runtime calls per packet). Value
/// semantics are kept by hand: the storage is shared between copies of a table until one of them
/// calls `makeUnique()`, which every public mutating entry point of `ConnectionTracker` does first.
@usableFromInline struct SlotTable {
    @usableFromInline static let pageShift = 10
    @usableFromInline static let pageSize = 1 << pageShift

    /// Owns the memory: frees it when the last table sharing it goes. The table reads its own copies
    /// of the pointers below (a class's stored properties would cost a dynamic exclusivity check on
    /// every access); `append` and `makeUnique` keep the two in step.
    final class Storage {
        /// Pages of `pageSize` connections; slot `i` below `count` is initialized when `occupied[i]`.
        var pages: ContiguousArray<UnsafeMutablePointer<Connection>> = []
        var count = 0
        /// `count` deadlines (ns) and occupied flags, in `capacity`.
        var deadlines: UnsafeMutablePointer<Int64>
        var occupied: UnsafeMutablePointer<Bool>
        var capacity: Int

        init() {
            capacity = 64
            deadlines = .allocate(capacity: capacity)
            occupied = .allocate(capacity: capacity)
        }

        deinit {
            for i in 0..<count where occupied[i] { slot(i).deinitialize(count: 1) }
            for page in pages { page.deallocate() }
            deadlines.deallocate()
            occupied.deallocate()
        }

        @inline(__always) func slot(_ i: Int) -> UnsafeMutablePointer<Connection> {
            pages[i &>> SlotTable.pageShift] + (i & (SlotTable.pageSize - 1))
        }

        /// An independent copy (a copied tracker about to change).
        func copy() -> Storage {
            let copy = Storage()
            for i in 0..<count {
                copy.appendSlot(deadline: deadlines[i])
                if occupied[i] {
                    copy.slot(i).initialize(to: slot(i).pointee)
                    copy.occupied[i] = true
                }
            }
            return copy
        }

        /// Adds a free slot.
        func appendSlot(deadline: Int64) {
            if count & (SlotTable.pageSize - 1) == 0 { pages.append(.allocate(capacity: SlotTable.pageSize)) }
            if count == capacity {
                let grownDeadlines = UnsafeMutablePointer<Int64>.allocate(capacity: capacity * 2)
                grownDeadlines.initialize(from: deadlines, count: count)
                deadlines.deallocate()
                deadlines = grownDeadlines
                let grownOccupied = UnsafeMutablePointer<Bool>.allocate(capacity: capacity * 2)
                grownOccupied.initialize(from: occupied, count: count)
                occupied.deallocate()
                occupied = grownOccupied
                capacity *= 2
            }
            deadlines[count] = deadline
            occupied[count] = false
            count += 1
        }
    }

    private var storage = Storage()
    // The storage's pointers and count, as of the last `appendSlot` or `makeUnique`.
    @usableFromInline private(set) var pages: ContiguousArray<UnsafeMutablePointer<Connection>> = []
    private var deadlines: UnsafeMutablePointer<Int64>
    private var occupied: UnsafeMutablePointer<Bool>
    @usableFromInline private(set) var count = 0
    /// `Connection.hotRanges`, kept here so the look-ahead reads them with the pages.
    @usableFromInline let hotFront: Int
    @usableFromInline let hotServerOffset: Int
    @usableFromInline let hotServerBytes: Int

    init() {
        let hot = Connection.hotRanges
        hotFront = hot.front
        hotServerOffset = hot.server.lowerBound
        hotServerBytes = hot.server.count
        deadlines = storage.deadlines
        occupied = storage.occupied
    }

    var indices: Range<Int> { 0..<count }

    /// Gives this table storage of its own if a copy of it shares the current one.
    @inline(__always) mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy()
            refresh()
        }
    }

    private mutating func refresh() {
        pages = storage.pages
        deadlines = storage.deadlines
        occupied = storage.occupied
        count = storage.count
    }

    @inline(__always) private func address(_ i: Int) -> UnsafeMutablePointer<Connection> {
        precondition(i >= 0 && i < count, "slot out of range")
        assert(occupied[i], "a free slot has no connection")
        return pages[i &>> Self.pageShift] + (i & (Self.pageSize - 1))
    }

    /// Where slot `i` is, whether it holds a connection or not (for prefetches, which never fault).
    @inlinable @inline(__always) func slotAddress(_ i: Int) -> UnsafeRawPointer {
        pages.withUnsafeBufferPointer { UnsafeRawPointer($0[i &>> Self.pageShift] + (i & (Self.pageSize - 1))) }
    }

    /// Asks the cache for the parts of the connection in slot `i` that the usual packet touches
    /// (`Connection.hotRanges`), whether the slot holds one or not.
    @inlinable @inline(__always) func prefetch(_ i: Int) {
        guard i >= 0 && i < count else { return }
        let connection = slotAddress(i)
        coroner_prefetch_range(connection, hotFront)
        coroner_prefetch_range(connection + hotServerOffset, hotServerBytes)
    }

    /// Asks the cache for all of the connection in slot `i` (one about to be moved out whole).
    @inline(__always) func prefetchWhole(_ i: Int) {
        guard i >= 0 && i < count else { return }
        coroner_prefetch_range(slotAddress(i), MemoryLayout<Connection>.size)
    }

    /// The connection in slot `i`, which must hold one (`isOccupied`).
    subscript(i: Int) -> Connection {
        @inline(__always) unsafeAddress { UnsafePointer(address(i)) }
        @inline(__always) unsafeMutableAddress { address(i) }
    }

    @inline(__always) func isOccupied(_ i: Int) -> Bool {
        precondition(i >= 0 && i < count, "slot out of range")
        return occupied[i]
    }

    /// The slot's "not before" time (ns): `Int64.max` for a free slot.
    @inline(__always) func notBefore(_ i: Int) -> Int64 {
        precondition(i >= 0 && i < count, "slot out of range")
        return deadlines[i]
    }

    @inline(__always) mutating func setNotBefore(_ i: Int, _ time: Int64) {
        precondition(i >= 0 && i < count, "slot out of range")
        deadlines[i] = time
    }

    /// Hands the connection in slot `i` on where it is; the slot is free once the receiver has moved it out.
    mutating func handOver(_ i: Int) -> FinishedSlot {
        let slot = address(i)
        occupied[i] = false
        return FinishedSlot(movingFrom: slot)
    }

    /// Fills the free slot `i` with what `make` returns, built in place (a connection passed in would
    /// be one more 1.4 KB copy).
    @inline(__always) mutating func put(_ i: Int, _ make: () -> Connection) {
        precondition(i >= 0 && i < count && !occupied[i], "put into a slot that is not free")
        (pages[i &>> Self.pageShift] + (i & (Self.pageSize - 1))).initialize(to: make())
        occupied[i] = true
    }

    /// Adds a free slot, its "not before" time `Int64.max`, and returns its index.
    mutating func appendFree() -> Int {
        storage.appendSlot(deadline: .max)
        refresh()
        return count - 1
    }
}
