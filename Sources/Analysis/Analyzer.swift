import ConnectionTracking
import Diagnosis
import PacketCapture
import WireFormat

/// What to do with a capture.
public struct AnalysisOptions: Sendable {
    /// A BPF filter (tcpdump syntax) applied by libpcap before decoding.
    public var filter: String?
    public var tracker = TrackerConfiguration()
    /// Read and decode the file on a second thread while tracking on this one (results are the same;
    /// off, everything runs on the calling thread).
    public var readAhead = true
    public init(filter: String? = nil) { self.filter = filter }
}

/// A finished, diagnosed connection.
public struct AnalyzedConnection: Sendable {
    public var connection: Connection
    public var verdict: Verdict
    /// Index of the capture file in the order given.
    public var captureIndex: Int

    public init(connection: Connection, verdict: Verdict, captureIndex: Int) {
        self.connection = connection
        self.verdict = verdict
        self.captureIndex = captureIndex
    }
}

/// A finished connection with what its diagnosis needs, not yet diagnosed. Diagnosis is a pure
/// function of the two, so it may run on another thread (the CLI diagnoses on its output thread).
///
/// The connection is still where the tracker kept it (`FinishedSlot`): move it out once
/// (`diagnosed()`, `moveConnection(to:)`) before the call that received it returns. Nothing copies
/// it on the way (handed on by value, its 1.3 KB were copied once per wrapper it passed through).
public struct FinishedConnection: ~Copyable {
    var slot: FinishedSlot
    public let context: CaptureContext
    public let captureIndex: Int

    /// The connection in `slot`, with its context: the capture-wide facts the tracker stamped on it, read
    /// in place, and the capture's end so far.
    public init(slot: consuming FinishedSlot, captureEnd: Timestamp, captureIndex: Int) {
        context = CaptureContext(slot, captureEnd: captureEnd)
        self.slot = slot
        self.captureIndex = captureIndex
    }

    /// Moved out first: the diagnosis reads the whole connection, which read in place would be copied.
    public consuming func diagnosed() -> AnalyzedConnection {
        let connection = slot.take()
        let verdict = Diagnoser.diagnose(connection, context: context)
        return AnalyzedConnection(connection: connection, verdict: verdict, captureIndex: captureIndex)
    }

    /// Moves the connection into `destination`'s uninitialized memory (the output thread's batch).
    public consuming func moveConnection(to destination: UnsafeMutablePointer<Connection>) {
        slot.move(to: destination)
    }
}

/// Facts about one capture file after reading it.
public struct CaptureReport: Sendable {
    public var file: String
    public var linkTypes: [LinkType] = []
    public var packets = 0
    public var tcpPackets = 0
    public var icmpErrors = 0
    public var undecodablePackets = 0
    /// Undecodable packets by reason ("truncated-tcp", "bad-length-ipv4", ...).
    public var undecodableReasons: [String: Int] = [:]
    /// Packets cut short by the snap length.
    public var snapTruncatedPackets = 0
    /// The file itself was damaged or cut off: reading stopped early.
    public var truncated = false
    /// Where reading stopped, when `truncated`.
    public var stoppedAfterPacket: Int?
    public var warnings: [String] = []
    /// The file could not be read at all.
    public var error: CaptureError?
    public var firstTime: Timestamp?
    public var lastTime: Timestamp?
    public var vantage = VantagePoint.unknown
    public var connections = 0
    public var tracker = TrackerStatistics()
    public init(file: String) { self.file = file }
}

/// Reads captures and turns them into diagnosed connections, one file at a time.
public enum Analyzer {
    /// Analyzes one capture file. Connections are handed to `sink` as soon as they are finished and
    /// diagnosed (memory follows concurrent connections). Never throws: problems end up in the report.
    public static func analyze(
        path: String, captureIndex: Int = 0, options: AnalysisOptions = AnalysisOptions(),
        progress: ((_ bytesRead: Int64, _ packets: Int) -> Void)? = nil,
        sink: (AnalyzedConnection) -> Void
    ) -> CaptureReport {
        track(path: path, captureIndex: captureIndex, options: options, progress: progress) { finished in
            sink(finished.diagnosed())
        }
    }

