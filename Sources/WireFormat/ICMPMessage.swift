// ICMP errors (RFC 792, RFC 1122 §3.2.2) and ICMPv6 errors (RFC 4443 §3) quote the offending
// packet's IP header and at least the first 8 bytes of its TCP header: ports and sequence number,
// enough to tie "host unreachable" to a connection.

/// What an ICMP or ICMPv6 error says about a TCP packet it quotes.
public struct ICMPErrorSummary: Hashable, Sendable {
    /// Who sent the ICMP error (a router or the destination host).
    public var reporter: IPAddress
    /// Who the ICMP error was sent to (normally the quoted packet's source).
    public var recipient: IPAddress
    public var isICMPv6: Bool
    public var type: UInt8
    public var code: UInt8
    public var ttl: UInt8
    /// The quoted packet's addresses and TCP fields.
    public var quotedSource: IPAddress
    public var quotedDestination: IPAddress
    public var quotedSourcePort: UInt16
    public var quotedDestinationPort: UInt16
    public var quotedSequenceNumber: SequenceNumber

    /// A short name: "host-unreachable", "port-unreachable", "admin-prohibited", "ttl-exceeded", ...
    public var kindName: String {
        if isICMPv6 {
            switch (type, code) {
            case (1, 0): return "no-route"
            case (1, 1): return "admin-prohibited"
            case (1, 3): return "host-unreachable"
            case (1, 4): return "port-unreachable"
            case (1, _): return "unreachable"
            case (2, _): return "packet-too-big"
            case (3, _): return "hop-limit-exceeded"
            case (4, _): return "parameter-problem"
            default: return "icmpv6-\(type)-\(code)"
            }
        }
        switch (type, code) {
        case (3, 0): return "net-unreachable"
        case (3, 1): return "host-unreachable"
        case (3, 2): return "protocol-unreachable"
        case (3, 3): return "port-unreachable"
        case (3, 4): return "fragmentation-needed"
        case (3, 9), (3, 10), (3, 13): return "admin-prohibited"
        case (3, _): return "unreachable"
        case (4, _): return "source-quench"
        case (11, _): return "ttl-exceeded"
        case (12, _): return "parameter-problem"
        default: return "icmp-\(type)-\(code)"
        }
    }

    /// The errno a socket most likely reports for this error (Linux names).
    public var likelyErrno: String {
        switch kindName {
        case "net-unreachable", "no-route": "ENETUNREACH"
        case "host-unreachable", "ttl-exceeded", "hop-limit-exceeded": "EHOSTUNREACH"
        case "port-unreachable", "protocol-unreachable": "ECONNREFUSED"
        case "admin-prohibited": "EHOSTUNREACH"
        default: "EHOSTUNREACH"
        }
    }
}

enum ICMPQuote {
    /// Whether an ICMP (`isV6 == false`) type is an error that quotes the original datagram.
    static func isError(type: UInt8, isV6: Bool) -> Bool {
        isV6 ? (1...4).contains(type) : (type == 3 || type == 4 || type == 5 || type == 11 || type == 12)
    }

    /// Decodes the quoted IP + TCP prefix after an ICMP header (8 bytes), or nil when it does not
    /// quote TCP or is too short.
    static func quotedTCP(in message: UnsafeRawBufferPointer) -> (IPAddress, IPAddress, UInt16, UInt16, SequenceNumber)? {
        let quoted = message.tail(from: 8)
        guard quoted.count >= 1 else { return nil }
        let version = quoted[0] >> 4
        var source: IPAddress
        var destination: IPAddress
        var tcp: UnsafeRawBufferPointer
        if version == 4 {
            guard quoted.count >= 20 else { return nil }
            let ihl = Int(quoted[0] & 0x0f) * 4
            guard ihl >= 20, quoted.count >= ihl + 8, quoted[9] == IPProtocol.tcp.rawValue else { return nil }
            source = IPAddress(ipv4: quoted.bigEndian(at: 12))
            destination = IPAddress(ipv4: quoted.bigEndian(at: 16))
            tcp = quoted.tail(from: ihl)
        } else if version == 6 {
            guard quoted.count >= 48, quoted[6] == IPProtocol.tcp.rawValue else { return nil }
            source = IPAddress(ipv6High: quoted.bigEndian(at: 8), low: quoted.bigEndian(at: 16))
            destination = IPAddress(ipv6High: quoted.bigEndian(at: 24), low: quoted.bigEndian(at: 32))
            tcp = quoted.tail(from: 40)
        } else {
            return nil
        }
        return (source, destination, tcp.bigEndian(at: 0), tcp.bigEndian(at: 2), SequenceNumber(rawValue: tcp.bigEndian(at: 4)))
    }
}
