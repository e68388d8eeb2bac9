import Analysis
import Foundation
import PacketCapture
import Reporting
import Testing
import WireFormat

/// The pieces of `coroner report`: keyed PRF, prefix-preserving anonymization, text scrubbing, packet
/// rewriting with checksums, and the report.md / SVG ladder renderings (golden files).
@Suite("Bug-report bundle pieces")
struct BundleTests {
    static func bugReport(_ capture: String, anonymizer: AddressAnonymizer? = nil) -> BugReport {
        let r = analyzeLabCapture(capture)
        var rows = r.rows.filter(\.isAbnormal)
        var captures = r.captures
        if let anonymizer {
            let text = TextAnonymizer(anonymizer)
            rows = rows.map(text.row)
            captures = captures.map(text.capture)
        }
        let excerpt = BugReport.ExcerptFile(
            file: "excerpt.pcap", capture: captures[0].file, tcpPackets: rows.reduce(0) { $0 + Int($1.packetsClient + $1.packetsServer) },
            icmpErrors: 0, connections: rows.count, linkType: "EN10MB", convertedToRawIP: false)
        return BugReport(captures: captures, summary: r.summary, rows: rows, selection: "abnormal connections", filter: nil,
                         excerpts: [excerpt], anonymized: anonymizer != nil, payloadStripped: anonymizer != nil)
    }

    static let key: [UInt8] = Array(0..<16)

    @Test("SipHash-2-4 matches the paper's test vector")
    func sipHash() {
        // Aumasson & Bernstein, appendix A: key 00..0f, message 00..0e.
        #expect(SipHash(key: Self.key).hash(Array(0..<15)) == 0xa129ca6149be45e5)
        #expect(SipHash(key: Self.key).hash([]) == 0x726fdb47dd0e0e31)
    }

    /// Length of the common bit prefix of two 128-bit values.
    static func commonPrefix(_ a: IPAddress, _ b: IPAddress) -> Int {
        let (x, y) = a.isIPv6 ? ((a.high, a.low), (b.high, b.low)) : ((UInt64(a.ipv4Value) << 32, 0), (UInt64(b.ipv4Value) << 32, 0))
        if x.0 != y.0 { return (x.0 ^ y.0).leadingZeroBitCount }
        return 64 + (x.1 == y.1 ? 64 : (x.1 ^ y.1).leadingZeroBitCount)
    }

