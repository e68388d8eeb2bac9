// The whole C surface of coroner: every pcap_* call lives in this file, so a reviewer sees it at once.
// libpcap manual: pcap(3PCAP), pcap_dispatch(3PCAP), pcap_next_ex(3PCAP), pcap_compile(3PCAP), pcap_dump_open(3PCAP).

internal import CPcap
import WireFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open libpcap capture (a file or a live interface). Closes itself.
///
/// The corresponding C type is `pcap_t`.
public struct PcapHandle: ~Copyable {
    let raw: OpaquePointer
    /// The file's path or the interface's name, for messages.
    public let source: String
    private var packetNumber = 0
    /// A savefile's offset after the record that last refreshed it (see `SavedPacketLoop.deliver`), kept
    /// from one read to the next.
    private var savedOffset: Int64 = 0
    /// A savefile's filter, run here with `pcap_offline_filter` so packet numbers keep counting the
    /// packets it rejects (with `pcap_setfilter` libpcap skips them unseen and numbers would shift).
    private let offlineFilter: UnsafeMutablePointer<bpf_program>
    /// The stdio buffer of a savefile's stream (freed after `pcap_close` closes the stream).
    private let streamBuffer: UnsafeMutableRawPointer?

    private init(raw: OpaquePointer, source: String, streamBuffer: UnsafeMutableRawPointer? = nil) {
        self.raw = raw
        self.source = source
        self.streamBuffer = streamBuffer
        offlineFilter = .allocate(capacity: 1)
        offlineFilter.initialize(to: bpf_program())
    }

    deinit {
        if offlineFilter.pointee.bf_insns != nil { pcap_freecode(offlineFilter) }
        offlineFilter.deallocate()
        pcap_close(raw)
        streamBuffer?.deallocate()
    }

    /// Bytes of stdio buffer for savefiles: libpcap reads each record with fread, and the default
    /// buffer (one 4 KiB block) costs a read system call every few packets. Small enough to stay in
    /// the core's L2 cache: the kernel copies the file into it and fread copies each record out of it
    /// while it is still there. With 1 MiB (twice this machine's 512 KiB L2) the kernel's copy took
    /// 0.35 s of system time on the 200k benchmark capture; with 64 KiB 0.15 s (256 KiB: 0.35-0.45 s).
    static let streamBufferSize = 1 << 16

