/// A point in time as integer nanoseconds since the Unix epoch (UTC).
///
/// Capture files carry microsecond or nanosecond timestamps; both become nanoseconds here, so the
/// per-packet path never touches floating point or Foundation dates.
public struct Timestamp: RawRepresentable, Hashable, Comparable, Sendable {
    public var rawValue: Int64
    @inlinable public init(rawValue: Int64) { self.rawValue = rawValue }
    @inlinable public init(seconds: Int64, nanoseconds: Int64) { self.rawValue = seconds &* 1_000_000_000 &+ nanoseconds }

    @inlinable public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Nanoseconds from `self` to `other` (negative when `other` is earlier), saturating.
    @inlinable public func nanoseconds(to other: Timestamp) -> Int64 {
        let (d, overflow) = other.rawValue.subtractingReportingOverflow(rawValue)
        return overflow ? (other.rawValue > rawValue ? .max : .min) : d
    }

    /// Seconds from `self` to `other` as a Double (for reports, not the hot path).
    public func seconds(to other: Timestamp) -> Double { Double(nanoseconds(to: other)) / 1e9 }

    @inlinable public func advanced(byNanoseconds n: Int64) -> Timestamp { Timestamp(rawValue: rawValue &+ n) }

    @inlinable public static var zero: Timestamp { Timestamp(rawValue: 0) }
}

/// A span of time in nanoseconds; used for configuration (timeouts, lingers).
public struct Duration64: RawRepresentable, Hashable, Comparable, Sendable {
    public var rawValue: Int64
    @inlinable public init(rawValue: Int64) { self.rawValue = rawValue }
    /// Saturates instead of trapping on values beyond ±292 years (or NaN, which becomes 0).
    @inlinable public static func seconds(_ s: Double) -> Duration64 {
        let ns = s * 1e9
        guard ns.isFinite else { return Duration64(rawValue: ns.isNaN ? 0 : (ns > 0 ? .max : .min)) }
        return Duration64(rawValue: ns >= 9.2e18 ? .max : ns <= -9.2e18 ? .min : Int64(ns))
    }
    @inlinable public static func milliseconds(_ ms: Int64) -> Duration64 { Duration64(rawValue: ms &* 1_000_000) }
    @inlinable public static func < (lhs: Duration64, rhs: Duration64) -> Bool { lhs.rawValue < rhs.rawValue }
    public var seconds: Double { Double(rawValue) / 1e9 }
}
