/// The tracker's connection slots, in fixed pages of `pageSize`: growing adds a page instead of
/// doubling and copying one big array, so memory follows the number of slots in use (a doubling
/// array of 1.4 KB connections wastes up to half and needs old + new during the copy).
struct SlotTable {
    static let pageShift = 10
    static let pageSize = 1 << pageShift
    private var pages: ContiguousArray<ContiguousArray<Connection>> = []
    private(set) var count = 0

    var indices: Range<Int> { 0..<count }

    subscript(i: Int) -> Connection {
        @inline(__always) get { pages[i &>> Self.pageShift][i & (Self.pageSize - 1)] }
        @inline(__always) _modify { yield &pages[i &>> Self.pageShift][i & (Self.pageSize - 1)] }
    }

    /// Moves the connection in slot `i` out, leaving a vacant one in its place: one move and one
    /// initialisation, where `swap` with a local would copy the 1.4 KB record three times.
    mutating func take(_ i: Int) -> Connection {
        pages[i &>> Self.pageShift].withUnsafeMutableBufferPointer { page in
            let slot = page.baseAddress! + (i & (Self.pageSize - 1))
            let connection = slot.move()
            slot.initialize(to: .vacant)
            return connection
        }
    }

    /// Moves `connection` into slot `i` (a free slot holding a vacant connection), without a copy.
    mutating func put(_ i: Int, _ connection: consuming Connection) {
        // Through an Optional the closure moves it (`take`); capturing `connection` itself would copy it.
        var incoming: Connection? = consume connection
        pages[i &>> Self.pageShift].withUnsafeMutableBufferPointer { page in
            let slot = page.baseAddress! + (i & (Self.pageSize - 1))
            slot.deinitialize(count: 1)
            slot.initialize(to: incoming.take()!)
        }
    }

    mutating func append(_ connection: consuming Connection) {
        if count & (Self.pageSize - 1) == 0 {
            var page = ContiguousArray<Connection>()
            page.reserveCapacity(Self.pageSize)
            pages.append(page)
        }
        pages[count &>> Self.pageShift].append(connection)
        count += 1
    }
}
