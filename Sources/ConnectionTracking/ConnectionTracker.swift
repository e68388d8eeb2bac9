import CPrefetch
import WireFormat

/// The connection table: finds or creates the connection of each packet, updates it in place, and
/// hands connections on as soon as they are finished. Memory follows concurrent connections.
///
/// Not thread-safe; one tracker per stream of packets. No allocation per packet in steady state
/// (the table and slots are reused; events grow only on state changes).
public struct ConnectionTracker {
    public let configuration: TrackerConfiguration
    public private(set) var statistics = TrackerStatistics()

    @usableFromInline var index: FlowIndex
    @usableFromInline var slots = SlotTable()
    @usableFromInline var keys: ContiguousArray<FlowKey> = []
    /// Each slot's flow hash (`FlowIndex.hash` of its key), dense: removing a connection finds its
    /// bucket without reading the key (a cache miss for each connection the sweep hands on).
    var hashes: ContiguousArray<UInt32> = []
    var freeSlots: ContiguousArray<Int32> = []
    /// The sweep's list of slots past their bound (kept to reuse its memory), and how many visits ahead
    /// it asks for their connections.
    var dueSlots: ContiguousArray<Int32> = []
    static let sweepLookahead = 6
    // Per slot, a time (ns) until which its connection cannot expire, `Int64.max` for a free slot
    // (`slots.notBefore(i)`): the sweep reads this dense array instead of visiting every 1.4 KB
    // connection each second. Without it a capture's still-open connections (kept until the idle
    // timeout, 7,500 s) made every sweep longer: on the 2M-connection benchmark they grow to 20,000
    // and the sweeps to a tenth of the work. Set from a cheap lower bound after each packet
    // (`lowerBound`), raised to the exact time when a sweep finds the connection not yet expired
    // (`exactDeadline`).
    var nextID = 1
    /// Servers seen answering a SYN with a SYN-ACK (bounded), to tell a dead server from a busy one.
    var answeringServers = EndpointSet()
    /// Servers seen repeating a SYN-ACK after the client's handshake ACK: their accept queue overflowed.
    var overflowingServers = EndpointSet()
    static let maximumAnsweringServers = 65_536
    var nextSweep = Timestamp(rawValue: .min)
    var lastTime = Timestamp(rawValue: .min)

    public init(configuration: TrackerConfiguration = TrackerConfiguration(), expectedConcurrent: Int = 4096) {
        self.configuration = configuration
        index = FlowIndex(minimumCapacity: expectedConcurrent)
        // The per-slot arrays at their expected size at once, not grown by doubling (seven or eight
        // allocations each on the way to a few hundred slots).
        keys.reserveCapacity(expectedConcurrent)
        hashes.reserveCapacity(expectedConcurrent)
    }

    /// Connections currently tracked.
    public var activeCount: Int { index.count }

    /// Feeds one TCP packet. `finished` receives every connection that this packet (or the time it
    /// carries) finished, possibly none.
    public mutating func process(
        _ packet: TCPPacketSummary, number: Int, time: Timestamp, finished: (consuming Connection) -> Void
    ) {
        processHandingOver(packet, hash: Self.flowHash(of: packet), number: number, time: time) { finished($0.take()) }
    }

    // MARK: - Looking ahead
    //
    // A packet's connection is looked up in the index, then its key and its connection are read: three
    // dependent loads, each a cache miss when the table is bigger than the cache (5,000 connections of
    // 1.4 KB are 7 MB). A reader that sees packets coming can ask for these lines early: far ahead the
    // bucket (`prefetchIndex`), nearer, once the bucket is there, the key and the connection
    // (`prefetchConnection`). Hints only: nothing changes, and a wrong guess costs a few loads.

    /// The hash `process(_:hash:number:time:finished:)` takes for `packet`: its 4-tuple's, with the
    /// process's seed. Cheap and thread-safe: a reading thread may compute it ahead.
    @inlinable @inline(__always) public static func flowHash(of packet: TCPPacketSummary) -> UInt32 {
        FlowIndex.hash(FlowKey.make(source: Endpoint(ip: packet.source, port: packet.sourcePort),
                                    destination: Endpoint(ip: packet.destination, port: packet.destinationPort)).key)
    }

