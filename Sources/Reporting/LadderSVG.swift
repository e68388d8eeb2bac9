import ConnectionTracking

/// An SVG ladder diagram of one connection: client and server as two vertical lanes, one arrow per
/// packet (time flows down), flags in words and colors (SYN blue, FIN amber, RST red and thick,
/// data dark, bare ACKs grey), relative seq/ack and length on the arrow, packet number and time in
/// the left gutter. Long connections show the head, an elision mark and the tail (the ladder rows the
/// tracker keeps). Self-contained: presentation attributes only, no CSS, no scripts, no markers.
public enum LadderSVG {
    static let width = 860
    static let clientX = 250.0
    static let serverX = 690.0
    static let top = 96.0
    static let rowHeight = 32.0
    static let elisionHeight = 40.0
    static let drop = 10.0
    static let mono = "ui-monospace, 'SF Mono', Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace"
    static let sans = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', 'Liberation Sans', sans-serif"

    struct Style { var stroke: String; var width: Double; var band: String?; var tag: String? }

    static func style(_ l: ConnectionRow.LadderLine) -> Style {
        if l.flags.contains("R") { return Style(stroke: "#dc2626", width: 2.6, band: "#fee2e2", tag: "RST") }
        if l.flags.contains("F") { return Style(stroke: "#d97706", width: 2.0, band: "#fef3c7", tag: "FIN") }
        if l.flags.contains("S") { return Style(stroke: "#2563eb", width: 1.8, band: nil, tag: nil) }
        if l.length > 0 { return Style(stroke: "#1f2937", width: 1.6, band: nil, tag: nil) }
        return Style(stroke: "#9ca3af", width: 1.2, band: nil, tag: nil)
    }

    /// tcpdump letters as words: "S." -> "SYN+ACK", "R" -> "RST", "P." -> "PSH+ACK".
    public static func flagWords(_ flags: String) -> String {
        guard flags != "none" else { return "no flags" }
        var words: [String] = []
        for ch in flags {
            switch ch {
            case "S": words.append("SYN")
            case "F": words.append("FIN")
            case "R": words.append("RST")
            case "P": words.append("PSH")
            case "U": words.append("URG")
            case "E": words.append("ECE")
            case "W": words.append("CWR")
            case ".": words.append("ACK")
            default: words.append(String(ch))
            }
        }
        return words.joined(separator: "+")
    }

