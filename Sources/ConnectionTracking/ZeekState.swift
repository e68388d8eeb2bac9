// Zeek-compatible connection summary (`conn_state` and `history` of Zeek's conn.log), computed from
// the same packets, so users can pivot between Zeek logs and captures.
//
// This follows Zeek's TCP session adapter (src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc:
// per-packet processing, `update_history`, `update_last_seq`, the per-state update functions),
// its endpoints (src/analyzer/protocol/tcp/TCP_Endpoint.cc: `Size`, the scaled history entries),
// the reassembler's gap reporting (TCP_Reassembler.cc: `AckReceived`, `Undelivered`, `Gap`), and
// the `conn_state` function of scripts/base/protocols/conn/main.zeek. Written from those
// descriptions; it is an observer's model, not Zeek.
//
// Not modelled: checksum validation (`C`/`c`: coroner keeps bad-checksum packets, see
// STYLE.md §4), analyzers that make Zeek stop processing a connection, and Zeek's
// `likely_server_ports` (roles are coroner's; Zeek's originator is coroner's client).
// Splitting a 4-tuple into several connections (attempt timeout, reuse) is the tracker's job.

import WireFormat

/// Zeek's view of a connection: its own endpoint states and history letters.
public struct ZeekState: Sendable {
    /// Zeek's per-endpoint states (TCP_INACTIVE ... TCP_RESET).
    public enum EndpointStatus: Sendable, Hashable { case inactive, synSent, synAckSent, partial, established, closed, reset }

    /// One of Zeek's history letter classes; the responder's bits sit 16 higher (TCP_Endpoint.h `HistoryMasks`).
    enum Mark {
        static let syn: UInt32 = 0x1
        static let fin: UInt32 = 0x2
        static let rst: UInt32 = 0x4
        static let finRst: UInt32 = 0x8
        static let data: UInt32 = 0x10
        static let ack: UInt32 = 0x20
        static let multiFlag: UInt32 = 0x40
    }

    /// A counter whose letter is logged at 1, 10, 100, ... occurrences (Zeek `ScaledHistoryEntry`).
    struct ScaledCount: Sendable {
        var count: UInt32 = 0
        var threshold: UInt32 = 1

        /// Counts one occurrence; true when the letter is due.
        mutating func note() -> Bool {
            count &+= 1
            guard count == threshold else { return false }
            let (next, overflow) = threshold.multipliedReportingOverflow(by: 10)
            if overflow { count = 0 } else { threshold = next }
            return true
        }
    }

    /// One endpoint as Zeek tracks it. Sequence numbers are absolute with a wrap count, as Zeek's.
    struct Side: Sendable {
        var status: EndpointStatus = .inactive
        var previous: EndpointStatus = .inactive
        var start: Int64 = 0
        var last: UInt32 = 0
        var seqWraps: UInt32 = 0
        var ack: UInt32 = 0
        var ackWraps: UInt32 = 0
        var finCount = 0
        var rstCount = 0
        /// Relative sequence just past the FIN.
        var finSequence: Int64 = 0
        var lastSYN: Int64 = 0
        var lastFIN: Int64 = 0
        var lastRST: Int64 = 0
        var retransmissions = ScaledCount()
        var zeroWindows = ScaledCount()
        var gaps = ScaledCount()
        /// Reassembly: everything below `delivered` (relative) was seen in full; `trimmed` is the
        /// highest acknowledgment acted on; `blocks` holds data seen above a hole.
        var delivered: Int64 = 1
        var trimmed: Int64 = 1
        var blocks: [(lower: Int64, upper: Int64)] = []

        static func full(_ value: UInt32, wraps: UInt32) -> Int64 { Int64(wraps) << 32 | Int64(value) }

        mutating func setStatus(_ new: EndpointStatus) {
            guard new != status else { return }
            previous = status
            status = new
        }

        mutating func initialize(start: UInt32, last: UInt32) {
            self.start = Int64(start)
            self.ack = start
            self.last = last
            seqWraps = 0
            ackWraps = 0
        }

        mutating func updateLast(_ value: UInt32) {
            if value < last { seqWraps &+= 1 }
            last = value
        }

        mutating func updateAck(_ value: UInt32) {
            if value < ack { ackWraps &+= 1 }
            ack = value
        }

