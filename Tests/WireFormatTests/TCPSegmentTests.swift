import TestSupport
import Testing
import WireFormat

@Suite("TCP header and options")
struct TCPSegmentTests {
    let a = FrameBuilder.address("198.18.0.1")
    let b = FrameBuilder.address("198.18.0.2")

    func header(
        _ options: [FrameBuilder.TCPOption], payload: [UInt8] = [], flags: TCPFlags = [.ack], dataOffset: UInt8? = nil
    ) -> [UInt8] {
        FrameBuilder.tcpHeader(
            source: a, destination: b, sport: 40000, dport: 80, seq: 0xFFFF_FFF0, ack: 0x10, flags: flags, window: 512,
            options: options, payload: payload, dataOffsetOverride: dataOffset)
    }

    func options(_ list: [FrameBuilder.TCPOption]) throws -> TCPOptionsSummary {
        try withBytes(header(list)) { bytes throws(DecodeError) in try TCPSegment(validating: bytes).options }
    }

    @Test("Fields of a literal header")
    func fields() throws {
        try withBytes(Array(ethernetSYN.dropFirst(34))) { bytes throws(DecodeError) in
            let tcp = try TCPSegment(validating: bytes)
            #expect(tcp.sourcePort == 40000)
            #expect(tcp.destinationPort == 80)
            #expect(tcp.sequenceNumber == SequenceNumber(1000))
            #expect(tcp.acknowledgmentNumber == SequenceNumber(0))
            #expect(tcp.flags == .syn)
            #expect(tcp.window == 64240)
            #expect(tcp.checksum == 0xb508)
            #expect(tcp.headerLength == 40)
            #expect(tcp.optionBytes.count == 20)
            #expect(!tcp.optionsTruncated)
            #expect(tcp.capturedPayload.isEmpty)
        }
    }

    @Test("Every option kind coroner reads")
    func allOptions() throws {
        // 40 bytes of option space: split over a SYN-like and a data-like header.
        let syn = try options([
            .mss(1400), .windowScale(14), .sackPermitted, .timestamps(value: 0xdead_beef, echo: 42),
            .fastOpen(cookie: [1, 2, 3, 4, 5, 6, 7, 8]),
        ])
        #expect(syn.mss == 1400)
        #expect(syn.windowScale == 14)
        #expect(syn.sackPermitted)
        #expect(syn.hasTimestamps && syn.timestampValue == 0xdead_beef && syn.timestampEcho == 42)
        #expect(syn.fastOpenCookieLength == 8)
        #expect(!syn.isMalformed && !syn.isTruncated)
        let data = try options([
            .noOperation, .noOperation, .timestamps(value: 5, echo: 6),
            .sack([.init(100, 200), .init(300, 400), .init(500, 600)]),
        ])
        #expect(data.sackBlockCount == 3)
        #expect(data.firstSACKBlock.left == SequenceNumber(100) && data.firstSACKBlock.right == SequenceNumber(200))
        #expect(data.hasTimestamps)
        #expect(!data.sackPermitted && data.mss == 0)
        #expect(!data.isMalformed)
    }