    public static func render(_ r: ConnectionRow) -> String {
        let evidencePackets = Set(r.evidence.map(\.packet))
        let elideAfter = LadderText.elisionIndex(r)
        let rows = r.ladder.count
        let height = Int(top + Double(rows) * rowHeight + (elideAfter != nil ? elisionHeight : 0) + 18)
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ladder\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\""
        s += " role=\"img\" aria-label=\"Ladder diagram of connection \(r.id): \(escape(r.clientText)) to \(escape(r.serverText))\">\n"
        s += "<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>\n"

        // Row positions (y of each arrow's start), with room for the elision mark.
        var ys: [Double] = []
        var y = top
        for i in 0..<rows {
            ys.append(y)
            y += rowHeight
            if i == elideAfter { y += elisionHeight }
        }
        let laneBottom = Double(height) - 10

        // Bands behind RST / FIN / evidence rows.
        for (i, l) in r.ladder.enumerated() {
            let st = style(l)
            let fill = st.band ?? (evidencePackets.contains(l.packet) ? "#f1f5f9" : nil)
            guard let fill else { continue }
            s += "<rect x=\"8\" y=\(q(ys[i] - 17)) width=\"\(width - 16)\" height=\(q(rowHeight - 2)) rx=\"4\" fill=\"\(fill)\"/>\n"
        }

        // Lane headers and lanes.
        for (x, role, address) in [(clientX, "CLIENT", r.clientText), (serverX, "SERVER", r.serverText)] {
            s += "<rect x=\(q(x - 110)) y=\"10\" width=\"220\" height=\"46\" rx=\"8\" fill=\"#f8fafc\" stroke=\"#cbd5e1\"/>\n"
            s += "<text x=\(q(x)) y=\"28\" text-anchor=\"middle\" font-family=\"\(sans)\" font-size=\"11\" font-weight=\"700\" letter-spacing=\"1.5\" fill=\"#64748b\">\(role)</text>\n"
            s += "<text x=\(q(x)) y=\"46\" text-anchor=\"middle\" font-family=\"\(mono)\" font-size=\"13\" fill=\"#0f172a\">\(escape(address))</text>\n"
            s += "<line x1=\(q(x)) y1=\"56\" x2=\(q(x)) y2=\(q(laneBottom)) stroke=\"#475569\" stroke-width=\"2\"/>\n"
        }
        s += "<text x=\"16\" y=\"\(Int(top - 22))\" font-family=\"\(sans)\" font-size=\"11\" font-weight=\"700\" fill=\"#64748b\">#</text>\n"
        s += "<text x=\"64\" y=\"\(Int(top - 22))\" font-family=\"\(sans)\" font-size=\"11\" font-weight=\"700\" fill=\"#64748b\">time (s)</text>\n"
        if r.rolesInferred {
            s += "<text x=\(q((clientX + serverX) / 2)) y=\"\(Int(top - 22))\" text-anchor=\"middle\" font-family=\"\(sans)\" font-size=\"11\" font-style=\"italic\" fill=\"#64748b\">roles inferred: the handshake was not captured</text>\n"
        }

        // The elision mark: the lanes turn dashed, a pill says how many packets are not drawn.
        if let elideAfter {
            let y0 = ys[elideAfter] + rowHeight - 12
            let y1 = y0 + elisionHeight
            s += "<rect x=\"0\" y=\(q(y0)) width=\"\(width)\" height=\(q(elisionHeight)) fill=\"#ffffff\"/>\n"
            for x in [clientX, serverX] {
                s += "<line x1=\(q(x)) y1=\(q(y0)) x2=\(q(x)) y2=\(q(y1)) stroke=\"#94a3b8\" stroke-width=\"2\" stroke-dasharray=\"3 4\"/>\n"
            }
            let text = "… \(Format.grouped(UInt64(r.elidedPackets))) packet\(r.elidedPackets == 1 ? "" : "s") not shown …"
            let pillWidth = Double(text.count) * 7.2 + 24
            let mid = (clientX + serverX) / 2
            s += "<rect x=\(q(mid - pillWidth / 2)) y=\(q(y0 + 8)) width=\(q(pillWidth)) height=\"24\" rx=\"12\" fill=\"#f1f5f9\" stroke=\"#cbd5e1\"/>\n"
            s += "<text x=\(q(mid)) y=\(q(y0 + 24)) text-anchor=\"middle\" font-family=\"\(sans)\" font-size=\"12\" fill=\"#475569\">\(escape(text))</text>\n"
        }

        // One arrow per packet.
        for (i, l) in r.ladder.enumerated() {
            let st = style(l)
            let y0 = ys[i]
            let (x1, x2) = l.fromClient ? (clientX, serverX) : (serverX, clientX)
            let y1 = y0, y2 = y0 + drop
            let dx = x2 - x1, dy = y2 - y1
            let length = (dx * dx + dy * dy).squareRoot()
            let ux = dx / length, uy = dy / length
            let head = 10.0, half = 4.5
            let bx = x2 - ux * head, by = y2 - uy * head
            let title = "#\(l.packet) \(l.fromClient ? "client → server" : "server → client") \(flagWords(l.flags)) seq \(l.relativeSeq)"
                + (l.relativeAck.map { " ack \($0)" } ?? "") + " len \(l.length) win \(l.window) ttl \(l.ttl)"
            s += "<g><title>\(escape(title))</title>\n"
            if evidencePackets.contains(l.packet) {
                s += "<circle cx=\"13\" cy=\(q(y0 + 1)) r=\"3.5\" fill=\"#0f172a\"/>\n"
            }
            s += "<text x=\"22\" y=\(q(y0 + 5)) font-family=\"\(mono)\" font-size=\"12\" fill=\"#334155\">\(l.packet)</text>\n"
            s += "<text x=\"64\" y=\(q(y0 + 5)) font-family=\"\(mono)\" font-size=\"12\" fill=\"#64748b\">\(Format.fixedSeconds(nanoseconds: l.offsetNanoseconds))</text>\n"
            s += "<line x1=\(q(x1)) y1=\(q(y1)) x2=\(q(bx + ux * 2)) y2=\(q(by + uy * 2)) stroke=\"\(st.stroke)\" stroke-width=\(q(st.width)) stroke-linecap=\"round\"/>\n"
            s += "<polygon points=\"\(n(x2)),\(n(y2)) \(n(bx - uy * half)),\(n(by + ux * half)) \(n(bx + uy * half)),\(n(by - ux * half))\" fill=\"\(st.stroke)\"/>\n"
            let mid = (x1 + x2) / 2
            var rest = " seq \(l.relativeSeq)"
            if let ack = l.relativeAck { rest += " ack \(ack)" }
            if l.length > 0 { rest += " len \(l.length)" }
            s += "<text x=\(q(mid)) y=\(q(y0 + drop / 2 - 6)) text-anchor=\"middle\" font-family=\"\(mono)\" font-size=\"12\" stroke=\"#ffffff\" stroke-width=\"4\" stroke-linejoin=\"round\" paint-order=\"stroke\">"
            s += "<tspan font-weight=\"700\" fill=\"\(st.stroke == "#9ca3af" ? "#6b7280" : st.stroke)\">\(flagWords(l.flags))</tspan><tspan fill=\"#334155\">\(rest)</tspan></text>\n"
            var tags: [String] = []
            if let tag = st.tag { tags.append("<tspan font-weight=\"700\" fill=\"\(st.stroke)\">\(tag)</tspan>") }
            if evidencePackets.contains(l.packet) { tags.append("<tspan fill=\"#0f172a\">evidence</tspan>") }
            if !tags.isEmpty {
                s += "<text x=\(q(serverX + 16)) y=\(q(y0 + 9)) font-family=\"\(sans)\" font-size=\"12\">\(tags.joined(separator: "<tspan fill=\"#94a3b8\"> · </tspan>"))</text>\n"
            }
            s += "</g>\n"
        }
        s += "</svg>\n"
        return s
    }

    /// A quoted attribute value with one decimal.
    static func q(_ x: Double) -> String { "\"\(n(x))\"" }

    static func n(_ x: Double) -> String {
        let tenths = Int((x * 10).rounded())
        return tenths % 10 == 0 ? String(tenths / 10) : (tenths < 0 && tenths > -10 ? "-" : "") + "\(tenths / 10).\(abs(tenths % 10))"
    }

    /// Escapes text for XML/HTML content and attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }
}
