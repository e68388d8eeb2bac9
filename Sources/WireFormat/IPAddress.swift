/// An IPv4 or IPv6 address stored inline (two words plus a family tag), so it hashes and compares
/// without allocation. IPv4 addresses live in the low 32 bits of `low`.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64
    public var isIPv6: Bool

    @inlinable public init(ipv4 value: UInt32) {
        high = 0
        low = UInt64(value)
        isIPv6 = false
    }

    @inlinable public init(ipv6High high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
        isIPv6 = true
    }

    /// Inlinable, so comparing endpoints in other modules is three compares, not a call.
    @inlinable public static func == (lhs: IPAddress, rhs: IPAddress) -> Bool {
        lhs.low == rhs.low && lhs.high == rhs.high && lhs.isIPv6 == rhs.isIPv6
    }

    /// The IPv4 address as a 32-bit number; meaningless for IPv6.
    public var ipv4Value: UInt32 { UInt32(truncatingIfNeeded: low) }

    /// A total order used to make flow keys canonical (IPv4 before IPv6, then numeric).
    @inlinable public func orders(before other: IPAddress) -> Bool {
        if isIPv6 != other.isIPv6 { return !isIPv6 }
        if high != other.high { return high < other.high }
        return low < other.low
    }

    /// Parses dotted-quad IPv4 or RFC 5952/4291 IPv6 text ("2001:db8::1", "::ffff:1.2.3.4").
    public init?(_ text: some StringProtocol) {
        if !text.contains(":") {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var value: UInt32 = 0
            for part in parts {
                // All digits: UInt8("+1") and UInt8("-0") would otherwise parse.
                guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                      let octet = UInt8(part) else { return nil }
                value = value << 8 | UInt32(octet)
            }
            self.init(ipv4: value)
            return
        }
        // IPv6: up to one "::", optional trailing dotted IPv4.
        var groups: [UInt16] = []
        var tailGroups: [UInt16] = []
        var sawDoubleColon = false
        let string = String(text)
        let doubleColons = string.ranges(of: "::")
        guard doubleColons.count <= 1 else { return nil }
        let halves: [Substring] = doubleColons.first.map { [string[..<$0.lowerBound], string[$0.upperBound...]] } ?? [string[...]]
        // A trailing dotted IPv4 part may only end the address ("1.2.3.4::" is not an address).
        func parseGroups(_ s: Substring, isLastHalf: Bool, into out: inout [UInt16]) -> Bool {
            if s.isEmpty { return true }
            let pieces = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, piece) in pieces.enumerated() {
                if piece.contains("."), i == pieces.count - 1, isLastHalf, let v4 = IPAddress(piece), !v4.isIPv6 {
                    out.append(UInt16(v4.ipv4Value >> 16))
                    out.append(UInt16(v4.ipv4Value & 0xffff))
                } else {
                    guard !piece.isEmpty, piece.count <= 4, piece.allSatisfy(\.isHexDigit), piece.allSatisfy(\.isASCII),
                          let v = UInt16(piece, radix: 16) else { return false }
                    out.append(v)
                }
            }
            return true
        }
        guard parseGroups(halves[0], isLastHalf: halves.count == 1, into: &groups) else { return nil }
        if halves.count == 2 {
            sawDoubleColon = true
            guard parseGroups(halves[1], isLastHalf: true, into: &tailGroups) else { return nil }
        }
        let total = groups.count + tailGroups.count
        if sawDoubleColon {
            guard total <= 7 else { return nil }
            groups += Array(repeating: 0, count: 8 - total) + tailGroups
        } else {
            guard total == 8 else { return nil }
        }
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        for i in 0..<4 { hi = hi << 16 | UInt64(groups[i]) }
        for i in 4..<8 { lo = lo << 16 | UInt64(groups[i]) }
        self.init(ipv6High: hi, low: lo)
    }

    /// Dotted quad for IPv4, RFC 5952 canonical text for IPv6. Written byte by byte into the
    /// string's own storage (one allocation at most; reports format every address they print).
    public var description: String {
        String(unsafeUninitializedCapacity: Self.maximumTextLength) { writeText(to: $0.baseAddress!) }
    }

    /// Room enough for any `description` (the longest, eight groups of four hex digits and seven
    /// colons, is 39 bytes).
    @inlinable public static var maximumTextLength: Int { 48 }

    /// Writes the UTF-8 bytes of `description` at `out` (room for `maximumTextLength` bytes) and
    /// returns how many it wrote: the JSON output puts addresses in place, without a `String`.
    public func writeText(to base: UnsafeMutablePointer<UInt8>) -> Int {
        var out = TextBytes(base: base)
        if !isIPv6 {
            out.dotted(ipv4Value)
            return out.count
        }
        // RFC 5952 §5: IPv4-mapped addresses (::ffff:0:0/96) in mixed notation, as inet_ntop prints them.
        if high == 0 && low >> 32 == 0xffff {
            for byte in "::ffff:".utf8 { out.put(byte) }
            out.dotted(UInt32(truncatingIfNeeded: low))
            return out.count
        }
        let high = high, low = low
        func group(_ i: Int) -> UInt16 {
            UInt16(truncatingIfNeeded: (i < 4 ? high : low) >> UInt64(48 - 16 * (i & 3)))
        }
        // Longest run of zero groups (length >= 2, the first of equals) becomes "::".
        var bestStart = -1, bestLength = 0, runStart = -1
        for i in 0...8 {
            if i < 8 && group(i) == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if i - runStart > bestLength { bestStart = runStart; bestLength = i - runStart }
                runStart = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        var i = 0
        while i < 8 {
            if i == bestStart {
                out.put(0x3A)
                out.put(0x3A)
                i += bestLength
                continue
            }
            if out.count > 0 && out.last != 0x3A { out.put(0x3A) }
            out.hex(group(i))
            i += 1
        }
        return out.count
    }
}

