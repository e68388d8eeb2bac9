// TCP header: RFC 9293 §3.1. Options: MSS (RFC 9293), window scale and timestamps (RFC 7323),
// SACK (RFC 2018), TCP Fast Open (RFC 7413, and the experimental kind 254 with magic 0xF989).

/// A validated view of a TCP header plus whatever payload was captured. Never stored.
///
/// Only the fixed 20-byte header must be captured; options cut off by the snap length are parsed
/// as far as they go and `optionsTruncated` says so.
public struct TCPSegment {
    @usableFromInline enum Field {
        @inlinable static var sourcePort: Int { 0 }
        @inlinable static var destinationPort: Int { 2 }
        @inlinable static var sequence: Int { 4 }
        @inlinable static var acknowledgment: Int { 8 }
        @inlinable static var dataOffset: Int { 12 }
        @inlinable static var flags: Int { 13 }
        @inlinable static var window: Int { 14 }
        @inlinable static var checksum: Int { 16 }
        @inlinable static var urgent: Int { 18 }
    }
    @inlinable public static var minimumHeaderLength: Int { 20 }

    let bytes: UnsafeRawBufferPointer
    /// Header length from the data offset field, options included.
    public let headerLength: Int

    public init(validating bytes: UnsafeRawBufferPointer) throws(DecodeError) {
        guard bytes.count >= Self.minimumHeaderLength else {
            throw .truncated(.tcp, needed: Self.minimumHeaderLength, available: bytes.count)
        }
        let length = Int(bytes[Field.dataOffset] >> 4) * 4
        guard length >= Self.minimumHeaderLength else { throw .badHeaderLength(.tcp, length) }
        self.bytes = bytes
        headerLength = length
    }

    public var sourcePort: UInt16 { bytes.bigEndian(at: Field.sourcePort) }
    public var destinationPort: UInt16 { bytes.bigEndian(at: Field.destinationPort) }
    public var sequenceNumber: SequenceNumber { SequenceNumber(rawValue: bytes.bigEndian(at: Field.sequence)) }
    public var acknowledgmentNumber: SequenceNumber { SequenceNumber(rawValue: bytes.bigEndian(at: Field.acknowledgment)) }
    public var flags: TCPFlags { TCPFlags(rawValue: bytes[Field.flags]) }
    public var window: UInt16 { bytes.bigEndian(at: Field.window) }
    public var checksum: UInt16 { bytes.bigEndian(at: Field.checksum) }
    /// Whether the options were cut off by the capture's snap length.
    public var optionsTruncated: Bool { bytes.count < headerLength }
    /// The captured option bytes (possibly fewer than the header declares).
    public var optionBytes: UnsafeRawBufferPointer {
        bytes.slice(from: Self.minimumHeaderLength, length: headerLength - Self.minimumHeaderLength)
    }
    /// Captured payload bytes after the header (may be empty or shorter than the real payload).
    public var capturedPayload: UnsafeRawBufferPointer { bytes.tail(from: headerLength) }
    public var options: TCPOptionsSummary { TCPOptionsSummary(parsing: optionBytes, truncated: optionsTruncated) }
}

/// The TCP options that matter for diagnosis, parsed once into a small value.
public struct TCPOptionsSummary: Hashable, Sendable {
    /// Maximum segment size, 0 when absent.
    public var mss: UInt16 = 0
    /// Window-scale shift count; `nil` when absent.
    public var windowScale: UInt8? = nil
    public var sackPermitted = false
    /// Number of SACK blocks carried.
    public var sackBlockCount: UInt8 = 0
    /// The first SACK block (left, right edge); meaningful when `sackBlockCount > 0`.
    public var firstSACKBlock: (left: SequenceNumber, right: SequenceNumber) {
        get { (SequenceNumber(rawValue: sackLeft), SequenceNumber(rawValue: sackRight)) }
        set { sackLeft = newValue.left.rawValue; sackRight = newValue.right.rawValue }
    }
    var sackLeft: UInt32 = 0
    var sackRight: UInt32 = 0
    public var hasTimestamps = false
    public var timestampValue: UInt32 = 0
    public var timestampEcho: UInt32 = 0
    /// TFO cookie length; `nil` when no TFO option, 0 for a cookie request.
    public var fastOpenCookieLength: UInt8? = nil
    /// An option had a length below 2 or ran past the header: parsing stopped there.
    public var isMalformed = false
    /// The options were cut off by the capture's snap length.
    public var isTruncated = false

    @inlinable public init() {}

