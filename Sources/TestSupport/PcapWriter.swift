// Writes capture files without libpcap, so tests can build fixtures (including ones libpcap cannot
// write: several link types in one pcapng, big-endian sections, odd timestamp resolutions).
// Formats: classic pcap (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html) and pcapng
// (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html).

import WireFormat

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One packet to write.
public struct PcapRecord: Sendable, Hashable {
    /// Nanoseconds since the Unix epoch.
    public var timestamp: Int64
    public var bytes: [UInt8]
    /// Length on the wire; defaults to `bytes.count`.
    public var wireLength: Int
    /// pcapng interface index (ignored for classic pcap).
    public var interface: Int

    public init(timestamp: Int64, bytes: [UInt8], wireLength: Int? = nil, interface: Int = 0) {
        self.timestamp = timestamp
        self.bytes = bytes
        self.wireLength = wireLength ?? bytes.count
        self.interface = interface
    }
}

/// Classic pcap and pcapng writers returning bytes (write them with `PcapWriter.write(_:to:)`).
public enum PcapWriter {
    public enum Precision: Sendable { case microseconds, nanoseconds }

    /// A classic pcap file: 24-byte header and 16-byte record headers.
    public static func classic(
        linkType: LinkType, records: [PcapRecord], precision: Precision = .microseconds, bigEndian: Bool = false,
        snapLength: UInt32 = 262_144
    ) -> [UInt8] {
        var out = ByteSink(bigEndian: bigEndian)
        out.u32(precision == .nanoseconds ? 0xA1B2_3C4D : 0xA1B2_C3D4)
        out.u16(2)
        out.u16(4)
        out.u32(0)
        out.u32(0)
        out.u32(snapLength)
        out.u32(linkType.rawValue)
        for record in records {
            let seconds = record.timestamp / 1_000_000_000
            let fraction = record.timestamp % 1_000_000_000
            out.u32(UInt32(truncatingIfNeeded: seconds))
            out.u32(UInt32(truncatingIfNeeded: precision == .nanoseconds ? fraction : fraction / 1000))
            out.u32(UInt32(truncatingIfNeeded: record.bytes.count))
            out.u32(UInt32(truncatingIfNeeded: record.wireLength))
            out.bytes += record.bytes
        }
        return out.bytes
    }

    /// An interface description for pcapng.
    public struct Interface: Sendable, Hashable {
        public var linkType: LinkType
        public var snapLength: UInt32
        /// The `if_tsresol` option byte: high bit clear = 10^-n seconds, set = 2^-n. `nil` omits it (10^-6).
        public var timestampResolution: UInt8?
        public init(linkType: LinkType, snapLength: UInt32 = 262_144, timestampResolution: UInt8? = nil) {
            self.linkType = linkType
            self.snapLength = snapLength
            self.timestampResolution = timestampResolution
        }
    }

    /// A single-section pcapng file: SHB, one IDB per interface, one EPB per record.
    public static func pcapng(interfaces: [Interface], records: [PcapRecord], bigEndian: Bool = false) -> [UInt8] {
        var file = PcapngBuilder(bigEndian: bigEndian)
        for interface in interfaces { file.interface(interface) }
        for record in records {
            file.enhancedPacket(record, resolution: interfaces[record.interface].timestampResolution)
        }
        return file.bytes
    }

    /// Writes `bytes` to `path`, replacing the file. Returns false when the file cannot be written.
    @discardableResult
    public static func write(_ bytes: [UInt8], to path: String) -> Bool {
        guard let file = fopen(path, "wb") else { return false }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        return fclose(file) == 0 && written == bytes.count
    }
}