        /// `value` relative to the start, using `reference` (last seq or ack) to count wraps; and
        /// whether it lies before the start (Zeek `get_relative_seq`).
        @inline(__always)
        func relative(_ value: UInt32, reference: UInt32, wraps: UInt32) -> (Int64, underflow: Bool) {
            var wraps = wraps
            let delta = Int32(bitPattern: value &- reference)
            if delta < 0 {
                if wraps > 0 && value > reference { wraps -= 1 }
            } else if delta > 0 {
                if value < reference { wraps &+= 1 }
            }
            if wraps == 0 {
                let fromStart = Int32(bitPattern: value &- UInt32(truncatingIfNeeded: start))
                return (Int64(fromStart), fromStart < 0)
            }
            return (Self.full(value, wraps: wraps) &- start, false)
        }

        var acknowledgedRelative: Int64 { Self.full(ack, wraps: ackWraps) &- start }

        /// None of this side's data acknowledged (one octet allowed for the SYN).
        var noDataAcknowledged: Bool {
            let acked = Self.full(ack, wraps: ackWraps)
            return acked == start || acked == start &+ 1
        }

        var isClean: Bool { status == .established || (status == .closed && previous == .established) }
    }

    var originator = Side()
    var responder = Side()
    var common = Common()

    /// The connection-wide part: kept apart from the two sides so that a packet works on its sender's
    /// and its peer's side in place (three distinct stored properties, no copies, no swaps).
    struct Common: Sendable {
        /// Letters already logged once (Zeek `hist_seen`); not swapped on a flip, as in Zeek.
        var seen: UInt32 = 0
        /// Which directions have sent their first packet, and whether the connection began mid-stream
        /// (Zeek `first_packet_seen`, `is_partial`).
        var firstPacketFromOriginator = false
        var firstPacketFromResponder = false
        var isPartial = false
        var packets = 0
        var history = HistoryLetters()
    }

    /// The history letters (ASCII), inline up to `inlineCapacity`: appending never allocates for a
    /// usual connection; a longer history (repeated SYNs, many scaled letters) goes on in `overflow`.
    struct HistoryLetters: Sendable {
        static let inlineCapacity = 32
        var inline: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var inlineCount = 0
        var overflow: [UInt8] = []

        mutating func append(_ letter: UInt8) {
            if inlineCount < Self.inlineCapacity {
                withUnsafeMutableBytes(of: &inline) { $0[inlineCount] = letter }
                inlineCount += 1
            } else {
                overflow.append(letter)
            }
        }

        var string: String {
            String(unsafeUninitializedCapacity: inlineCount + overflow.count) { buffer in
                withUnsafeBytes(of: inline) { letters in
                    for i in 0..<inlineCount { buffer[i] = letters[i] }
                }
                for (i, letter) in overflow.enumerated() { buffer[inlineCount + i] = letter }
                return inlineCount + overflow.count
            }
        }
    }

    public init() {}

    // MARK: - Packets

    /// Feeds one packet; `fromOriginator` is true for packets from Zeek's originator (coroner's client).
    public mutating func observe(_ p: TCPPacketSummary, fromOriginator: Bool, time: Timestamp) {
        countPacket(fromOriginator: fromOriginator)
        if fromOriginator {
            common.dispatch(p, sender: &originator, peer: &responder, isOriginator: true)
        } else {
            common.dispatch(p, sender: &responder, peer: &originator, isOriginator: false)
        }
    }

    /// `observe` without the fast path (`Common.processUsual`): every packet through the full model,
    /// so tests can check that both give the same state.
    mutating func observeWithoutFastPath(_ p: TCPPacketSummary, fromOriginator: Bool) {
        countPacket(fromOriginator: fromOriginator)
        if fromOriginator {
            common.process(p, sender: &originator, peer: &responder, isOriginator: true)
        } else {
            common.process(p, sender: &responder, peer: &originator, isOriginator: false)
        }
    }

    @inline(__always)
    private mutating func countPacket(fromOriginator: Bool) {
        // The first packet comes from the responder only when the roles were decided against its
        // direction at creation: Zeek then flips before processing it.
        if common.packets == 0 && !fromOriginator { common.history.append(UInt8(ascii: "^")) }
        common.packets &+= 1
    }

    /// Zeek flips roles when it finds its first guess of the originator wrong: history gets `^`,
    /// the letters logged so far keep their case.
    public mutating func flipRoles() {
        swap(&originator, &responder)
        swap(&common.firstPacketFromOriginator, &common.firstPacketFromResponder)
        common.isPartial = false
        common.history.append(UInt8(ascii: "^"))
    }
}

extension ZeekState.Common {
    typealias Side = ZeekState.Side
    typealias Mark = ZeekState.Mark

