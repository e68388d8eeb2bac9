// Zeek-compatible connection summary (`conn_state` and `history` of Zeek's conn.log), computed from
// the same packets, so users can pivot between Zeek logs and captures. Definitions follow Zeek's
// scripts/base/protocols/conn/main.zeek and the TCP session adapter's history rules.

import WireFormat

/// Zeek's view of a connection: its own endpoint states and history letters.
public struct ZeekState: Sendable {
    /// Zeek's per-endpoint states (TCP_INACTIVE ... TCP_RESET).
    public enum EndpointStatus: Sendable, Hashable { case inactive, synSent, synAckSent, partial, established, closed, reset }

    struct Side: Sendable {
        var status: EndpointStatus = .inactive
        var seen: UInt16 = 0
        var base = SequenceNumber(0)
        var hasBase = false
        var highest: Int64 = 0
        var size: UInt64 = 0
        var retransmissions = 0
        var retransmissionThreshold = 1
        var zeroWindows = 0
        var zeroWindowThreshold = 1
        var gaps = 0
        var gapThreshold = 1
    }

    var originator = Side()
    var responder = Side()
    public private(set) var history = ""
    var flipped = false

    public init() {}

    enum Bit {
        static let syn: UInt16 = 1 << 0
        static let synAck: UInt16 = 1 << 1
        static let ack: UInt16 = 1 << 2
        static let data: UInt16 = 1 << 3
        static let fin: UInt16 = 1 << 4
        static let rst: UInt16 = 1 << 5
        static let multi: UInt16 = 1 << 6
        static let finRst: UInt16 = 1 << 7
    }

    /// Feeds one packet; `fromOriginator` is true for packets from Zeek's originator (coroner's client).
    public mutating func observe(_ p: TCPPacketSummary, fromOriginator: Bool, time: Timestamp) {
        let flags = p.flags
        var side = fromOriginator ? originator : responder
        let peerStatus = fromOriginator ? responder.status : originator.status
        func letter(_ c: Character) -> Character {
            fromOriginator ? c : Character(c.lowercased())
        }
        func once(_ bit: UInt16, _ c: Character) {
            if side.seen & bit == 0 {
                side.seen |= bit
                history.append(letter(c))
            }
        }

        // Sequence tracking for sizes and retransmissions.
        let isSYN = flags.contains(.syn)
        if !side.hasBase || (isSYN && side.seen & (Bit.syn | Bit.synAck) == 0 && side.highest == 0) {
            side.hasBase = true
            side.base = p.sequenceNumber
            side.highest = isSYN ? 1 : 0
        }
        let start = Int64(side.base.distance(to: p.sequenceNumber)) + (isSYN ? 1 : 0)
        let end = start + Int64(p.payloadLength)
        if p.payloadLength > 0 && !flags.contains(.rst) {
            if end <= side.highest {
                side.retransmissions += 1
                if side.retransmissions >= side.retransmissionThreshold {
                    history.append(letter("T"))
                    side.retransmissionThreshold *= 10
                }
            }
            if end > side.highest { side.highest = end }
            let bytes = side.highest - 1
            if bytes > 0 && UInt64(bytes) > side.size { side.size = UInt64(bytes) }
        }
        if p.window == 0 && !isSYN && !flags.contains(.rst) {
            side.zeroWindows += 1
            if side.zeroWindows >= side.zeroWindowThreshold {
                history.append(letter("W"))
                side.zeroWindowThreshold *= 10
            }
        }

        // History letters.
        let controlBits = (isSYN ? 1 : 0) + (flags.contains(.fin) ? 1 : 0) + (flags.contains(.rst) ? 1 : 0)
        if controlBits > 1 {
            if flags.contains(.fin) && flags.contains(.rst) { once(Bit.finRst, "I") } else { once(Bit.multi, "Q") }
        } else if isSYN {
            if flags.contains(.ack) { once(Bit.synAck, "H") } else { once(Bit.syn, "S") }
        } else if flags.contains(.fin) {
            once(Bit.fin, "F")
        } else if flags.contains(.rst) {
            once(Bit.rst, "R")
        }
        if p.payloadLength > 0 && !flags.contains(.rst) {
            once(Bit.data, "D")
        } else if controlBits == 0 && flags.contains(.ack) {
            once(Bit.ack, "A")
        }

        // Endpoint states.
        if flags.contains(.rst) {
            side.status = .reset
        } else if isSYN {
            if side.status == .inactive || side.status == .partial {
                side.status = flags.contains(.ack) ? .synAckSent : .synSent
            }
        } else if flags.contains(.fin) {
            if side.status != .reset { side.status = .closed }
        } else {
            switch side.status {
            case .inactive:
                side.status = (peerStatus == .synSent || peerStatus == .synAckSent) ? .established : .partial
            case .synSent, .synAckSent:
                if flags.contains(.ack) && peerStatus != .inactive { side.status = .established }
            default:
                break
            }
        }
        if fromOriginator { originator = side } else { responder = side }
        // The SYN-ACK side becomes established once the originator acknowledges it.
        if originator.status == .established && responder.status == .synAckSent { responder.status = .established }
        if responder.status == .established && originator.status == .synSent { originator.status = .established }
    }

    /// Zeek flips roles when it finds its first guess of the originator wrong; history gets `^`.
    public mutating func flipRoles() {
        swap(&originator, &responder)
        var flippedHistory = ""
        for c in history {
            if c.isUppercase { flippedHistory.append(Character(c.lowercased())) }
            else if c.isLowercase { flippedHistory.append(Character(c.uppercased())) }
            else { flippedHistory.append(c) }
        }
        history = flippedHistory
        flipped.toggle()
    }

    /// Zeek's `conn_state` (main.zeek `conn_state`).
    public var connState: String {
        let os = originator.status
        let rs = responder.status
        let oInactive = os == .inactive || os == .partial
        let rInactive = rs == .inactive || rs == .partial
        if rs == .reset {
            if os == .synSent || os == .synAckSent || (os == .reset && originator.size == 0 && responder.size == 0) {
                return "REJ"
            }
            return oInactive ? "RSTRH" : "RSTR"
        }
        if os == .reset {
            if rInactive {
                let h = historyString
                let body = h.hasPrefix("^") ? h.dropFirst() : Substring(h)
                if body.first == "S", let r = body.firstIndex(of: "R"),
                   !body[body.startIndex..<r].contains(where: { "HAFGIQTWhafgiqtw".contains($0) }) || onlySynThenReset(body) {
                    return "RSTOS0"
                }
                return "OTH"
            }
            return "RSTO"
        }
        if rs == .closed && os == .closed { return "SF" }
        if os == .closed { return rInactive ? "SH" : "S2" }
        if rs == .closed { return oInactive ? "SHR" : "S3" }
        if os == .synSent && rs == .inactive { return "S0" }
        if os == .established && rs == .established { return "S1" }
        return "OTH"
    }

    private func onlySynThenReset(_ body: Substring) -> Bool {
        body.allSatisfy { "SRa".contains($0) }
    }

    /// The history string as Zeek prints it (`^` first when roles were flipped).
    public var historyString: String { flipped ? "^" + history : history }
}
