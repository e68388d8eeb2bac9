// The fast path of `PacketDecoder.decode`. Nearly every frame of a capture is Ethernet II, then IPv4
// without options or IPv6 without extension headers, then TCP: those are decoded here straight from
// the frame, with one length check before the first read, plain loads, and no header views, typed
// throws or intermediate values copied from level to level. Anything else (VLAN tags and other
// framing, IPv4 options, fragments, extension headers, ICMP, and every frame the general path would
// call ignored or undecodable) is declined, and `decode` takes the general path. The general path
// stays the reference: when the fast path returns a summary it is the one the general path would
// build, field for field (FastPathTests compares the two on varied and damaged frames).

extension PacketDecoder {
    /// Ethernet (14) + IPv4 without options (20) + TCP without options (20).
    @inlinable static var fastIPv4MinimumLength: Int { 54 }
    /// Ethernet (14) + IPv6 (40) + TCP without options (20).
    @inlinable static var fastIPv6MinimumLength: Int { 74 }

    /// The summary of an Ethernet → IPv4/IPv6 → TCP frame, or nil when `decode` must say what the
    /// frame is. When not nil, it is the summary `decode` would return in `.tcp`.
    ///
    /// Inlinable, and meant to be inlined into a read loop before `decode`: the summary is then built
    /// where the loop uses it, not returned inside a `DecodedPacket` and copied out again.
    @inlinable @inline(__always)
    public static func fastTCP(
        linkType: LinkType, bytes: UnsafeRawBufferPointer, wireLength: Int
    ) -> TCPPacketSummary? {
        var summary = TCPPacketSummary(
            source: IPAddress(ipv4: 0), destination: IPAddress(ipv4: 0), sourcePort: 0, destinationPort: 0,
            sequenceNumber: SequenceNumber(rawValue: 0), acknowledgmentNumber: SequenceNumber(rawValue: 0), flags: [])
        return fastTCP(linkType: linkType, bytes: bytes, wireLength: wireLength, into: &summary) ? summary : nil
    }

    /// `fastTCP` writing the summary into `summary` in place (for a read loop filling a slot in memory:
    /// no Optional is built aside and copied in). Returns false, with `summary` unchanged, when the fast
    /// path declines the frame; true when it overwrote `summary`.
    @inlinable @inline(__always)
    public static func fastTCP(
        linkType: LinkType, bytes: UnsafeRawBufferPointer, wireLength: Int, into summary: inout TCPPacketSummary
    ) -> Bool {
        let count = bytes.count
        guard linkType == .ethernet, count >= fastIPv4MinimumLength, let frame = bytes.baseAddress else { return false }
        // Every read below is inside the first 54 bytes (74 for IPv6, checked there), or inside
        // option bytes whose count is bounded by what was captured.
        let etherType: UInt16 = frame.bigEndian(at: 12)
        let ip = frame + LinkLayer.ethernetHeaderLength
        let ipCount = count - LinkLayer.ethernetHeaderLength
        let truncated = wireLength > count
        if etherType == EtherType.ipv4.rawValue {
            // RFC 791: version 4 and IHL 5 (no options), protocol TCP, fragment offset 0; the
            // more-fragments bit may be set (a first fragment is decoded, and flagged).
            let flagsFragment: UInt16 = ip.bigEndian(at: IPv4Packet.Field.flagsFragment)
            guard ip.load(fromByteOffset: IPv4Packet.Field.versionIHL, as: UInt8.self) == 0x45,
                  ip.load(fromByteOffset: IPv4Packet.Field.proto, as: UInt8.self) == IPProtocol.tcp.rawValue,
                  flagsFragment & 0x1fff == 0
            else { return false }
            let header = IPv4Packet.minimumHeaderLength
            let total = Int(ip.bigEndian(at: IPv4Packet.Field.totalLength, as: UInt16.self))
            // As in IPv4Packet: Total Length 0 is offload on the capturing host, then the captured bytes
            // count. A Total Length below the header makes the payload negative and the segment declined.
            let ipPayload = total == 0 ? ipCount - header : total - header
            return fastSegment(
                ip + header, captured: Swift.min(ipPayload, ipCount - header), ipPayloadLength: ipPayload,
                source: IPAddress(ipv4: ip.bigEndian(at: IPv4Packet.Field.source)),
                destination: IPAddress(ipv4: ip.bigEndian(at: IPv4Packet.Field.destination)),
                ttl: ip.load(fromByteOffset: IPv4Packet.Field.ttl, as: UInt8.self),
                ipID: ip.bigEndian(at: IPv4Packet.Field.identification), truncated: truncated,
                fragment: flagsFragment & 0x2000 != 0, into: &summary)
        }
        if etherType == EtherType.ipv6.rawValue {
            // RFC 8200: version 6 and Next Header TCP, so no extension headers to walk.
            guard count >= fastIPv6MinimumLength, ip.load(as: UInt8.self) >> 4 == 6,
                  ip.load(fromByteOffset: IPv6Packet.Field.nextHeader, as: UInt8.self) == IPProtocol.tcp.rawValue
            else { return false }
            let header = IPv6Packet.headerLength
            var payload = Int(ip.bigEndian(at: IPv6Packet.Field.payloadLength, as: UInt16.self))
            if payload == 0 { payload = ipCount - header }  // as in IPv6Packet: offload
            return fastSegment(
                ip + header, captured: Swift.min(payload, ipCount - header), ipPayloadLength: payload,
                source: IPAddress(
                    ipv6High: ip.bigEndian(at: IPv6Packet.Field.source),
                    low: ip.bigEndian(at: IPv6Packet.Field.source + 8)),
                destination: IPAddress(
                    ipv6High: ip.bigEndian(at: IPv6Packet.Field.destination),
                    low: ip.bigEndian(at: IPv6Packet.Field.destination + 8)),
                ttl: ip.load(fromByteOffset: IPv6Packet.Field.hopLimit, as: UInt8.self), ipID: 0,
                truncated: truncated, fragment: false, into: &summary)
        }
        return false
    }

