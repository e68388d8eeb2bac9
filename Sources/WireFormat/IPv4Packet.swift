// IPv4: RFC 791. Payload length comes from Total Length, not the frame (Ethernet pads short frames);
// Total Length 0 is what segmentation offload on the capturing host leaves, then the captured bytes count.

/// A validated view of an IPv4 header and the bytes captured after it. Never stored.
public struct IPv4Packet {
    @usableFromInline enum Field {
        @inlinable static var versionIHL: Int { 0 }
        @inlinable static var totalLength: Int { 2 }
        @inlinable static var identification: Int { 4 }
        @inlinable static var flagsFragment: Int { 6 }
        @inlinable static var ttl: Int { 8 }
        @inlinable static var proto: Int { 9 }
        @inlinable static var source: Int { 12 }
        @inlinable static var destination: Int { 16 }
    }
    @inlinable public static var minimumHeaderLength: Int { 20 }

    let bytes: UnsafeRawBufferPointer
    /// Header length in bytes (IHL × 4), options included.
    public let headerLength: Int
    /// Bytes of IP payload the header claims (after offload/padding correction), before capture truncation.
    public let payloadLength: Int

    /// Checks IHL and total length against the buffer; afterwards no accessor can go out of bounds.
    public init(validating bytes: UnsafeRawBufferPointer) throws(DecodeError) {
        guard bytes.count >= Self.minimumHeaderLength else {
            throw .truncated(.ipv4, needed: Self.minimumHeaderLength, available: bytes.count)
        }
        let version = bytes[Field.versionIHL] >> 4
        guard version == 4 else { throw .badVersion(version) }
        let ihl = Int(bytes[Field.versionIHL] & 0x0f) * 4
        guard ihl >= Self.minimumHeaderLength else { throw .badHeaderLength(.ipv4, ihl) }
        guard bytes.count >= ihl else { throw .truncated(.ipv4, needed: ihl, available: bytes.count) }
        let total = Int(bytes.bigEndian(at: Field.totalLength, as: UInt16.self))
        if total == 0 {
            payloadLength = bytes.count - ihl  // TSO on the capturing host
        } else {
            guard total >= ihl else { throw .badHeaderLength(.ipv4, total) }
            payloadLength = total - ihl
        }
        headerLength = ihl
        self.bytes = bytes
    }

    public var source: IPAddress { IPAddress(ipv4: bytes.bigEndian(at: Field.source)) }
    public var destination: IPAddress { IPAddress(ipv4: bytes.bigEndian(at: Field.destination)) }
    public var ttl: UInt8 { bytes[Field.ttl] }
    public var identification: UInt16 { bytes.bigEndian(at: Field.identification) }
    public var protocolNumber: IPProtocol { IPProtocol(rawValue: bytes[Field.proto]) }
    var flagsFragment: UInt16 { bytes.bigEndian(at: Field.flagsFragment) }
    public var moreFragments: Bool { flagsFragment & 0x2000 != 0 }
    public var dontFragment: Bool { flagsFragment & 0x4000 != 0 }
    /// Fragment offset in bytes.
    public var fragmentOffset: Int { Int(flagsFragment & 0x1fff) * 8 }
    public var isFragment: Bool { moreFragments || fragmentOffset != 0 }
    /// Whether the header carries options (IHL > 5).
    public var hasOptions: Bool { headerLength > Self.minimumHeaderLength }
    /// The captured payload bytes, at most `payloadLength` (padding after it is dropped).
    public var payload: UnsafeRawBufferPointer { bytes.slice(from: headerLength, length: payloadLength) }
}