/// Block-by-block pcapng writer, for files with several sections, SPBs, OPBs or unknown blocks.
public struct PcapngBuilder: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var bigEndian: Bool

    /// Starts a file with a section header block in the given byte order.
    public init(bigEndian: Bool = false) {
        self.bigEndian = bigEndian
        section(bigEndian: bigEndian)
    }

    /// Starts a new section (SHB); interfaces of earlier sections no longer apply.
    public mutating func section(bigEndian: Bool) {
        self.bigEndian = bigEndian
        var body = ByteSink(bigEndian: bigEndian)
        body.u32(0x1A2B_3C4D)
        body.u16(1)
        body.u16(0)
        body.u64(UInt64.max)  // section length unknown
        block(type: 0x0A0D_0D0A, body: body.bytes)
    }

    /// Appends an interface description block.
    public mutating func interface(_ interface: PcapWriter.Interface) {
        var body = ByteSink(bigEndian: bigEndian)
        body.u16(UInt16(truncatingIfNeeded: interface.linkType.rawValue))
        body.u16(0)
        body.u32(interface.snapLength)
        if let resolution = interface.timestampResolution {
            body.u16(9)
            body.u16(1)
            body.bytes += [resolution, 0, 0, 0]
            body.u16(0)  // opt_endofopt
            body.u16(0)
        }
        block(type: 1, body: body.bytes)
    }

    /// Appends an enhanced packet block; the timestamp is converted to the interface's resolution.
    public mutating func enhancedPacket(_ record: PcapRecord, resolution: UInt8? = nil) {
        var body = ByteSink(bigEndian: bigEndian)
        body.u32(UInt32(truncatingIfNeeded: record.interface))
        Self.timedPacket(record, resolution: resolution, into: &body)
        block(type: 6, body: body.bytes)
    }

    /// Appends a simple packet block (interface 0, no timestamp, captured length implied).
    public mutating func simplePacket(_ bytes: [UInt8], wireLength: Int? = nil) {
        var body = ByteSink(bigEndian: bigEndian)
        body.u32(UInt32(truncatingIfNeeded: wireLength ?? bytes.count))
        body.bytes += bytes
        body.pad()
        block(type: 3, body: body.bytes)
    }

    /// Appends an obsolete packet block (type 2), as old Wireshark versions wrote.
    public mutating func obsoletePacket(_ record: PcapRecord, resolution: UInt8? = nil) {
        var body = ByteSink(bigEndian: bigEndian)
        body.u16(UInt16(truncatingIfNeeded: record.interface))
        body.u16(0)  // drops count
        Self.timedPacket(record, resolution: resolution, into: &body)
        block(type: 2, body: body.bytes)
    }

    /// The part enhanced and obsolete packet blocks share: timestamp, lengths, data, padding.
    static func timedPacket(_ record: PcapRecord, resolution: UInt8?, into body: inout ByteSink) {
        let units = Self.units(record.timestamp, resolution: resolution)
        body.u32(UInt32(truncatingIfNeeded: units >> 32))
        body.u32(UInt32(truncatingIfNeeded: units))
        body.u32(UInt32(truncatingIfNeeded: record.bytes.count))
        body.u32(UInt32(truncatingIfNeeded: record.wireLength))
        body.bytes += record.bytes
        body.pad()
    }

    /// Appends any block; `body` is padded to a multiple of 4.
    public mutating func block(type: UInt32, body: [UInt8]) {
        var out = ByteSink(bigEndian: bigEndian)
        var padded = body
        while padded.count % 4 != 0 { padded.append(0) }
        let total = UInt32(truncatingIfNeeded: 12 + padded.count)
        out.u32(type)
        out.u32(total)
        out.bytes += padded
        out.u32(total)
        bytes += out.bytes
    }

    /// Appends raw bytes (for damage tests).
    public mutating func append(raw: [UInt8]) { bytes += raw }

    /// Nanoseconds to the units of an `if_tsresol` value.
    static func units(_ nanoseconds: Int64, resolution: UInt8?) -> UInt64 {
        let ns = UInt64(bitPattern: nanoseconds)
        let seconds = ns / 1_000_000_000
        let fraction = ns % 1_000_000_000
        let code = resolution ?? 6
        if code & 0x80 != 0 {
            let shift = UInt64(code & 0x7f)
            return seconds << shift + (fraction << shift) / 1_000_000_000
        }
        var perSecond: UInt64 = 1
        for _ in 0..<Int(code) { perSecond &*= 10 }
        if perSecond >= 1_000_000_000 {
            return seconds &* perSecond &+ fraction &* (perSecond / 1_000_000_000)
        }
        return seconds &* perSecond &+ fraction / (1_000_000_000 / perSecond)
    }
}

/// Appends integers in one byte order.
struct ByteSink: Sendable {
    var bytes: [UInt8] = []
    let bigEndian: Bool
    init(bigEndian: Bool) { self.bigEndian = bigEndian }

    mutating func u16(_ value: UInt16) { append(UInt64(value), size: 2) }
    mutating func u32(_ value: UInt32) { append(UInt64(value), size: 4) }
    mutating func u64(_ value: UInt64) { append(value, size: 8) }
    mutating func pad() { while bytes.count % 4 != 0 { bytes.append(0) } }

    private mutating func append(_ value: UInt64, size: Int) {
        for i in 0..<size {
            let shift = bigEndian ? (size - 1 - i) * 8 : i * 8
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }
}
