// Rewrites frames for a shareable excerpt: addresses anonymized (IP headers, the packet an ICMP error
// quotes, link-layer addresses) and payload bytes replaced by zeros with lengths kept. Checksums are
// recomputed when the whole segment or message was captured (a capturing host with checksum offload
// leaves a partial sum of the original addresses there, which must not survive), and otherwise
// updated incrementally (RFC 1624: HC' = ~(~HC + ~m + m')) over the captured bytes, which keeps a
// checksum right for a packet cut short by the snap length or quoted in an ICMP error.
// Headers: IPv4 RFC 791 (checksum at 10), IPv6 RFC 8200, TCP RFC 9293 (checksum at 16, pseudo-header),
// ICMP RFC 792 (checksum at 2, over the message), ICMPv6 RFC 4443 §2.3 (pseudo-header too).

import WireFormat

/// What to change in each frame of an excerpt.
public struct PacketRewriter: Sendable {
    public var anonymizer: AddressAnonymizer?
    public var stripPayload: Bool
    private var cache: [IPAddress: IPAddress] = [:]

    public init(anonymizer: AddressAnonymizer?, stripPayload: Bool) {
        self.anonymizer = anonymizer
        self.stripPayload = stripPayload
    }

    /// Whether `rewrite` changes anything at all.
    public var isIdentity: Bool { anonymizer == nil && !stripPayload }

    mutating func mapped(_ address: IPAddress) -> IPAddress {
        guard let anonymizer else { return address }
        if let known = cache[address] { return known }
        let result = anonymizer.anonymize(address)
        cache[address] = result
        return result
    }

    /// Rewrites one frame of `linkType` in place. Frames that do not decode keep their bytes except
    /// for the link-layer addresses.
    public mutating func rewrite(_ frame: inout [UInt8], linkType: LinkType) {
        guard !isIdentity else { return }
        if anonymizer != nil { anonymizeLinkAddresses(&frame, linkType: linkType) }
        let located: LinkLayerInfo? = frame.withUnsafeBytes { raw in
            try? LinkLayer.locateNetworkLayer(linkType: linkType, bytes: raw)
        }
        guard let located, located.offset < frame.count else { return }
        let start = located.offset
        var version: UInt8 = 0
        switch located.network {
        case .ipv4: version = 4
        case .ipv6: version = 6
        case .ipByVersion: version = frame[start] >> 4
        case .other: return
        }
        let end: Int
        switch version {
        case 4: end = rewriteIPv4(&frame, at: start, limit: frame.count, quoted: false)
        case 6: end = rewriteIPv6(&frame, at: start, limit: frame.count, quoted: false)
        default: return
        }
        // Link-layer padding after the IP packet could hold anything.
        if end < frame.count { for i in end..<frame.count { frame[i] = 0 } }
    }

    /// Link-layer source/destination addresses: Ethernet, Linux cooked v1 and v2.
    func anonymizeLinkAddresses(_ frame: inout [UInt8], linkType: LinkType) {
        guard let anonymizer else { return }
        func replace(_ range: Range<Int>) {
            guard range.upperBound <= frame.count, !range.isEmpty else { return }
            let new = anonymizer.anonymize(mac: Array(frame[range]))
            frame.replaceSubrange(range, with: new)
        }
        switch linkType {
        case .ethernet:
            replace(0..<6)
            replace(6..<12)
        case .linuxSLL:
            guard frame.count >= 16 else { return }
            let length = min(8, Int(frame[4]) << 8 | Int(frame[5]))
            replace(6..<6 + length)
        case .linuxSLL2:
            guard frame.count >= 20 else { return }
            replace(12..<12 + min(8, Int(frame[11])))
        default:
            break
        }
    }