    /// Reads and tracks one capture file, handing each connection on as soon as it is finished,
    /// undiagnosed (the caller diagnoses, possibly on another thread). Never throws.
    public static func track(
        path: String, captureIndex: Int = 0, options: AnalysisOptions = AnalysisOptions(),
        progress: ((_ bytesRead: Int64, _ packets: Int) -> Void)? = nil,
        finished: (consuming FinishedConnection) -> Void
    ) -> CaptureReport {
        var report = CaptureReport(file: path)
        let opened: CaptureFile
        do throws(CaptureError) {
            opened = try CaptureFile.open(path: path)
        } catch {
            report.error = error
            return report
        }
        var file = opened
        if let filter = options.filter {
            do throws(CaptureError) {
                try file.setFilter(filter)
            } catch {
                report.error = error
                return report
            }
        }
        var run = Run(options: options, captureIndex: captureIndex)
        // Progress every 65,536 packets, from the packet just tracked. The counter is passed in, not
        // captured: captured by this function it was a boxed variable, and reading it from the one-core
        // loop's closure was a dynamic exclusivity check on every packet (3 % of that thread's instructions).
        var lastProgress = 0
        func reportProgress(number: Int, fileOffset: Int64, last: inout Int) {
            if let progress, number - last >= 65_536 {
                last = number
                progress(fileOffset, number)
            }
        }
        var failure: CaptureError? = nil
        if options.readAhead {
            let result = ReadAhead.forEachRecord(
                of: file, lookahead: Run.lookahead,
                ahead: { frame, stage in run.prefetch(frame, stage: stage) }
            ) { (frame: UnsafePointer<DecodedFrame>) in
                run.consume(frame, report: &report, finished: finished)
                reportProgress(number: frame.pointee.number, fileOffset: frame.pointee.fileOffset, last: &lastProgress)
            }
            failure = result.failure
            report.linkTypes = result.linkTypes
        } else {
            // One thread: decoded a batch at a time, so tracking can still look ahead.
            do throws(CaptureError) {
                try ReadAhead.forEachRecordInline(
                    of: &file, lookahead: Run.lookahead, ahead: { frame, stage in run.prefetch(frame, stage: stage) }
                ) { (frame: UnsafePointer<DecodedFrame>) in
                    run.consume(frame, report: &report, finished: finished)
                    reportProgress(number: frame.pointee.number, fileOffset: frame.pointee.fileOffset, last: &lastProgress)
                }
            } catch {
                failure = error
            }
            report.linkTypes = file.linkTypes
        }
        if let failure {
            report.truncated = true
            report.stoppedAfterPacket = report.packets
            report.warnings.append("\(failure.message); verdicts cover the \(report.packets) packets before the damage")
        }
        run.finish(report: &report, finished: finished)
        return report
    }
}

/// One packet as the analysis needs it: decoded, with its number, time and place in the file (plain
/// data, no frame bytes, so it can be made on a reading thread and handed over).
///
/// Made in place in `ReadAhead`'s chunk slots and read there, so the common case is laid out to be
/// cheap to write and read: a TCP segment from the decoder's fast path is `summary` (with `isFastTCP`),
/// and `other`, the full `DecodedPacket` (a bigger enum, whose payload a switch copies out), is
/// written only for the frames the fast path declines.
public struct DecodedFrame: ReadAheadRecord, Sendable {
    public var number: Int
    public var timestamp: Timestamp
    /// Byte offset in the file after the packet's record (`CapturedPacket.fileOffset`), for progress.
    public var fileOffset: Int64
    /// The snap length cut the frame.
    public var isSnapTruncated: Bool
    /// The frame is a TCP segment in `summary`; otherwise `other` says what it is.
    public var isFastTCP: Bool
    /// The fast path's segment, when `isFastTCP` (else stale: a slot is reused).
    public var summary: TCPPacketSummary
    /// `ConnectionTracker.flowHash(of: summary)`, when `isFastTCP`: computed by the reading thread.
    public var flowHash: UInt32
    /// What the frame is, when not `isFastTCP` (else stale).
    public var other: DecodedPacket

    /// A blank slot (packet 0, not TCP, ignored).
    public init() {
        number = 0
        timestamp = .zero
        fileOffset = 0
        isSnapTruncated = false
        isFastTCP = false
        flowHash = 0
        summary = TCPPacketSummary(
            source: IPAddress(ipv4: 0), destination: IPAddress(ipv4: 0), sourcePort: 0, destinationPort: 0,
            sequenceNumber: SequenceNumber(rawValue: 0), acknowledgmentNumber: SequenceNumber(rawValue: 0), flags: [])
        other = .ignored(.notIP)
    }