    /// Opens a pcap or pcapng file with nanosecond timestamp precision.
    ///
    /// The corresponding C function is `pcap_open_offline_with_tstamp_precision`.
    public static func openOffline(path: String) throws(CaptureError) -> PcapHandle {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        // Our own stream with a large buffer (`pcap_fopen_offline_with_tstamp_precision`); on any failure
        // libpcap opens the path itself below, so its error message is the one reported.
        if let stream = fopen(path, "rb") {
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: streamBufferSize, alignment: 16)
            #if canImport(Glibc)
            // Only the reading thread touches the stream: stdio's per-call lock (two freads a packet) is not needed.
            __fsetlocking(stream, Int32(FSETLOCKING_BYCALLER))
            #endif
            if setvbuf(stream, buffer.assumingMemoryBound(to: CChar.self), _IOFBF, streamBufferSize) == 0,
               let handle = pcap_fopen_offline_with_tstamp_precision(stream, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) {
                return PcapHandle(raw: handle, source: path, streamBuffer: buffer)
            }
            fclose(stream)
            buffer.deallocate()
        }
        let handle = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf)
        guard let handle else {
            let message = String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw CaptureError(kind: classifyOpenError(message), operation: "pcap_open_offline", message: message)
        }
        return PcapHandle(raw: handle, source: path)
    }

    /// Options for a live capture.
    public struct LiveOptions: Sendable {
        public var snapLength: Int32 = 262_144
        public var promiscuous = false
        /// Kernel buffer size in bytes; nil keeps libpcap's default.
        public var bufferSize: Int32? = nil
        /// Deliver packets as they arrive instead of filling the buffer first.
        public var immediate = true
        /// How long a read waits before reporting a timeout (lets the caller tick timers).
        public var readTimeoutMilliseconds: Int32 = 100
        public init() {}
    }

    /// Opens a live interface with `pcap_create` and `pcap_activate`.
    public static func openLive(interface: String, options: LiveOptions) throws(CaptureError) -> PcapHandle {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let handle = pcap_create(interface, &errbuf) else {
            throw CaptureError(kind: .other, operation: "pcap_create", message: cString(errbuf))
        }
        pcap_set_snaplen(handle, options.snapLength)
        pcap_set_promisc(handle, options.promiscuous ? 1 : 0)
        pcap_set_timeout(handle, options.readTimeoutMilliseconds)
        pcap_set_immediate_mode(handle, options.immediate ? 1 : 0)
        pcap_set_tstamp_precision(handle, Int32(PCAP_TSTAMP_PRECISION_NANO))
        if let size = options.bufferSize { pcap_set_buffer_size(handle, size) }
        let status = pcap_activate(handle)
        if status < 0 {
            let detail = String(cString: pcap_geterr(handle))
            let generic = String(cString: pcap_statustostr(status))
            pcap_close(handle)
            let kind: CaptureError.Kind
            switch status {
            case PCAP_ERROR_PERM_DENIED, PCAP_ERROR_PROMISC_PERM_DENIED: kind = .permissionDenied
            case PCAP_ERROR_NO_SUCH_DEVICE: kind = .noSuchDevice
            default: kind = .other
            }
            throw CaptureError(kind: kind, operation: "pcap_activate", message: detail.isEmpty ? generic : detail)
        }
        return PcapHandle(raw: handle, source: interface)
    }

    /// The capture's link type. For pcapng files libpcap requires one link type for all interfaces.
    ///
    /// The corresponding C function is `pcap_datalink`.
    public var linkType: LinkType { LinkType(rawValue: UInt32(bitPattern: pcap_datalink(raw))) }

    /// The snapshot length recorded in the file or set on the interface.
    public var snapLength: Int { Int(pcap_snapshot(raw)) }

    /// Compiles and installs a BPF filter (tcpdump syntax).
    ///
    /// On a file, packets the filter rejects still count toward `CapturedPacket.number`, so numbers
    /// stay those Wireshark shows for the unfiltered file.
    /// The corresponding C functions are `pcap_compile`, `pcap_setfilter` (live) and
    /// `pcap_offline_filter` (files).
    public func setFilter(_ expression: String) throws(CaptureError) {
        var program = bpf_program()
        guard pcap_compile(raw, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw CaptureError(kind: .badFilter, operation: "pcap_compile", message: "filter '\(expression)': \(lastError)")
        }
        if pcap_file(raw) != nil {
            if offlineFilter.pointee.bf_insns != nil { pcap_freecode(offlineFilter) }
            offlineFilter.pointee = program
            return
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(raw, &program) == 0 else {
            throw CaptureError(kind: .badFilter, operation: "pcap_setfilter", message: "filter '\(expression)': \(lastError)")
        }
    }

    /// What a read loop should do next.
    public enum LoopControl: Sendable { case proceed, stop }

    /// Lends each packet to `body` in turn, until the end of the file, `body` answers `.stop`, or an error.
    ///
    /// Packets before a damaged or truncated record are all delivered before the error is thrown.
    /// On a live capture, `onTimeout` runs whenever the read timeout passes with no packet.
    /// The corresponding C functions are `pcap_dispatch` (files) and `pcap_next_ex` (live).
    public mutating func forEachPacket(
        onTimeout: () -> LoopControl = { .proceed },
        _ body: (CapturedPacket) -> LoopControl
    ) throws(CaptureError) {
        if let file = pcap_file(raw) {
            try forEachSavedPacket(file: file, body)
            return
        }
        let linkType = self.linkType
        var header: UnsafeMutablePointer<pcap_pkthdr>? = nil
        var data: UnsafePointer<UInt8>? = nil
        while true {
            let status = pcap_next_ex(raw, &header, &data)
            switch status {
            case 1:
                guard let header, let data else { continue }
                packetNumber += 1
                let packet = Self.packet(header.pointee, data, number: packetNumber, linkType: linkType, fileOffset: -1)
                if body(packet) == .stop { return }
            case 0:
                if onTimeout() == .stop { return }
            case PCAP_ERROR_BREAK:
                return
            default:
                let message = lastError
                throw CaptureError(
                    kind: .other, operation: "pcap_next_ex",
                    message: message.isEmpty ? "read failed after packet \(packetNumber)" : message)
            }
        }
    }

    /// What `forEachSavedPacket`'s `pcap_dispatch` callback works with, reached through its `user` pointer.
    private struct SavedPacketLoop {
        let handle: OpaquePointer
        let file: UnsafeMutablePointer<FILE>
        let linkType: LinkType
        let offlineFilter: UnsafeMutablePointer<bpf_program>
        let body: (CapturedPacket) -> LoopControl
        var number: Int
        var offset: Int64

        /// Called by libpcap for each record. The usual packet (no filter, no offset to refresh) makes
        /// no call but `body`'s, so this function saves few registers; the others go through `deliverSlowly`.
        @inline(__always)
        mutating func deliver(_ header: UnsafePointer<pcap_pkthdr>, _ data: UnsafePointer<UInt8>) {
            number &+= 1  // counts records in a file: cannot reach Int.max
            if number & 1023 == 1 || offlineFilter.pointee.bf_insns != nil {
                deliverSlowly(header, data)
                return
            }
            let packet = PcapHandle.packet(header.pointee, data, number: number, linkType: linkType, fileOffset: offset)
            if body(packet) == .stop { pcap_breakloop(handle) }
        }

        /// `deliver` for a record that refreshes the offset (every 1024th) or meets a filter.
        @inline(never)
        mutating func deliverSlowly(_ header: UnsafePointer<pcap_pkthdr>, _ data: UnsafePointer<UInt8>) {
            // ftell costs a system call (lseek): the offset is refreshed every 1024 packets, enough for progress.
            if number & 1023 == 1 { offset = Int64(ftell(file)) }
            if offlineFilter.pointee.bf_insns != nil && pcap_offline_filter(offlineFilter, header, data) == 0 { return }
            let packet = PcapHandle.packet(header.pointee, data, number: number, linkType: linkType, fileOffset: offset)
            if body(packet) == .stop { pcap_breakloop(handle) }
        }
    }

    /// `forEachPacket` on a savefile: one `pcap_dispatch` call reads every record, calling back per
    /// packet, where `pcap_next_ex` would cost a call into libpcap (and its one-packet read loop and
    /// callback) per packet. Same packets, numbers, offsets, errors and messages.
    ///
    /// pcap_dispatch(3PCAP) on a savefile with a count of -1 reads to the end of the file: it returns
    /// 0 there, -1 on an error (the packets before it were delivered), -2 when `pcap_breakloop` was
    /// called before any packet, and the number of packets delivered when it was called after some
    /// (libpcap then leaves its break flag set for the next call, which returns -2 at once).
    private mutating func forEachSavedPacket(
        file: UnsafeMutablePointer<FILE>, _ body: (CapturedPacket) -> LoopControl
    ) throws(CaptureError) {
        let raw = raw
        let status = withoutActuallyEscaping(body) { body in
            var loop = SavedPacketLoop(
                handle: raw, file: file, linkType: linkType, offlineFilter: offlineFilter, body: body,
                number: packetNumber, offset: savedOffset)
            var status = withUnsafeMutablePointer(to: &loop) { loop in
                pcap_dispatch(raw, -1, { user, header, data in
                    // libpcap passes our `user` and the record's header and data, never null (unchecked here:
                    // this runs for every packet).
                    UnsafeMutableRawPointer(user.unsafelyUnwrapped).assumingMemoryBound(to: SavedPacketLoop.self)
                        .pointee.deliver(header.unsafelyUnwrapped, data.unsafelyUnwrapped)
                }, UnsafeMutableRawPointer(loop).assumingMemoryBound(to: UInt8.self))
            }
            // Stopped after some packets: clear libpcap's break flag (this call reads nothing, returns -2).
            if status > 0 { status = pcap_dispatch(raw, -1, { _, _, _ in }, nil) }
            packetNumber = loop.number
            savedOffset = loop.offset
            return status
        }
        if status == 0 || status == PCAP_ERROR_BREAK { return }
        let message = lastError
        throw CaptureError(
            kind: .damaged, operation: "pcap_dispatch",
            message: message.isEmpty ? "read failed after packet \(packetNumber)" : message)
    }

    /// Bytes of the file consumed so far; -1 on a live capture. The corresponding C function is `pcap_file`
    /// (with `ftell` on the stream it returns).
    public var fileOffset: Int64 { pcap_file(raw).map { Int64(ftell($0)) } ?? -1 }

    /// Packets read so far (on a file, including those a filter rejected: the last packet number).
    public var packetsRead: Int { packetNumber }

    /// Makes a running `forEachPacket` return at its next packet (safe from a signal handler's thread).
    ///
    /// The corresponding C function is `pcap_breakloop`.
    public func breakLoop() { pcap_breakloop(raw) }

    /// Counters from the kernel for a live capture.
    public struct Statistics: Sendable, Hashable {
        public var received: UInt64
        public var droppedByKernel: UInt64
        public var droppedByInterface: UInt64
    }

    /// The corresponding C function is `pcap_stats`.
    public func statistics() throws(CaptureError) -> Statistics {
        var s = pcap_stat()
        guard pcap_stats(raw, &s) == 0 else { throw CaptureError(kind: .other, operation: "pcap_stats", message: lastError) }
        return Statistics(received: UInt64(s.ps_recv), droppedByKernel: UInt64(s.ps_drop), droppedByInterface: UInt64(s.ps_ifdrop))
    }

    /// Opens a savefile that receives packets in this handle's link type and snap length.
    public func openDumper(path: String) throws(CaptureError) -> PcapDumper {
        guard let dumper = pcap_dump_open(raw, path) else {
            throw CaptureError(kind: .writeFailed, operation: "pcap_dump_open", message: lastError)
        }
        return PcapDumper(raw: dumper, path: path)
    }

    var lastError: String { String(cString: pcap_geterr(raw)) }

    /// A lent packet from libpcap's header and buffer (timestamps are nanoseconds: nano precision is set).
    private static func packet(_ h: pcap_pkthdr, _ data: UnsafePointer<UInt8>, number: Int, linkType: LinkType,
                               fileOffset: Int64) -> CapturedPacket {
        CapturedPacket(
            number: number, timestamp: Timestamp(seconds: Int64(h.ts.tv_sec), nanoseconds: Int64(h.ts.tv_usec)),
            bytes: UnsafeRawBufferPointer(start: data, count: Int(h.caplen)), wireLength: Int(h.len),
            linkType: linkType, fileOffset: fileOffset)
    }

    static func classifyOpenError(_ message: String) -> CaptureError.Kind {
        if message.contains("unknown file format") || message.contains("bad dump file format")
            || message.contains("not a pcap") {
            return .notACapture
        }
        if message.contains("truncated") || message.contains("corrupt") || message.contains("too big")
            || message.contains("bad block") || message.contains("invalid") {
            return .damaged
        }
        return .cannotOpen
    }
}

