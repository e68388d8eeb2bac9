/// An error from libpcap or from reading a capture, carrying libpcap's own message.
public struct CaptureError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure, for exit codes and advice.
    public struct Kind: RawRepresentable, Hashable, Sendable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The file could not be opened (missing, unreadable, a directory).
        public static let cannotOpen = Kind(rawValue: "cannot-open")
        /// The file is not a pcap or pcapng capture.
        public static let notACapture = Kind(rawValue: "not-a-capture")
        /// The capture ends in the middle of a record, or a record is corrupt.
        public static let damaged = Kind(rawValue: "damaged")
        /// A BPF filter expression did not compile or could not be installed.
        public static let badFilter = Kind(rawValue: "bad-filter")
        /// Live capture: not permitted (needs root or CAP_NET_RAW).
        public static let permissionDenied = Kind(rawValue: "permission-denied")
        /// Live capture: no such interface.
        public static let noSuchDevice = Kind(rawValue: "no-such-device")
        /// Writing a capture failed.
        public static let writeFailed = Kind(rawValue: "write-failed")
        /// Any other libpcap failure.
        public static let other = Kind(rawValue: "other")
    }

    public var kind: Kind
    /// The libpcap function or step that failed ("pcap_open_offline", "pcap_next_ex", ...).
    public var operation: String
    /// libpcap's message, or ours when libpcap has none.
    public var message: String

    public init(kind: Kind, operation: String, message: String) {
        self.kind = kind
        self.operation = operation
        self.message = message
    }

    public var description: String { message }
}
