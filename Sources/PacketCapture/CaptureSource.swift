// Opening a capture file the way the CLI needs: libpcap first (it knows every format quirk and runs
// BPF filters), the pure-Swift `CaptureFileReader` only for pcapng files whose interfaces have
// different link types, which libpcap 1.10 refuses at read time with "an interface has a type ...
// different from the type of the first interface" (sf-pcapng.c). Open failures are classified with
// stat(2) before libpcap sees the path, so every message names the file and says what is wrong.

import WireFormat

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An open capture file, read through libpcap or, for pcapng files whose interfaces differ in link type
/// or snap length (which libpcap 1.10 refuses), through `CaptureFileReader`.
public struct CaptureFile: ~Copyable {
    /// The path as given.
    public let path: String
    /// The file's size in bytes, when known (for progress).
    public let fileSize: Int64?
    private var pcap: PcapHandle?
    private var native: CaptureFileReader?
    private var filter: String?
    /// After a switch from libpcap: packets libpcap already delivered, skipped by the native reader.
    private var skipThrough = 0
    private var lastOffset: Int64 = 0

    /// Whether libpcap gave up because a pcapng file's interfaces differ: libpcap 1.10 says "an interface
    /// has a type N different from the type of the first interface" (or "a snapshot length N different
    /// from the snapshot length of the first interface").
    static func isMixedInterfaceRefusal(_ error: CaptureError) -> Bool {
        error.message.contains("different from the") && error.message.contains("of the first interface")
    }

    private init(path: String, fileSize: Int64?, pcap: consuming PcapHandle?, native: consuming CaptureFileReader?) {
        self.path = path
        self.fileSize = fileSize
        self.pcap = pcap
        self.native = native
    }

    /// Opens a pcap or pcapng file (nanosecond timestamps).
    ///
    /// Throws `.cannotOpen` for a missing file, a directory or a permission problem, `.notACapture` for
    /// an empty file or one in another format, `.damaged` for a cut-off header; each message names the file.
    public static func open(path: String) throws(CaptureError) -> CaptureFile {
        var status = stat()
        guard stat(path, &status) == 0 else {
            let code = errno
            let reason =
                code == ENOENT ? "no such file" : code == EACCES ? "permission denied" : String(cString: strerror(code))
            throw CaptureError(kind: .cannotOpen, operation: "open", message: "cannot open '\(path)': \(reason)")
        }
        if status.st_mode & S_IFMT == S_IFDIR {
            throw CaptureError(kind: .cannotOpen, operation: "open", message: "cannot open '\(path)': is a directory")
        }
        if access(path, R_OK) != 0 {
            throw CaptureError(
                kind: .cannotOpen, operation: "open", message: "cannot open '\(path)': permission denied")
        }
        let size = Int64(status.st_size)
        if status.st_mode & S_IFMT == S_IFREG && size == 0 {
            throw CaptureError(kind: .notACapture, operation: "open", message: "'\(path)' is empty, not a capture")
        }
        // A pcapng file whose interfaces, declared before its first packet, differ in link type or snap
        // length goes straight to the native reader, so `linkTypes` is right at once and `setFilter`
        // fails early and clearly.
        if let reader = try? CaptureFileReader.open(path: path), reader.hasMixedInterfaces {
            return CaptureFile(path: path, fileSize: size, pcap: nil, native: reader)
        }
        do {
            let handle = try PcapHandle.openOffline(path: path)
            return CaptureFile(path: path, fileSize: size, pcap: handle, native: nil)
        } catch {
            if isMixedInterfaceRefusal(error) {
                return CaptureFile(
                    path: path, fileSize: size, pcap: nil, native: try CaptureFileReader.open(path: path))
            }
            throw classified(error, path: path)
        }
    }

    /// Rewrites libpcap's open errors so they name the file and use the right kind.
    static func classified(_ error: CaptureError, path: String) -> CaptureError {
        let message = error.message
        if message.contains("unknown file format") || message.contains("bad dump file format") {
            return CaptureError(
                kind: .notACapture, operation: error.operation,
                message: "'\(path)' is not a pcap or pcapng capture (libpcap: \(message))")
        }
        if message.contains("truncated") {
            return CaptureError(
                kind: .damaged, operation: error.operation,
                message: "'\(path)' is damaged: its file header is cut off (libpcap: \(message))")
        }
        if message.contains(path) { return error }
        return CaptureError(kind: error.kind, operation: error.operation, message: "'\(path)': \(message)")
    }

    /// Whether packets come from the native reader (multi-link-type pcapng) rather than libpcap.
    public var isUsingNativeReader: Bool { native != nil }

    /// Link types declared so far: libpcap's one, or every interface's for the native reader.
    public var linkTypes: [LinkType] {
        switch native {
        case .some(let reader): return reader.linkTypes
        case .none: break
        }
        switch pcap {
        case .some(let handle): return [handle.linkType]
        case .none: return []
        }
    }

    /// Bytes of the file consumed so far (for progress).
    public var position: Int64 {
        switch native {
        case .some(let reader): return reader.position
        case .none: return lastOffset
        }
    }

    /// Installs a BPF filter (tcpdump syntax). Only libpcap runs filters: for a pcapng file whose
    /// interfaces have different link types this throws `.badFilter` saying so.
    public mutating func setFilter(_ expression: String) throws(CaptureError) {
        switch pcap {
        case .some(let handle):
            try handle.setFilter(expression)
            filter = expression
            return
        case .none: break
        }
        throw Self.filterUnsupported(path: path, expression: expression)
    }

    static func filterUnsupported(path: String, expression: String) -> CaptureError {
        CaptureError(
            kind: .badFilter, operation: "setFilter",
            message: "filter '\(expression)' cannot be applied to '\(path)': filters are not supported for pcapng "
                + "files whose interfaces have different link types (libpcap cannot read them)")
    }

    /// Lends each packet to `body` in turn, until the end of the file, `body` answers `.stop`, or an error.
    ///
    /// When libpcap gives up on mixed link types midway, reading continues with the native reader
    /// from the next undelivered packet; packet numbers stay those of the file.
    public mutating func forEachPacket(_ body: (CapturedPacket) -> PcapHandle.LoopControl) throws(CaptureError) {
        if var handle = pcap.take() {
            var failure: CaptureError? = nil
            do {
                try handle.forEachPacket(body)
            } catch {
                failure = error
            }
            // The last packet libpcap delivered (with a filter, a switch below fails instead).
            let delivered = handle.packetsRead
            lastOffset = handle.fileOffset
            guard let failure else {
                pcap = consume handle
                return
            }
            guard Self.isMixedInterfaceRefusal(failure) else {
                pcap = consume handle
                throw CaptureError(
                    kind: failure.kind, operation: failure.operation, message: "'\(path)': \(failure.message)")
            }
            if let filter { throw Self.filterUnsupported(path: path, expression: filter) }
            native = try CaptureFileReader.open(path: path)
            skipThrough = delivered
        }
        if var reader = native.take() {
            var failure: CaptureError? = nil
            let skip = skipThrough
            do {
                try reader.forEachPacket { packet in
                    packet.number > skip ? body(packet) : .proceed
                }
            } catch {
                failure = error
            }
            skipThrough = 0
            native = consume reader
            if let failure { throw failure }
        }
    }
}