    /// Looking ahead, far: asks the cache for the index bucket where the lookup of a packet with the
    /// flow hash `hash` will start.
    @inlinable @inline(__always) public func prefetchIndex(hash: UInt32) {
        index.prefetchBucket(hash: hash)
    }

    /// Looking ahead, near (after `prefetchIndex`, by the time its line has come): asks the cache for
    /// the key and the connection that the lookup of a packet with the flow hash `hash` will most likely find.
    @inlinable @inline(__always) public func prefetchConnection(hash: UInt32) {
        guard let slot = index.probableSlot(hash: hash) else { return }
        let i = Int(slot)
        keys.withUnsafeBufferPointer {
            if i < $0.count { coroner_prefetch_range($0.baseAddress.unsafelyUnwrapped + i, MemoryLayout<FlowKey>.size) }
        }
        slots.prefetch(i)
    }

    /// `process(_:number:time:finished:)` with the packet's `flowHash(of:)` computed by the caller.
    public mutating func process(
        _ packet: TCPPacketSummary, hash: UInt32, number: Int, time: Timestamp, finished: (consuming Connection) -> Void
    ) {
        processHandingOver(packet, hash: hash, number: number, time: time) { finished($0.take()) }
    }

    /// `process(_:hash:number:time:finished:)` handing each finished connection on where it is, to be
    /// read there and moved out once (`FinishedSlot`): no copy of it on the way.
    public mutating func processHandingOver(
        _ packet: TCPPacketSummary, hash: UInt32, number: Int, time: Timestamp,
        _ finished: (consuming FinishedSlot) -> Void
    ) {
        slots.makeUnique()  // once here: every slot access below is a plain pointer access
        statistics.packets &+= 1
        if time < lastTime { statistics.timeWentBackwards &+= 1 } else { lastTime = time }
        if lastTime >= nextSweep {
            sweep(now: lastTime, finished: finished)
            nextSweep = lastTime.advanced(byNanoseconds: configuration.sweepInterval.rawValue)
        }
        let source = Endpoint(ip: packet.source, port: packet.sourcePort)
        let destination = Endpoint(ip: packet.destination, port: packet.destinationPort)
        let (key, _) = FlowKey.make(source: source, destination: destination)
        assert(hash == index.hash(key), "the caller's hash is flowHash(of: packet)")

        if let slot = index.find(key, hash: hash, keys: keys) {
            let i = Int(slot)
            if let reason = splitReason(slot: i, packet: packet, source: source, time: time) {
                slots[i].finishReason = reason
                remove(slot: i, finished: finished)
            } else {
                apply(packet, from: source, slot: i, number: number, time: time)
                if packet.flags.contains(.syn) && packet.flags.contains(.ack) && slots[i].handshakeAckPacket != 0
                    && slots[i].server == source && overflowingServers.count < Self.maximumAnsweringServers {
                    overflowingServers.insert(source)
                }
                return
            }
        }
        if index.count >= configuration.maxConnections { evict(now: time, finished: finished) }
        // Into its slot first, then the packet applied there: a local would be copied in (1.4 KB).
        let id = nextID, recordsEvents = configuration.recordsEvents
        let i = insert(key: key, hash: hash) {
            Connection.starting(with: packet, source: source, destination: destination, id: id, number: number, time: time,
                                recordsEvents: recordsEvents)
        }
        nextID += 1
        apply(packet, from: source, slot: i, number: number, time: time)
    }

    /// Applies `packet`, sent by `source`, to the connection in slot `i` in place, then moves the slot's
    /// expiry bound and notes a SYN-ACK's sender as a server that answers.
    @inline(__always)
    mutating func apply(_ packet: TCPPacketSummary, from source: Endpoint, slot i: Int, number: Int, time: Timestamp) {
        slots[i].apply(packet, from: slots[i].client == source ? .client : .server, number: number, time: time,
                       configuration: configuration)
        slots.setNotBefore(i, lowerBound(slot: i))
        noteAnswer(packet, source: source)
    }