    /// The usual packet, an ACK with or without data and without SYN, FIN or RST, from a side that has
    /// sent before to a side already numbered: does what `process` would, and returns true; for any
    /// other packet returns false having changed nothing, so `observe` then calls `process`.
    ///
    /// Why each step of `process` it leaves out does nothing for such a packet:
    /// - `notePartial`: only a direction's first packet sets `isPartial` (required: one seen before);
    /// - `initialize`: needs a SYN or an inactive sender (neither);
    /// - `updateControlHistory`, the FIN and RST counters, `updateStates`: need SYN, FIN or RST, or
    ///   (`updateStates`) an inactive sender;
    /// - the zero-window letter: needs window 0 (required nonzero);
    /// - numbering the peer from this ack (`init_peer`): needs an inactive peer (required not);
    /// - the segment length adds nothing for SYN or FIN, and `updateLastSeq`'s SYN, RST and FIN cases
    ///   are constant-false here (it still checks for a reset sender).
    /// `ZeekStateFastPathTests` runs varied conversations through both paths and compares the states.
    ///
    /// `@inline(__always)` here and on the helpers `process` calls for every packet it sees. Swift 6.3's
    /// `@inline(always)` would force it (the optimizer weighs `@inline(__always)` against the callee's
    /// size and declines some: about 4 M instructions of 544 M on the 20k benchmark capture), but the
    /// package builds with Swift 6.0 and later.
    @inline(__always)
    mutating func processUsual(_ p: TCPPacketSummary, sender: inout Side, peer: inout Side, isOriginator: Bool) -> Bool {
        guard p.flags.controlAndACK == .ack, p.window != 0,
              isOriginator ? firstPacketFromOriginator : firstPacketFromResponder,
              sender.status != .inactive, peer.status != .inactive
        else { return false }
        let length = Int64(p.payloadLength)
        let seq = p.sequenceNumber.rawValue
        let ackNumber = p.acknowledgmentNumber.rawValue

        let (relativeSeq, underflow) = sender.relative(seq, reference: sender.last, wraps: sender.seqWraps)
        if length > 0 {
            _ = mark(Mark.data, UInt8(ascii: "D"), isOriginator: isOriginator)
        } else {
            _ = mark(Mark.ack, UInt8(ascii: "A"), isOriginator: isOriginator)
        }

        let (value, ackUnderflow) = peer.relative(ackNumber, reference: peer.ack, wraps: peer.ackWraps)
        var relativeAck: Int64 = 0
        if !ackUnderflow {
            relativeAck = value
            updateAck(&peer, ackNumber)
        }

        updateLastSeq(&sender, pastSegment: seq &+ UInt32(truncatingIfNeeded: length), isSYN: false, isFIN: false,
                      isRST: false, length: length, isOriginator: isOriginator)
        acknowledge(&peer, upTo: relativeAck, ackerIsClean: sender.isClean, peerIsOriginator: !isOriginator)
        if length > 0 && !underflow && p.capturedPayloadLength >= p.payloadLength {
            deliver(&sender, from: relativeSeq, length: length)
        }
        return true
    }

    /// One packet from `sender`: the usual packet, an opening SYN and a usual FIN take their own paths,
    /// anything else the full model (`process`). Each leaves the state `process` would.
    @inline(__always)
    mutating func dispatch(_ p: TCPPacketSummary, sender: inout Side, peer: inout Side, isOriginator: Bool) {
        if processUsual(p, sender: &sender, peer: &peer, isOriginator: isOriginator) { return }
        if Self.isOpeningSYN(p, sender: sender) {
            processOpeningSYN(p, sender: &sender, peer: &peer, isOriginator: isOriginator)
        } else if isUsualFIN(p, sender: sender, peer: peer, isOriginator: isOriginator) {
            processUsualFIN(p, sender: &sender, peer: &peer, isOriginator: isOriginator)
        } else {
            process(p, sender: &sender, peer: &peer, isOriginator: isOriginator)
        }
    }

    /// Whether `p` is a side's opening SYN or SYN-ACK: SYN without FIN or RST, no payload, from a side
    /// still inactive. Half the packets the usual-packet path leaves (one per side per connection).
    @inline(__always)
    static func isOpeningSYN(_ p: TCPPacketSummary, sender: Side) -> Bool {
        return p.flags.intersection([.syn, .fin, .rst]) == .syn && p.payloadLength == 0
            && sender.status == .inactive
    }