    enum Kind {
        static let end: UInt8 = 0
        static let noOperation: UInt8 = 1
        static let mss: UInt8 = 2
        static let windowScale: UInt8 = 3
        static let sackPermitted: UInt8 = 4
        static let sack: UInt8 = 5
        static let timestamps: UInt8 = 8
        static let fastOpen: UInt8 = 34
        static let experimental: UInt8 = 254
    }

    /// Parses option bytes; never traps, stops at the first malformed option.
    ///
    /// Inlinable for its fast path: the SYN layout Linux sends (below) is recognised with two masked
    /// compares where the decoder is inlined; any other bytes are parsed option by option.
    @inlinable @inline(__always)
    public init(parsing bytes: UnsafeRawBufferPointer, truncated: Bool) {
        if bytes.count == Self.linuxSYNLength, let base = bytes.baseAddress, let summary = Self.linuxSYN(base) {
            self = summary
            isTruncated = truncated
            return
        }
        self.init(parsingEach: bytes, truncated: truncated)
    }

    /// Option bytes of a Linux SYN or SYN-ACK with timestamps: MSS, SACK-permitted, timestamps, NOP,
    /// window scale.
    @inlinable static var linuxSYNLength: Int { 20 }

    /// The summary of exactly `linuxSYNLength` option bytes at `base` laid out as Linux sends them
    /// (`02 04 mm mm  04 02  08 0a vv vv vv vv ee ee ee ee  01  03 03 ww`), or nil for any other bytes.
    /// It is what the option-by-option parse makes of the same bytes (whole, so never malformed).
    @inlinable @inline(__always)
    static func linuxSYN(_ base: UnsafeRawPointer) -> TCPOptionsSummary? {
        // The kind and length bytes, read as little-endian words with the values masked out.
        let head = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        let tail = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
        guard head & 0xFFFF_FFFF_0000_FFFF == 0x0A08_0204_0000_0402, tail & 0x00FF_FFFF == 0x0003_0301 else {
            return nil
        }
        var summary = TCPOptionsSummary()
        summary.mss = base.bigEndian(at: 2)
        summary.sackPermitted = true
        summary.hasTimestamps = true
        summary.timestampValue = base.bigEndian(at: 8)
        summary.timestampEcho = base.bigEndian(at: 12)
        summary.windowScale = base.load(fromByteOffset: 19, as: UInt8.self)
        return summary
    }

    /// The general parse behind `init(parsing:truncated:)`, one option at a time.
    ///
    /// Reads are at `i` and `i + 1` below `count`, and inside `i + 2 ..< i + length` once
    /// `i + length <= count` is checked; `i` never passes `count` and a length is at most 255, so the
    /// offset arithmetic cannot overflow and is left unchecked.
    @usableFromInline
    init(parsingEach bytes: UnsafeRawBufferPointer, truncated: Bool) {
        isTruncated = truncated
        guard let base = bytes.baseAddress else { return }
        let count = bytes.count
        var i = 0
        while i < count {
            let kind = base.load(fromByteOffset: i, as: UInt8.self)
            if kind == Kind.end { break }
            if kind == Kind.noOperation { i &+= 1; continue }
            guard i &+ 1 < count else { if !truncated { isMalformed = true }; break }
            let length = Int(base.load(fromByteOffset: i &+ 1, as: UInt8.self))
            guard length >= 2 else { isMalformed = true; break }
            guard i &+ length <= count else { if !truncated { isMalformed = true }; break }
            let data = base + (i &+ 2)
            switch kind {
            case Kind.mss where length == 4:
                mss = data.bigEndian(at: 0)
            case Kind.windowScale where length == 3:
                windowScale = data.load(as: UInt8.self)
            case Kind.sackPermitted where length == 2:
                sackPermitted = true
            case Kind.sack where length >= 10 && (length &- 2) % 8 == 0:
                sackBlockCount = UInt8(truncatingIfNeeded: (length &- 2) / 8)
                sackLeft = data.bigEndian(at: 0)
                sackRight = data.bigEndian(at: 4)
            case Kind.timestamps where length == 10:
                hasTimestamps = true
                timestampValue = data.bigEndian(at: 0)
                timestampEcho = data.bigEndian(at: 4)
            case Kind.fastOpen:
                fastOpenCookieLength = UInt8(truncatingIfNeeded: length &- 2)
            case Kind.experimental where length >= 4 && data.bigEndian(at: 0, as: UInt16.self) == 0xF989:
                fastOpenCookieLength = UInt8(truncatingIfNeeded: length &- 4)
            default:
                break
            }
            i &+= length
        }
    }
}