    mutating func noteAnswer(_ packet: TCPPacketSummary, source: Endpoint) {
        if packet.flags.contains(.syn) && packet.flags.contains(.ack) && answeringServers.count < Self.maximumAnsweringServers {
            answeringServers.insert(source)
        }
    }

    /// Whether the server of the connection in slot `i` answered a SYN on some other connection of this
    /// capture. (`mutating` to borrow the tracker in place, as `splitReason`.)
    mutating func hasAnsweredHandshake(slot i: Int) -> Bool {
        slots[i].serverSide.synCount == 0 && answeringServers.contains(slots[i].server)
    }

    /// Whether the server of the connection in slot `i` showed the accept-queue overflow signature on any
    /// connection.
    mutating func hasShownListenOverflow(slot i: Int) -> Bool {
        !overflowingServers.isEmpty && overflowingServers.contains(slots[i].server)  // no hashing in the usual case
    }

    /// Ties an ICMP error to the connection whose packet it quotes, if that connection is tracked.
    public mutating func process(icmp error: ICMPErrorSummary, number: Int, time: Timestamp) {
        slots.makeUnique()
        statistics.icmpErrors &+= 1
        let quotedSource = Endpoint(ip: error.quotedSource, port: error.quotedSourcePort)
        let quotedDestination = Endpoint(ip: error.quotedDestination, port: error.quotedDestinationPort)
        let (key, _) = FlowKey.make(source: quotedSource, destination: quotedDestination)
        guard let slot = index.find(key, hash: index.hash(key), keys: keys) else { return }
        statistics.icmpErrorsMatched &+= 1
        let i = Int(slot)
        let about: Role = slots[i].client == quotedSource ? .client : .server
        if slots[i].icmpErrors.count < 8 {
            slots[i].icmpErrors.append(ICMPRecord(packet: number, time: time, error: error, about: about))
        }
        slots[i].record(ConnectionEvent(kind: .icmpError, packet: number, time: time, from: nil,
                                        value: Int64(error.type) << 8 | Int64(error.code),
                                        sequenceNumber: error.quotedSequenceNumber))
    }

    /// Finishes connections whose linger or idle time has passed by `now` (live captures call this
    /// on read timeouts, so verdicts come without waiting for the next packet).
    public mutating func advance(to now: Timestamp, finished: (consuming Connection) -> Void) {
        slots.makeUnique()
        if now > lastTime { lastTime = now }
        sweep(now: now, finished: { finished($0.take()) })
    }

    /// Hands on every connection still tracked (end of input), in creation order.
    public mutating func finishAll(finished: (consuming Connection) -> Void) {
        finishAllHandingOver { finished($0.take()) }
    }

    /// `finishAll(finished:)` handing each connection on where it is (`FinishedSlot`).
    public mutating func finishAllHandingOver(_ finished: (consuming FinishedSlot) -> Void) {
        slots.makeUnique()
        var remaining: [(Int, Int)] = []
        for i in slots.indices where slots.isOccupied(i) { remaining.append((slots[i].id, i)) }
        remaining.sort { $0.0 < $1.0 }
        for (_, i) in remaining {
            if !slots[i].endingKnown { slots[i].finishReason = .endOfInput }
            remove(slot: i, finished: finished)
        }
    }

    // MARK: - Table