    public init(_ packet: CapturedPacket) {
        self.init()
        fill(from: packet)
    }

    /// Overwrites this frame with `packet` decoded. Every field a reader uses is set: `summary` when the
    /// fast path takes the frame, `other` when it does not.
    @inline(__always)
    public mutating func fill(from packet: CapturedPacket) {
        number = packet.number
        timestamp = packet.timestamp
        fileOffset = packet.fileOffset
        isSnapTruncated = packet.bytes.count < packet.wireLength
        // The fast path writes its summary straight into the slot's.
        if PacketDecoder.fastTCP(
            linkType: packet.linkType, bytes: packet.bytes, wireLength: packet.wireLength, into: &summary) {
            isFastTCP = true
            flowHash = ConnectionTracker.flowHash(of: summary)
        } else {
            fillOther(from: packet)
        }
    }

    /// `fill` for the frames the fast path declines, out of line: the general decoder's result is
    /// written into the slot from here.
    @inline(never)
    mutating func fillOther(from packet: CapturedPacket) {
        isFastTCP = false
        other = PacketDecoder.decodeGeneral(linkType: packet.linkType, bytes: packet.bytes, wireLength: packet.wireLength)
    }

    /// What the frame is, as `PacketDecoder.decode` says.
    public var decoded: DecodedPacket { isFastTCP ? .tcp(summary) : other }
}

/// The per-file state of an analysis: decoder counters, tracker, vantage estimate.
public struct Run {
    public var tracker: ConnectionTracker
    var vantage = VantageEstimator()
    let captureIndex: Int
    var unsupportedLinkTypes: Set<UInt32> = []

    public init(options: AnalysisOptions, captureIndex: Int) {
        tracker = ConnectionTracker(configuration: options.tracker)
        self.captureIndex = captureIndex
    }

    /// Decodes and tracks one packet; finished connections are diagnosed and handed to `sink`.
    public mutating func consume(_ packet: CapturedPacket, report: inout CaptureReport, sink: (AnalyzedConnection) -> Void) {
        consume(packet, report: &report) { finished in sink(finished.diagnosed()) }
    }

    /// Decodes and tracks one packet; finished connections are handed to `finished`, undiagnosed.
    /// Inlined into the read loop's closure: one call less per packet.
    @inline(__always)
    public mutating func consume(_ packet: CapturedPacket, report: inout CaptureReport, finished: (consuming FinishedConnection) -> Void) {
        count(time: packet.timestamp, snapTruncated: packet.bytes.count < packet.wireLength, report: &report)
        // Nearly every frame is plain TCP: the decoder's fast path, inlined here, hands its summary
        // straight to the tracker. `decode` says what the other frames are.
        if let summary = PacketDecoder.fastTCP(
            linkType: packet.linkType, bytes: packet.bytes, wireLength: packet.wireLength) {
            track(summary, number: packet.number, time: packet.timestamp, report: &report, finished: finished)
            return
        }
        handle(PacketDecoder.decode(linkType: packet.linkType, bytes: packet.bytes, wireLength: packet.wireLength),
               number: packet.number, time: packet.timestamp, report: &report, finished: finished)
    }

    /// Tracks one packet decoded elsewhere (by `ReadAhead`'s thread, read in its slot: a pointer, as a
    /// value it would be copied out first); finished connections are handed to `finished`, undiagnosed.
    public mutating func consume(_ frame: UnsafePointer<DecodedFrame>, report: inout CaptureReport, finished: (consuming FinishedConnection) -> Void) {
        let number = frame.pointee.number, time = frame.pointee.timestamp
        count(time: time, snapTruncated: frame.pointee.isSnapTruncated, report: &report)
        if frame.pointee.isFastTCP {
            track(frame.pointee.summary, hash: frame.pointee.flowHash, number: number, time: time, report: &report,
                  finished: finished)
        } else {
            handle(frame.pointee.other, number: number, time: time, report: &report, finished: finished)
        }
    }