    /// A packet `isOpeningSYN` accepts: does what `process` would, with what such a packet makes constant
    /// folded by hand (`ZeekStateFastPathTests` compares the states):
    /// - `initialize` numbers the sender from this SYN: start `seq`, last `seq + 1`, no wraps; so the
    ///   relative sequence is 0 without underflow, and `updateLastSeq` sees delta 0 and no payload:
    ///   nothing to do;
    /// - `updateControlHistory` takes its SYN case; the FIN and RST counters do nothing;
    /// - `updateStates` takes the `.inactive` case with a SYN, which always leaves `.inactive`;
    /// - no payload: nothing to deliver.
    @inline(never)
    mutating func processOpeningSYN(_ p: TCPPacketSummary, sender: inout Side, peer: inout Side, isOriginator: Bool) {
        let hasACK = p.flags.contains(.ack)
        let seq = p.sequenceNumber.rawValue
        let ackNumber = p.acknowledgmentNumber.rawValue

        notePartial(isOriginator: isOriginator, isSYN: true, hasACK: hasACK)
        sender.initialize(start: seq, last: seq &+ 1)

        let letter = UInt8(ascii: hasACK ? "H" : "S")
        if mark(Mark.syn, letter, isOriginator: isOriginator) && sender.lastSYN != 0 {
            append(letter, isOriginator: isOriginator)
        }
        sender.lastSYN = 0

        // The sender is inactive, so neither reset nor (before `updateStates`) anything else.
        if p.window == 0 && peer.status != .closed {
            if sender.zeroWindows.note() { append(UInt8(ascii: "W"), isOriginator: isOriginator) }
        }

        var relativeAck: Int64 = 0
        if hasACK {
            if peer.status == .inactive {
                relativeAck = 1
                peer.initialize(start: ackNumber &- 1, last: ackNumber &- 1)
            } else {
                let (value, ackUnderflow) = peer.relative(ackNumber, reference: peer.ack, wraps: peer.ackWraps)
                if !ackUnderflow {
                    relativeAck = value
                    updateAck(&peer, ackNumber)
                }
            }
        }

        // `updateStates`, `.inactive` with a SYN.
        if isOriginator {
            sender.setStatus(hasACK ? .synAckSent : .synSent)
        } else {
            if !hasACK && peer.status == .synAckSent { peer.setStatus(.established) }
            if peer.status == .synSent { peer.setStatus(.established) }
            sender.setStatus(.established)
        }

        if hasACK {
            acknowledge(&peer, upTo: relativeAck, ackerIsClean: sender.isClean, peerIsOriginator: !isOriginator)
        }
        if isOriginator { firstPacketFromOriginator = true } else { firstPacketFromResponder = true }
    }

    /// Whether `p` is a usual FIN: FIN and ACK without SYN or RST, from a side that has sent before
    /// to a side already numbered (the other half of what the usual-packet path leaves).
    @inline(__always)
    func isUsualFIN(_ p: TCPPacketSummary, sender: Side, peer: Side, isOriginator: Bool) -> Bool {
        return p.flags.controlAndACK == [.fin, .ack]
            && (isOriginator ? firstPacketFromOriginator : firstPacketFromResponder)
            && sender.status != .inactive && peer.status != .inactive
    }

    /// A packet `isUsualFIN` accepts: does what `process` would, with what such a packet makes constant
    /// folded by hand (`ZeekStateFastPathTests` compares the states):
    /// - `notePartial` and the first-packet flag: the direction has sent before, nothing to do;
    /// - `initialize`: needs a SYN or an inactive sender (neither); nor is the peer numbered here
    ///   (`init_peer` needs it inactive);
    /// - `updateControlHistory` takes its FIN case, `updateStates` its FIN-only branches.
    @inline(never)
    mutating func processUsualFIN(_ p: TCPPacketSummary, sender: inout Side, peer: inout Side, isOriginator: Bool) {
        let length = Int64(p.payloadLength)
        let seq = p.sequenceNumber.rawValue
        let ackNumber = p.acknowledgmentNumber.rawValue
        let segmentLength = length &+ 1

        let (relativeSeq, underflow) = sender.relative(seq, reference: sender.last, wraps: sender.seqWraps)
        if mark(Mark.fin, UInt8(ascii: "F"), isOriginator: isOriginator) && relativeSeq &+ length != sender.lastFIN {
            append(UInt8(ascii: "F"), isOriginator: isOriginator)
        }
        sender.lastFIN = relativeSeq &+ length

        if p.window == 0 && peer.status != .closed && sender.status != .reset {
            if sender.zeroWindows.note() { append(UInt8(ascii: "W"), isOriginator: isOriginator) }
        }
        sender.finCount &+= 1
        sender.finSequence = relativeSeq &+ segmentLength

        var relativeAck: Int64 = 0
        let (value, ackUnderflow) = peer.relative(ackNumber, reference: peer.ack, wraps: peer.ackWraps)
        if !ackUnderflow {
            relativeAck = value
            updateAck(&peer, ackNumber)
        }

        updateLastSeq(&sender, pastSegment: seq &+ UInt32(truncatingIfNeeded: segmentLength), isSYN: false,
                      isFIN: true, isRST: false, length: length, isOriginator: isOriginator)
        // `updateStates` for a FIN alone (the sender is not inactive).
        switch sender.status {
        case .synSent, .synAckSent:
            sender.setStatus(.closed)
        case .established, .partial:
            sender.setStatus(.closed)
            if peer.status == .reset && peer.previous == .closed { peer.setStatus(.closed) }
        case .inactive, .closed, .reset:
            break
        }

        acknowledge(&peer, upTo: relativeAck, ackerIsClean: sender.isClean, peerIsOriginator: !isOriginator)
        if length > 0 && !underflow && p.capturedPayloadLength >= p.payloadLength {
            deliver(&sender, from: relativeSeq, length: length)
        }
    }

