// coroner-gen: writes a deterministic synthetic capture (classic pcap, nanosecond timestamps,
// Ethernet) of many interleaved TCP connections with a known mix of endings, and prints the verdict
// counts coroner must report for it (JSON on stdout). Used by `make bench` (scripts/bench.sh) to time
// coroner against libpcap's own speed and to check its verdicts at scale.
//
// Every connection has its own 4-tuple (no port reuse), so the expected counts are exact:
//   graceful (some with a retransmitted or reordered segment)  -> graceful_close, ending graceful
//   client data, server ACKs only, client RST+ACK (nothing unread) -> abortive_close, reset by client
//   server RST+ACK at its next sequence with the request unread -> unread_data_on_close, reset by server
//   SYN answered by RST+ACK                                     -> refused
//   SYNs (0 s, 1 s, 3 s) to a host that never answers anyone    -> syn_timeout
//   data retransmitted with backoff, the peer silent            -> retransmission_timeout
//   handshake and data, nothing else                            -> still_open
//
// `concurrency` connections are in progress at any moment; each slot starts its next connection
// shortly after the previous one's last packet.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// MARK: - Options

struct Options {
    var connections = 200_000
    var concurrency = 5_000
    var snapLength = 262_144
    var seed: UInt64 = 1
    var ipv6Percent = 20
    var output = "/tmp/coroner-bench.pcap"
    var quiet = false

    static let usage = """
        usage: coroner-gen [--connections N] [--concurrency N] [--snaplen N] [--seed N] [--ipv6-percent N] [-o FILE]
        Writes a synthetic pcap and prints the expected coroner verdict counts as JSON on stdout.
        """

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var i = 1
        func value() -> String {
            i += 1
            guard i < arguments.count else { fail("missing value for \(arguments[i - 1])") }
            return arguments[i]
        }
        func number(_ s: String) -> Int {
            guard let n = Int(s.replacingUnderscores), n >= 0 else { fail("not a number: \(s)") }
            return n
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--connections", "-n": options.connections = number(value())
            case "--concurrency", "-c": options.concurrency = max(1, number(value()))
            case "--snaplen", "-s": options.snapLength = max(68, number(value()))
            case "--seed": options.seed = UInt64(number(value()))
            case "--ipv6-percent": options.ipv6Percent = min(100, number(value()))
            case "--output", "-o": options.output = value()
            case "--quiet", "-q": options.quiet = true
            case "--help", "-h":
                print(usage)
                exit(0)
            default: fail("unknown argument \(arguments[i])\n\(usage)")
            }
            i += 1
        }
        return options
    }
}

extension String {
    var replacingUnderscores: String { String(filter { $0 != "_" }) }
}

func fail(_ message: String) -> Never {
    let line = "coroner-gen: \(message)\n"
    _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    exit(64)
}

// MARK: - Random numbers (SplitMix64: small, fast, deterministic)

struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in `0..<bound`.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(1, bound))) }
    mutating func range(_ r: ClosedRange<Int>) -> Int { r.lowerBound + below(r.count) }
}

// MARK: - Scenarios

enum Scenario: CaseIterable {
    case graceful, clientReset, serverReset, refused, synTimeout, retransmissionTimeout, stillOpen

    /// Share per 1,000 connections.
    var weight: Int {
        switch self {
        case .graceful: 800
        case .clientReset: 60
        case .serverReset: 60
        case .refused: 50
        case .synTimeout: 10
        case .retransmissionTimeout: 10
        case .stillOpen: 10
        }
    }

    var cause: String {
        switch self {
        case .graceful: "graceful_close"
        case .clientReset: "abortive_close"
        case .serverReset: "unread_data_on_close"
        case .refused: "refused"
        case .synTimeout: "syn_timeout"
        case .retransmissionTimeout: "retransmission_timeout"
        case .stillOpen: "still_open"
        }
    }

    var ending: String {
        switch self {
        case .graceful: "graceful"
        case .clientReset, .serverReset: "reset"
        case .refused: "refused"
        case .synTimeout, .retransmissionTimeout: "timeout"
        case .stillOpen: "unfinished"
        }
    }

    static func pick(_ rng: inout SplitMix64) -> Scenario {
        var r = rng.below(1000)
        for s in allCases {
            if r < s.weight { return s }
            r -= s.weight
        }
        return .graceful
    }
}

/// TCP flag bits.
enum Flag {
    static let fin: UInt8 = 0x01
    static let syn: UInt8 = 0x02
    static let rst: UInt8 = 0x04
    static let psh: UInt8 = 0x08
    static let ack: UInt8 = 0x10
}