/// Bytes of an address's text, written into a string's uninitialized storage or the JSON output's bytes.
private struct TextBytes {
    let base: UnsafeMutablePointer<UInt8>
    var count = 0

    var last: UInt8 { base[count &- 1] }

    mutating func put(_ byte: UInt8) {
        base[count] = byte
        count &+= 1
    }

    /// 0 to 255 without leading zeros.
    mutating func decimal(_ octet: UInt32) {
        if octet >= 100 {
            let rest = octet % 100
            base[count] = 0x30 &+ UInt8(truncatingIfNeeded: octet / 100)
            base[count &+ 1] = 0x30 &+ UInt8(truncatingIfNeeded: rest / 10)
            base[count &+ 2] = 0x30 &+ UInt8(truncatingIfNeeded: rest % 10)
            count &+= 3
        } else if octet >= 10 {
            base[count] = 0x30 &+ UInt8(truncatingIfNeeded: octet / 10)
            base[count &+ 1] = 0x30 &+ UInt8(truncatingIfNeeded: octet % 10)
            count &+= 2
        } else {
            put(0x30 &+ UInt8(truncatingIfNeeded: octet))
        }
    }

    mutating func dotted(_ v: UInt32) {
        decimal(v >> 24)
        put(0x2E)
        decimal(v >> 16 & 0xff)
        put(0x2E)
        decimal(v >> 8 & 0xff)
        put(0x2E)
        decimal(v & 0xff)
    }

    /// Lowercase hex without leading zeros: as many digits as the group's significant bits need,
    /// written from the last one back.
    mutating func hex(_ g: UInt16) {
        let digits = g == 0 ? 1 : (19 &- g.leadingZeroBitCount) >> 2
        var value = g
        var i = digits
        repeat {
            i &-= 1
            let digit = UInt8(truncatingIfNeeded: value & 0xf)
            base[count &+ i] = digit < 10 ? 0x30 &+ digit : 0x57 &+ digit
            value >>= 4
        } while i > 0
        count &+= digits
    }
}