    /// Rewrites an IPv4 packet at `start` (the bytes before `limit` exist); returns where it ends.
    /// `quoted`: the packet inside an ICMP error (its TCP header may be cut after 8 bytes).
    mutating func rewriteIPv4(_ frame: inout [UInt8], at start: Int, limit: Int, quoted: Bool) -> Int {
        guard limit - start >= 20 else { return limit }
        let ihl = Int(frame[start] & 0x0f) * 4
        guard ihl >= 20, start + ihl <= limit else { return limit }
        let total = Int(frame[start + 2]) << 8 | Int(frame[start + 3])
        let end = total == 0 || total < ihl ? limit : min(limit, start + total)
        let complete = !quoted && (total == 0 || start + total <= limit)
        let oldHeader = Array(frame[start..<start + ihl])
        let oldSource = Array(frame[start + 12..<start + 16])
        let oldDestination = Array(frame[start + 16..<start + 20])
        if anonymizer != nil {
            let source = mapped(IPAddress(ipv4: read32(frame, start + 12)))
            let destination = mapped(IPAddress(ipv4: read32(frame, start + 16)))
            write32(&frame, start + 12, source.ipv4Value)
            write32(&frame, start + 16, destination.ipv4Value)
        }
        let pseudoOld = oldSource + oldDestination
        let pseudoNew = Array(frame[start + 12..<start + 20])
        let fragmentOffset = (Int(frame[start + 6]) << 8 | Int(frame[start + 7])) & 0x1fff
        if fragmentOffset == 0 {
            switch frame[start + 9] {
            case 6: rewriteTCP(&frame, at: start + ihl, end: end, pseudoOld: pseudoOld, pseudoNew: pseudoNew, complete: complete)
            case 1: rewriteICMP(&frame, at: start + ihl, end: end, pseudoOld: nil, pseudoNew: nil, isV6: false, complete: complete)
            default: if stripPayload { zero(&frame, start + ihl..<end) }
            }
        } else if stripPayload {
            zero(&frame, start + ihl..<end)
        }
        Self.adjustChecksum(&frame, at: start + 10, region: start..<start + ihl, old: oldHeader, pseudo: nil, complete: 0)
        return end
    }

    /// Rewrites an IPv6 packet at `start`; returns where it ends.
    mutating func rewriteIPv6(_ frame: inout [UInt8], at start: Int, limit: Int, quoted: Bool) -> Int {
        guard limit - start >= 40 else { return limit }
        let payloadLength = Int(frame[start + 4]) << 8 | Int(frame[start + 5])
        let end = payloadLength == 0 ? limit : min(limit, start + 40 + payloadLength)
        let complete = !quoted && (payloadLength == 0 || start + 40 + payloadLength <= limit)
        let pseudoOld = Array(frame[start + 8..<start + 40])
        if anonymizer != nil {
            for offset in [8, 24] {
                let address = IPAddress(ipv6High: read64(frame, start + offset), low: read64(frame, start + offset + 8))
                let new = mapped(address)
                write64(&frame, start + offset, new.high)
                write64(&frame, start + offset + 8, new.low)
            }
        }
        let pseudoNew = Array(frame[start + 8..<start + 40])
        // Walk the extension headers with the validating view (a quoted packet may be cut short: then
        // only a directly following TCP header is looked at).
        var upper = start + 40
        var next = frame[start + 6]
        if !quoted {
            let view: (Int, UInt8, Bool)? = frame[start..<end].withUnsafeBytes { raw in
                guard let ip = try? IPv6Packet(validating: raw) else { return nil }
                return (ip.upperLayerOffset, ip.upperLayerProtocol.rawValue, ip.isLaterFragment)
            }
            guard let view else { return end }
            if view.2 {
                if stripPayload { zero(&frame, start + view.0..<end) }
                return end
            }
            upper = start + view.0
            next = view.1
        }
        switch next {
        case 6: rewriteTCP(&frame, at: upper, end: end, pseudoOld: pseudoOld, pseudoNew: pseudoNew, complete: complete)
        case 58: rewriteICMP(&frame, at: upper, end: end, pseudoOld: pseudoOld, pseudoNew: pseudoNew, isV6: true, complete: complete)
        default: if stripPayload { zero(&frame, upper..<end) }
        }
        return end
    }

    /// TCP: payload zeroed when stripping; checksum follows the pseudo-header and payload changes.
    mutating func rewriteTCP(
        _ frame: inout [UInt8], at start: Int, end: Int, pseudoOld: [UInt8], pseudoNew: [UInt8], complete: Bool
    ) {
        guard end > start else { return }
        let old = Array(frame[start..<end])
        if stripPayload, end - start >= 13 {
            let headerLength = Int(frame[start + 12] >> 4) * 4
            if headerLength >= 20, start + headerLength < end { zero(&frame, start + headerLength..<end) }
        }
        guard end - start >= 18 else { return }  // checksum not captured (an ICMP quote of 8 bytes)
        Self.adjustChecksum(
            &frame, at: start + 16, region: start..<end, old: old, pseudo: (pseudoOld, pseudoNew),
            complete: complete ? 6 + UInt32(end - start) : nil)
    }

