// Live capture uses the same `Run` (decoder, tracker, diagnoser) as files, with two differences:
// lingers are short, and between packets the tracker is advanced on a capture clock estimated from
// wall time, so a verdict comes as soon as its linger passes instead of waiting for the next packet.
// libpcap manual: pcap_set_immediate_mode(3PCAP), pcap_set_timeout(3PCAP), pcap_stats(3PCAP).

import ConnectionTracking
import Diagnosis
import PacketCapture
import WireFormat

/// What to capture and how, for `LiveAnalyzer.run`.
public struct LiveCaptureOptions: Sendable {
  /// The interface to open ("eth0", "any").
  public var interface: String
  /// A BPF filter (tcpdump syntax) installed in the kernel.
  public var filter: String?
  /// Snap length, promiscuous mode, buffer size, immediate mode, read timeout.
  public var capture = PcapHandle.LiveOptions()
  /// Timers of the connection table; `LiveAnalyzer.trackerConfiguration` gives the live defaults.
  public var tracker = LiveAnalyzer.trackerConfiguration()
  /// Where to save the raw packets (a pcap file written by libpcap), if anywhere.
  public var writePath: String?
  /// With `writePath`: once a file reaches this many bytes, continue in `path.1`, `path.2`, ...
  public var rotateBytes: Int64?
  /// Stop after this much wall time.
  public var duration: Duration?

  public init(interface: String) { self.interface = interface }
}

/// Why a live capture stopped.
public enum LiveStopReason: String, Sendable {
  /// `shouldStop` answered true (a signal, or enough verdicts).
  case requested
  /// `LiveCaptureOptions.duration` passed.
  case durationElapsed = "duration_elapsed"
  /// libpcap reported a read error (the interface went away, ...); `LiveReport.error` says which.
  case readError = "read_error"
}

/// Facts about a finished live capture.
public struct LiveReport: Sendable {
  /// Packet and decoder counters, warnings, tracker statistics (as for a file; `file` is the interface).
  public var capture: CaptureReport
  /// libpcap's counters (received, dropped by the kernel, dropped by the interface); nil if unavailable.
  public var statistics: PcapHandle.Statistics?
  /// Connections whose ending was not seen when the capture stopped (their verdicts are `still_open`).
  public var stillOpen = 0
  /// Files written with `writePath`, in order.
  public var writtenFiles: [String] = []
  public var stopReason = LiveStopReason.requested
  /// The read error that ended the capture, with `.readError`.
  public var error: CaptureError?
  /// Wall time from the first read to the stop.
  public var elapsed: Duration = .zero

  public init(capture: CaptureReport) { self.capture = capture }

  /// Whether libpcap says the kernel dropped packets: verdicts may then be wrong (a lost FIN or RST
  /// changes the story).
  public var kernelDroppedPackets: Bool { (statistics?.droppedByKernel ?? 0) > 0 }
}

/// The engine of a live capture without libpcap: a `Run` fed with packets and, between packets, ticked
/// with wall time so lingers and idle timeouts expire on time. Tests drive it with synthetic packets and
/// a fast-forwarded wall clock.
public struct LiveSession {
  public private(set) var run: Run
  public internal(set) var report: CaptureReport
  var lastPacketTime: Timestamp?
  var lastPacketWall: Int64 = 0
  /// Subtracted from the estimated capture clock, so a packet read right after a tick is not older
  /// than the clock (which the tracker would count as time going backwards).
  static let clockMargin: Int64 = 10_000_000

  public init(source: String, configuration: TrackerConfiguration) {
    var options = AnalysisOptions()
    options.tracker = configuration
    run = Run(options: options, captureIndex: 0)
    report = CaptureReport(file: source)
  }

  /// Connections tracked now.
  public var activeCount: Int { run.tracker.activeCount }
  /// The tracker's counters (connections started and finished, peak concurrent, evictions).
  public var trackerStatistics: TrackerStatistics { run.tracker.statistics }

  /// Decodes and tracks one packet read at monotonic wall time `wallNanoseconds`.
  public mutating func consume(
    _ packet: CapturedPacket, wallNanoseconds: Int64, sink: (AnalyzedConnection) -> Void
  ) {
    run.consume(packet, report: &report, sink: sink)
    if lastPacketTime.map({ packet.timestamp >= $0 }) ?? true {
      lastPacketTime = packet.timestamp
      lastPacketWall = wallNanoseconds
    }
  }

  /// Moves the capture clock to the last packet's time plus the wall time since it was read, and
  /// hands on connections whose linger or idle timeout passed by then.
  public mutating func tick(wallNanoseconds: Int64, sink: (AnalyzedConnection) -> Void) {
    guard let last = lastPacketTime else { return }
    let elapsed = wallNanoseconds &- lastPacketWall &- Self.clockMargin
    guard elapsed > 0 else { return }
    run.advance(to: last.advanced(byNanoseconds: elapsed), sink: sink)
  }

  /// Ends the capture: every connection still tracked is diagnosed and handed on, as at the end of a file.
  /// Returns how many of them had no known ending (still open).
  public mutating func finish(sink: (AnalyzedConnection) -> Void) -> Int {
    var stillOpen = 0
    run.finish(report: &report) { analyzed in
      if !analyzed.connection.endingKnown { stillOpen += 1 }
      sink(analyzed)
    }
    return stillOpen
  }
}