    @Test("TFO cookie request and the experimental kind 254 with magic 0xF989")
    func fastOpen() throws {
        #expect(try options([.fastOpen(cookie: [])]).fastOpenCookieLength == 0)
        #expect(
            try options([.raw(kind: 254, length: 12, data: [0xF9, 0x89, 1, 2, 3, 4, 5, 6, 7, 8])]).fastOpenCookieLength
                == 8)
        #expect(try options([.raw(kind: 254, length: 4, data: [0x12, 0x34])]).fastOpenCookieLength == nil)
    }

    @Test("Option lengths 0 and 1 are malformed and stop parsing", arguments: [UInt8(0), 1])
    func malformedLength(length: UInt8) throws {
        let summary = try options([.mss(536), .raw(kind: 2, length: length, data: []), .windowScale(3)])
        #expect(summary.isMalformed)
        #expect(summary.mss == 536)
        #expect(summary.windowScale == nil)
    }

    @Test("An option running past the header is malformed")
    func optionPastHeader() throws {
        // kind 8 length 10 with only 6 bytes of option space left (NOP NOP first).
        let summary = try options([.noOperation, .noOperation, .raw(kind: 8, length: 10, data: [0, 0])])
        #expect(summary.isMalformed)
        #expect(!summary.hasTimestamps)
    }

    @Test("A kind byte with no length byte at the end of the header is malformed")
    func kindWithoutLength() throws {
        var bytes: [UInt8] = header([])
        bytes[12] = 0x60  // data offset 6: four option bytes
        bytes.insert(contentsOf: [1, 1, 1, 3], at: 20)
        let parsed = try withBytes(bytes) { b throws(DecodeError) in try TCPSegment(validating: b).options }
        #expect(parsed.isMalformed)
    }

    @Test("Wrong lengths for known kinds are ignored, not trusted")
    func wrongLengths() throws {
        let summary = try options([
            .raw(kind: 2, length: 3, data: [5]), .raw(kind: 5, length: 6, data: [0, 0, 0, 0]),
            .raw(kind: 3, length: 4, data: [1, 2]),
        ])
        #expect(summary.mss == 0)
        #expect(summary.sackBlockCount == 0)
        #expect(summary.windowScale == nil)
        #expect(!summary.isMalformed)
    }

    @Test("End-of-options stops parsing")
    func endOfOptions() throws {
        let summary = try options([.end, .mss(1000)])
        #expect(summary.mss == 0)
    }

    @Test("Data offset below 5 is impossible", arguments: [UInt8(0), 1, 4])
    func dataOffsetTooSmall(offset: UInt8) {
        let bytes = header([], dataOffset: offset)
        #expect(
            thrownError { () throws(DecodeError) in
                _ = try withBytes(bytes) { b throws(DecodeError) in try TCPSegment(validating: b) }
            } == .badHeaderLength(.tcp, Int(offset) * 4))
        let frame = FrameBuilder.frame(.raw, FrameBuilder.ipv4(src: a, dst: b, protocolNumber: 6, payload: bytes))
        #expect(decodeError(decode(frame, .raw)) == .badHeaderLength(.tcp, Int(offset) * 4))
    }

    @Test("Fewer than 20 bytes of TCP")
    func truncatedFixedHeader() {
        let bytes = Array(header([]).prefix(19))
        #expect(
            thrownError { () throws(DecodeError) in
                _ = try withBytes(bytes) { b throws(DecodeError) in try TCPSegment(validating: b) }
            } == .truncated(.tcp, needed: 20, available: 19))
    }

    @Test("Options cut by the snap length: parsed as far as they go, flagged truncated")
    func optionsCutBySnapLength() throws {
        let full = FrameBuilder.tcp(
            src: "198.18.0.1", sport: 1, dst: "198.18.0.2", dport: 2, flags: [.syn],
            options: [.mss(1460), .sackPermitted, .timestamps(value: 1, echo: 0), .noOperation, .windowScale(7)],
            link: .raw)
        let cut = Array(full.prefix(20 + 20 + 8))  // MSS, SACK-permitted, half the timestamps
        let summary = try #require(tcpSummary(decode(cut, .raw, wireLength: full.count)))
        #expect(summary.options.mss == 1460)
        #expect(summary.options.sackPermitted)
        #expect(!summary.options.hasTimestamps)
        #expect(summary.options.isTruncated)
        #expect(!summary.options.isMalformed)
        #expect(summary.isTruncated)
        try withBytes(Array(cut.dropFirst(20))) { bytes throws(DecodeError) in
            let tcp = try TCPSegment(validating: bytes)
            #expect(tcp.optionsTruncated)
            #expect(tcp.optionBytes.count == 8)
            #expect(tcp.capturedPayload.isEmpty)
        }
    }

    @Test("Odd flag combinations are evidence, never rejected")
    func oddFlags() throws {
        for flags: TCPFlags in [[.syn, .fin], [.fin, .rst], [.syn, .rst, .ack], [], TCPFlags(rawValue: 0xff)] {
            let frame = FrameBuilder.tcp(
                src: "198.18.0.1", sport: 1, dst: "198.18.0.2", dport: 2, flags: flags, link: .raw)
            let summary = try #require(tcpSummary(decode(frame, .raw)))
            #expect(summary.flags == flags)
        }
        #expect(TCPFlags([.syn, .ack]).description == "S.")
        #expect(TCPFlags([.fin, .psh, .ack]).description == "FP.")
        #expect(TCPFlags().description == "none")
        #expect(TCPFlags(rawValue: 0xff).description == "SFRPUEW.")
    }

    @Test("Sequence space includes SYN and FIN")
    func sequenceLength() throws {
        let frame = FrameBuilder.tcp(
            src: "198.18.0.1", sport: 1, dst: "198.18.0.2", dport: 2, flags: [.syn, .fin], payload: 10, link: .raw)
        let summary = try #require(tcpSummary(decode(frame, .raw)))
        #expect(summary.sequenceLength == 12)
    }

    @Test("The decoder's summary carries a SYN's options; other segments' options are left unparsed")
    func summaryOptionsOnSYNOnly() throws {
        let list: [FrameBuilder.TCPOption] = [.mss(1400), .windowScale(5), .timestamps(value: 7, echo: 9)]
        for flags: TCPFlags in [[.syn], [.syn, .ack]] {
            let frame = FrameBuilder.tcp(src: "198.18.0.1", sport: 40000, dst: "198.18.0.2", dport: 80, flags: flags, options: list)
            let summary = try #require(tcpSummary(decode(frame, .ethernet)))
            #expect(summary.options.mss == 1400 && summary.options.windowScale == 5 && summary.options.hasTimestamps)
        }
        let data = FrameBuilder.tcp(src: "198.18.0.1", sport: 40000, dst: "198.18.0.2", dport: 80, flags: [.ack, .psh],
                                    payload: 10, options: list)
        let summary = try #require(tcpSummary(decode(data, .ethernet)))
        #expect(summary.options == TCPOptionsSummary())
        #expect(summary.payloadLength == 10)
        // The segment itself still parses them.
        let options = try withBytes(Array(data.dropFirst(34))) { bytes throws(DecodeError) in try TCPSegment(validating: bytes).options }
        #expect(options.mss == 1400 && options.hasTimestamps)
    }
}