    /// One packet from `sender` (Zeek `TCPSessionAdapter::DeliverPacket` and what it calls, in its order).
    ///
    /// Most of Zeek's logic is about the packets that open, close or abort: the helpers that only act
    /// on a SYN, FIN or RST (or on a side still inactive) are called only then, each call site saying
    /// why that skips nothing, and their rare branches are out of line.
    @inline(never)
    mutating func process(_ p: TCPPacketSummary, sender: inout Side, peer: inout Side, isOriginator: Bool) {
        let flags = p.flags
        let isSYN = flags.contains(.syn), isFIN = flags.contains(.fin), isRST = flags.contains(.rst)
        let hasACK = flags.contains(.ack)
        let hasControl = !flags.isDisjoint(with: [.syn, .fin, .rst])
        let length = Int64(p.payloadLength)
        let seq = p.sequenceNumber.rawValue
        let ackNumber = p.acknowledgmentNumber.rawValue

        notePartial(isOriginator: isOriginator, isSYN: isSYN, hasACK: hasACK)

        var segmentLength = length + (isSYN ? 1 : 0) + (isFIN ? 1 : 0)
        if isRST { segmentLength -= length }
        let pastSegment = seq &+ UInt32(truncatingIfNeeded: segmentLength)
        // `init_endpoint` acts on a side still inactive or on a SYN: every other case needs `isSYN`.
        if isSYN || sender.status == .inactive {
            initialize(&sender, isSYN: isSYN, seq: seq, pastSegment: pastSegment)
        }

        let (relativeSeq, underflow) = sender.relative(seq, reference: sender.last, wraps: sender.seqWraps)
        if hasControl {
            updateControlHistory(&sender, isOriginator: isOriginator, flags: flags, relativeSeq: relativeSeq,
                                 length: length)
        } else if length > 0 {
            // The last two cases of Zeek `update_history`, the only ones without SYN, FIN or RST.
            _ = mark(Mark.data, UInt8(ascii: "D"), isOriginator: isOriginator)
        } else if hasACK {
            _ = mark(Mark.ack, UInt8(ascii: "A"), isOriginator: isOriginator)
        }

        // Zero windows are of interest unless they come with or after a RST, or after the peer's FIN.
        if p.window == 0 && !isRST && peer.status != .closed && sender.status != .reset {
            if sender.zeroWindows.note() { append(UInt8(ascii: "W"), isOriginator: isOriginator) }
        }
        if isFIN {
            sender.finCount &+= 1
            sender.finSequence = relativeSeq &+ segmentLength
        }
        if isRST { sender.rstCount &+= 1 }

        var relativeAck: Int64 = 0
        if hasACK {
            if peer.status == .inactive {
                // Number the peer's stream as though its SYN had been seen (Zeek `init_peer`).
                relativeAck = 1
                peer.initialize(start: ackNumber &- 1, last: ackNumber &- 1)
            } else {
                let (value, ackUnderflow) = peer.relative(ackNumber, reference: peer.ack, wraps: peer.ackWraps)
                if ackUnderflow {
                    relativeAck = 0
                } else {
                    relativeAck = value
                    if !isRST { updateAck(&peer, ackNumber) }
                }
            }
        }

        updateLastSeq(&sender, pastSegment: pastSegment, isSYN: isSYN, isFIN: isFIN, isRST: isRST, length: length,
                      isOriginator: isOriginator)
        // Without SYN, FIN or RST the state machine only moves a side still inactive (see `updateStates`).
        if hasControl || sender.status == .inactive {
            updateStates(&sender, peer: &peer, isOriginator: isOriginator, flags: flags, length: length)
        }

        // An acknowledgment beyond the data seen reveals a gap in the peer's stream.
        if hasACK {
            acknowledge(&peer, upTo: relativeAck, ackerIsClean: sender.isClean, peerIsOriginator: !isOriginator)
        }

        if length > 0 && !isRST && !underflow && p.capturedPayloadLength >= p.payloadLength {
            deliver(&sender, from: isSYN ? relativeSeq &+ 1 : relativeSeq, length: length)
        }
        if isOriginator { firstPacketFromOriginator = true } else { firstPacketFromResponder = true }
    }