/// A capture file being written through libpcap. Closes (and flushes) itself.
///
/// The corresponding C type is `pcap_dumper_t`.
public struct PcapDumper: ~Copyable {
    let raw: OpaquePointer
    public let path: String
    private var dead: OpaquePointer? = nil

    fileprivate init(raw: OpaquePointer, path: String) {
        self.raw = raw
        self.path = path
    }

    /// Creates a classic pcap file (nanosecond timestamps) for frames of `linkType`.
    ///
    /// The corresponding C functions are `pcap_open_dead_with_tstamp_precision` and `pcap_dump_open`.
    public static func create(path: String, linkType: LinkType, snapLength: Int32 = 262_144) throws(CaptureError) -> PcapDumper {
        guard let dead = pcap_open_dead_with_tstamp_precision(Int32(bitPattern: linkType.rawValue), snapLength, UInt32(PCAP_TSTAMP_PRECISION_NANO)) else {
            throw CaptureError(kind: .writeFailed, operation: "pcap_open_dead", message: "cannot create a capture for link type \(linkType)")
        }
        guard let dumper = pcap_dump_open(dead, path) else {
            let message = String(cString: pcap_geterr(dead))
            pcap_close(dead)
            throw CaptureError(kind: .writeFailed, operation: "pcap_dump_open", message: message)
        }
        var result = PcapDumper(raw: dumper, path: path)
        result.dead = dead
        return result
    }

