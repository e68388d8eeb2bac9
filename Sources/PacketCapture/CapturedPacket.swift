import WireFormat

/// One captured frame, lent to a closure by `PcapHandle.forEachPacket`.
///
/// `bytes` point into libpcap's buffer, which the next read reuses: use them inside the closure,
/// never store them. Everything else is plain data.
public struct CapturedPacket {
    /// 1-based packet number in the file, as Wireshark counts.
    public var number: Int
    public var timestamp: Timestamp
    /// Bytes captured (may be fewer than `wireLength` when the snap length cut the frame).
    public var bytes: UnsafeRawBufferPointer
    /// The frame's original length on the wire.
    public var wireLength: Int
    public var linkType: LinkType
    /// Byte offset in the file after this record, when known, for progress. Files read through libpcap
    /// refresh it every 1024 packets (it lags by at most that many records); -1 when unknown (live).
    public var fileOffset: Int64

    public init(number: Int, timestamp: Timestamp, bytes: UnsafeRawBufferPointer, wireLength: Int, linkType: LinkType, fileOffset: Int64 = -1) {
        self.number = number
        self.timestamp = timestamp
        self.bytes = bytes
        self.wireLength = wireLength
        self.linkType = linkType
        self.fileOffset = fileOffset
    }
}
