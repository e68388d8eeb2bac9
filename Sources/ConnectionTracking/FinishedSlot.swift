/// A finished connection still where the tracker kept it, handed on without copying it (a connection
/// is 1.3 KB; handed on by value it was copied into a local, then into each wrapper on its way). Read
/// its fields in place (`connection.field`), then move it out once (`take()` or `move(to:)`); one
/// dropped unmoved is destroyed.
///
/// Valid only during the call that receives it: the tracker reuses the slot's memory afterwards, so a
/// receiver consumes it before returning and never keeps it. Passing `connection` whole to a function
/// copies it (a read through a pointer is not a borrow): read fields, or `take()` it first.
@frozen public struct FinishedSlot: ~Copyable {
    @usableFromInline let pointer: UnsafeMutablePointer<Connection>

    /// `pointer` holds an initialized connection that no one else will destroy or move.
    @inlinable init(movingFrom pointer: UnsafeMutablePointer<Connection>) {
        self.pointer = pointer
    }

    /// The connection, read where it is.
    @inlinable public var connection: Connection {
        @inline(__always) unsafeAddress { UnsafePointer(pointer) }
    }

    /// Moves the connection out as a value.
    @inlinable @inline(__always) public consuming func take() -> Connection {
        let connection = pointer.move()
        discard self
        return connection
    }

    /// Moves the connection into `destination`'s uninitialized memory: one copy of its bytes.
    @inlinable @inline(__always) public consuming func move(to destination: UnsafeMutablePointer<Connection>) {
        destination.moveInitialize(from: pointer, count: 1)
        discard self
    }

    deinit { pointer.deinitialize(count: 1) }
}