    /// Puts the connection `make` builds (straight into the slot's memory) in a free slot and returns
    /// the slot; the caller sets the slot's `notBefore`.
    mutating func insert(key: FlowKey, hash: UInt32, _ make: () -> Connection) -> Int {
        statistics.connectionsStarted &+= 1
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            keys[Int(free)] = key
            hashes[Int(free)] = hash
        } else {
            slot = Int32(slots.appendFree())
            keys.append(key)
            hashes.append(hash)
        }
        slots.put(Int(slot), make)
        index.insert(slot: slot, hash: hash)
        if index.count > statistics.peakConcurrent { statistics.peakConcurrent = index.count }
        return Int(slot)
    }

    mutating func remove(slot i: Int, finished: (consuming FinishedSlot) -> Void) {
        index.remove(slot: Int32(i), hash: hashes[i])
        slots.setNotBefore(i, .max)
        freeSlots.append(Int32(i))
        statistics.connectionsFinished &+= 1
        // Stamped in place, then handed on in place: the receiver moves it out.
        slots[i].serverAnsweredOtherHandshakes = hasAnsweredHandshake(slot: i)
        slots[i].serverShowedListenOverflow = hasShownListenOverflow(slot: i)
        finished(slots.handOver(i))
    }

    /// Whether `packet` must start a new connection instead of joining the connection in slot `i`, and
    /// why the old one ends. Reads the slot in place: passing the connection by value would copy it
    /// (and retain its arrays) on every packet.
    /// `mutating` though it changes nothing: called from `process`, a non-mutating method would get a
    /// copy of the whole tracker (264 bytes, per packet); a mutating one borrows it in place.
    mutating func splitReason(slot i: Int, packet: TCPPacketSummary, source: Endpoint, time: Timestamp) -> FinishReason? {
        let flags = packet.flags
        let isBareSYN = flags.contains(.syn) && !flags.contains(.ack) && !flags.contains(.rst)
        if slots[i].endingKnown && isBareSYN { return slots[i].finishReason }
        if time.rawValue > slots.notBefore(i), let reason = expiry(slot: i, now: time) { return reason }
        if slots[i].endingKnown { return nil }  // within its linger: a stray packet
        guard isBareSYN || slots[i].clientSide.state == .synSent else { return nil }
        let fromClient = slots[i].client == source
        let clientSawSYN = slots[i].clientSide.sawSYN
        let clientState = slots[i].clientSide.state
        let isn = slots[i].clientSide.isn
        if isBareSYN && fromClient && clientSawSYN && packet.sequenceNumber != isn {
            return .reused  // a new attempt with a new ISN: port reuse or a new connect()
        }
        if isBareSYN && !clientSawSYN && slots[i].rolesInferred && fromClient
            && (clientState == .closed || clientState == .reset || slots[i].serverSide.state == .closed) {
            return .reused
        }
        if clientState == .synSent && slots[i].serverSide.state == .inactive && fromClient
            && slots[i].start.nanoseconds(to: time) > configuration.attemptTimeout.rawValue
            && !(isBareSYN && packet.sequenceNumber == isn) {
            return .attemptTimeout
        }
        return nil
    }

    mutating func sweep(now: Timestamp, finished: (consuming FinishedSlot) -> Void) {
        guard !index.isEmpty else { return }
        let time = now.rawValue
        // Two passes: the due slots are found in the dense bounds, then visited while the connection a
        // few visits on is asked for from the cache, so the reads (each connection's first touch in a
        // while) overlap instead of waiting one after the other.
        dueSlots.removeAll(keepingCapacity: true)
        for i in slots.indices where time > slots.notBefore(i) { dueSlots.append(Int32(truncatingIfNeeded: i)) }
        let due = dueSlots.count
        // All of each connection, and its index bucket: most due ones are handed on, moved out whole
        // and removed from the index.
        for k in 0..<min(Self.sweepLookahead, due) { prefetchDue(Int(dueSlots[k])) }
        for k in 0..<due {
            if k &+ Self.sweepLookahead < due { prefetchDue(Int(dueSlots[k &+ Self.sweepLookahead])) }
            let i = Int(dueSlots[k])
            if let reason = expiry(slot: i, now: now) {
                slots[i].finishReason = reason
                remove(slot: i, finished: finished)
            } else {
                slots.setNotBefore(i, exactDeadline(slot: i))
            }
        }
    }

    /// `mutating` though it changes nothing: a non-mutating method called from `sweep`'s loop got a copy
    /// of the whole tracker (384 bytes and a retain and release of each of its buffers) on every visit.
    @inline(__always) mutating func prefetchDue(_ i: Int) {
        slots.prefetchWhole(i)
        index.prefetchBucket(hash: hashes[i])
    }

    /// `base` plus `delay` nanoseconds, saturating; a negative delay gives a time that has always passed.
    @inline(__always) static func deadline(_ base: Timestamp, plus delay: Int64) -> Int64 {
        guard delay >= 0 else { return .min }
        let (sum, overflow) = base.rawValue.addingReportingOverflow(delay)
        return overflow ? .max : sum
    }

    /// A time the connection in slot `i` cannot expire before (`expiry` is nil until it has passed):
    /// the shorter linger after its ending, or the shorter of the idle and give-up timeouts after its
    /// last packet. Cheap enough for every packet.
    @inline(__always) mutating func lowerBound(slot i: Int) -> Int64 {
        slots[i].endingKnown
            ? Self.deadline(slots[i].endingKnownTime, plus: min(configuration.resetLinger.rawValue, configuration.closeLinger.rawValue))
            : Self.deadline(slots[i].end, plus: min(configuration.idleTimeout.rawValue, configuration.giveUpTimeout.rawValue))
    }

    /// The time after which `expiry` stops being nil for slot `i`, as long as no packet arrives (packets
    /// set `lowerBound` again): the linger after its ending, else the idle timeout after its last packet,
    /// or the give-up timeout when a sender waits for an answer.
    mutating func exactDeadline(slot i: Int) -> Int64 {
        if slots[i].endingKnown {
            let linger = slots[i].clientSide.state == .reset || slots[i].serverSide.state == .reset
                ? configuration.resetLinger : configuration.closeLinger
            return Self.deadline(slots[i].endingKnownTime, plus: linger.rawValue)
        }
        let idle = configuration.idleTimeout.rawValue
        let silence = isWaitingForAnswer(slot: i) ? min(idle, configuration.giveUpTimeout.rawValue) : idle
        return Self.deadline(slots[i].end, plus: silence)
    }

    /// Why the connection in slot `i` is over by `now`, whatever comes next: its ending is known and the
    /// linger has passed (its own finish reason), it idled out, or a sender gave up; nil while it may
    /// go on. Callers test `slots.notBefore` first, so most packets and sweeps never get here.
    /// `mutating` though it changes nothing: from `sweep` or `splitReason` a non-mutating call would get
    /// a copy of the whole tracker; a mutating one borrows it in place.
    mutating func expiry(slot i: Int, now: Timestamp) -> FinishReason? {
        guard now.rawValue > exactDeadline(slot: i) else { return nil }
        if slots[i].endingKnown { return slots[i].finishReason }
        return slots[i].end.nanoseconds(to: now) > configuration.idleTimeout.rawValue ? .idle : .gaveUp
    }

    /// Whether the connection in slot `i` ended its traffic waiting for an answer: its SYN was never
    /// answered, or a side's last retransmission episode was never acknowledged. Such a sender keeps
    /// retransmitting while it lives, so a long silence means it gave up.
    func isWaitingForAnswer(slot i: Int) -> Bool {
        if slots[i].clientSide.state == .synSent && slots[i].serverSide.state == .inactive { return true }
        if let last = slots[i].clientSide.episodes.last, !last.wasAcknowledged { return true }
        if let last = slots[i].serverSide.episodes.last, !last.wasAcknowledged { return true }
        return false
    }

    /// Evicts about a tenth of the table, longest idle first, to make room.
    mutating func evict(now: Timestamp, finished: (consuming FinishedSlot) -> Void) {
        var lastSeen: [Int64] = []
        lastSeen.reserveCapacity(index.count)
        for i in slots.indices where slots.isOccupied(i) { lastSeen.append(slots[i].end.rawValue) }
        lastSeen.sort()
        let quota = max(1, lastSeen.count / 10)
        let cutoff = lastSeen[min(quota, lastSeen.count) - 1]
        var evicted = 0
        for i in slots.indices where slots.isOccupied(i) && evicted < quota && slots[i].end.rawValue <= cutoff {
            slots[i].finishReason = slots[i].endingKnown ? slots[i].finishReason : .evicted
            if !slots[i].endingKnown { statistics.evictions &+= 1 }
            remove(slot: i, finished: finished)
            evicted += 1
        }
    }
}