/// One packet of a connection, before framing. Sequence numbers are relative to the ISNs.
struct Segment {
    var time: Int64  // ns from the connection's start
    var fromClient: Bool
    var flags: UInt8
    var seq: UInt32  // relative to the sender's ISN
    var ack: UInt32  // relative to the receiver's ISN
    var length: Int
    var window: UInt16
}

/// A connection being written: its addresses, ISNs and the segments still to go.
struct Flow {
    var start: Int64
    var isIPv6: Bool
    var client: (high: UInt64, low: UInt64)
    var server: (high: UInt64, low: UInt64)
    var clientPort: UInt16
    var serverPort: UInt16
    var clientISN: UInt32
    var serverISN: UInt32
    var segments: [Segment]
    var next = 0
    var clientID: UInt16
    var serverID: UInt16
    var clientTTL: UInt8
    var serverTTL: UInt8

    var nextTime: Int64 { start + segments[next].time }
}

/// Builds the segments of one connection of `scenario`.
struct ScriptBuilder {
    var segments: [Segment] = []
    var t: Int64 = 0
    var clientSeq: UInt32 = 0  // next relative seq of the client
    var serverSeq: UInt32 = 0
    let rtt: Int64
    let mss = 1448

    init(rtt: Int64) { self.rtt = rtt }

    mutating func emit(_ fromClient: Bool, _ flags: UInt8, length: Int = 0, after delay: Int64, window: UInt16 = 502) {
        t += delay
        let seq = fromClient ? clientSeq : serverSeq
        let ack = fromClient ? serverSeq : clientSeq
        segments.append(Segment(time: t, fromClient: fromClient, flags: flags, seq: seq,
                                ack: flags & Flag.ack != 0 ? ack : 0, length: length, window: window))
        var advance = UInt32(length)
        if flags & (Flag.syn | Flag.fin) != 0 { advance += 1 }
        if flags & Flag.rst == 0 {
            if fromClient { clientSeq &+= advance } else { serverSeq &+= advance }
        }
    }

    mutating func handshake() {
        emit(true, Flag.syn, after: 0, window: 64240)
        emit(false, Flag.syn | Flag.ack, after: rtt / 2, window: 65160)
        emit(true, Flag.ack, after: rtt / 2)
    }

    /// `bytes` from one side in MSS-sized segments, the other side acknowledging every second one.
    mutating func transfer(fromClient: Bool, bytes: Int, rng: inout SplitMix64, retransmit: Bool, reorder: Bool) {
        var remaining = bytes
        var sent = 0
        var lengths: [Int] = []
        while remaining > 0 {
            let n = min(mss, remaining)
            lengths.append(n)
            remaining -= n
        }
        let retransmitIndex = retransmit ? rng.below(lengths.count) : -1
        let swapIndex = reorder && lengths.count >= 2 ? rng.below(lengths.count - 1) : -1
        var i = 0
        while i < lengths.count {
            if i == swapIndex {
                // The next segment overtakes this one on the way to the capture point.
                let first = lengths[i], second = lengths[i + 1]
                let base = fromClient ? clientSeq : serverSeq
                setSeq(fromClient, base &+ UInt32(first))
                emit(fromClient, Flag.ack | Flag.psh, length: second, after: 200_000)
                setSeq(fromClient, base)
                emit(fromClient, Flag.ack, length: first, after: 30_000)
                setSeq(fromClient, base &+ UInt32(first + second))
                emit(!fromClient, Flag.ack, after: rtt / 2)
                sent += 2
                i += 2
                continue
            }
            emit(fromClient, Flag.ack | (i == lengths.count - 1 ? Flag.psh : 0), length: lengths[i], after: 200_000)
            if i == retransmitIndex {
                // Lost after the capture point: the sender retransmits after its RTO, the receiver ACKs once.
                let base = (fromClient ? clientSeq : serverSeq) &- UInt32(lengths[i])
                let saved = fromClient ? clientSeq : serverSeq
                setSeq(fromClient, base)
                emit(fromClient, Flag.ack, length: lengths[i], after: max(200_000_000, 3 * rtt))
                setSeq(fromClient, saved)
            }
            sent += 1
            if sent % 2 == 0 || i == lengths.count - 1 { emit(!fromClient, Flag.ack, after: rtt / 2) }
            i += 1
        }
    }

    mutating func setSeq(_ fromClient: Bool, _ value: UInt32) {
        if fromClient { clientSeq = value } else { serverSeq = value }
    }