    /// `summarize` over a TCP header at `tcp` with `captured` bytes from it on (at least 20 are
    /// readable whenever `captured` says so: the caller's length check covers them), written into
    /// `summary` once the checks pass (false, and `summary` untouched, when they fail).
    ///
    /// The summary is assigned whole: field by field saves a few instructions per packet in the
    /// read-ahead's slots but costs more where the summary is a local (the single-thread read loop).
    @inlinable @inline(__always)
    static func fastSegment(
        _ tcp: UnsafeRawPointer, captured: Int, ipPayloadLength: Int, source: IPAddress, destination: IPAddress,
        ttl: UInt8, ipID: UInt16, truncated: Bool, fragment: Bool, into summary: inout TCPPacketSummary
    ) -> Bool {
        guard captured >= TCPSegment.minimumHeaderLength else { return false }
        let headerLength = Int(tcp.load(fromByteOffset: TCPSegment.Field.dataOffset, as: UInt8.self) >> 4) * 4
        guard headerLength >= TCPSegment.minimumHeaderLength, ipPayloadLength >= headerLength else { return false }
        let payload = ipPayloadLength - headerLength
        let capturedPayload = Swift.max(0, Swift.min(payload, captured - headerLength))
        let flags = TCPFlags(rawValue: tcp.load(fromByteOffset: TCPSegment.Field.flags, as: UInt8.self))
        var options = TCPOptionsSummary()
        if flags.contains(.syn) {
            // The option bytes captured (the snap length may cut the header), as `TCPSegment.optionBytes`.
            let optionBytes = UnsafeRawBufferPointer(
                start: tcp + TCPSegment.minimumHeaderLength,
                count: Swift.min(headerLength, captured) - TCPSegment.minimumHeaderLength)
            options = TCPOptionsSummary(parsing: optionBytes, truncated: captured < headerLength)
        }
        summary = TCPPacketSummary(
            source: source, destination: destination,
            sourcePort: tcp.bigEndian(at: TCPSegment.Field.sourcePort),
            destinationPort: tcp.bigEndian(at: TCPSegment.Field.destinationPort),
            sequenceNumber: SequenceNumber(rawValue: tcp.bigEndian(at: TCPSegment.Field.sequence)),
            acknowledgmentNumber: SequenceNumber(rawValue: tcp.bigEndian(at: TCPSegment.Field.acknowledgment)),
            flags: flags, window: tcp.bigEndian(at: TCPSegment.Field.window),
            payloadLength: UInt32(truncatingIfNeeded: payload),
            capturedPayloadLength: UInt32(truncatingIfNeeded: capturedPayload), ttl: ttl, ipID: ipID,
            options: options, isTruncated: truncated || capturedPayload < payload, isFragment: fragment)
        return true
    }
}
