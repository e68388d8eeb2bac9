// The frame fuzzer's input format, also written by scripts/extract-seeds (keep the two in step):
//
//   byte 0   link-type selector: FrameStream.linkTypes[b % 16]
//   byte 1   configuration bits: 0x01 maxConnections 16 (evictions), 0x02 idle timeout 2 s,
//            0x04 time deltas in seconds (else milliseconds), 0x08 render text and Markdown too
//   then frames, each:
//     u16 LE  captured length (cut to what is left of the input)
//     i16 LE  time delta in the unit above; -32768 jumps back 2^62 ns, 32767 jumps ahead 2^62 ns
//     u8      wire length: 0 = captured length, 1...254 = captured + n, 255 = 0 (captured > wire)
//     bytes

import WireFormat

public struct FrameStream {
    public static let linkTypes: [LinkType] = [
        .ethernet, .raw, .null, .loop, .linuxSLL, .linuxSLL2, .ipv4, .ipv6,
        .rawOpenBSD, .linktypeRaw, .ethernet, .ethernet, .raw, .linuxSLL, .null,
        LinkType(rawValue: 0x1234),  // unsupported: counted, warned about, skipped
    ]

    public struct Frame {
        public var timestamp: Timestamp
        public var bytes: UnsafeRawBufferPointer
        public var wireLength: Int
    }

    public let linkType: LinkType
    public let configuration: UInt8
    let data: UnsafeRawBufferPointer
    var offset = 2
    var time = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)

    public init?(_ data: UnsafeRawBufferPointer) {
        guard data.count >= 2 else { return nil }
        self.data = data
        linkType = Self.linkTypes[Int(data[0] % 16)]
        configuration = data[1]
    }

    public var deltaUnit: Int64 { configuration & 0x04 != 0 ? 1_000_000_000 : 1_000_000 }

    public mutating func next() -> Frame? {
        guard data.count - offset >= 5 else { return nil }
        let length = Int(data[offset]) | Int(data[offset + 1]) << 8
        let delta = Int16(bitPattern: UInt16(data[offset + 2]) | UInt16(data[offset + 3]) << 8)
        let wire = data[offset + 4]
        offset += 5
        let captured = Swift.min(length, data.count - offset)
        switch delta {
        case .min: time = time.advanced(byNanoseconds: -(1 << 62))
        case .max: time = time.advanced(byNanoseconds: 1 << 62)
        default: time = time.advanced(byNanoseconds: Int64(delta) &* deltaUnit)
        }
        let bytes = UnsafeRawBufferPointer(rebasing: data[offset..<(offset + captured)])
        offset += captured
        let wireLength = wire == 0 ? captured : wire == 255 ? 0 : captured + Int(wire)
        return Frame(timestamp: time, bytes: bytes, wireLength: wireLength)
    }
}
