import Testing
import WireFormat

/// Decodes `bytes` as a frame of `linkType`; `wireLength` defaults to the captured length.
func decode(_ bytes: [UInt8], _ linkType: LinkType, wireLength: Int? = nil) -> DecodedPacket {
    bytes.withUnsafeBytes { PacketDecoder.decode(linkType: linkType, bytes: $0, wireLength: wireLength ?? bytes.count) }
}

/// The TCP summary, or nil (with the outcome recorded as an issue) when the frame is something else.
func tcpSummary(_ packet: DecodedPacket, sourceLocation: SourceLocation = #_sourceLocation) -> TCPPacketSummary? {
    if case .tcp(let summary) = packet { return summary }
    Issue.record("expected a TCP segment, got \(packet)", sourceLocation: sourceLocation)
    return nil
}

func icmpSummary(_ packet: DecodedPacket, sourceLocation: SourceLocation = #_sourceLocation) -> ICMPErrorSummary? {
    if case .icmpError(let summary) = packet { return summary }
    Issue.record("expected an ICMP error, got \(packet)", sourceLocation: sourceLocation)
    return nil
}

func decodeError(_ packet: DecodedPacket) -> DecodeError? {
    if case .undecodable(let error) = packet { return error }
    return nil
}

func ignoredReason(_ packet: DecodedPacket) -> IgnoredReason? {
    if case .ignored(let reason) = packet { return reason }
    return nil
}

/// Runs `body` on a view of the bytes.
func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(DecodeError) -> R) throws(DecodeError) -> R
{
    let result: Result<R, DecodeError> = bytes.withUnsafeBytes { buffer in
        do throws(DecodeError) { return .success(try body(buffer)) } catch { return .failure(error) }
    }
    return try result.get()
}

/// The error a validating initializer throws, or nil when it succeeds.
func thrownError(_ body: () throws(DecodeError) -> Void) -> DecodeError? {
    do throws(DecodeError) {
        try body()
        return nil
    } catch {
        return error
    }
}
