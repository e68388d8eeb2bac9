import Analysis
import Diagnosis

/// The human report (`--format text`, the default): capture facts, counts by cause, one line per
/// connection, then a block for each abnormal connection (all with `verbose`).
public struct TextReport {
    public var color = false
    public var verbose = false
    public var onlyAbnormal = false
    public init(color: Bool = false, verbose: Bool = false, onlyAbnormal: Bool = false) {
        self.color = color
        self.verbose = verbose
        self.onlyAbnormal = onlyAbnormal
    }

    func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    func bold(_ s: String) -> String { paint(s, "1") }
    func dim(_ s: String) -> String { paint(s, "2") }
    func causeColor(_ c: CauseCode) -> String {
        switch c {
        case .gracefulClose: paint(c.rawValue, "32")
        case .stillOpen: paint(c.rawValue, "36")
        case .unknown: paint(c.rawValue, "35")
        default: paint(c.rawValue, "31")
        }
    }

    static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let n = s.count
        guard n < width else { return s }
        return right ? String(repeating: " ", count: width - n) + s : s + String(repeating: " ", count: width - n)
    }

    public func render(rows: [ConnectionRow], captures: [CaptureReport], summary: Summary) -> String {
        var out = ""
        for c in captures {
            if let error = c.error {
                out += "\(c.file): \(error.message)\n"
                continue
            }
            let links = c.linkTypes.map(\.description).joined(separator: ", ")
            out += bold(c.file) + ": \(Format.grouped(UInt64(c.packets))) packets (\(Format.grouped(UInt64(c.tcpPackets))) TCP), "
            out += "\(c.connections) connection\(c.connections == 1 ? "" : "s"), link \(links.isEmpty ? "-" : links)"
            out += c.vantage == .unknown ? "\n" : ", captured \(String(c.vantage.rawValue.map { $0 == "_" ? " " : $0 }))\n"
            if c.undecodablePackets > 0 { out += dim("  \(c.undecodablePackets) packets could not be decoded") + "\n" }
            for w in c.warnings { out += paint("  warning: ", "33") + w + "\n" }
        }
        guard summary.connections > 0 else { return out + "No TCP connections.\n" }
        out += "\n" + bold(Self.pad("cause", 24) + Self.pad("connections", 12, right: true)) + "\n"
        for (cause, n) in summary.byCause.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
            let code = CauseCode(rawValue: cause) ?? .unknown
            out += causeColor(code) + String(repeating: " ", count: max(1, 24 - cause.count)) + Self.pad(String(n), 12, right: true) + "\n"
        }
        let listed = rows.filter { !onlyAbnormal || $0.isAbnormal }
        if !listed.isEmpty {
            out += "\n" + bold("   id  client → server" + String(repeating: " ", count: 30) + "pkts c/s     bytes c/s      ending      cause") + "\n"
            for r in listed {
                let pair = "\(r.clientText) → \(r.serverText)"
                out += Self.pad("#\(r.id)", 5, right: true) + "  " + Self.pad(pair, 45) + " "
                out += Self.pad("\(r.packetsClient)/\(r.packetsServer)", 12) + " " + Self.pad("\(r.bytesClient)/\(r.bytesServer)", 14) + " "
                out += Self.pad(r.ending.rawValue, 11) + " " + causeColor(r.cause) + "\n"
            }
        }
        let detailed = rows.filter { verbose || $0.isAbnormal }
        for r in detailed { out += "\n" + block(r) }
        return out
    }

    /// The block for one connection: verdict line, explanation, what each app saw, advice, evidence.
    public func block(_ r: ConnectionRow) -> String {
        var out = bold("#\(r.id) \(r.clientText) → \(r.serverText)") + "  "
        out += r.ending.rawValue.uppercased()
        if let by = r.resetBy { out += " by \(by.rawValue)" } else if let by = r.closedBy { out += " by \(by.rawValue)" }
        out += ": " + causeColor(r.cause) + " (\(r.confidence.rawValue) confidence)\n"
        out += "  " + r.explanation + "\n"
        for (name, view) in [("client", r.clientView), ("server", r.serverView)] {
            guard let view else { continue }
            out += "  \(name) app: \(view.linux) on Linux, \(view.windows) on Windows; \(view.detail)\n"
        }
        if let advice = r.advice { out += "  advice: " + advice + "\n" }
        if !r.evidence.isEmpty {
            out += dim("  evidence:") + "\n"
            for e in r.evidence {
                let time = e.time.count > 19 ? String(e.time.dropFirst(11).dropLast()) : e.time
                out += "    " + Self.pad("#\(e.packet)", 7) + dim(time) + "  " + Self.pad(e.from ?? "", 7) + e.what + "\n"
            }
        }
        out += dim("  zeek: \(r.zeekConnState) \(r.zeekHistory)   packets \(r.firstPacket)–\(r.lastPacket)") + "\n"
        return out
    }
}