    /// Appends one packet. The corresponding C function is `pcap_dump`.
    public func write(_ packet: CapturedPacket) {
        var header = pcap_pkthdr()
        let ns = packet.timestamp.rawValue
        header.ts.tv_sec = .init(ns / 1_000_000_000)
        header.ts.tv_usec = .init(ns % 1_000_000_000)  // nanoseconds: the handle was opened with nano precision
        header.caplen = UInt32(packet.bytes.count)
        header.len = UInt32(max(packet.wireLength, packet.bytes.count))
        guard let base = packet.bytes.baseAddress else { return }
        withUnsafePointer(to: &header) { h in
            pcap_dump(UnsafeMutableRawPointer(raw).assumingMemoryBound(to: UInt8.self), h, base.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Pushes buffered packets to the file. The corresponding C function is `pcap_dump_flush`.
    public func flush() { pcap_dump_flush(raw) }

    /// Bytes written so far. The corresponding C function is `pcap_dump_ftell64`.
    public var bytesWritten: Int64 { Int64(pcap_dump_ftell(raw)) }

    deinit {
        pcap_dump_close(raw)
        if let dead { pcap_close(dead) }
    }
}

/// The libpcap version string, e.g. "libpcap version 1.10.3 (with TPACKET_V3)".
public var libpcapVersion: String { String(cString: pcap_lib_version()) }

private func cString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

// MARK: - Interfaces

/// A network interface libpcap can capture on, with its addresses and state.
///
/// The corresponding C type is `pcap_if_t`.
public struct CaptureDevice: Sendable, Hashable {
    /// The name to pass to `PcapHandle.openLive` ("eth0", "any", "lo").
    public var name: String
    /// libpcap's description, when it has one ("Pseudo-device that captures on all interfaces").
    public var description: String?
    /// The interface's IPv4 and IPv6 addresses (other families are left out).
    public var addresses: [IPAddress]
    public var isUp: Bool
    public var isRunning: Bool
    public var isLoopback: Bool

    public init(
        name: String, description: String? = nil, addresses: [IPAddress] = [], isUp: Bool = false,
        isRunning: Bool = false, isLoopback: Bool = false
    ) {
        self.name = name
        self.description = description
        self.addresses = addresses
        self.isUp = isUp
        self.isRunning = isRunning
        self.isLoopback = isLoopback
    }
}

extension PcapHandle {
    /// Every interface libpcap can open, in libpcap's order (up and running ones first).
    ///
    /// The corresponding C functions are `pcap_findalldevs` and `pcap_freealldevs`.
    public static func devices() throws(CaptureError) -> [CaptureDevice] {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        var list: UnsafeMutablePointer<pcap_if_t>? = nil
        guard pcap_findalldevs(&list, &errbuf) == 0 else {
            throw CaptureError(kind: .other, operation: "pcap_findalldevs", message: cString(errbuf))
        }
        defer { if let list { pcap_freealldevs(list) } }
        var devices: [CaptureDevice] = []
        var next = list
        while let entry = next {
            let flags = entry.pointee.flags
            var addresses: [IPAddress] = []
            var address = entry.pointee.addresses
            while let a = address {
                if let sockaddr = a.pointee.addr, let ip = ipAddress(sockaddr) { addresses.append(ip) }
                address = a.pointee.next
            }
            devices.append(
                CaptureDevice(
                    name: String(cString: entry.pointee.name),
                    description: entry.pointee.description.map { String(cString: $0) },
                    addresses: addresses,
                    isUp: flags & UInt32(PCAP_IF_UP) != 0,
                    isRunning: flags & UInt32(PCAP_IF_RUNNING) != 0,
                    isLoopback: flags & UInt32(PCAP_IF_LOOPBACK) != 0))
            next = entry.pointee.next
        }
        return devices
    }

    /// An IPv4 or IPv6 socket address as an `IPAddress`; nil for other families.
    private static func ipAddress(_ address: UnsafeMutablePointer<sockaddr>) -> IPAddress? {
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                IPAddress(ipv4: UInt32(bigEndian: $0.pointee.sin_addr.s_addr))
            }
        case AF_INET6:
            return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                var bytes = v6.pointee.sin6_addr
                return withUnsafeBytes(of: &bytes) { raw in
                    var high: UInt64 = 0
                    var low: UInt64 = 0
                    for i in 0..<8 { high = high << 8 | UInt64(raw[i]) }
                    for i in 8..<16 { low = low << 8 | UInt64(raw[i]) }
                    return IPAddress(ipv6High: high, low: low)
                }
            }
        default:
            return nil
        }
    }
}

