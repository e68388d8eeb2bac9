// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed pseudo-random
// function with a 128-bit key, used here as the PRF behind prefix-preserving address anonymization.
// Reference vectors: the paper's appendix A (key 00..0f, message 00..0e -> a129ca6149be45e5).

/// SipHash-2-4 with a 128-bit key. A value type with no state besides the key.
public struct SipHash: Sendable, Hashable {
    public let k0: UInt64
    public let k1: UInt64

    /// A key from its 16 bytes, read little-endian as the reference implementation does.
    public init(key: [UInt8]) {
        assert(key.count == 16, "SipHash keys are 16 bytes")
        var k0: UInt64 = 0
        var k1: UInt64 = 0
        for i in 0..<8 { k0 |= UInt64(key.count > i ? key[i] : 0) << (8 * UInt64(i)) }
        for i in 0..<8 { k1 |= UInt64(key.count > 8 + i ? key[8 + i] : 0) << (8 * UInt64(i)) }
        self.k0 = k0
        self.k1 = k1
    }

    /// The 64-bit tag of `bytes`.
    public func hash(_ bytes: [UInt8]) -> UInt64 {
        var v0: UInt64 = 0x736f6d6570736575 ^ k0
        var v1: UInt64 = 0x646f72616e646f6d ^ k1
        var v2: UInt64 = 0x6c7967656e657261 ^ k0
        var v3: UInt64 = 0x7465646279746573 ^ k1
        func round() {
            v0 &+= v1; v1 = v1.rotated(13); v1 ^= v0; v0 = v0.rotated(32)
            v2 &+= v3; v3 = v3.rotated(16); v3 ^= v2
            v0 &+= v3; v3 = v3.rotated(21); v3 ^= v0
            v2 &+= v1; v1 = v1.rotated(17); v1 ^= v2; v2 = v2.rotated(32)
        }
        let whole = bytes.count / 8 * 8
        var i = 0
        while i < whole {
            var m: UInt64 = 0
            for j in 0..<8 { m |= UInt64(bytes[i + j]) << (8 * UInt64(j)) }
            v3 ^= m
            round(); round()
            v0 ^= m
            i += 8
        }
        var last = UInt64(truncatingIfNeeded: bytes.count) << 56
        for j in 0..<(bytes.count - whole) { last |= UInt64(bytes[whole + j]) << (8 * UInt64(j)) }
        v3 ^= last
        round(); round()
        v0 ^= last
        v2 ^= 0xff
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }

    /// The tag of a sequence of 64-bit words (each little-endian), without building the bytes by hand.
    public func hash(words: [UInt64]) -> UInt64 {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(words.count * 8)
        for w in words { for j in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: w >> (8 * UInt64(j)))) } }
        return hash(bytes)
    }
}

extension UInt64 {
    fileprivate func rotated(_ n: UInt64) -> UInt64 { self << n | self >> (64 - n) }
}
