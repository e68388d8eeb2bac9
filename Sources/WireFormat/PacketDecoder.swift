/// What one captured frame turned out to be.
public enum DecodedPacket: Sendable {
    /// A TCP segment (possibly with truncated payload or options).
    case tcp(TCPPacketSummary)
    /// An ICMP/ICMPv6 error quoting a TCP packet.
    case icmpError(ICMPErrorSummary)
    /// Decodable, but nothing coroner tracks.
    case ignored(IgnoredReason)
    /// Headers could not be decoded; counted with the reason and skipped.
    case undecodable(DecodeError)
}

/// Why a decodable packet was not tracked.
public enum IgnoredReason: String, Sendable, Hashable {
    /// Not IPv4 or IPv6 (ARP, LLDP, ...).
    case notIP = "not-ip"
    /// IP, but not TCP nor an ICMP error quoting TCP.
    case notTCP = "not-tcp"
    /// A non-first IP fragment: its TCP header is in another fragment (fragments are not reassembled).
    case laterFragment = "later-fragment"
}

/// Decodes captured frames into summaries. Pure and allocation-free.
public enum PacketDecoder {
    /// Decodes one frame of `linkType`. `wireLength` is the original length (libpcap's `len`).
    ///
    /// Read loops call `fastTCP` first, inlined, and come here for the frames it declines.
    public static func decode(linkType: LinkType, bytes: UnsafeRawBufferPointer, wireLength: Int) -> DecodedPacket {
        if let summary = fastTCP(linkType: linkType, bytes: bytes, wireLength: wireLength) { return .tcp(summary) }
        return decodeGeneral(linkType: linkType, bytes: bytes, wireLength: wireLength)
    }

    /// Every link type and header chain, with the reason for whatever is not a TCP segment. `decode`
    /// comes here when `fastTCP` declines a frame (as do read loops that try `fastTCP` first, inlined,
    /// so it is not tried twice); tests compare the two paths.
    @inline(never)
    public static func decodeGeneral(linkType: LinkType, bytes: UnsafeRawBufferPointer, wireLength: Int) -> DecodedPacket {
        do throws(DecodeError) {
            let link = try LinkLayer.locateNetworkLayer(linkType: linkType, bytes: bytes)
            let network = bytes.tail(from: link.offset)
            let truncated = wireLength > bytes.count
            switch link.network {
            case .ipv4: return try ipv4(network, truncated: truncated)
            case .ipv6: return try ipv6(network, truncated: truncated)
            case .ipByVersion:
                guard network.count >= 1 else { throw .truncated(.ipv4, needed: 1, available: 0) }
                switch network[0] >> 4 {
                case 4: return try ipv4(network, truncated: truncated)
                case 6: return try ipv6(network, truncated: truncated)
                default: throw .badVersion(network[0] >> 4)
                }
            case .other: return .ignored(.notIP)
            }
        } catch {
            return .undecodable(error)
        }
    }

    static func ipv4(_ bytes: UnsafeRawBufferPointer, truncated: Bool) throws(DecodeError) -> DecodedPacket {
        let ip = try IPv4Packet(validating: bytes)
        if ip.fragmentOffset != 0 { return .ignored(.laterFragment) }
        switch ip.protocolNumber {
        case .tcp:
            return .tcp(try summarize(
                tcpBytes: ip.payload, ipPayloadLength: ip.payloadLength, source: ip.source, destination: ip.destination,
                ttl: ip.ttl, ipID: ip.identification, truncated: truncated, fragment: ip.moreFragments))
        case .icmp:
            let message = ip.payload
            guard message.count >= 8, ICMPQuote.isError(type: message[0], isV6: false),
                  let quote = ICMPQuote.quotedTCP(in: message)
            else { return .ignored(.notTCP) }
            return .icmpError(ICMPErrorSummary(
                reporter: ip.source, recipient: ip.destination, isICMPv6: false, type: message[0], code: message[1],
                ttl: ip.ttl, quotedSource: quote.0, quotedDestination: quote.1, quotedSourcePort: quote.2,
                quotedDestinationPort: quote.3, quotedSequenceNumber: quote.4))
        default:
            return .ignored(.notTCP)
        }
    }

    static func ipv6(_ bytes: UnsafeRawBufferPointer, truncated: Bool) throws(DecodeError) -> DecodedPacket {
        let ip = try IPv6Packet(validating: bytes)
        if ip.isLaterFragment { return .ignored(.laterFragment) }
        switch ip.upperLayerProtocol {
        case .tcp:
            return .tcp(try summarize(
                tcpBytes: ip.upperLayerPayload, ipPayloadLength: ip.upperLayerLength, source: ip.source,
                destination: ip.destination, ttl: ip.hopLimit, ipID: 0, truncated: truncated, fragment: ip.isFragment))
        case .icmpv6:
            let message = ip.upperLayerPayload
            guard message.count >= 8, ICMPQuote.isError(type: message[0], isV6: true),
                  let quote = ICMPQuote.quotedTCP(in: message)
            else { return .ignored(.notTCP) }
            return .icmpError(ICMPErrorSummary(
                reporter: ip.source, recipient: ip.destination, isICMPv6: true, type: message[0], code: message[1],
                ttl: ip.hopLimit, quotedSource: quote.0, quotedDestination: quote.1, quotedSourcePort: quote.2,
                quotedDestinationPort: quote.3, quotedSequenceNumber: quote.4))
        default:
            return .ignored(.notTCP)
        }
    }

    static func summarize(
        tcpBytes: UnsafeRawBufferPointer, ipPayloadLength: Int, source: IPAddress, destination: IPAddress,
        ttl: UInt8, ipID: UInt16, truncated: Bool, fragment: Bool
    ) throws(DecodeError) -> TCPPacketSummary {
        let tcp = try TCPSegment(validating: tcpBytes)
        guard ipPayloadLength >= tcp.headerLength else { throw .badHeaderLength(.tcp, tcp.headerLength) }
        let payload = ipPayloadLength - tcp.headerLength
        let captured = Swift.max(0, Swift.min(payload, tcpBytes.count - tcp.headerLength))
        return TCPPacketSummary(
            source: source, destination: destination, sourcePort: tcp.sourcePort, destinationPort: tcp.destinationPort,
            sequenceNumber: tcp.sequenceNumber, acknowledgmentNumber: tcp.acknowledgmentNumber, flags: tcp.flags,
            window: tcp.window, payloadLength: UInt32(truncatingIfNeeded: payload),
            capturedPayloadLength: UInt32(truncatingIfNeeded: captured), ttl: ttl, ipID: ipID,
            options: tcp.flags.contains(.syn) ? tcp.options : TCPOptionsSummary(),
            isTruncated: truncated || captured < payload, isFragment: fragment)
    }
}
