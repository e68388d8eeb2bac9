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
    /// Reads are at `i` and `i + 1` below `count`, and inside `i + 2 ..< i + length` once
    /// `i + length <= count` is checked; `i` never passes `count` and a length is at most 255, so the
    /// offset arithmetic cannot overflow and is left unchecked.
    public init(parsing bytes: UnsafeRawBufferPointer, truncated: Bool) {
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
