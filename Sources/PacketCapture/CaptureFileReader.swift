// A pure-Swift reader of capture files, for what libpcap 1.10 refuses (pcapng files whose interfaces
// have different link types: "an interface has a type ... different from the type of the first
// interface", raised at read time) and for tests and fuzzing without libpcap.
// Formats: classic pcap (draft-ietf-opsawg-pcap, incl. the nanosecond and Kuznetzov magics) and
// pcapng (draft-ietf-opsawg-pcapng: SHB, IDB with if_tsresol/if_tsoffset, EPB, SPB, obsolete PB).

import WireFormat

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a classic pcap or pcapng file in chunks, lending each packet to a closure.
///
/// One buffer is reused for every packet (it grows only for a packet bigger than any before), so
/// reading allocates nothing per packet. Packet bytes are valid only inside the closure.
public struct CaptureFileReader: ~Copyable {
    /// A captured length above this is treated as damage rather than allocated.
    public static let maximumCaptureLength = 256 * 1024 * 1024
    static let maximumBlockLength = maximumCaptureLength + 64 * 1024
    static let chunkSize = 64 * 1024

    /// The file's path, for messages.
    public let path: String
    /// The file's size in bytes when it could be determined.
    public let fileSize: Int64?
    /// Link types declared so far (the file header's, or each pcapng interface's), first appearance first.
    public private(set) var linkTypes: [LinkType] = []
    /// Packets delivered so far.
    public private(set) var packetsRead = 0

    private let file: UnsafeMutablePointer<FILE>
    private var storage: UnsafeMutableRawBufferPointer
    /// Unread bytes are `storage[start..<end]`; `storage[0]` is at `storageOffset` in the file.
    private var start = 0
    private var end = 0
    private var storageOffset: Int64 = 0
    private var isAtEndOfFile = false
    private var format: Format
    private var isBigEndian: Bool
    private var interfaces: [Interface] = []

    enum Format {
        case classic(linkType: LinkType, nanoseconds: Bool, recordHeaderLength: Int)
        case pcapng
    }

    struct Interface {
        var linkType: LinkType
        var snapLength: UInt32
        /// The if_tsresol byte: 10^-n seconds, or 2^-n when the high bit is set.
        var resolution: UInt8 = 6
        var offsetSeconds: Int64 = 0
    }

    enum BlockType {
        static let sectionHeader: UInt32 = 0x0A0D_0D0A
        static let interfaceDescription: UInt32 = 1
        static let obsoletePacket: UInt32 = 2
        static let simplePacket: UInt32 = 3
        static let enhancedPacket: UInt32 = 6
    }

    enum Magic {
        static let microseconds: UInt32 = 0xA1B2_C3D4
        static let nanoseconds: UInt32 = 0xA1B2_3C4D
        /// Alexey Kuznetzov's patched libpcap: 8 more bytes per record header.
        static let kuznetzov: UInt32 = 0xA1B2_CD34
        static let byteOrder: UInt32 = 0x1A2B_3C4D
    }