    /// How far ahead of tracking `prefetch` looks, in packets: far enough for a cache line to come from
    /// memory in time (a few hundred cycles; a packet takes about as much), near enough that the bucket
    /// the far stage asked for is there when the near stage reads it. The decoded frames themselves
    /// (256 bytes each, written on the reading thread's core) are asked for 32 ahead: reading the far
    /// stage's hash from the frame was where the tracking thread then waited.
    public static let lookahead = LookaheadDistances(records: 32, far: 16, near: 8)

    /// Asks the cache for what tracking `frame` will touch: far ahead the index, near ahead the connection.
    /// (`mutating` though it changes nothing: a borrowed `self` would be a copy of the tracker.)
    @inline(__always)
    public mutating func prefetch(_ frame: UnsafePointer<DecodedFrame>, stage: LookaheadStage) {
        guard frame.pointee.isFastTCP else { return }
        if stage == .far {
            tracker.prefetchIndex(hash: frame.pointee.flowHash)
        } else {
            tracker.prefetchConnection(hash: frame.pointee.flowHash)
        }
    }

    @inline(__always)
    func count(time: Timestamp, snapTruncated: Bool, report: inout CaptureReport) {
        report.packets += 1
        if report.firstTime == nil { report.firstTime = time }
        if report.lastTime.map({ time > $0 }) ?? true { report.lastTime = time }
        if snapTruncated { report.snapTruncatedPackets += 1 }
    }

    @inline(__always)
    mutating func handle(
        _ decoded: DecodedPacket, number: Int, time: Timestamp, report: inout CaptureReport,
        finished: (consuming FinishedConnection) -> Void
    ) {
        switch decoded {
        case .tcp(let summary):
            track(summary, number: number, time: time, report: &report, finished: finished)
        case .icmpError(let icmp):
            report.icmpErrors += 1
            tracker.process(icmp: icmp, number: number, time: time)
        case .ignored:
            break  // not TCP (ARP, UDP, later fragments): counted in `packets` only
        case .undecodable(let error):
            report.undecodablePackets += 1
            report.undecodableReasons[error.reasonName, default: 0] += 1
            if case .unsupportedLinkType(let linkType) = error, unsupportedLinkTypes.insert(linkType.rawValue).inserted {
                report.warnings.append("\(report.file): link type \(linkType) is not supported; its packets are skipped (first: packet \(number))")
            }
        }
    }

    /// Tracks one TCP segment; finished connections are handed to `finished`, undiagnosed.
    /// `hash` is `ConnectionTracker.flowHash(of: summary)`, computed here when the caller passes nil.
    mutating func track(
        _ summary: TCPPacketSummary, hash: UInt32? = nil, number: Int, time: Timestamp, report: inout CaptureReport,
        finished: (consuming FinishedConnection) -> Void
    ) {
        report.tcpPackets += 1
        let index = captureIndex
        var estimator = vantage
        let hash = hash ?? ConnectionTracker.flowHash(of: summary)
        tracker.processHandingOver(summary, hash: hash, number: number, time: time) { (slot: consuming FinishedSlot) in
            estimator.add(slot)
            finished(FinishedConnection(slot: slot, captureEnd: time, captureIndex: index))
        }
        vantage = estimator
    }

    /// Ends the input: every connection still open is finished and diagnosed.
    public mutating func finish(report: inout CaptureReport, sink: (AnalyzedConnection) -> Void) {
        finish(report: &report) { finished in sink(finished.diagnosed()) }
    }

    /// Ends the input: every connection still open is finished and handed on, undiagnosed.
    public mutating func finish(report: inout CaptureReport, finished: (consuming FinishedConnection) -> Void) {
        let end = report.lastTime ?? .zero
        let index = captureIndex
        var estimator = vantage
        tracker.finishAllHandingOver { (slot: consuming FinishedSlot) in
            estimator.add(slot)
            finished(FinishedConnection(slot: slot, captureEnd: end, captureIndex: index))
        }
        vantage = estimator
        report.vantage = vantage.estimate
        report.tracker = tracker.statistics
        report.connections = Int(tracker.statistics.connectionsStarted)
        if tracker.statistics.timeWentBackwards > 0 {
            report.warnings.append("\(report.file): timestamps went backwards \(tracker.statistics.timeWentBackwards) times")
        }
        if tracker.statistics.evictions > 0 {
            report.warnings.append("\(report.file): \(tracker.statistics.evictions) connections were evicted to stay under --max-connections \(tracker.configuration.maxConnections)")
        }
    }
}
