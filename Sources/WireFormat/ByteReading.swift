extension UnsafeRawBufferPointer {
    /// Reads a big-endian integer at `offset` without alignment requirements.
    ///
    /// The caller guarantees `offset + MemoryLayout<T>.size <= count`; the validating initializers
    /// of the header views check this once so that accessors cannot go out of bounds.
    @usableFromInline @inline(__always)
    func bigEndian<T: FixedWidthInteger>(at offset: Int, as: T.Type = T.self) -> T {
        T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Reads a little-endian integer at `offset` without alignment requirements (same contract).
    @usableFromInline @inline(__always)
    func littleEndian<T: FixedWidthInteger>(at offset: Int, as: T.Type = T.self) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// The bytes from `offset` to the end, or an empty buffer when `offset` is past the end.
    @usableFromInline @inline(__always)
    func tail(from offset: Int) -> UnsafeRawBufferPointer {
        guard offset < count, let base = baseAddress else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + offset, count: count - offset)
    }

    /// The first `length` bytes from `offset`, clamped to what exists.
    @usableFromInline @inline(__always)
    func slice(from offset: Int, length: Int) -> UnsafeRawBufferPointer {
        guard offset < count, length > 0, let base = baseAddress else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        return UnsafeRawBufferPointer(start: base + offset, count: Swift.min(length, count - offset))
    }
}

extension UnsafeRawPointer {
    /// Reads a big-endian integer `offset` bytes in, without alignment requirements. Unchecked: only
    /// for the decoder's fast path, which checks the frame's length once before its first read.
    @inlinable @inline(__always)
    func bigEndian<T: FixedWidthInteger>(at offset: Int, as: T.Type = T.self) -> T {
        T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