// MARK: - Live reading with a wait that really ends

extension PcapHandle {
    /// Live captures: lends each packet to `body` as soon as it arrives, and calls `onTimeout` whenever
    /// `waitMilliseconds` pass without one (or a signal interrupts the wait), until either answers
    /// `.stop`, `breakLoop` is called, or a read error.
    ///
    /// `forEachPacket` relies on libpcap's read timeout, which on Linux with TPACKET_V3 never expires
    /// while no packet arrives (pcap(3PCAP): "the read timeout cannot be used to cause calls that read
    /// packets to return within a limited period of time"), so timers would stall on a quiet link.
    /// Here the handle is put in non-blocking mode and the wait is a poll(2) on its selectable
    /// descriptor, as that manual page recommends.
    /// The corresponding C functions are `pcap_setnonblock`, `pcap_get_selectable_fd` and `pcap_next_ex`.
    public mutating func forEachLivePacket(
        waitMilliseconds: Int32 = 100,
        onTimeout: () -> LoopControl,
        _ body: (CapturedPacket) -> LoopControl
    ) throws(CaptureError) {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard pcap_setnonblock(raw, 1, &errbuf) == 0 else {
            throw CaptureError(kind: .other, operation: "pcap_setnonblock", message: cString(errbuf))
        }
        let linkType = self.linkType
        var descriptor = pollfd(fd: pcap_get_selectable_fd(raw), events: Int16(POLLIN), revents: 0)
        var header: UnsafeMutablePointer<pcap_pkthdr>? = nil
        var data: UnsafePointer<UInt8>? = nil
        while true {
            let status = pcap_next_ex(raw, &header, &data)
            switch status {
            case 1:
                guard let header, let data else { continue }
                packetNumber += 1
                let packet = Self.packet(header.pointee, data, number: packetNumber, linkType: linkType, fileOffset: -1)
                if body(packet) == .stop { return }
            case 0:
                // Nothing buffered: wait for the descriptor (a descriptor of -1 makes this a plain sleep).
                descriptor.revents = 0
                let ready = poll(&descriptor, 1, waitMilliseconds)
                if ready <= 0 && onTimeout() == .stop { return }
            case PCAP_ERROR_BREAK:
                return
            default:
                let message = lastError
                throw CaptureError(
                    kind: .other, operation: "pcap_next_ex",
                    message: message.isEmpty ? "read failed after packet \(packetNumber)" : message)
            }
        }
    }
}