    static func build(_ scenario: Scenario, rng: inout SplitMix64) -> [Segment] {
        var b = ScriptBuilder(rtt: Int64(rng.range(1...40)) * 1_000_000)
        let request = rng.range(40...500)
        let response = rng.range(100...2400)
        // Application think time 0.5-8 s: connections live seconds, as behind a busy web server, so the
        // requested concurrency is reached with a few hundred new connections per second.
        let think = Int64(rng.range(500...8_000)) * 1_000_000
        switch scenario {
        case .graceful:
            let r = rng.below(10)
            b.handshake()
            b.transfer(fromClient: true, bytes: request, rng: &rng, retransmit: false, reorder: false)
            b.t += think
            b.transfer(fromClient: false, bytes: response, rng: &rng, retransmit: r == 0, reorder: r == 1)
            if rng.below(2) == 0 {
                b.emit(true, Flag.fin | Flag.ack, after: think)
                b.emit(false, Flag.fin | Flag.ack, after: b.rtt / 2)
                b.emit(true, Flag.ack, after: b.rtt / 2)
            } else {
                b.emit(false, Flag.fin | Flag.ack, after: think)
                b.emit(true, Flag.ack, after: b.rtt / 2)
                b.emit(true, Flag.fin | Flag.ack, after: 1_000_000)
                b.emit(false, Flag.ack, after: b.rtt / 2)
            }
        case .clientReset:
            b.handshake()
            b.transfer(fromClient: true, bytes: request, rng: &rng, retransmit: false, reorder: false)
            // The server only acknowledges, so the client has nothing unread when it aborts (SO_LINGER 0).
            b.emit(true, Flag.rst | Flag.ack, after: think, window: 0)
        case .serverReset:
            b.handshake()
            b.transfer(fromClient: true, bytes: request, rng: &rng, retransmit: false, reorder: false)
            b.emit(false, Flag.rst | Flag.ack, after: think, window: 0)
        case .refused:
            b.emit(true, Flag.syn, after: 0, window: 64240)
            b.serverSeq = 0
            b.emit(false, Flag.rst | Flag.ack, after: b.rtt, window: 0)
        case .synTimeout:
            b.emit(true, Flag.syn, after: 0, window: 64240)
            b.clientSeq = 0
            b.emit(true, Flag.syn, after: 1_000_000_000, window: 64240)
            b.clientSeq = 0
            b.emit(true, Flag.syn, after: 2_000_000_000, window: 64240)
        case .retransmissionTimeout:
            b.handshake()
            b.transfer(fromClient: true, bytes: request, rng: &rng, retransmit: false, reorder: false)
            b.t += think
            b.transfer(fromClient: false, bytes: response, rng: &rng, retransmit: false, reorder: false)
            let length = rng.range(100...1000)
            b.emit(true, Flag.ack | Flag.psh, length: length, after: think)
            var rto: Int64 = 200_000_000
            for _ in 0..<5 {
                b.clientSeq &-= UInt32(length)
                b.emit(true, Flag.ack | Flag.psh, length: length, after: rto)
                rto *= 2
            }
        case .stillOpen:
            b.handshake()
            b.transfer(fromClient: true, bytes: request, rng: &rng, retransmit: false, reorder: false)
            b.t += think
            b.transfer(fromClient: false, bytes: response, rng: &rng, retransmit: false, reorder: false)
        }
        return b.segments
    }
}

// MARK: - pcap writer (classic pcap, nanosecond magic, link type Ethernet)

struct PcapFileWriter {
    let file: UnsafeMutablePointer<FILE>
    var buffer: [UInt8] = []
    let snapLength: Int
    var bytesWritten = 0

    init(path: String, snapLength: Int) {
        guard let f = fopen(path, "wb") else { fail("cannot create \(path): \(String(cString: strerror(errno)))") }
        file = f
        self.snapLength = snapLength
        buffer.reserveCapacity(1 << 22)
        put32(0xA1B2_3C4D)  // nanosecond timestamps
        put16(2)
        put16(4)
        put32(0)
        put32(0)
        put32(UInt32(snapLength))
        put32(1)  // LINKTYPE_ETHERNET
    }