extension Run {
  /// Finishes the connections whose linger or idle time has passed by `now` (capture time), diagnoses
  /// them and hands them to `sink`. For live captures between packets; files never need it.
  public mutating func advance(to now: Timestamp, sink: (AnalyzedConnection) -> Void) {
    var finished: [Connection] = []
    tracker.advance(to: now) { finished.append($0) }
    for connection in finished {
      vantage.add(connection)
      let context = CaptureContext(connection, captureEnd: now)
      let verdict = Diagnoser.diagnose(connection, context: context)
      sink(AnalyzedConnection(connection: connection, verdict: verdict, captureIndex: captureIndex))
    }
  }
}

/// Captures from an interface and hands on each connection's verdict as soon as its ending is known.
public enum LiveAnalyzer {
  /// Live timers: a RST or refusal is final after 0.4 s, a close after both FINs are acknowledged
  /// after 0.4 s, and expired connections are looked for every 100 ms of capture time.
  public static func trackerConfiguration(
    idleTimeout: Duration64 = .seconds(7500), maxConnections: Int = 1_000_000
  ) -> TrackerConfiguration {
    var configuration = TrackerConfiguration()
    configuration.resetLinger = .milliseconds(400)
    configuration.closeLinger = .milliseconds(400)
    configuration.sweepInterval = .milliseconds(100)
    configuration.idleTimeout = idleTimeout
    configuration.maxConnections = maxConnections
    return configuration
  }

  /// Opens `options.interface` (`pcap_create` + `pcap_activate`, immediate mode), installs the filter,
  /// opens the `--write` file, then reads until `shouldStop` answers true (asked after every packet
  /// and every read timeout, at least every 100 ms), the duration passes, or a read error. Every
  /// verdict goes to `sink` when it is known; at the stop the connections still tracked go too.
  ///
  /// Throws only before capturing starts: `.permissionDenied`, `.noSuchDevice`, `.badFilter`,
  /// `.writeFailed`, `.other`. Afterwards problems end up in the report.
  public static func run(
    options: LiveCaptureOptions,
    onStart: (_ linkType: LinkType) -> Void = { _ in },
    shouldStop: () -> Bool,
    sink: (AnalyzedConnection) -> Void
  ) throws(CaptureError) -> LiveReport {
    var handle = try PcapHandle.openLive(interface: options.interface, options: options.capture)
    if let filter = options.filter { try handle.setFilter(filter) }
    let linkType = handle.linkType
    let snapLength = Int32(clamping: handle.snapLength)
    var writer = RotatingDumper(
      linkType: linkType, snapLength: snapLength, rotateBytes: options.rotateBytes)
    if let path = options.writePath { try writer.open(path: path, through: handle) }
    var session = LiveSession(source: options.interface, configuration: options.tracker)
    session.report.linkTypes = [linkType]
    var result = LiveReport(capture: session.report)
    let clock = ContinuousClock()
    let started = clock.now
    let deadline = options.duration.map { started.advanced(by: $0) }
    func wall() -> Int64 {
      let (seconds, attoseconds) = started.duration(to: clock.now).components
      return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }
    var stopReason = LiveStopReason.requested
    func control() -> PcapHandle.LoopControl {
      if shouldStop() { return .stop }
      if let deadline, clock.now >= deadline {
        stopReason = .durationElapsed
        return .stop
      }
      return .proceed
    }
    onStart(linkType)
    do throws(CaptureError) {
      try handle.forEachLivePacket(
        waitMilliseconds: options.capture.readTimeoutMilliseconds,
        onTimeout: {
          session.tick(wallNanoseconds: wall(), sink: sink)
          writer.flush()
          return control()
        },
        { packet in
          session.consume(packet, wallNanoseconds: wall(), sink: sink)
          writer.write(packet)
          return control()
        })
    } catch {
      stopReason = .readError
      result.error = error
    }
    result.writtenFiles = writer.close()
    if let failure = writer.failure { session.report.warnings.append(failure) }
    result.statistics = try? handle.statistics()
    result.stillOpen = session.finish(sink: sink)
    result.capture = session.report
    result.stopReason = stopReason
    result.elapsed = started.duration(to: clock.now)
    return result
  }
}

/// The `--write` files: libpcap dumpers, continued in `path.1`, `path.2`, ... past a size limit.
struct RotatingDumper: ~Copyable {
  var current: PcapDumper? = nil
  var base = ""
  var written: [String] = []
  /// Why writing stopped early (a rotation failed), for the report's warnings.
  var failure: String?
  let linkType: LinkType
  let snapLength: Int32
  let rotateBytes: Int64?

  init(linkType: LinkType, snapLength: Int32, rotateBytes: Int64?) {
    self.linkType = linkType
    self.snapLength = snapLength
    self.rotateBytes = rotateBytes
  }

  /// Opens the first file with the capture handle's own link type and snap length.
  mutating func open(path: String, through handle: borrowing PcapHandle) throws(CaptureError) {
    current = try handle.openDumper(path: path)
    base = path
    written.append(path)
  }

  mutating func write(_ packet: CapturedPacket) {
    var isFull = false
    switch current {
    case .some(let dumper):
      dumper.write(packet)
      if let rotateBytes, dumper.bytesWritten >= rotateBytes { isFull = true }
    case .none:
      return
    }
    guard isFull else { return }
    current = nil  // closes and flushes the full file before the next one starts
    let path = "\(base).\(written.count)"
    do throws(CaptureError) {
      current = try PcapDumper.create(path: path, linkType: linkType, snapLength: snapLength)
      written.append(path)
    } catch {
      failure =
        "cannot continue writing in '\(path)': \(error.message); packets after '\(written.last ?? base)' were not saved"
    }
  }

  func flush() {
    switch current {
    case .some(let dumper): dumper.flush()
    case .none: break
    }
  }

  /// Closes the current file; returns every file written, in order.
  mutating func close() -> [String] {
    current = nil
    return written
  }
}
