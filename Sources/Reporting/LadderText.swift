import ConnectionTracking

/// A compact monospace ladder of one connection for Markdown (inside a code block): one line per
/// packet, client on the left, server on the right, an elision line where the middle was dropped.
///
/// ```
///     #  time (s)   client                                          server
///     1  0.000000   |---------- S  seq 0 win 64240 -------------->|
///     2  0.000041   |<--------- S. seq 0 ack 1 win 65160 ---------|
///                   :              … 12 packets …                 :
///     7  0.400271   |<========= R  seq 1 ==========================|  RST
/// ```
/// RST arrows are drawn with `=`, FIN arrows with `~`, everything else with `-`.
public enum LadderText {
    static let arrowWidth = 50

    public static func render(_ r: ConnectionRow) -> String {
        var out = pad("#", 6, right: true) + "  " + pad("time (s)", 10) + "  "
        let client = "client " + r.clientText
        let server = "server " + r.serverText
        let gap = max(1, arrowWidth + 2 - client.count - server.count)
        out += client + String(repeating: " ", count: gap) + server + "\n"
        let elideAfter = elisionIndex(r)
        for (i, line) in r.ladder.enumerated() {
            out += row(line) + "\n"
            if i == elideAfter {
                let text = " … \(Format.grouped(UInt64(r.elidedPackets))) packet\(r.elidedPackets == 1 ? "" : "s") … "
                out += String(repeating: " ", count: 20) + ":" + centered(text, arrowWidth, fill: " ") + ":\n"
            }
        }
        return out
    }

    /// The index of the ladder line after which packets were dropped, or nil: the tracker keeps the
    /// first `Connection.headCapacity` packets and the last ones, so the gap follows the head.
    static func elisionIndex(_ r: ConnectionRow) -> Int? {
        guard r.elidedPackets > 0, r.ladder.count > 1 else { return nil }
        return min(Connection.headCapacity, r.ladder.count - 1) - 1
    }

    /// "S. seq 0 ack 1 len 100" (relative numbers; ack only with the ACK flag).
    public static func label(_ l: ConnectionRow.LadderLine) -> String {
        var s = l.flags == "none" ? "(none)" : l.flags
        s += " seq \(l.relativeSeq)"
        if let ack = l.relativeAck { s += " ack \(ack)" }
        if l.length > 0 { s += " len \(l.length)" }
        return s
    }

    static func row(_ l: ConnectionRow.LadderLine) -> String {
        let isReset = l.flags.contains("R")
        let isFIN = l.flags.contains("F")
        let fill: Character = isReset ? "=" : isFIN ? "~" : "-"
        let body = centered(" " + label(l) + " ", arrowWidth - 1, fill: fill)
        let arrow = l.fromClient ? "|" + body + ">|" : "|<" + body + "|"
        var out = pad(String(l.packet), 6, right: true) + "  " + pad(Format.fixedSeconds(nanoseconds: l.offsetNanoseconds), 10) + "  " + arrow
        if isReset { out += "  RST" } else if isFIN { out += "  FIN" }
        return out
    }

    static func centered(_ text: String, _ width: Int, fill: Character) -> String {
        let n = text.count
        guard n < width else { return text }
        let left = (width - n) / 2
        return String(repeating: fill, count: left) + text + String(repeating: fill, count: width - n - left)
    }

    static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        guard s.count < width else { return s }
        let spaces = String(repeating: " ", count: width - s.count)
        return right ? spaces + s : s + spaces
    }
}