    /// Zeek `SetPartialStatus`: a connection whose first packet in a direction is not the expected SYN.
    @inline(__always)
    private mutating func notePartial(isOriginator: Bool, isSYN: Bool, hasACK: Bool) {
        if isOriginator {
            if !firstPacketFromOriginator { isPartial = !isSYN || hasACK }
        } else if !firstPacketFromResponder && !isPartial {
            isPartial = !isSYN
        }
    }

    /// Zeek `init_endpoint`: where the sender's relative numbering starts.
    @inline(__always)
    private func initialize(_ side: inout Side, isSYN: Bool, seq: UInt32, pastSegment: UInt32) {
        switch side.status {
        case .inactive:
            if isSYN {
                side.initialize(start: seq, last: pastSegment)
            } else {
                // Mid-stream: number as though a SYN preceded this packet.
                side.initialize(start: seq &- 1, last: seq)
            }
        case .synSent, .synAckSent:
            if isSYN && seq != UInt32(truncatingIfNeeded: side.start) { side.initialize(start: seq, last: pastSegment) }
        case .established, .partial:
            if isSYN { side.initialize(start: seq, last: pastSegment) }
        case .reset:
            if isSYN && side.previous == .inactive { side.initialize(start: seq, last: pastSegment) }
        case .closed:
            break
        }
    }

    /// Zeek `update_history` for a packet with SYN, FIN or RST: one letter per kind and direction,
    /// except that a SYN, FIN or RST at a new sequence number is logged again. (The cases without
    /// any of them, `D` and `A`, are in `process`.)
    @inline(__always)
    private mutating func updateControlHistory(_ side: inout Side, isOriginator: Bool, flags: TCPFlags,
                                               relativeSeq: Int64, length: Int64) {
        let isSYN = flags.contains(.syn), isFIN = flags.contains(.fin), isRST = flags.contains(.rst)
        let controls = (isSYN ? 1 : 0) + (isFIN ? 1 : 0) + (isRST ? 1 : 0)
        if controls > 1 {
            if isFIN && isRST { _ = mark(Mark.finRst, UInt8(ascii: "I"), isOriginator: isOriginator) }
            else { _ = mark(Mark.multiFlag, UInt8(ascii: "Q"), isOriginator: isOriginator) }
        } else if isSYN {
            let letter = UInt8(ascii: flags.contains(.ack) ? "H" : "S")
            if mark(Mark.syn, letter, isOriginator: isOriginator) && relativeSeq != side.lastSYN {
                append(letter, isOriginator: isOriginator)
            }
            side.lastSYN = relativeSeq
        } else if isFIN {
            if mark(Mark.fin, UInt8(ascii: "F"), isOriginator: isOriginator) && relativeSeq &+ length != side.lastFIN {
                append(UInt8(ascii: "F"), isOriginator: isOriginator)
            }
            side.lastFIN = relativeSeq &+ length
        } else if isRST {
            if mark(Mark.rst, UInt8(ascii: "R"), isOriginator: isOriginator) && relativeSeq != side.lastRST {
                append(UInt8(ascii: "R"), isOriginator: isOriginator)
            }
            side.lastRST = relativeSeq
        }
    }

    /// Logs `letter` the first time its kind is seen in this direction; true if it had been seen before
    /// (Zeek `CheckHistory`).
    @inline(__always)
    private mutating func mark(_ bit: UInt32, _ letter: UInt8, isOriginator: Bool) -> Bool {
        let mask = isOriginator ? bit : bit << 16
        if seen & mask != 0 { return true }
        seen |= mask
        append(letter, isOriginator: isOriginator)
        return false
    }

    /// The originator's letters are upper case, the responder's lower case.
    @inline(__always)
    private mutating func append(_ letter: UInt8, isOriginator: Bool) {
        history.append(isOriginator ? letter : letter | 0x20)
    }

    /// Zeek `update_ack_seq`: the highest acknowledgment of `side`'s data, ignoring a zero ack far ahead.
    @inline(__always)
    private func updateAck(_ side: inout Side, _ value: UInt32) {
        let delta = Int32(bitPattern: value &- side.ack)
        if value == 0 && delta > Self.tooLargeDelta { return }
        if delta > 0 { side.updateAck(value) }
    }

