// IPv6: RFC 8200 §4 (extension headers: hop-by-hop, routing, fragment, destination options),
// RFC 4302 (AH length in 4-octet units). The chain is walked to the upper-layer header.

/// A validated view of an IPv6 header whose extension-header chain has been walked. Never stored.
public struct IPv6Packet {
    @usableFromInline enum Field {
        @inlinable static var payloadLength: Int { 4 }
        @inlinable static var nextHeader: Int { 6 }
        @inlinable static var hopLimit: Int { 7 }
        @inlinable static var source: Int { 8 }
        @inlinable static var destination: Int { 24 }
    }
    @inlinable public static var headerLength: Int { 40 }
    /// Chains longer than this are treated as undecodable rather than walked further.
    public static let maximumExtensionHeaders = 32

    let bytes: UnsafeRawBufferPointer
    /// The upper-layer protocol after the extension headers (or the last header reached).
    public let upperLayerProtocol: IPProtocol
    /// Offset of the upper-layer header from the start of the IPv6 header.
    public let upperLayerOffset: Int
    /// Upper-layer bytes the header claims (payload length minus extension headers).
    public let upperLayerLength: Int
    /// Number of extension headers crossed.
    public let extensionHeaderCount: Int
    /// A fragment header was present.
    public let isFragment: Bool
    /// The fragment header's offset was not zero: the upper-layer header is in another fragment.
    public let isLaterFragment: Bool

    public init(validating bytes: UnsafeRawBufferPointer) throws(DecodeError) {
        guard bytes.count >= Self.headerLength else {
            throw .truncated(.ipv6, needed: Self.headerLength, available: bytes.count)
        }
        let version = bytes[0] >> 4
        guard version == 6 else { throw .badVersion(version) }
        var payload = Int(bytes.bigEndian(at: Field.payloadLength, as: UInt16.self))
        if payload == 0 { payload = bytes.count - Self.headerLength }  // jumbogram or offload
        var next = IPProtocol(rawValue: bytes[Field.nextHeader])
        var offset = Self.headerLength
        var count = 0
        var fragment = false
        var laterFragment = false
        walk: while true {
            switch next {
            case .hopByHop, .ipv6Routing, .ipv6DestinationOptions, .mobility, .authenticationHeader:
                guard count < Self.maximumExtensionHeaders else { throw .badHeaderLength(.ipv6Extension, count) }
                guard bytes.count >= offset + 2 else { throw .truncated(.ipv6Extension, needed: offset + 2, available: bytes.count) }
                let length = next == .authenticationHeader ? (Int(bytes[offset + 1]) + 2) * 4 : (Int(bytes[offset + 1]) + 1) * 8
                guard bytes.count >= offset + length else {
                    throw .truncated(.ipv6Extension, needed: offset + length, available: bytes.count)
                }
                next = IPProtocol(rawValue: bytes[offset])
                offset += length
                count += 1
            case .ipv6Fragment:
                guard count < Self.maximumExtensionHeaders else { throw .badHeaderLength(.ipv6Extension, count) }
                guard bytes.count >= offset + 8 else { throw .truncated(.ipv6Extension, needed: offset + 8, available: bytes.count) }
                let offsetAndFlags: UInt16 = bytes.bigEndian(at: offset + 2)
                fragment = true
                next = IPProtocol(rawValue: bytes[offset])
                offset += 8
                count += 1
                // RFC 8200 §4.5: only the first fragment carries the headers after this one; in a later
                // fragment the bytes that follow are payload and must not be walked as headers.
                if offsetAndFlags & 0xfff8 != 0 {
                    laterFragment = true
                    break walk
                }
            default:
                break walk
            }
        }
        let upper = payload - (offset - Self.headerLength)
        guard upper >= 0 else { throw .badHeaderLength(.ipv6, payload) }
        self.bytes = bytes
        upperLayerProtocol = next
        upperLayerOffset = offset
        upperLayerLength = upper
        extensionHeaderCount = count
        isFragment = fragment
        isLaterFragment = laterFragment
    }

    public var source: IPAddress {
        IPAddress(ipv6High: bytes.bigEndian(at: Field.source), low: bytes.bigEndian(at: Field.source + 8))
    }
    public var destination: IPAddress {
        IPAddress(ipv6High: bytes.bigEndian(at: Field.destination), low: bytes.bigEndian(at: Field.destination + 8))
    }
    public var hopLimit: UInt8 { bytes[Field.hopLimit] }
    public var flowLabel: UInt32 { bytes.bigEndian(at: 0, as: UInt32.self) & 0xfffff }
    /// The captured upper-layer bytes, at most `upperLayerLength`.
    public var upperLayerPayload: UnsafeRawBufferPointer { bytes.slice(from: upperLayerOffset, length: upperLayerLength) }
}
