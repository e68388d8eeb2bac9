import TestSupport
import Testing
import WireFormat

/// Every frame the robustness tests mutate: the literals plus the TestSupport fixtures.
let robustnessFrames: [FixtureFrame] =
    literalFrames.map { FixtureFrame(name: $0.name, linkType: $0.linkType, bytes: $0.bytes) } + Fixtures.frames

@Suite("Robustness: damaged frames decode or are undecodable, never trap")
struct RobustnessTests {
    @Test("Every fixture decodes to a TCP segment or an ICMP error", arguments: robustnessFrames)
    func fixturesDecode(frame: FixtureFrame) {
        switch decode(frame.bytes, frame.linkType) {
        case .tcp, .icmpError: break
        case let other: Issue.record("\(frame.name): \(other)")
        }
    }

    @Test("Every prefix of every fixture", arguments: robustnessFrames)
    func everyPrefix(frame: FixtureFrame) {
        for length in 0..<frame.bytes.count {
            let prefix = Array(frame.bytes.prefix(length))
            // Both as a snap-length cut (wire length kept) and as a frame that claims to be whole.
            for wireLength in [frame.bytes.count, length] {
                switch decode(prefix, frame.linkType, wireLength: wireLength) {
                case .tcp(let summary):
                    #expect(summary.capturedPayloadLength <= summary.payloadLength)
                    #expect(Int(summary.capturedPayloadLength) <= length)
                    #expect(summary.isTruncated || wireLength == length)
                case .icmpError, .ignored, .undecodable: break
                }
            }
        }
    }

    @Test("Prefixes under every supported link type (wrong framing must not trap either)")
    func everyPrefixEveryLinkType() {
        let linkTypes: [LinkType] = [
            .null, .ethernet, .raw, .rawOpenBSD, .linktypeRaw, .loop, .linuxSLL, .ipv4, .ipv6, .linuxSLL2,
        ]
        for frame in robustnessFrames {
            for linkType in linkTypes {
                for length in stride(from: 0, through: frame.bytes.count, by: 3) {
                    _ = decode(Array(frame.bytes.prefix(length)), linkType)
                }
            }
        }
    }

    @Test("Seeded random byte flips", arguments: robustnessFrames)
    func randomFlips(frame: FixtureFrame) {
        var random = SeededRandom(seed: 0xC0FFEE ^ UInt64(frame.bytes.count))
        for _ in 0..<2_000 {
            var bytes = frame.bytes
            let flips = 1 + Int(random.next() % 4)
            for _ in 0..<flips {
                let index = Int(random.next() % UInt64(bytes.count))
                bytes[index] = UInt8(truncatingIfNeeded: random.next())
            }
            let cut = Int(random.next() % UInt64(bytes.count + 1))
            let outcome = decode(Array(bytes.prefix(cut)), frame.linkType, wireLength: bytes.count)
            if case .tcp(let summary) = outcome {
                #expect(Int(summary.capturedPayloadLength) <= cut)
            }
        }
    }

    @Test("Views over empty and one-byte buffers throw")
    func tinyBuffers() {
        for bytes: [UInt8] in [[], [0x45], [0x60], [0xff]] {
            #expect(
                thrownError { () throws(DecodeError) in
                    _ = try withBytes(bytes) { b throws(DecodeError) in try IPv4Packet(validating: b) }
                } != nil)
            #expect(
                thrownError { () throws(DecodeError) in
                    _ = try withBytes(bytes) { b throws(DecodeError) in try IPv6Packet(validating: b) }
                } != nil)
            #expect(
                thrownError { () throws(DecodeError) in
                    _ = try withBytes(bytes) { b throws(DecodeError) in try TCPSegment(validating: b) }
                } != nil)
            _ = bytes.withUnsafeBytes { TCPOptionsSummary(parsing: $0, truncated: false) }
        }
    }

    @Test("Decode errors describe themselves")
    func errorWords() {
        #expect(
            DecodeError.truncated(.tcp, needed: 20, available: 3).description
                == "tcp header truncated: needs 20 bytes, 3 captured")
        #expect(DecodeError.truncated(.ipv6Extension, needed: 1, available: 0).reasonName == "truncated-ipv6-extension")
        #expect(DecodeError.badHeaderLength(.ipv4, 8).reasonName == "bad-length-ipv4")
        #expect(DecodeError.badVersion(7).description == "IP version 7 is neither 4 nor 6")
    }
}