    static let tooLargeDelta: Int32 = 1_048_576

    /// Zeek `update_last_seq`: advances the highest sequence sent; data at or below it is a retransmission.
    @inline(__always)
    private mutating func updateLastSeq(_ side: inout Side, pastSegment: UInt32, isSYN: Bool, isFIN: Bool, isRST: Bool,
                                        length: Int64, isOriginator: Bool) {
        let delta = Int32(bitPattern: pastSegment &- side.last)
        if (isSYN || isRST) && (delta > Self.tooLargeDelta || delta < -Self.tooLargeDelta) {
            return
        } else if isFIN && side.last == UInt32(truncatingIfNeeded: side.start) &+ 1 {
            side.updateLast(pastSegment)
        } else if side.status == .reset {
            return
        } else if delta > 0 {
            side.updateLast(pastSegment)
        } else if length > 0 {
            if side.retransmissions.note() { append(UInt8(ascii: "T"), isOriginator: isOriginator) }
        }
    }

    /// Zeek `UpdateStateMachine` and the per-state functions it calls. Without SYN, FIN or RST only the
    /// `.inactive` case does anything: every other case tests one of them first.
    @inline(__always)
    private mutating func updateStates(_ side: inout Side, peer: inout Side, isOriginator: Bool, flags: TCPFlags,
                                       length: Int64) {
        let isSYN = flags.contains(.syn), isFIN = flags.contains(.fin), isRST = flags.contains(.rst)
        let hasACK = flags.contains(.ack)
        switch side.status {
        case .inactive:
            if isSYN {
                if isOriginator {
                    side.setStatus(hasACK ? .synAckSent : .synSent)
                } else {
                    // A SYN (or SYN-ACK) from the responder answers the originator's SYN; Zeek would
                    // flip a SYN answering an originator's SYN-ACK, which coroner's roles already did.
                    if !hasACK && peer.status == .synAckSent { peer.setStatus(.established) }
                    if peer.status == .synSent { peer.setStatus(.established) }
                    side.setStatus(.established)
                }
            }
            if isFIN { side.setStatus(.closed) }
            if isRST { side.setStatus(.reset) }
            if side.status == .inactive {
                if !isOriginator && length == 0 && peer.status == .synSent {
                    // An ACK of the SYN before the SYN-ACK: not yet a partial connection.
                } else if hasACK && peer.status == .established {
                    // The handshake's last ACK after a SYN-ACK whose SYN was missed.
                    side.setStatus(.established)
                    isPartial = false
                } else {
                    side.setStatus(.partial)
                }
            }
        case .synSent, .synAckSent:
            if isFIN { side.setStatus(.closed) }
            if isRST { side.setStatus(.reset) }
        case .established, .partial:
            if isSYN && side.status == .partial && peer.status == .inactive && !hasACK { side.setStatus(.synSent) }
            if isFIN && !isRST {
                side.setStatus(.closed)
                // A FIN answering the peer's FIN-then-RST: that was a normal close after all.
                if peer.status == .reset && peer.previous == .closed { peer.setStatus(.closed) }
            }
            if isRST { side.setStatus(.reset) }
        case .closed:
            if isRST && peer.status != .closed { side.setStatus(.reset) }
        case .reset:
            break
        }
    }

    /// Zeek `TCP_Reassembler::AckReceived`: an acknowledgment up to `upTo` (relative) of `side`'s data.
    /// Data never seen below it is a gap, logged while both sides are established or cleanly closing.
    /// `ackerIsClean` is the acknowledging side's `isClean` (a Bool, not the side: no copy of it per packet).
    @inline(__always)
    private mutating func acknowledge(_ side: inout Side, upTo: Int64, ackerIsClean: Bool, peerIsOriginator: Bool) {
        var upTo = upTo
        if side.finCount > 0 && upTo >= side.finSequence { upTo = side.finSequence &- 1 }
        guard upTo > side.trimmed else { return }
        side.trimmed = upTo
        // Usually the data acknowledged was seen and no hole is pending: nothing more to do.
        if upTo <= side.delivered && side.blocks.isEmpty { return }
        acknowledgeUndelivered(&side, upTo: upTo, ackerIsClean: ackerIsClean, peerIsOriginator: peerIsOriginator)
    }

