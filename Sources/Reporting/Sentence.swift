/// A piece of text that `Words` writes, built from a string literal with interpolations: UTF-8 bytes
/// kept inside the value (no heap allocation up to `inlineCapacity` bytes; `Words` writes one sentence
/// at a time, and its sentences fit). `String` interpolation costs a `String` growth per fragment; the
/// JSON output writes a few hundred thousand sentences, so they are bytes from the start. The inline
/// bytes are set to zero and copied once per sentence, so they are not made larger than needed.
///
/// Literal parts are `StaticString`s; interpolations take `StaticString`, `String`, integers
/// (decimal) and other sentences. Longer text spills into an array, so any length is correct.
///
/// JSON escaping: the literals of `Words` hold no quote, backslash or control character (its source
/// has no escape sequences, which `WordsSourceTests` checks, and debug builds assert it for every
/// literal written), and neither do integers. Only an interpolated `String` can, so a sentence
/// without one is copied into the JSON as it is, not scanned.
struct Sentence: ExpressibleByStringInterpolation, StringInterpolationProtocol {
    typealias StringLiteralType = StaticString

    static let inlineCapacity = 256
    /// `inlineCapacity` bytes in one fixed-size value (32 × 8 bytes, contiguous). Not `InlineArray`:
    /// that needs macOS 26, and the package supports macOS 15.
    private var inline: SIMD32<UInt64>
    /// Bytes written (inline, or in `spill` once that is set).
    private(set) var count = 0
    /// Holds all the bytes once they outgrow `inline`.
    private var spill: [UInt8]?
    /// Whether a `String` was interpolated: only then may the text need JSON escapes.
    private(set) var mayNeedEscaping = false

    init(literalCapacity: Int, interpolationCount: Int) {
        inline = .zero
        assert(MemoryLayout.size(ofValue: inline) == Self.inlineCapacity)
    }

    init(stringLiteral value: StaticString) {
        self.init(literalCapacity: 0, interpolationCount: 0)
        appendLiteral(value)
    }

    init(stringInterpolation: Sentence) { self = stringInterpolation }

    @inline(__always)
    mutating func appendLiteral(_ literal: StaticString) {
        literal.withUTF8Buffer { append(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    mutating func appendInterpolation(_ text: StaticString) {
        text.withUTF8Buffer { append(UnsafeRawBufferPointer($0)) }
    }

    mutating func appendInterpolation(_ text: String) {
        mayNeedEscaping = true
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    mutating func appendInterpolation(_ other: consuming Sentence) {
        if other.mayNeedEscaping { mayNeedEscaping = true }
        other.withUTF8 { append($0) }
    }

    /// Decimal, as `"\(n)"` writes it.
    mutating func appendInterpolation<T: BinaryInteger>(_ value: T) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: DecimalDigits.maximumLength) { digits in
            let n = DecimalDigits.write(value, to: digits.baseAddress!)
            append(UnsafeRawBufferPointer(start: digits.baseAddress!, count: n))
        }
    }

    /// "2,000" (`Format.grouped`).
    mutating func appendInterpolation(grouped n: UInt64) { appendNumber { $0.grouped(n) } }

    /// "2,000 bytes", "48.8 KB" (`Format.bytes`).
    mutating func appendInterpolation(bytes n: UInt64) { appendNumber { $0.bytes(n) } }

    /// "340 ms", "2.5 s" (`Format.duration`).
    mutating func appendInterpolation(duration nanoseconds: Int64) { appendNumber { $0.duration(nanoseconds: nanoseconds) } }

    /// Numbers for people, in place. Their units are literals outside Words, so the sentence is
    /// scanned for escapes like one with a `String` in it.
    private mutating func appendNumber(_ write: (inout NumberText) -> Void) {
        mayNeedEscaping = true
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: NumberText.maximumLength) { buffer in
            var text = NumberText(buffer.baseAddress!)
            write(&text)
            append(UnsafeRawBufferPointer(start: buffer.baseAddress!, count: text.count))
        }
    }

    @inline(__always)
    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        if spill == nil && count &+ bytes.count <= Self.inlineCapacity {
            let at = count
            withUnsafeMutableBytes(of: &inline) { Bytes.copy(bytes.count, from: source, to: $0.baseAddress! + at) }
            count &+= bytes.count
            return
        }
        if spill == nil {
            let at = count
            spill = withUnsafeBytes(of: &inline) { Array($0[0..<at]) }
        }
        spill!.append(contentsOf: bytes)
        count &+= bytes.count
    }

