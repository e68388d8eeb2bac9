import Analysis
import WireFormat

/// Replaces every IPv4 and IPv6 address written in a text by its anonymized form (the same mapping
/// as the excerpt's packets), so words, evidence lines and file names cannot leak an address.
///
/// Addresses are found by scanning runs of the characters addresses are made of (hex digits, `.`,
/// `:`) and parsing each run, a run without its trailing `.`/`:`, and a run without a `:port` suffix
/// ("198.18.0.2:40030"). Whatever parses is replaced, in canonical text (RFC 5952 for IPv6).
public struct TextAnonymizer: Sendable {
    public var anonymizer: AddressAnonymizer

    public init(_ anonymizer: AddressAnonymizer) { self.anonymizer = anonymizer }

    public func callAsFunction(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var run: [Character] = []
        func flush() {
            guard !run.isEmpty else { return }
            out += replaced(String(run))
            run.removeAll(keepingCapacity: true)
        }
        for ch in text {
            if ch.isASCII && (ch.isHexDigit || ch == "." || ch == ":") { run.append(ch) } else { flush(); out.append(ch) }
        }
        flush()
        return out
    }

    /// One run of address characters, with any address in it replaced.
    func replaced(_ run: String) -> String {
        guard run.contains(".") || run.contains(":") else { return run }
        var candidate = Substring(run)
        var suffix = Substring("")
        // Trailing punctuation (end of a sentence, "addr:" in a label) is not part of the address.
        while let last = candidate.last, last == "." || (last == ":" && !candidate.hasSuffix("::")) {
            candidate = candidate.dropLast()
            suffix = run[candidate.endIndex...]
        }
        var leading = Substring("")
        while let first = candidate.first, first == "." || (first == ":" && !candidate.hasPrefix("::")) {
            leading = run[..<candidate.index(after: candidate.startIndex)]
            candidate = candidate.dropFirst()
        }
        if let address = IPAddress(candidate), isPlausible(candidate, address) {
            return String(leading) + anonymizer.anonymize(address).description + String(suffix)
        }
        // "198.18.0.2:40030": an IPv4 address with a port.
        if let colon = candidate.lastIndex(of: ":"), candidate[..<colon].contains("."), !candidate[..<colon].contains(":") {
            let host = candidate[..<colon]
            if let address = IPAddress(host), !address.isIPv6 {
                return String(leading) + anonymizer.anonymize(address).description + String(candidate[colon...]) + String(suffix)
            }
        }
        return run
    }

    /// Rejects runs that parse but are not written like addresses ("1:2:3:4:5:6:7:8" is an address;
    /// so is "::1"; a bare "::" is not worth replacing).
    func isPlausible(_ text: Substring, _ address: IPAddress) -> Bool {
        text != "::"
    }

    /// A row with every address and every text field anonymized.
    public func row(_ r: ConnectionRow) -> ConnectionRow {
        var r = r
        r.captureFile = self(r.captureFile)
        r.client.ip = self(r.client.ip)
        r.server.ip = self(r.server.ip)
        r.explanation = self(r.explanation)
        r.advice = r.advice.map { self($0) }
        r.evidence = r.evidence.map { e in
            var e = e
            e.what = self(e.what)
            return e
        }
        r.clientView = r.clientView.map { v in
            var v = v
            v.detail = self(v.detail)
            return v
        }
        r.serverView = r.serverView.map { v in
            var v = v
            v.detail = self(v.detail)
            return v
        }
        return r
    }

    /// A capture report with its file name and warnings anonymized.
    public func capture(_ c: CaptureReport) -> CaptureReport {
        var c = c
        c.file = self(c.file)
        c.warnings = c.warnings.map { self($0) }
        if var error = c.error {
            error.message = self(error.message)
            c.error = error
        }
        return c
    }
}