    /// The rest of `acknowledge`: counts the holes below `upTo` and drops the blocks it delivers.
    @inline(never)
    private mutating func acknowledgeUndelivered(_ side: inout Side, upTo: Int64, ackerIsClean: Bool,
                                                 peerIsOriginator: Bool) {
        if upTo > side.delivered {
            // Right after a mid-stream start the first ack may point at the faked SYN octet: not a gap.
            if !(upTo <= 2 && isPartial) {
                let clean = side.isClean && ackerIsClean
                var gapCount = 0
                for block in side.blocks where block.lower < upTo && block.upper > side.delivered {
                    if block.lower > side.delivered { gapCount += 1 }
                    side.delivered = max(side.delivered, block.upper)
                }
                if upTo > side.delivered { gapCount += 1 }
                if clean {
                    for _ in 0..<gapCount {
                        if side.gaps.note() { append(UInt8(ascii: "G"), isOriginator: peerIsOriginator) }
                    }
                }
            }
            side.delivered = max(side.delivered, upTo)
        }
        // Checked first: `removeAll` on an empty array still costs a uniqueness check and a call.
        if !side.blocks.isEmpty { side.blocks.removeAll { $0.upper <= side.delivered } }
    }

    /// Zeek `TCP_Reassembler::DataSent`: fully captured data extends the delivered stream or waits above a hole.
    @inline(__always)
    private func deliver(_ side: inout Side, from lower: Int64, length: Int64) {
        var lower = lower
        let upper = lower &+ length
        let acknowledged = side.acknowledgedRelative
        if lower < acknowledged {
            if upper <= acknowledged { return }
            lower = acknowledged
        }
        if upper <= side.delivered { return }
        // In order, no hole pending (the usual case): nothing else to do.
        if lower <= side.delivered && side.blocks.isEmpty {
            side.delivered = upper
            return
        }
        deliverAroundHoles(&side, from: lower, upper: upper)
    }

    /// The rest of `deliver`: data that reaches pending blocks, or that waits above a hole.
    @inline(never)
    private func deliverAroundHoles(_ side: inout Side, from lower: Int64, upper: Int64) {
        if lower <= side.delivered {
            side.delivered = upper
            // Blocks now reached are delivered too.
            var advanced = true
            while advanced {
                advanced = false
                for block in side.blocks where block.lower <= side.delivered && block.upper > side.delivered {
                    side.delivered = block.upper
                    advanced = true
                }
            }
            side.blocks.removeAll { $0.upper <= side.delivered }
        } else if side.blocks.count < Self.maximumBlocks {
            side.blocks.append((lower, upper))
            side.blocks.sort { $0.lower < $1.lower }
        }
    }

    private static let maximumBlocks = 32
}

extension ZeekState {
    // MARK: - Results

    /// Zeek's payload size of one side (TCP_Endpoint `Size`).
    static func size(of side: Side, peer: Side) -> Int64 {
        if side.previous == .synSent && side.status == .reset && peer.status == .inactive && !side.noDataAcknowledged {
            return 0
        }
        let last = Side.full(side.last, wraps: side.seqWraps)
        let acked = Side.full(side.ack, wraps: side.ackWraps)
        var size = max(last, acked) &- side.start
        if size != 0 { size &-= 1 }
        if side.finCount > 0 && size != 0 { size &-= 1 }
        return size
    }

    /// Zeek's `conn_state` (main.zeek `conn_state`).
    public var connState: String {
        let os = originator.status
        let rs = responder.status
        let originatorInactive = os == .inactive || os == .partial
        let responderInactive = rs == .inactive || rs == .partial
        if rs == .reset {
            if os == .synSent || os == .synAckSent
                || (os == .reset && Self.size(of: originator, peer: responder) == 0
                    && Self.size(of: responder, peer: originator) == 0) {
                return "REJ"
            }
            return originatorInactive ? "RSTRH" : "RSTR"
        }
        if os == .reset {
            if responderInactive { return Self.isSYNThenReset(historyString) ? "RSTOS0" : "OTH" }
            return "RSTO"
        }
        if rs == .closed && os == .closed { return "SF" }
        if os == .closed { return responderInactive ? "SH" : "S2" }
        if rs == .closed { return originatorInactive ? "SHR" : "S3" }
        if os == .synSent && rs == .inactive { return "S0" }
        if os == .established && rs == .established { return "S1" }
        return "OTH"
    }

    /// Whether the whole history matches Zeek's `/\^?S[^HAFGIQ]*R.*/`: a SYN, then no originator
    /// handshake, data-less ACK, FIN, gap or odd flags before the originator's RST.
    static func isSYNThenReset(_ history: String) -> Bool {
        var rest = Substring(history)
        if rest.first == "^" { rest = rest.dropFirst() }
        guard rest.first == "S" else { return false }
        for letter in rest.dropFirst() {
            if letter == "R" { return true }
            if "HAFGIQ".contains(letter) { return false }
        }
        return false
    }

    /// The history string as Zeek prints it.
    public var historyString: String { common.history.string }
}
