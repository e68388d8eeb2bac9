import TestSupport
import WireFormat

/// Random but plausible TCP conversations between two endpoints, for the fast-path tests (the Zeek
/// model's and the connection's): each fast path must leave exactly the state its full path leaves.
enum Conversations {
    /// One side of a generated conversation: what it has sent and what it has seen acknowledged.
    private struct Talker {
        var isn: UInt32
        var next: UInt32
        var peerNext: UInt32 = 0
    }

    /// A random conversation of `count` packets. Mostly the ordinary traffic of an established
    /// connection (data, ACKs, partial and duplicate ACKs) with the rarer cases mixed in: handshakes
    /// or mid-stream starts, retransmissions, holes, ACKs beyond the data seen, zero windows, truncated
    /// captures, FIN, RST, odd flag combinations, sequence numbers near the 2^32 wrap.
    static func random(seed: UInt64, count: Int) -> [(TCPPacketSummary, fromOriginator: Bool)] {
        var random = SeededRandom(seed: seed)
        func isn() -> UInt32 {
            // Near the wrap a third of the time, so relative numbering crosses it.
            Bool.random(using: &random) && Bool.random(using: &random)
                ? UInt32.max &- UInt32.random(in: 0..<20_000, using: &random)
                : UInt32.random(in: 0...UInt32.max, using: &random)
        }
        var sides = [Talker(isn: isn(), next: 0), Talker(isn: isn(), next: 0)]
        sides[0].next = sides[0].isn
        sides[1].next = sides[1].isn
        sides[0].peerNext = sides[1].isn &+ 1
        sides[1].peerNext = sides[0].isn &+ 1
        let client = IPAddress(ipv4: 0xC612_0001), server = IPAddress(ipv4: 0xC613_0002)
        var packets: [(TCPPacketSummary, fromOriginator: Bool)] = []

        func packet(_ from: Int, _ flags: TCPFlags, seq: UInt32, ack: UInt32, length: UInt32 = 0,
                    window: UInt16 = 65535, captured: UInt32? = nil) {
            packets.append((TCPPacketSummary(
                source: from == 0 ? client : server, destination: from == 0 ? server : client,
                sourcePort: from == 0 ? 40000 : 443, destinationPort: from == 0 ? 443 : 40000,
                sequenceNumber: SequenceNumber(seq), acknowledgmentNumber: SequenceNumber(ack), flags: flags,
                window: window, payloadLength: length, capturedPayloadLength: captured), from == 0))
        }

        // Opening: a full handshake, a SYN-ACK first, or a mid-stream start.
        switch Int.random(in: 0..<4, using: &random) {
        case 0, 1:
            packet(0, .syn, seq: sides[0].isn, ack: 0)
            packet(1, [.syn, .ack], seq: sides[1].isn, ack: sides[0].isn &+ 1)
            packet(0, .ack, seq: sides[0].isn &+ 1, ack: sides[1].isn &+ 1)
            sides[0].next &+= 1
            sides[1].next &+= 1
        case 2:
            packet(1, [.syn, .ack], seq: sides[1].isn, ack: sides[0].isn &+ 1)
            sides[0].next &+= 1
            sides[1].next &+= 1
        default:
            sides[0].next &+= 1
            sides[1].next &+= 1
        }

        while packets.count < count {
            let from = Int.random(in: 0...1, using: &random)
            let to = 1 - from
            let length = UInt32.random(in: 1...1460, using: &random)
            // What the peer has sent so far: acknowledge all of it, part of it, or more.
            let ackAll = sides[to].next
            var ack = ackAll
            let window: UInt16 = Int.random(in: 0..<25, using: &random) == 0 ? 0 : 65535
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<35:  // in-order data
                packet(from, [.ack, .psh], seq: sides[from].next, ack: ack, length: length, window: window)
                sides[from].next &+= length
            case 35..<60:  // a pure ACK
                packet(from, .ack, seq: sides[from].next, ack: ack, window: window)
            case 60..<65:  // a duplicate or partial ACK
                ack = ackAll &- UInt32.random(in: 0...3000, using: &random)
                packet(from, .ack, seq: sides[from].next, ack: ack, window: window)
            case 65..<70:  // a retransmission of earlier data
                let back = UInt32.random(in: 1...4000, using: &random)
                packet(from, .ack, seq: sides[from].next &- back, ack: ack, length: min(length, back))
            case 70..<75:  // data beyond a hole (the hole may be filled later or never)
                let hole = UInt32.random(in: 1...3000, using: &random)
                packet(from, .ack, seq: sides[from].next &+ hole, ack: ack, length: length)
                if Bool.random(using: &random) { sides[from].next &+= hole &+ length }
            case 75..<79:  // an ACK beyond anything seen: a gap
                packet(from, .ack, seq: sides[from].next, ack: ackAll &+ UInt32.random(in: 1...5000, using: &random))
            case 79..<82:  // captured shorter than on the wire
                packet(from, .ack, seq: sides[from].next, ack: ack, length: length,
                       captured: UInt32.random(in: 0..<length, using: &random))
                sides[from].next &+= length
            case 82..<85:  // data without ACK
                packet(from, .psh, seq: sides[from].next, ack: 0, length: length)
                sides[from].next &+= length
            case 85..<89:  // FIN (with ACK), perhaps with data
                let data = Bool.random(using: &random) ? length : 0
                packet(from, [.fin, .ack], seq: sides[from].next, ack: ack, length: data)
                sides[from].next &+= data &+ 1
            case 89..<91:  // RST, with or without ACK
                packet(from, Bool.random(using: &random) ? [.rst, .ack] : .rst, seq: sides[from].next, ack: ack)
            case 91..<93:  // a SYN again (retransmitted or new)
                packet(from, from == 0 ? .syn : [.syn, .ack], seq: Bool.random(using: &random) ? sides[from].isn : isn(),
                       ack: from == 0 ? 0 : ack)
            case 93..<95:  // odd flag combinations
                let odd: [TCPFlags] = [[.syn, .fin], [.fin, .rst, .ack], [.syn, .rst], [.ack, .urg], []]
                packet(from, odd[Int.random(in: 0..<odd.count, using: &random)], seq: sides[from].next, ack: ack)
            case 95..<97:  // a sequence number far away
                packet(from, .ack, seq: UInt32.random(in: 0...UInt32.max, using: &random), ack: ack, length: length)
            case 97:  // an acknowledgment of zero, far ahead or not
                packet(from, .ack, seq: sides[from].next, ack: 0)
            default:  // a jump forward by a large step in the sender's stream
                sides[from].next &+= UInt32.random(in: 100_000...3_000_000, using: &random)
                packet(from, .ack, seq: sides[from].next, ack: ack, length: length)
                sides[from].next &+= length
            }
        }
        return packets
    }
}
