/// A TCP sequence or acknowledgment number: arithmetic modulo 2^32 (RFC 9293 §3.4).
///
/// Deliberately not `Comparable`: modular order is not transitive, so `sort` or `min` over sequence
/// numbers would be wrong. Compare with `distance(to:)`, which never traps.
public struct SequenceNumber: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public init(_ value: UInt32) { self.rawValue = value }

    /// Signed distance modulo 2^32 (RFC 1982 style); exactly 2^31 apart is undefined.
    @inlinable public func distance(to other: SequenceNumber) -> Int32 {
        Int32(bitPattern: other.rawValue &- rawValue)
    }
    @inlinable public func advanced(by n: UInt32) -> SequenceNumber { SequenceNumber(rawValue: rawValue &+ n) }
    @inlinable public func isBefore(_ other: SequenceNumber) -> Bool { distance(to: other) > 0 }
    @inlinable public func isAfter(_ other: SequenceNumber) -> Bool { distance(to: other) < 0 }
    public var description: String { String(rawValue) }
}