    mutating func put8(_ v: UInt8) { buffer.append(v) }
    mutating func put16(_ v: UInt16) { buffer.append(UInt8(v & 0xff)); buffer.append(UInt8(v >> 8)) }
    mutating func put32(_ v: UInt32) { for i in 0..<4 { buffer.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func be16(_ v: UInt16) { buffer.append(UInt8(v >> 8)); buffer.append(UInt8(v & 0xff)) }
    mutating func be32(_ v: UInt32) { for i in (0..<4).reversed() { buffer.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func be64(_ v: UInt64) { for i in (0..<8).reversed() { buffer.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }

    /// Appends one frame of `flow`'s next segment at absolute time `time` (ns).
    mutating func write(_ flow: inout Flow, _ s: Segment, time: Int64) {
        let isSYN = s.flags & Flag.syn != 0
        let optionLength = isSYN ? 20 : (s.flags & Flag.rst != 0 ? 0 : 12)
        let tcpLength = 20 + optionLength + s.length
        let ipHeader = flow.isIPv6 ? 40 : 20
        let frameLength = 14 + ipHeader + tcpLength
        let captured = min(frameLength, snapLength)
        put32(UInt32(truncatingIfNeeded: time / 1_000_000_000))
        put32(UInt32(truncatingIfNeeded: time % 1_000_000_000))
        put32(UInt32(captured))
        put32(UInt32(frameLength))
        let recordStart = buffer.count
        // Ethernet
        let clientMAC: [UInt8] = [0x02, 0, 0, 0, 0, 0x01], routerMAC: [UInt8] = [0x02, 0, 0, 0, 0, 0xfe]
        buffer.append(contentsOf: s.fromClient ? routerMAC : clientMAC)
        buffer.append(contentsOf: s.fromClient ? clientMAC : routerMAC)
        be16(flow.isIPv6 ? 0x86DD : 0x0800)
        let source = s.fromClient ? flow.client : flow.server
        let destination = s.fromClient ? flow.server : flow.client
        let ttl = s.fromClient ? flow.clientTTL : flow.serverTTL
        if flow.isIPv6 {
            be32(0x6000_0000)
            be16(UInt16(tcpLength))
            put8(6)
            put8(ttl)
            be64(source.high)
            be64(source.low)
            be64(destination.high)
            be64(destination.low)
        } else {
            let id: UInt16
            if s.fromClient {
                id = flow.clientID
                flow.clientID &+= 1
            } else {
                id = flow.serverID
                flow.serverID &+= 1
            }
            put8(0x45)
            put8(0)
            be16(UInt16(20 + tcpLength))
            be16(id)
            be16(0x4000)
            put8(ttl)
            put8(6)
            be16(0)  // checksum: not computed (coroner, like Wireshark by default, does not check it)
            be32(UInt32(truncatingIfNeeded: source.low))
            be32(UInt32(truncatingIfNeeded: destination.low))
        }
        // TCP
        be16(s.fromClient ? flow.clientPort : flow.serverPort)
        be16(s.fromClient ? flow.serverPort : flow.clientPort)
        let ownISN = s.fromClient ? flow.clientISN : flow.serverISN
        let peerISN = s.fromClient ? flow.serverISN : flow.clientISN
        be32(ownISN &+ s.seq)
        be32(s.flags & Flag.ack != 0 ? peerISN &+ s.ack : 0)
        put8(UInt8((20 + optionLength) / 4) << 4)
        put8(s.flags)
        be16(s.window)
        be16(0)
        be16(0)
        let tsval = UInt32(truncatingIfNeeded: time / 1_000_000)
        if isSYN {
            // MSS 1460, SACK permitted, timestamps, NOP, window scale 7 (Linux's SYN layout).
            buffer.append(contentsOf: [2, 4, 0x05, 0xb4, 4, 2, 8, 10] as [UInt8])
            be32(tsval)
            be32(0)
            buffer.append(contentsOf: [1, 3, 3, 7] as [UInt8])
        } else if optionLength == 12 {
            buffer.append(contentsOf: [1, 1, 8, 10] as [UInt8])
            be32(tsval)
            be32(tsval &- 1)
        }
        if s.length > 0 {
            buffer.append(contentsOf: repeatElement(0x61, count: s.length))
        }
        buffer.removeLast(buffer.count - recordStart - captured)
        if buffer.count >= 1 << 22 { flush() }
    }

    mutating func flush() {
        let n = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        if n != buffer.count { fail("write failed: \(String(cString: strerror(errno)))") }
        bytesWritten += n
        buffer.removeAll(keepingCapacity: true)
    }

    mutating func close() {
        flush()
        fclose(file)
    }
}

// MARK: - Scheduling: a min-heap of flows by the time of their next packet

struct FlowHeap {
    var flows: [Flow] = []

    var isEmpty: Bool { flows.isEmpty }

    mutating func push(_ flow: Flow) {
        flows.append(flow)
        var i = flows.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if flows[parent].nextTime <= flows[i].nextTime { break }
            flows.swapAt(parent, i)
            i = parent
        }
    }

    /// Restores the heap after the root's time grew (or after replacing the root).
    mutating func siftDown(_ start: Int = 0) {
        var i = start
        let n = flows.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n && flows[l].nextTime < flows[m].nextTime { m = l }
            if r < n && flows[r].nextTime < flows[m].nextTime { m = r }
            if m == i { return }
            flows.swapAt(i, m)
            i = m
        }
    }

    mutating func removeRoot() {
        let last = flows.removeLast()
        if !flows.isEmpty {
            flows[0] = last
            siftDown()
        }
    }
}

// MARK: - Main

struct Generator {
    let options: Options
    var rng: SplitMix64
    var heap = FlowHeap()
    var started = 0
    var expectedCause: [String: Int] = [:]
    var expectedEnding: [String: Int] = [:]
    var packets = 0
    let epoch: Int64 = 1_767_225_600 * 1_000_000_000  // 2026-01-01T00:00:00Z
    let servers = 64
    let deadServers = 16

    init(options: Options) {
        self.options = options
        rng = SplitMix64(state: options.seed)
    }

    mutating func newFlow(at start: Int64) -> Flow {
        let index = started
        started += 1
        let scenario = Scenario.pick(&rng)
        expectedCause[scenario.cause, default: 0] += 1
        expectedEnding[scenario.ending, default: 0] += 1
        let isIPv6 = rng.below(100) < options.ipv6Percent
        // A unique client address and port per connection: no 4-tuple is reused.
        let clientHost = UInt64(index / 28_000)
        let clientPort = UInt16(32_768 + index % 28_000)
        // Unanswered SYNs go to hosts that answer nobody (else coroner rightly calls them listen overflow).
        let serverHost = scenario == .synTimeout ? UInt64(200 + rng.below(deadServers)) : UInt64(1 + rng.below(servers))
        let serverPort: UInt16 = scenario == .refused ? 9_999 : [80, 443, 8080, 5432][rng.below(4)]
        let client: (UInt64, UInt64)
        let server: (UInt64, UInt64)
        if isIPv6 {
            client = (0x2001_0db8_0000_0001, 0x1000_0000 + clientHost)
            server = (0x2001_0db8_0000_0002, serverHost)
        } else {
            client = (0, 0x0A00_0000 + clientHost + 1)  // 10.0.0.x
            server = (0, 0xC633_6400 + serverHost)  // 198.51.100.x
        }
        let clientISN = UInt32(truncatingIfNeeded: rng.next())
        let serverISN = UInt32(truncatingIfNeeded: rng.next())
        let segments = ScriptBuilder.build(scenario, rng: &rng)
        let clientID = UInt16(truncatingIfNeeded: rng.next())
        let serverID = UInt16(truncatingIfNeeded: rng.next())
        let serverTTL = UInt8(40 + rng.below(20))
        return Flow(
            start: start, isIPv6: isIPv6, client: client, server: server, clientPort: clientPort,
            serverPort: serverPort, clientISN: clientISN, serverISN: serverISN, segments: segments,
            clientID: clientID, serverID: serverID, clientTTL: 64, serverTTL: serverTTL)
    }

    mutating func run() {
        var writer = PcapFileWriter(path: options.output, snapLength: options.snapLength)
        // The slots start spread over the first second, so the first connections do not share one instant.
        let slots = min(options.concurrency, options.connections)
        for slot in 0..<slots {
            heap.push(newFlow(at: epoch + Int64(slot) * (1_000_000_000 / Int64(max(1, slots)))))
        }
        var lastTime = epoch
        while !heap.isEmpty {
            lastTime = max(lastTime, heap.flows[0].nextTime)
            let segment = heap.flows[0].segments[heap.flows[0].next]
            writer.write(&heap.flows[0], segment, time: lastTime)
            packets += 1
            heap.flows[0].next += 1
            if heap.flows[0].next < heap.flows[0].segments.count {
                heap.siftDown()
            } else if started < options.connections {
                let gap = Int64(rng.range(1...50)) * 1_000_000
                heap.flows[0] = newFlow(at: lastTime + gap)
                heap.siftDown()
            } else {
                heap.removeRoot()
            }
        }
        writer.close()
        print(
            "{\"connections\": \(started), \"packets\": \(packets), \"bytes\": \(writer.bytesWritten), "
                + "\"by_ending\": \(Self.jsonObject(expectedEnding)), \"by_cause\": \(Self.jsonObject(expectedCause))}")
    }

    static func jsonObject(_ d: [String: Int]) -> String {
        "{" + d.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
    }
}

var generator = Generator(options: Options.parse(CommandLine.arguments))
generator.run()