    /// Lends the sentence's UTF-8 bytes. Mutating only so that the bytes are lent in place: a
    /// non-mutating method would copy all of `inline` to take its address.
    mutating func withUTF8<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        if let spill { return spill.withUnsafeBytes(body) }
        let count = count
        return withUnsafeBytes(of: &inline) { body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    var string: String {
        var copy = self
        return copy.withUTF8 { String(decoding: $0, as: UTF8.self) }
    }
}

/// Where `Words` writes: sentences, one after another. A `String` appends them as they are; a
/// `JSONWriter` escapes them into the JSON string it has open.
protocol TextSink: ~Copyable {
    /// Text that is one literal, taken as it is: no `Sentence` is built for it.
    mutating func write(_ text: StaticString)
    /// Disfavored so that a literal without interpolations picks `write(_: StaticString)`; a literal
    /// with interpolations can only be a `Sentence`.
    @_disfavoredOverload mutating func write(_ sentence: consuming Sentence)
}

extension String: TextSink {
    mutating func write(_ text: StaticString) { self += text.description }
    @_disfavoredOverload mutating func write(_ sentence: consuming Sentence) { self += sentence.string }
}

/// Decimal digits of an integer, written into bytes (`"\(n)"` without a `String`).
enum DecimalDigits {
    /// A sign and the 20 digits of `UInt64.max`.
    static let maximumLength = 21

    /// "00" to "99", two bytes each: one lookup per pair of digits instead of two divisions.
    static let pairs: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

    /// Writes `value` (0...99) as two digits.
    @inline(__always)
    static func writePair<T: BinaryInteger>(_ value: T, to out: UnsafeMutablePointer<UInt8>) {
        let pair = pairs.utf8Start + 2 &* Int(truncatingIfNeeded: value)
        out[0] = pair[0]
        out[1] = pair[1]
    }

    /// Writes `value` (0...999_999) as six digits, zero-padded: microseconds after a decimal point.
    @inline(__always)
    static func writeSix<T: BinaryInteger>(_ value: T, to out: UnsafeMutablePointer<UInt8>) {
        writePair(value / 10_000, to: out)
        writePair(value / 100 % 100, to: out + 2)
        writePair(value % 100, to: out + 4)
    }

    /// Writes `value` at `out` and returns the number of bytes written (at most `maximumLength`).
    @inline(__always)
    static func write<T: BinaryInteger>(_ value: T, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var magnitude = UInt64(value.magnitude)
        var at = 0
        if value < 0 {
            out[0] = 0x2D
            at = 1
        }
        // Digits counted first (by comparisons for the usual sizes: ports, packet numbers, counts),
        // then written from the last pair back.
        var digits: Int
        if magnitude < 100_000 {
            digits = magnitude < 100 ? (magnitude < 10 ? 1 : 2) : magnitude < 1000 ? 3 : magnitude < 10_000 ? 4 : 5
        } else {
            digits = 6
            var power: UInt64 = 1_000_000
            while digits < 20 && magnitude >= power {
                digits &+= 1
                power &*= 10
            }
        }
        var i = at &+ digits
        while magnitude >= 100 {
            let pair = magnitude % 100
            magnitude /= 100
            i &-= 2
            writePair(pair, to: out + i)
        }
        if magnitude >= 10 {
            writePair(magnitude, to: out + at)
        } else {
            out[at] = 0x30 &+ UInt8(truncatingIfNeeded: magnitude)
        }
        return at &+ digits
    }
}

/// Byte copies for the many short pieces of the output.
enum Bytes {
    /// Copies `n` bytes. Most pieces are short (keys, punctuation, small words): two (or four, for
    /// JSON keys up to 32 bytes) overlapping word copies instead of a call to memcpy.
    @inline(__always) static func copy(_ n: Int, from: UnsafeRawPointer, to: UnsafeMutableRawPointer) {
        if n > 16 && n <= 32 {
            // The first 16 bytes and the last 16 (overlapping when n < 32).
            let tail = n &- 16
            to.storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: 8, as: UInt64.self), toByteOffset: 8, as: UInt64.self)
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: tail, as: UInt64.self), toByteOffset: tail, as: UInt64.self)
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: tail &+ 8, as: UInt64.self), toByteOffset: tail &+ 8, as: UInt64.self)
        } else if n >= 8 && n <= 16 {
            to.storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self), toByteOffset: n &- 8, as: UInt64.self)
        } else if n >= 4 && n < 8 {
            to.storeBytes(of: from.loadUnaligned(as: UInt32.self), as: UInt32.self)
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self), toByteOffset: n &- 4, as: UInt32.self)
        } else if n < 4 {
            for i in 0..<n { to.storeBytes(of: from.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self) }
        } else {
            to.copyMemory(from: from, byteCount: n)
        }
    }
}
