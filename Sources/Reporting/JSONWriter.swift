import WireFormat

/// A JSON text being built as UTF-8 bytes: appends without `String` interpolation, so writing a
/// connection costs a few copies of its bytes rather than a `String` growth per fragment. The writer
/// owns its buffer (allocated here, freed in `deinit`) and cannot be copied, so an append needs no
/// uniqueness check: a bounds test and a copy. Numbers come out as `"\(n)"` would;
/// `Format.jsonString` is `string(_:)`. The writes a connection makes a dozen of each (strings,
/// integers, timestamps) are inlined: for those short pieces the call cost as much as the work.
struct JSONWriter: ~Copyable {
    /// `capacity` bytes, the first `count` written.
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes written.
    private(set) var count = 0
    /// The day of the last timestamp written and its "YYYY-MM-DD" bytes: a report's timestamps
    /// mostly fall on one day, so the calendar arithmetic runs once per day, not per timestamp.
    private var lastDay = Int64.min
    private var lastDate: (UInt64, UInt16) = (0, 0)

    init(capacity: Int = 1 << 16) {
        self.capacity = max(64, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    var isEmpty: Bool { count == 0 }

    /// Forgets the text, keeps the storage.
    mutating func removeAll() { count = 0 }

    /// Makes room for `n` more bytes and returns where they go.
    @inline(__always) private mutating func reserve(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        if count &+ n > capacity { grow(to: count + n) }
        return base + count
    }

    private mutating func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.initialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always) private mutating func append(_ source: UnsafeRawBufferPointer) {
        guard let from = source.baseAddress else { return }
        let n = source.count
        Bytes.copy(n, from: from, to: UnsafeMutableRawPointer(reserve(n)))
        count &+= n
    }

    @inline(__always) private mutating func append(_ byte: UInt8) {
        reserve(1).pointee = byte
        count &+= 1
    }

    @inline(__always) mutating func raw(_ s: StaticString) {
        append(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// Text that needs no escaping (numbers or objects formatted elsewhere). Keys and punctuation go
    /// through `raw(StaticString)`: a literal would pick a `String` overload of the same name.
    mutating func unescaped(_ s: String) {
        var s = s
        s.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    mutating func int<T: BinaryInteger>(_ value: T) {
        count &+= DecimalDigits.write(value, to: reserve(DecimalDigits.maximumLength))
    }

    mutating func bool(_ value: Bool) { value ? raw("true") : raw("false") }

    /// A JSON string of `Format.rfc3339(t)`, written in place.
    @inline(__always)
    mutating func timestamp(_ t: Timestamp) {
        writeTimestamp(t, at: reserve(29))
        count &+= 29
    }

    /// The 29 bytes of `timestamp(t)` at `to` (room made by the caller; `count` not moved).
    @inline(__always)
    private mutating func writeTimestamp(_ t: Timestamp, at to: UnsafeMutablePointer<UInt8>) {
        to[0] = 0x22
        let (days, second, nanoseconds) = Format.civilParts(t)
        let date = UnsafeMutableRawPointer(to + 1)
        if days == lastDay {
            date.storeBytes(of: lastDate.0, as: UInt64.self)
            date.storeBytes(of: lastDate.1, toByteOffset: 8, as: UInt16.self)
        } else {
            Format.date(days: days, into: to + 1)
            lastDay = days
            lastDate = (date.loadUnaligned(as: UInt64.self), date.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
        }
        Format.time(second: second, nanoseconds: nanoseconds, into: to + 11)
        to[28] = 0x22
    }

    /// An address as a JSON string, written in place (its text never needs escaping).
    mutating func address(_ ip: IPAddress) {
        count &+= Self.writeAddress(ip, at: reserve(IPAddress.maximumTextLength + 2))
    }

    @inline(__always)
    private static func writeAddress(_ ip: IPAddress, at to: UnsafeMutablePointer<UInt8>) -> Int {
        to[0] = 0x22
        let length = ip.isIPv6 ? ip.writeText(to: to + 1) : writeDotted(ip.ipv4Value, at: to + 1)
        to[1 + length] = 0x22
        return length + 2
    }

    /// An IPv4 address as `IPAddress.writeText` spells it ("10.0.0.1"), an octet per table lookup: two
    /// addresses per connection, and the general writer's digit arithmetic was a twentieth of the
    /// output thread's work. Writes up to three bytes past the text (room the caller has made).
    @inline(__always)
    private static func writeDotted(_ v: UInt32, at to: UnsafeMutablePointer<UInt8>) -> Int {
        let table = OctetText.table
        var at = 0
        for shift in [24, 16, 8] as [UInt32] {
            let entry = table[Int(truncatingIfNeeded: v >> shift & 0xff)]
            UnsafeMutableRawPointer(to + at).storeBytes(of: entry, as: UInt32.self)
            at &+= Int(truncatingIfNeeded: entry >> 24)
            to[at] = 0x2E
            at &+= 1
        }
        let entry = table[Int(truncatingIfNeeded: v & 0xff)]
        UnsafeMutableRawPointer(to + at).storeBytes(of: entry, as: UInt32.self)
        return at &+ Int(truncatingIfNeeded: entry >> 24)
    }

    /// Seconds with six decimals ("0.001500"), written in place (`Format.fixedSeconds` is this).
    @inline(__always)
    mutating func fixedSeconds(nanoseconds ns: Int64) {
        count &+= Self.writeFixedSeconds(ns, at: reserve(Self.fixedSecondsMaximumLength))
    }

    /// A sign, the 20 digits of the largest whole part, a point and six decimals.
    private static let fixedSecondsMaximumLength = 28

    @inline(__always)
    private static func writeFixedSeconds(_ ns: Int64, at to: UnsafeMutablePointer<UInt8>) -> Int {
        var at = 0
        if ns < 0 {
            to[0] = 0x2D
            at = 1
        }
        let micros = (ns.magnitude + 500) / 1000
        at &+= DecimalDigits.write(micros / 1_000_000, to: to + at)
        to[at] = 0x2E
        DecimalDigits.writeSix(micros % 1_000_000, to: to + at + 1)
        return at &+ 7
    }

    // MARK: A key and its value in one piece

    // A connection object is a run of `key: value` pairs. Each write below copies the key (a literal
    // with its punctuation, `", \"port\": "`) and the value after one capacity check for both, not one
    // per piece: the checks were a tenth of the writer's work. Transparent (always inlined, even
    // where the optimizer would not inline into a long caller): the key's length is then a constant
    // and its copy a few word moves.

    /// Copies `key` after making room for it and `valueBytes` more; returns where the value goes.
    @_transparent
    private mutating func after(_ key: StaticString, room valueBytes: Int) -> UnsafeMutablePointer<UInt8> {
        let n = key.utf8CodeUnitCount
        let to = reserve(n &+ valueBytes)
        Bytes.copy(n, from: key.utf8Start, to: to)
        count &+= n
        return to + n
    }

    @_transparent
    mutating func int<T: BinaryInteger>(_ value: T, after key: StaticString) {
        count &+= DecimalDigits.write(value, to: after(key, room: DecimalDigits.maximumLength))
    }

    @_transparent
    mutating func timestamp(_ t: Timestamp, after key: StaticString) {
        writeTimestamp(t, at: after(key, room: 29))
        count &+= 29
    }

    @_transparent
    mutating func fixedSeconds(nanoseconds ns: Int64, after key: StaticString) {
        count &+= Self.writeFixedSeconds(ns, at: after(key, room: Self.fixedSecondsMaximumLength))
    }

    @_transparent
    mutating func address(_ ip: IPAddress, after key: StaticString) {
        count &+= Self.writeAddress(ip, at: after(key, room: IPAddress.maximumTextLength + 2))
    }

    /// `key`, then `name(s)`.
    @_transparent
    mutating func name(_ s: StaticString, after key: StaticString) {
        let n = s.utf8CodeUnitCount
        assert(!Self.anyNeedsEscape(UnsafeRawPointer(s.utf8Start), count: n), "a JSON name needs an escape")
        let to = after(key, room: n &+ 2)
        to[0] = 0x22
        Bytes.copy(n, from: s.utf8Start, to: to + 1)
        to[n &+ 1] = 0x22
        count &+= n &+ 2
    }

    /// `key`, then `nameOrNull(s)`.
    @_transparent
    mutating func nameOrNull(_ s: StaticString?, after key: StaticString) {
        if let s { name(s, after: key) } else { raw(key); raw("null") }
    }

    /// One decimal ("14.0"), rounded, as `Format.oneDecimal` writes it.
    mutating func oneDecimal(_ x: Double) {
        var text = NumberText(reserve(NumberText.maximumLength))
        text.oneDecimal(x)
        count &+= text.count
    }

    /// A JSON string literal: `"` and `\\` escaped, `\n` `\r` `\t`, other controls as `\u00XX`.
    @inline(__always)
    mutating func string(_ s: borrowing String) {
        // Borrowed and read through `utf8` (no copy of the string, so no retain and release: most
        // strings here are short codes); `withUTF8` on a copy is the fallback for a non-contiguous string.
        if let done: Void = s.utf8.withContiguousStorageIfAvailable({ quoted($0) }) { return done }
        var copy = copy s
        copy.withUTF8 { quoted($0) }
    }

    @inline(__always)
    private mutating func quoted(_ utf8: UnsafeBufferPointer<UInt8>) {
        let n = utf8.count
        // The usual case, nothing to escape: quotes and text in one reserved piece.
        if let from = utf8.baseAddress, !Self.anyNeedsEscape(UnsafeRawPointer(from), count: n) {
            let to = reserve(n &+ 2)
            to[0] = 0x22
            Bytes.copy(n, from: from, to: to + 1)
            to[n &+ 1] = 0x22
            count &+= n &+ 2
        } else {
            append(0x22)
            escaped(UnsafeRawBufferPointer(utf8))
            append(0x22)
        }
    }

    /// Text escaped for the inside of a JSON string (the quotes are the caller's).
    mutating func escaped(_ s: String) {
        var s = s
        s.withUTF8 { escaped(UnsafeRawBufferPointer($0)) }
    }

    /// UTF-8 text escaped for the inside of a JSON string (the quotes are the caller's).
    mutating func escaped(_ utf8: UnsafeRawBufferPointer) {
        guard let raw = utf8.baseAddress else { return }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        let count = utf8.count
        // The usual case, nothing to escape: one scan by words, then one copy.
        if !Self.anyNeedsEscape(raw, count: count) {
            append(UnsafeRawBufferPointer(start: raw, count: count))
            return
        }
        var start = 0
        var i = 0
        while i < count {
            // Eight bytes at a time while none of them needs an escape (the usual case).
            if i &+ 8 <= count && !Self.mayNeedEscape(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) {
                i &+= 8
                continue
            }
            let b = base[i]
            i &+= 1
            guard b < 0x20 || b == 0x22 || b == 0x5C else { continue }
            if start < i - 1 { append(UnsafeRawBufferPointer(start: raw + start, count: i - 1 - start)) }
            start = i
            switch b {
            case 0x22: self.raw("\\\"")
            case 0x5C: self.raw("\\\\")
            case 0x0A: self.raw("\\n")
            case 0x0D: self.raw("\\r")
            case 0x09: self.raw("\\t")
            default:
                let hex: StaticString = "0123456789abcdef"
                self.raw("\\u00")
                append(hex.utf8Start[Int(b >> 4)])
                append(hex.utf8Start[Int(b & 0xf)])
            }
        }
        if start < count { append(UnsafeRawBufferPointer(start: raw + start, count: count - start)) }
    }

    /// Whether any of the eight bytes of `w` is below 0x20, a quote or a backslash (exact as a whole-word
    /// test: the "has zero byte" / "has byte less than" bit tricks).
    @inline(__always) static func mayNeedEscape(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let control = (w &- ones &* 0x20) & ~w & highs
        let q = w ^ (ones &* 0x22)
        let quote = (q &- ones) & ~q & highs
        let b = w ^ (ones &* 0x5C)
        let backslash = (b &- ones) & ~b & highs
        return control | quote | backslash != 0
    }

    /// Whether any of `count` bytes at `raw` needs an escape, eight at a time: the last word overlaps
    /// the one before it, and a string shorter than eight bytes is padded with spaces.
    @inline(__always) static func anyNeedsEscape(_ raw: UnsafeRawPointer, count: Int) -> Bool {
        if count < 8 {
            // Two overlapping halves (4 to 7 bytes) or the bytes one by one, in a word of spaces.
            var word: UInt64 = 0x2020_2020_2020_2020
            if count >= 4 {
                word = UInt64(raw.loadUnaligned(as: UInt32.self))
                    | UInt64(raw.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self)) << 32
            } else {
                for i in 0..<count { word = word << 8 | UInt64(raw.load(fromByteOffset: i, as: UInt8.self)) }
            }
            return mayNeedEscape(word)
        }
        var i = 0
        while i &+ 8 < count {
            if mayNeedEscape(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { return true }
            i &+= 8
        }
        return mayNeedEscape(raw.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self))
    }

    /// A name of this package's (an enum's code, see JSONNames.swift) as a JSON string: a literal
    /// without escapes, so it is copied as it is, not scanned (checked in debug builds).
    @inline(__always)
    mutating func name(_ s: StaticString) {
        let n = s.utf8CodeUnitCount
        assert(!Self.anyNeedsEscape(UnsafeRawPointer(s.utf8Start), count: n), "a JSON name needs an escape")
        let to = reserve(n &+ 2)
        to[0] = 0x22
        Bytes.copy(n, from: s.utf8Start, to: to + 1)
        to[n &+ 1] = 0x22
        count &+= n &+ 2
    }

    @inline(__always)
    mutating func nameOrNull(_ s: StaticString?) {
        if let s { name(s) } else { raw("null") }
    }

    @inline(__always)
    mutating func stringOrNull(_ s: String?) {
        if let s { string(s) } else { raw("null") }
    }

    /// The bytes as a `String` (they are valid UTF-8: every piece came from a `String` or ASCII).
    var text: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }

    /// The bytes written so far, lent to `body` (valid only inside it).
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        body(UnsafeRawBufferPointer(start: base, count: count))
    }
}

/// The text of each octet 0...255 as one little-endian word: the digits in its low bytes, their
/// count in the high byte.
enum OctetText {
    static let table: [UInt32] = (0..<256).map { (octet: UInt32) in
        let digits = Array(String(octet).utf8)
        var entry = UInt32(digits.count) << 24
        for (i, digit) in digits.enumerated() { entry |= UInt32(digit) << (8 * UInt32(i)) }
        return entry
    }
}

/// As a `TextSink` the writer is inside a JSON string (the caller writes the quotes): text is escaped.
extension JSONWriter: TextSink {
    /// A literal of `Words`: copied as it is (see `Sentence` on why its literals need no escapes).
    @inline(__always) mutating func write(_ text: StaticString) {
        text.withUTF8Buffer { unescaped(UnsafeRawBufferPointer($0)) }
    }

    /// Scanned for escapes only when a `String` went into it (see `Sentence`).
    @_disfavoredOverload @inline(__always) mutating func write(_ sentence: consuming Sentence) {
        if sentence.mayNeedEscaping {
            sentence.withUTF8 { escaped($0) }
        } else {
            sentence.withUTF8 { unescaped($0) }
        }
    }

    /// Text from literals and integers only, which never need escapes (checked in debug builds).
    @inline(__always) private mutating func unescaped(_ utf8: UnsafeRawBufferPointer) {
        assert(utf8.baseAddress.map { !Self.anyNeedsEscape($0, count: utf8.count) } ?? true, "a literal of Words needs a JSON escape")
        append(utf8)
    }
}
