/// A JSON text being built as UTF-8 bytes: appends without `String` interpolation, so writing a
/// connection costs a few passes over its bytes rather than a `String` growth per fragment.
/// Produces exactly what `Format.jsonString` and `"\(n)"` would.
struct JSONWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 1 << 16) { bytes.reserveCapacity(capacity) }

    @inline(__always) mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Text that needs no escaping (numbers formatted elsewhere, keys).
    mutating func raw(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func int<T: BinaryInteger>(_ value: T) {
        if value == 0 {
            bytes.append(0x30)
            return
        }
        var magnitude = UInt64(value.magnitude)
        if value < 0 { bytes.append(0x2D) }
        // Up to 20 digits, written backwards into a small stack buffer.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var i = 20
            while magnitude > 0 {
                i -= 1
                digits[i] = 0x30 &+ UInt8(magnitude % 10)
                magnitude /= 10
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i..<20]))
        }
    }

    mutating func bool(_ value: Bool) { value ? raw("true") : raw("false") }

    /// A JSON string literal with the escapes of `Format.jsonString`.
    mutating func string(_ s: String) {
        var s = s
        bytes.append(0x22)
        s.withUTF8 { utf8 in
            var start = 0
            for i in 0..<utf8.count {
                let b = utf8[i]
                guard b < 0x20 || b == 0x22 || b == 0x5C else { continue }
                if start < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i])) }
                start = i + 1
                switch b {
                case 0x22: raw("\\\"")
                case 0x5C: raw("\\\\")
                case 0x0A: raw("\\n")
                case 0x0D: raw("\\r")
                case 0x09: raw("\\t")
                default:
                    let hex: StaticString = "0123456789abcdef"
                    raw("\\u00")
                    hex.withUTF8Buffer { h in
                        bytes.append(h[Int(b >> 4)])
                        bytes.append(h[Int(b & 0xf)])
                    }
                }
            }
            if start < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<utf8.count])) }
        }
        bytes.append(0x22)
    }

    mutating func stringOrNull(_ s: String?) {
        if let s { string(s) } else { raw("null") }
    }

    /// The bytes as a `String` (they are valid UTF-8: every piece came from a `String` or ASCII).
    var text: String { String(decoding: bytes, as: UTF8.self) }
}
