// Prefix-preserving anonymization in the manner of Crypto-PAn (Xu, Fan, Ammar, Moon, "Prefix-Preserving
// IP Address Anonymization", ICNP 2002): bit i of the output is bit i of the input XOR a keyed PRF of
// the input's first i bits. Two addresses sharing a k-bit prefix therefore share exactly a k-bit prefix
// afterwards (same subnet stays same subnet), and without the key the mapping cannot be inverted or
// recomputed. The PRF is SipHash-2-4 (instead of Crypto-PAn's AES), keyed with 128 bits.

import WireFormat

/// Maps IP and MAC addresses to anonymized ones, consistently for one key.
public struct AddressAnonymizer: Sendable {
    public let key: [UInt8]
    let prf: SipHash

    /// `key` must be 16 bytes.
    public init(key: [UInt8]) {
        self.key = key
        prf = SipHash(key: key)
    }

    /// A fresh random 16-byte key from the system's generator.
    public static func randomKey() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// Parses 32 hexadecimal digits; nil otherwise.
    public static func key(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 32 else { return nil }
        var key: [UInt8] = []
        for i in stride(from: 0, to: 32, by: 2) {
            guard let byte = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            key.append(byte)
        }
        return key
    }

    /// The key as 32 lowercase hexadecimal digits.
    public var keyHex: String {
        key.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The anonymized address: same family, prefix-preserving.
    public func anonymize(_ address: IPAddress) -> IPAddress {
        if address.isIPv6 {
            let (high, low) = permute(high: address.high, low: address.low, bits: 128, family: 6)
            return IPAddress(ipv6High: high, low: low)
        }
        let (_, low) = permute(high: 0, low: UInt64(address.ipv4Value) << 32, bits: 32, family: 4)
        return IPAddress(ipv4: UInt32(truncatingIfNeeded: low >> 32))
    }

    /// Walks the bits from the most significant one. The address is a 128-bit number (high, low);
    /// IPv4 uses the top 32 bits of `low`.
    func permute(high: UInt64, low: UInt64, bits: Int, family: UInt64) -> (UInt64, UInt64) {
        var outHigh = high
        var outLow = low
        for i in 0..<bits {
            // The original's first i bits, the rest zero.
            let prefixHigh: UInt64
            let prefixLow: UInt64
            if family == 4 {
                prefixHigh = 0
                prefixLow = i == 0 ? 0 : low & ~(UInt64.max >> UInt64(i))
            } else if i < 64 {
                prefixHigh = i == 0 ? 0 : high & ~(UInt64.max >> UInt64(i))
                prefixLow = 0
            } else {
                prefixHigh = high
                prefixLow = i == 64 ? 0 : low & ~(UInt64.max >> UInt64(i - 64))
            }
            let flip = prf.hash(words: [family << 8 | UInt64(i), prefixHigh, prefixLow]) & 1
            guard flip == 1 else { continue }
            if family == 4 || i >= 64 {
                outLow ^= 1 << UInt64(63 - (family == 4 ? i : i - 64))
            } else {
                outHigh ^= 1 << UInt64(63 - i)
            }
        }
        return (outHigh, outLow)
    }

    /// A MAC (or other link-layer) address: keyed, keeps the group bit, marks the result locally
    /// administered; broadcast and all-zero addresses stay as they are.
    public func anonymize(mac: [UInt8]) -> [UInt8] {
        if mac.allSatisfy({ $0 == 0xff }) || mac.allSatisfy({ $0 == 0 }) { return mac }
        var words: [UInt64] = [0x6d6163]
        var packed: UInt64 = 0
        for b in mac { packed = packed << 8 | UInt64(b) }
        words.append(packed)
        words.append(UInt64(mac.count))
        var h = prf.hash(words: words)
        var out = mac
        for i in 0..<out.count {
            out[i] = UInt8(truncatingIfNeeded: h)
            h = h >> 8 | h << 56
        }
        if !out.isEmpty { out[0] = out[0] & 0xfc | 0x02 | mac[0] & 0x01 }
        return out
    }
}