    @Test("anonymization preserves prefixes, is keyed, and keeps the family")
    func prefixPreserving() throws {
        let anonymizer = AddressAnonymizer(key: Self.key)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let a = IPAddress(ipv4: .random(in: 0...UInt32.max, using: &generator))
            let shared = Int.random(in: 0...32, using: &generator)
            let mask: UInt32 = shared == 0 ? 0 : ~(UInt32.max >> UInt32(shared))
            let b = IPAddress(ipv4: a.ipv4Value & mask | UInt32.random(in: 0...UInt32.max, using: &generator) & ~mask)
            let (x, y) = (anonymizer.anonymize(a), anonymizer.anonymize(b))
            #expect(!x.isIPv6)
            #expect(min(32, Self.commonPrefix(x, y)) == min(32, Self.commonPrefix(a, b)), "\(a) \(b) -> \(x) \(y)")
        }
        for _ in 0..<100 {
            let a = IPAddress(ipv6High: .random(in: 0...UInt64.max, using: &generator), low: .random(in: 0...UInt64.max, using: &generator))
            let b = IPAddress(ipv6High: a.high, low: a.low ^ UInt64.random(in: 1...0xffff, using: &generator))
            let (x, y) = (anonymizer.anonymize(a), anonymizer.anonymize(b))
            #expect(x.isIPv6 && Self.commonPrefix(x, y) == Self.commonPrefix(a, b))
        }
        let a = try #require(IPAddress("198.18.0.2"))
        #expect(anonymizer.anonymize(a) == AddressAnonymizer(key: Self.key).anonymize(a), "deterministic for one key")
        #expect(anonymizer.anonymize(a) != AddressAnonymizer(key: Array(repeating: 7, count: 16)).anonymize(a), "another key, another mapping")
        #expect(AddressAnonymizer.key(hex: "000102030405060708090a0b0c0d0e0f") == Self.key)
        #expect(AddressAnonymizer.key(hex: "0001") == nil && AddressAnonymizer.key(hex: String(repeating: "g", count: 32)) == nil)
    }

    @Test("text anonymization finds addresses with ports, brackets and punctuation, and nothing else")
    func text() throws {
        let anonymizer = AddressAnonymizer(key: Self.key)
        let text = TextAnonymizer(anonymizer)
        func a(_ s: String) -> String { anonymizer.anonymize(IPAddress(s)!).description }
        #expect(text("from 198.18.0.1.") == "from \(a("198.18.0.1")).")
        #expect(text("198.18.0.2:40030 → [2001:db8:1::2]:5003") == "\(a("198.18.0.2")):40030 → [\(a("2001:db8:1::2"))]:5003")
        #expect(text("capture-10.1.2.3.pcap") == "capture-\(a("10.1.2.3")).pcap")
        let untouched = "08:16:49.251288 0.400271 s, seq 1:101, TTL 63, coroner 0.1.0, face: cafe"
        #expect(text(untouched) == untouched)
    }

    /// Ones' complement sum of 16-bit words.
    static func sum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var total: UInt32 = 0
        var i = bytes.startIndex
        while i < bytes.endIndex {
            total += UInt32(bytes[i]) << 8 | (i + 1 < bytes.endIndex ? UInt32(bytes[i + 1]) : 0)
            i += 2
        }
        while total > 0xffff { total = (total & 0xffff) + (total >> 16) }
        return total
    }

    /// Whether an Ethernet IPv4/IPv6 frame's IP header and TCP checksums verify.
    static func checksumsVerify(_ f: [UInt8]) -> Bool {
        let ip = 14
        if f[ip] >> 4 == 4 {
            let ihl = Int(f[ip] & 15) * 4
            guard sum(f[ip..<ip + ihl]) == 0xffff else { return false }
            let total = Int(f[ip + 2]) << 8 | Int(f[ip + 3])
            guard f[ip + 9] == 6 else { return true }
            let tcp = f[ip + ihl..<ip + total]
            let pseudo = sum(f[ip + 12..<ip + 20]) + 6 + UInt32(tcp.count)
            var s = sum(tcp) + pseudo
            while s > 0xffff { s = (s & 0xffff) + (s >> 16) }
            return s == 0xffff
        }
        let length = Int(f[ip + 4]) << 8 | Int(f[ip + 5])
        guard f[ip + 6] == 6 else { return true }
        var s = sum(f[ip + 40..<ip + 40 + length]) + sum(f[ip + 8..<ip + 40]) + 6 + UInt32(length)
        while s > 0xffff { s = (s & 0xffff) + (s >> 16) }
        return s == 0xffff
    }

    @Test("rewritten packets: addresses anonymized, payload zeroed with lengths kept, checksums right",
          arguments: ["server-closed-client-sends-twice.pcap", "ipv6-server-closes-with-unread-data.pcap"])
    func rewrite(_ capture: String) throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("captures/\(capture)").path
        var file = try CaptureFile.open(path: path)
        var rewriter = PacketRewriter(anonymizer: AddressAnonymizer(key: Self.key), stripPayload: true)
        var checked = 0
        try file.forEachPacket { packet in
            guard case .tcp(let before) = PacketDecoder.decode(linkType: packet.linkType, bytes: packet.bytes, wireLength: packet.wireLength)
            else { return .proceed }
            var frame = Array(packet.bytes)
            rewriter.rewrite(&frame, linkType: packet.linkType)
            #expect(frame.count == packet.bytes.count)
            let after = frame.withUnsafeBytes { PacketDecoder.decode(linkType: packet.linkType, bytes: $0, wireLength: packet.wireLength) }
            guard case .tcp(let s) = after else {
                Issue.record("packet \(packet.number) no longer decodes")
                return .proceed
            }
            #expect(s.source == rewriter.anonymizer!.anonymize(before.source))
            #expect(s.payloadLength == before.payloadLength && s.sequenceNumber == before.sequenceNumber && s.flags == before.flags)
            if before.payloadLength > 0 { #expect(frame.suffix(Int(before.payloadLength)).allSatisfy { $0 == 0 }) }
            #expect(Self.checksumsVerify(frame), "packet \(packet.number)")
            checked += 1
            return .proceed
        }
        #expect(checked > 3)
    }

    @Test("report.md (golden)", arguments: ["server-closed-client-sends-twice.pcap", "client-killed-while-sending.pcap"])
    func markdown(_ capture: String) throws {
        try assertSnapshot(BugReportMarkdown.render(Self.bugReport(capture)), named: "bundle-\(capture).md")
    }

    @Test("report.md anonymized with a fixed key (golden)")
    func markdownAnonymized() throws {
        let report = Self.bugReport("ipv6-server-closes-with-unread-data.pcap", anonymizer: AddressAnonymizer(key: Self.key))
        let text = BugReportMarkdown.render(report)
        #expect(!text.contains("2001:db8"))
        try assertSnapshot(text, named: "bundle-ipv6-server-closes-with-unread-data.pcap.anonymized.md")
    }

    @Test("SVG ladder (golden), with the elision mark on a long connection",
          arguments: ["server-closed-client-sends-twice.pcap", "client-killed-while-sending.pcap"])
    func svg(_ capture: String) throws {
        let row = try #require(Self.bugReport(capture).rows.first)
        let svg = LadderSVG.render(row)
        #expect(svg.components(separatedBy: "<polygon").count - 1 == row.ladder.count, "one arrow per ladder row")
        #expect((row.elidedPackets > 0) == svg.contains("not shown"))
        try assertSnapshot(svg, named: "ladder-\(capture).svg")
    }

    @Test("report.html is self-contained: no scripts, no external assets, one SVG per connection")
    func html() throws {
        let report = Self.bugReport("mixed-24-connections.pcap")
        let html = HTMLReport.render(report)
        #expect(!html.lowercased().contains("<script"))
        #expect(!html.contains("src="))
        let links = html.components(separatedBy: "http").count - 1
        #expect(links == html.components(separatedBy: "http://www.w3.org/2000/svg").count - 1, "only the SVG namespace")
        #expect(html.components(separatedBy: "<svg").count - 1 == report.rows.filter { !$0.ladder.isEmpty }.count)
        #expect(html.contains("@media print"))
    }
}