    /// ICMP / ICMPv6: the quoted packet is rewritten like any other (addresses, its checksums, payload),
    /// then the message checksum follows.
    mutating func rewriteICMP(
        _ frame: inout [UInt8], at start: Int, end: Int, pseudoOld: [UInt8]?, pseudoNew: [UInt8]?, isV6: Bool,
        complete: Bool
    ) {
        guard end - start >= 8 else { return }
        let old = Array(frame[start..<end])
        let type = frame[start]
        let isError = isV6 ? (1...4).contains(type) : [3, 4, 5, 11, 12].contains(type)
        if isError, end - start > 8 {
            switch frame[start + 8] >> 4 {
            case 4: _ = rewriteIPv4(&frame, at: start + 8, limit: end, quoted: true)
            case 6: _ = rewriteIPv6(&frame, at: start + 8, limit: end, quoted: true)
            default: if stripPayload { zero(&frame, start + 8..<end) }
            }
        } else if stripPayload {
            zero(&frame, start + 8..<end)  // echo data and the like
        }
        let pseudo = pseudoOld.flatMap { o in pseudoNew.map { (o, $0) } }
        let length = UInt32(end - start)
        Self.adjustChecksum(
            &frame, at: start + 2, region: start..<end, old: old, pseudo: pseudo,
            complete: complete ? (isV6 ? 58 + length : 0) : nil)
    }

    func zero(_ frame: inout [UInt8], _ range: Range<Int>) {
        guard !range.isEmpty else { return }
        for i in range.clamped(to: 0..<frame.count) { frame[i] = 0 }
    }

    /// Updates the 16-bit checksum at `field` after the bytes of `region` changed from `old`, and the
    /// pseudo-header addresses from `pseudo.0` to `pseudo.1`. `complete` (the protocol number plus the
    /// length, as the pseudo-header adds them; 0 without a pseudo-header) recomputes the checksum from
    /// scratch; nil updates it incrementally. The checksum field itself is skipped.
    static func adjustChecksum(
        _ frame: inout [UInt8], at field: Int, region: Range<Int>, old: [UInt8], pseudo: ([UInt8], [UInt8])?,
        complete: UInt32?
    ) {
        guard field + 2 <= region.upperBound, field >= region.lowerBound else { return }
        let skip = field - region.lowerBound
        let newSum = sum(Array(frame[region]), skipping: skip) + (pseudo.map { sum($0.1, skipping: -1) } ?? 0)
        let result: UInt32
        if let extra = complete {
            result = ~fold(fold(newSum) + fold(extra)) & 0xffff
        } else {
            let oldSum = sum(old, skipping: skip) + (pseudo.map { sum($0.0, skipping: -1) } ?? 0)
            guard fold(oldSum) != fold(newSum) else { return }
            let checksum = UInt32(frame[field]) << 8 | UInt32(frame[field + 1])
            // ~HC' = ~HC + ~m + m' (ones' complement arithmetic).
            let total = (~checksum & 0xffff) + (~fold(oldSum) & 0xffff) + fold(newSum)
            result = ~fold(total) & 0xffff
        }
        frame[field] = UInt8(result >> 8)
        frame[field + 1] = UInt8(result & 0xff)
    }

    /// Sum of big-endian 16-bit words (an odd last byte is the high byte of a word), skipping the word
    /// at byte offset `skipping`.
    static func sum(_ bytes: [UInt8], skipping: Int) -> UInt32 {
        var total: UInt32 = 0
        var i = 0
        while i < bytes.count {
            if i != skipping {
                let high = UInt32(bytes[i]) << 8
                let low = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
                total += high | low
                if total > 0xffff_0000 { total = fold(total) }
            }
            i += 2
        }
        return total
    }

    static func fold(_ value: UInt32) -> UInt32 {
        var v = value
        while v > 0xffff { v = (v & 0xffff) + (v >> 16) }
        return v
    }
}

private func read32(_ b: [UInt8], _ at: Int) -> UInt32 {
    UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
}

private func write32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
    for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> UInt32(24 - 8 * i)) }
}

private func read64(_ b: [UInt8], _ at: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in 0..<8 { v = v << 8 | UInt64(b[at + i]) }
    return v
}

private func write64(_ b: inout [UInt8], _ at: Int, _ v: UInt64) {
    for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> UInt64(56 - 8 * i)) }
}
