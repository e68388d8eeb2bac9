// The excerpt of a bug-report bundle: a second pass over a capture file that keeps the packets of the
// selected connections (4-tuple and packet-number range, as the analysis numbered them) and the ICMP
// errors quoting them, optionally rewritten (anonymized, payload stripped), written through libpcap.

import ConnectionTracking
import PacketCapture
import WireFormat

/// One connection of a capture as the excerpt needs it: its 4-tuple, its packet range, and whether it
/// goes into the excerpt. Pass every connection of the capture so ICMP errors and reused 4-tuples are
/// attributed to the right one.
public struct ExcerptConnection: Sendable, Hashable {
    public var client: Endpoint
    public var server: Endpoint
    public var firstPacket: Int
    public var lastPacket: Int
    public var isSelected: Bool

    public init(client: Endpoint, server: Endpoint, firstPacket: Int, lastPacket: Int, isSelected: Bool) {
        self.client = client
        self.server = server
        self.firstPacket = firstPacket
        self.lastPacket = lastPacket
        self.isSelected = isSelected
    }
}

/// What went into an excerpt file.
public struct ExcerptResult: Sendable {
    public var path: String
    public var linkType: LinkType
    /// Link headers were removed (the capture mixed link types): the excerpt is raw IP.
    public var convertedToRawIP: Bool
    public var tcpPackets = 0
    public var icmpErrors = 0
    /// Packets of a selected connection left out because their link type differed from the excerpt's.
    public var skippedPackets = 0
    public var packets: Int { tcpPackets + icmpErrors }
}

/// Writes excerpts of capture files.
public enum Excerpt {
    struct TupleKey: Hashable {
        var a: Endpoint
        var b: Endpoint
        init(_ x: Endpoint, _ y: Endpoint) {
            if x.orders(before: y) { a = x; b = y } else { a = y; b = x }
        }
    }

    /// Copies the selected connections' packets of `capture` into a new pcap file at `output`.
    ///
    /// `filter` must be the BPF filter the analysis used, so packet numbers and packets match. The
    /// excerpt keeps the capture's link type; a pcapng file mixing link types becomes raw IP
    /// (LINKTYPE_RAW). Throws when the capture cannot be read or the output cannot be written;
    /// a read error midway ends the excerpt with what was read.
    public static func write(
        capture path: String, filter: String?, connections: [ExcerptConnection], to output: String,
        rewriter: inout PacketRewriter
    ) throws(CaptureError) -> ExcerptResult {
        var byTuple: [TupleKey: [ExcerptConnection]] = [:]
        for c in connections { byTuple[TupleKey(c.client, c.server), default: []].append(c) }
        for key in byTuple.keys { byTuple[key]!.sort { $0.firstPacket < $1.firstPacket } }

        var file = try CaptureFile.open(path: path)
        if let filter { try file.setFilter(filter) }
        let mixed = file.linkTypes.count > 1 || Set(file.linkTypes).count > 1
        let firstLinkType = file.linkTypes.first ?? .ethernet
        let outputLinkType: LinkType = mixed ? .raw : firstLinkType
        var result = ExcerptResult(path: output, linkType: outputLinkType, convertedToRawIP: mixed)
        let dumper = try PcapDumper.create(path: output, linkType: outputLinkType)
        var buffer: [UInt8] = []
        var rw = rewriter
        do {
            try file.forEachPacket { packet in
                let isTCP: Bool
                switch PacketDecoder.decode(linkType: packet.linkType, bytes: packet.bytes, wireLength: packet.wireLength) {
                case .tcp(let s):
                    guard let list = byTuple[TupleKey(Endpoint(ip: s.source, port: s.sourcePort), Endpoint(ip: s.destination, port: s.destinationPort))],
                          list.contains(where: { $0.isSelected && $0.firstPacket <= packet.number && packet.number <= $0.lastPacket })
                    else { return .proceed }
                    isTCP = true
                case .icmpError(let e):
                    // ICMP errors do not extend a connection's packet range: the latest connection on the
                    // quoted 4-tuple that started before the error owns it.
                    guard let list = byTuple[TupleKey(Endpoint(ip: e.quotedSource, port: e.quotedSourcePort), Endpoint(ip: e.quotedDestination, port: e.quotedDestinationPort))],
                          let owner = list.last(where: { $0.firstPacket <= packet.number }), owner.isSelected
                    else { return .proceed }
                    isTCP = false
                case .ignored, .undecodable:
                    return .proceed
                }
                var linkType = packet.linkType
                var offset = 0
                if mixed {
                    guard let info = try? LinkLayer.locateNetworkLayer(linkType: packet.linkType, bytes: packet.bytes) else { return .proceed }
                    offset = info.offset
                    linkType = .raw
                } else if packet.linkType != outputLinkType {
                    result.skippedPackets += 1
                    return .proceed
                }
                if isTCP { result.tcpPackets += 1 } else { result.icmpErrors += 1 }
                if rw.isIdentity && offset == 0 {
                    dumper.write(packet)
                    return .proceed
                }
                buffer.removeAll(keepingCapacity: true)
                buffer.append(contentsOf: packet.bytes[offset...])
                rw.rewrite(&buffer, linkType: linkType)
                buffer.withUnsafeBytes { bytes in
                    dumper.write(CapturedPacket(
                        number: packet.number, timestamp: packet.timestamp, bytes: bytes,
                        wireLength: max(bytes.count, packet.wireLength - offset), linkType: linkType))
                }
                return .proceed
            }
        } catch {
            // A damaged capture: the excerpt covers what was read, as the analysis did.
        }
        rewriter = rw
        dumper.flush()
        return result
    }
}