    private init(path: String, file: UnsafeMutablePointer<FILE>, fileSize: Int64?) {
        self.path = path
        self.file = file
        self.fileSize = fileSize
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 8)
        format = .pcapng
        isBigEndian = false
    }

    deinit {
        fclose(file)
        storage.deallocate()
    }

    /// Opens `path` and reads its file header (for pcapng, every block before the first packet).
    ///
    /// Throws `.cannotOpen` when the file cannot be opened, `.notACapture` when it is neither pcap nor
    /// pcapng, `.damaged` when its header is cut off or corrupt. The corresponding C function is `fopen`.
    public static func open(path: String) throws(CaptureError) -> CaptureFileReader {
        guard let file = fopen(path, "rb") else {
            let reason = String(cString: strerror(errno))
            throw CaptureError(kind: .cannotOpen, operation: "open", message: "cannot open '\(path)': \(reason)")
        }
        var status = stat()
        let size: Int64? = fstat(fileno(file), &status) == 0 ? Int64(status.st_size) : nil
        var reader = CaptureFileReader(path: path, file: file, fileSize: size)
        try reader.readFileHeader()
        return reader
    }

    /// Whether the interfaces declared so far differ in link type or snap length (libpcap 1.10 refuses both).
    public var hasMixedInterfaces: Bool {
        guard let first = interfaces.first else { return false }
        return linkTypes.count > 1 || interfaces.contains { $0.snapLength != first.snapLength }
    }

    /// Bytes of the file consumed so far (for progress).
    public var position: Int64 { storageOffset + Int64(start) }

    /// Lends each packet to `body` in turn, until the end of the file, `body` answers `.stop`, or damage.
    ///
    /// Every packet before a damaged record is delivered before the `.damaged` error is thrown.
    public mutating func forEachPacket(_ body: (CapturedPacket) -> PcapHandle.LoopControl) throws(CaptureError) {
        while let packet = try nextPacket() {
            if body(packet) == .stop { return }
        }
    }

    /// The next packet, or nil at the end of the file. Its bytes are valid until the next call.
    mutating func nextPacket() throws(CaptureError) -> CapturedPacket? {
        switch format {
        case .classic(let linkType, let nanoseconds, let recordHeaderLength):
            return try nextClassicRecord(linkType: linkType, nanoseconds: nanoseconds, headerLength: recordHeaderLength)
        case .pcapng:
            while true {
                if let packet = try nextBlock() { return packet }
                if available == 0 && isAtEndOfFile { return nil }
            }
        }
    }

    // MARK: File header

    private mutating func readFileHeader() throws(CaptureError) {
        _ = fill(4)
        guard available >= 4 else {
            let what = available == 0 ? "is empty" : "is too short to be a capture (\(available) bytes)"
            throw CaptureError(kind: .notACapture, operation: "open", message: "'\(path)' \(what)")
        }
        let magic = storage.loadUnaligned(fromByteOffset: start, as: UInt32.self)
        if magic == BlockType.sectionHeader {
            format = .pcapng
            // Read the section header and any interfaces before the first packet, as libpcap does.
            while fill(8), !isBeforePacketBlock {
                _ = try nextBlock()
            }
            return
        }
        let candidates: [(UInt32, Bool, Int)] = [
            (Magic.microseconds, false, 16), (Magic.nanoseconds, true, 16), (Magic.kuznetzov, false, 24),
        ]
        for (value, nanoseconds, recordHeaderLength) in candidates {
            let bigEndian: Bool
            if magic == value.littleEndian {
                bigEndian = false
            } else if magic == value.bigEndian {
                bigEndian = true
            } else {
                continue
            }
            isBigEndian = bigEndian
            guard fill(24) else { throw damage("file header cut off (\(available) of 24 bytes)") }
            let linkType = Self.normalized(LinkType(rawValue: u32(20) & 0x03FF_FFFF))
            format = .classic(linkType: linkType, nanoseconds: nanoseconds, recordHeaderLength: recordHeaderLength)
            linkTypes = [linkType]
            start += 24
            return
        }
        throw CaptureError(kind: .notACapture, operation: "open", message: "'\(path)' is not a pcap or pcapng capture")
    }

    /// libpcap reports `LINKTYPE_RAW` (101) as `DLT_RAW` (12); so does this reader, so both agree.
    static func normalized(_ linkType: LinkType) -> LinkType {
        linkType == .linktypeRaw ? .raw : linkType
    }

    // MARK: Classic pcap

    private mutating func nextClassicRecord(linkType: LinkType, nanoseconds: Bool, headerLength: Int)
        throws(CaptureError) -> CapturedPacket?
    {
        guard fill(headerLength) else {
            if available == 0 { return nil }
            throw damage("record header cut off (\(available) of \(headerLength) bytes)")
        }
        let seconds = u32(0)
        let fraction = u32(4)
        let captured = Int(u32(8))
        let wire = Int(u32(12))
        guard captured <= Self.maximumCaptureLength else { throw damage("impossible captured length \(captured)") }
        guard fill(headerLength + captured) else {
            throw damage("packet data cut off (\(available - headerLength) of \(captured) bytes)")
        }
        let bytes = UnsafeRawBufferPointer(
            rebasing: storage[(start + headerLength)..<(start + headerLength + captured)])
        start += headerLength + captured
        packetsRead += 1
        return CapturedPacket(
            number: packetsRead,
            timestamp: Timestamp(
                seconds: Int64(seconds), nanoseconds: nanoseconds ? Int64(fraction) : Int64(fraction) &* 1000),
            bytes: bytes, wireLength: wire, linkType: linkType, fileOffset: position)
    }

    // MARK: pcapng

    /// Whether the buffered bytes start with a packet block (callers fill at least 4 bytes first).
    private var isBeforePacketBlock: Bool {
        guard available >= 4 else { return false }
        let type = u32(0)
        return type == BlockType.enhancedPacket || type == BlockType.simplePacket || type == BlockType.obsoletePacket
    }

    /// Reads one block; returns a packet for packet blocks, nil for the others.
    private mutating func nextBlock() throws(CaptureError) -> CapturedPacket? {
        guard fill(8) else {
            if available == 0 { return nil }
            throw damage("block header cut off (\(available) of 8 bytes)")
        }
        var type = u32(0)
        if type == BlockType.sectionHeader {
            guard fill(12) else { throw damage("section header cut off") }
            let order = storage.loadUnaligned(fromByteOffset: start + 8, as: UInt32.self)
            if order == Magic.byteOrder.littleEndian {
                isBigEndian = false
            } else if order == Magic.byteOrder.bigEndian {
                isBigEndian = true
            } else {
                throw damage("section header has a bad byte-order magic")
            }
        }
        type = u32(0)
        let length = Int(u32(4))
        guard length >= 12, length % 4 == 0, length <= Self.maximumBlockLength else {
            throw damage("impossible block length \(length)")
        }
        guard fill(length) else { throw damage("block cut off (\(available) of \(length) bytes)") }
        guard Int(u32(length - 4)) == length else { throw damage("block length \(length) does not match its trailer") }
        let body = length - 12
        defer { start += length }
        switch type {
        case BlockType.sectionHeader:
            guard body >= 16 else { throw damage("section header block too short (\(length) bytes)") }
            guard u16(12) == 1 else { throw damage("unsupported pcapng version \(u16(12)).\(u16(14))") }
            interfaces.removeAll(keepingCapacity: true)
            return nil
        case BlockType.interfaceDescription:
            guard body >= 8 else { throw damage("interface description block too short (\(length) bytes)") }
            var interface = Interface(
                linkType: Self.normalized(LinkType(rawValue: UInt32(u16(8)))), snapLength: u32(12))
            try readInterfaceOptions(into: &interface, from: 16, to: 8 + body)
            interfaces.append(interface)
            if !linkTypes.contains(interface.linkType) { linkTypes.append(interface.linkType) }
            return nil
        case BlockType.enhancedPacket, BlockType.obsoletePacket:
            guard body >= 20 else { throw damage("packet block too short (\(length) bytes)") }
            let index = type == BlockType.enhancedPacket ? Int(u32(8)) : Int(u16(8))
            let captured = Int(u32(20))
            guard captured <= Self.maximumCaptureLength else { throw damage("impossible captured length \(captured)") }
            guard captured <= body - 20 else { throw damage("captured length \(captured) runs past its block") }
            guard index < interfaces.count else { throw damage("packet for undeclared interface \(index)") }
            let units = UInt64(u32(12)) << 32 | UInt64(u32(16))
            guard let timestamp = Self.timestamp(units, interfaces[index]) else {
                throw damage("interface \(index) has an unsupported timestamp resolution")
            }
            return deliver(
                offset: 28, captured: captured, wire: Int(u32(24)), timestamp: timestamp,
                linkType: interfaces[index].linkType, blockLength: length)
        case BlockType.simplePacket:
            guard body >= 4 else { throw damage("simple packet block too short (\(length) bytes)") }
            guard let interface = interfaces.first else { throw damage("simple packet block without an interface") }
            let wire = Int(u32(8))
            var captured = Swift.min(wire, body - 4)
            if interface.snapLength > 0 { captured = Swift.min(captured, Int(interface.snapLength)) }
            return deliver(
                offset: 12, captured: captured, wire: wire, timestamp: .zero, linkType: interface.linkType,
                blockLength: length)
        default:
            return nil  // name resolution, statistics, decryption secrets, custom blocks: not needed
        }
    }

    private mutating func deliver(
        offset: Int, captured: Int, wire: Int, timestamp: Timestamp, linkType: LinkType, blockLength: Int
    ) -> CapturedPacket {
        let bytes = UnsafeRawBufferPointer(rebasing: storage[(start + offset)..<(start + offset + captured)])
        packetsRead += 1
        return CapturedPacket(
            number: packetsRead, timestamp: timestamp, bytes: bytes, wireLength: wire,
            linkType: linkType, fileOffset: position + Int64(blockLength))
    }

    private func readInterfaceOptions(into interface: inout Interface, from first: Int, to limit: Int)
        throws(CaptureError)
    {
        var offset = first
        while offset + 4 <= limit {
            let code = u16(offset)
            let length = Int(u16(offset + 2))
            if code == 0 { return }
            guard offset + 4 + length <= limit else { throw damage("interface option \(code) runs past its block") }
            switch (code, length) {
            case (9, 1): interface.resolution = storage[start + offset + 4]
            case (14, 8):
                let first = UInt64(u32(offset + 4))
                let second = UInt64(u32(offset + 8))
                interface.offsetSeconds = Int64(bitPattern: isBigEndian ? first << 32 | second : second << 32 | first)
            default: break
            }
            offset += 4 + (length + 3) & ~3
        }
    }

    /// Converts interface time units to nanoseconds, truncating as libpcap does; nil for resolutions
    /// finer than 10^-19 s (they do not fit 64 bits).
    static func timestamp(_ units: UInt64, _ interface: Interface) -> Timestamp? {
        let code = interface.resolution
        let seconds: UInt64
        let nanoseconds: UInt64
        if code & 0x80 != 0 {
            let shift = UInt64(code & 0x7f)
            guard shift < 64 else { return nil }
            seconds = shift == 0 ? units : units >> shift
            let fraction = shift == 0 ? 0 : units & ((1 << shift) - 1)
            let product = fraction.multipliedFullWidth(by: 1_000_000_000)
            nanoseconds = shift == 0 ? 0 : (product.high << (64 - shift)) | (product.low >> shift)
        } else {
            guard code <= 19 else { return nil }
            var perSecond: UInt64 = 1
            for _ in 0..<Int(code) { perSecond &*= 10 }
            seconds = units / perSecond
            let fraction = units % perSecond
            nanoseconds =
                perSecond >= 1_000_000_000
                ? fraction / (perSecond / 1_000_000_000) : fraction &* (1_000_000_000 / perSecond)
        }
        let wholeSeconds = Int64(bitPattern: seconds) &+ interface.offsetSeconds
        return Timestamp(seconds: wholeSeconds, nanoseconds: Int64(bitPattern: nanoseconds))
    }

    // MARK: Buffer

    private var available: Int { end - start }

    /// Makes at least `count` unread bytes available, reading more of the file in chunks. False at the
    /// end of the file with fewer bytes left.
    private mutating func fill(_ count: Int) -> Bool {
        if available >= count { return true }
        if isAtEndOfFile { return false }
        if start > 0 {
            if available > 0, let base = storage.baseAddress {
                base.copyMemory(from: base + start, byteCount: available)
            }
            storageOffset += Int64(start)
            end = available
            start = 0
        }
        if count > storage.count {
            let bigger = UnsafeMutableRawBufferPointer.allocate(
                byteCount: Swift.max(count, storage.count * 2), alignment: 8)
            if end > 0, let to = bigger.baseAddress, let from = storage.baseAddress {
                to.copyMemory(from: from, byteCount: end)
            }
            storage.deallocate()
            storage = bigger
        }
        while end < count {
            guard let base = storage.baseAddress else { return false }
            let got = fread(base + end, 1, storage.count - end, file)
            if got == 0 {
                isAtEndOfFile = true
                break
            }
            end += got
        }
        return available >= count
    }

    private func u16(_ offset: Int) -> UInt16 {
        let raw = storage.loadUnaligned(fromByteOffset: start + offset, as: UInt16.self)
        return isBigEndian ? UInt16(bigEndian: raw) : UInt16(littleEndian: raw)
    }

    private func u32(_ offset: Int) -> UInt32 {
        let raw = storage.loadUnaligned(fromByteOffset: start + offset, as: UInt32.self)
        return isBigEndian ? UInt32(bigEndian: raw) : UInt32(littleEndian: raw)
    }

    private func damage(_ what: String) -> CaptureError {
        CaptureError(
            kind: .damaged, operation: "read",
            message: "'\(path)' is damaged: \(what) at byte offset \(position) after packet \(packetsRead)")
    }
}
