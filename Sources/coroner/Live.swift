import Analysis
import ArgumentParser
import Foundation
import PacketCapture
import Reporting
import Synchronization
import WireFormat

enum LiveFormat: String, ExpressibleByArgument, CaseIterable {
  case text, ndjson
}

/// Set by SIGINT/SIGTERM; the capture loop looks at it after every packet and read timeout (100 ms).
private let stopRequested = Atomic<Bool>(false)

struct Live: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Capture on an interface and print each TCP connection's verdict the moment it ends.",
    discussion: """
      Opens the interface with libpcap in immediate mode and runs the same analysis as `analyze`: a \
      reset or refusal is reported about 0.5 s after the RST, a graceful close 0.5 s after both FINs \
      are acknowledged, silent connections after --idle-timeout. Ctrl-C (SIGINT) or SIGTERM stops: the \
      connections still open are reported, a summary goes to stderr (connections by cause, packets \
      received and dropped), and the exit code is 0. Needs root, or the capabilities \
      (setcap cap_net_raw,cap_net_admin=eip <path to coroner>). `coroner interfaces` lists the interfaces.

      Examples:
        coroner live -i eth0
        coroner live -i eth0 -f 'tcp port 443' --only abnormal
        coroner live -i any --format ndjson | jq -c '{client, server, cause}'
        coroner live -i eth0 --write trace.pcap --rotate-mb 100 --duration 3600
        coroner analyze trace.pcap        # the same verdicts, offline

      Exit codes:
        0   stopped by SIGINT/SIGTERM, --duration or --count
        2   bad --filter, or the --write file cannot be created
        3   the capture stopped on a read error (the interface went away); verdicts cover what was read
        5   the interface could not be opened (no permission, no such interface)
        64  invalid command line
      """
  )

  @Option(
    name: .shortAndLong,
    help: ArgumentHelp("The interface to capture on (see `coroner interfaces`).", valueName: "name")
  )
  var interface: String

  @Option(
    name: .shortAndLong,
    help: ArgumentHelp("A BPF filter in tcpdump syntax, run in the kernel.", valueName: "expr"))
  var filter: String?

  @Option(
    help: ArgumentHelp(
      "Bytes captured per packet (headers are enough for verdicts).", valueName: "bytes"))
  var snaplen: Int32 = 262_144

  @Flag(help: "Put the interface in promiscuous mode.")
  var promiscuous = false

  @Option(
    name: .customLong("buffer-size"),
    help: ArgumentHelp(
      "Kernel capture buffer in KiB (as tcpdump -B); raise it if packets are dropped.",
      valueName: "KiB"))
  var bufferSize: Int?

  @Option(help: ArgumentHelp("Stop after this many seconds.", valueName: "seconds"))
  var duration: Double?

  @Option(help: ArgumentHelp("Stop after printing this many verdicts.", valueName: "n"))
  var count: Int?

  @Option(
    help:
      "Output format: text (one block per connection) or ndjson (one JSON object per line, flushed at once)."
  )
  var format: LiveFormat = .text

  @Option(
    help:
      "Which connections to print: all, or abnormal (everything but graceful closes and still-open ones)."
  )
  var only: Selection = .all

  @Option(
    help: ArgumentHelp(
      "Seconds of silence after which a connection is finished as idle.", valueName: "seconds"))
  var idleTimeout: Double = 7500

  @Option(
    help:
      "At most this many connections are tracked at once; the longest idle are evicted beyond it.")
  var maxConnections: Int = 1_000_000

  @Option(
    help: ArgumentHelp(
      "Also save the raw packets to this pcap file (libpcap's dumper).", valueName: "file"))
  var write: String?

  @Option(
    name: .customLong("rotate-mb"),
    help: ArgumentHelp("With --write: continue in FILE.1, FILE.2, ... every N MB.", valueName: "N"))
  var rotateMB: Int?

  @Option(help: "Colors in text output: auto (when stdout is a terminal), always or never.")
  var color: ColorChoice = .auto

  func validate() throws {
    guard idleTimeout > 0 else { throw ValidationError("--idle-timeout must be positive") }
    guard maxConnections >= 16 else {
      throw ValidationError("--max-connections must be at least 16")
    }
    guard snaplen >= 64 else {
      throw ValidationError("--snaplen must be at least 64 (Ethernet + IP + TCP headers)")
    }
    if let duration {
      guard duration > 0 else { throw ValidationError("--duration must be positive") }
    }
    if let count { guard count > 0 else { throw ValidationError("--count must be positive") } }
    if let bufferSize {
      guard bufferSize > 0, bufferSize <= 1 << 21 else {
        throw ValidationError("--buffer-size must be 1...2097152 KiB")
      }
    }
    if let rotateMB {
      guard rotateMB > 0 else { throw ValidationError("--rotate-mb must be positive") }
      guard write != nil else { throw ValidationError("--rotate-mb needs --write FILE") }
    }
  }

  func run() throws {
    var options = LiveCaptureOptions(interface: interface)
    options.filter = filter
    options.capture.snapLength = snaplen
    options.capture.promiscuous = promiscuous
    options.capture.bufferSize = bufferSize.map { Int32($0 * 1024) }
    options.tracker = LiveAnalyzer.trackerConfiguration(
      idleTimeout: .seconds(idleTimeout), maxConnections: maxConnections)
    options.writePath = write
    options.rotateBytes = rotateMB.map { Int64($0) * 1_000_000 }
    options.duration = duration.map { .milliseconds(Int64($0 * 1000)) }

    installStopHandlers()
    let stdout = StandardOutput()
    let useColor =
      color == .always
      || (color == .auto && isatty(STDOUT_FILENO) == 1
        && ProcessInfo.processInfo.environment["NO_COLOR"] == nil)
    let text = TextReport(color: useColor)
    var json = JSONReport(style: .lines, emitBytes: stdout.write(bytes:))
    var summary = Summary()
    var printed = 0
    let limit = count ?? .max
    let report: LiveReport
    do throws(CaptureError) {
      report = try LiveAnalyzer.run(
        options: options,
        onStart: { linkType in
          Diagnostics.note("capturing on \(interface) (\(linkType)); Ctrl-C to stop")
        },
        shouldStop: { stopRequested.load(ordering: .relaxed) || printed >= limit },
        sink: { analyzed in
          // Each row is rendered, written and dropped: nothing accumulates per connection.
          let row = ConnectionRow(analyzed, captureFile: interface)
          summary.add(row)
          guard only == .all || row.isAbnormal, printed < limit else { return }
          printed += 1
          switch format {
          case .ndjson: json.add(row)
          case .text: stdout.write(text.block(row) + "\n")
          }
        })
    } catch {
      throw failure(error)
    }
    printSummary(report, summary: summary)
    if report.error != nil { throw ExitCode(ExitStatus.damagedInput.rawValue) }
  }

  /// SIGINT and SIGTERM only set a flag; the read loop sees it within one read timeout and stops cleanly.
  /// They are unblocked too: a blocked mask is inherited across exec (test runners and some supervisors
  /// start children with SIGINT blocked), and a blocked SIGINT would never reach the handler.
  func installStopHandlers() {
    signal(SIGINT) { _ in stopRequested.store(true, ordering: .relaxed) }
    signal(SIGTERM) { _ in stopRequested.store(true, ordering: .relaxed) }
    var stopSignals = sigset_t()
    sigemptyset(&stopSignals)
    sigaddset(&stopSignals, SIGINT)
    sigaddset(&stopSignals, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
  }

  /// The message and exit code for a capture that could not start.
  func failure(_ error: CaptureError) -> ExitCode {
    switch error.kind {
    case .permissionDenied:
      let path =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? CommandLine.arguments[0]
      Diagnostics.error(
        """
        no permission to capture on '\(interface)' (libpcap: \(error.message)).
          Run as root (sudo), or grant the capture capabilities once:
            sudo setcap cap_net_raw,cap_net_admin=eip \(path)
          `coroner interfaces` lists the interfaces.
        """)
      return ExitCode(ExitStatus.cannotCapture.rawValue)
    case .noSuchDevice:
      let names = (try? PcapHandle.devices().map(\.name)) ?? []
      let known = names.isEmpty ? "" : "; interfaces: \(names.joined(separator: ", "))"
      Diagnostics.error(
        "no interface named '\(interface)'\(known) (`coroner interfaces` shows their addresses)")
      return ExitCode(ExitStatus.cannotCapture.rawValue)
    case .badFilter:
      Diagnostics.error(error.message)
      return ExitCode(ExitStatus.unreadableInput.rawValue)
    case .writeFailed:
      Diagnostics.error("cannot write '\(write ?? "")': \(error.message)")
      return ExitCode(ExitStatus.unreadableInput.rawValue)
    default:
      Diagnostics.error(
        "cannot capture on '\(interface)': \(error.message) (`coroner interfaces` lists the interfaces)"
      )
      return ExitCode(ExitStatus.cannotCapture.rawValue)
    }
  }

  /// The closing summary on stderr: why it stopped, connections by cause, still open, libpcap's counters.
  func printSummary(_ report: LiveReport, summary: Summary) {
    let seconds = String(
      format: "%.1f",
      Double(report.elapsed.components.seconds) + Double(report.elapsed.components.attoseconds)
        / 1e18)
    let why: String
    switch report.stopReason {
    case .requested:
      why =
        stopRequested.load(ordering: .relaxed)
        ? "stopped by signal" : "--count \(count ?? 0) reached"
    case .durationElapsed: why = "--duration reached"
    case .readError: why = "capture failed: \(report.error?.message ?? "read error")"
    }
    var lines = ["\(why) after \(seconds) s on \(interface)"]
    let causes = summary.byCause.sorted {
      $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key
    }
    .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    lines.append("connections: \(summary.connections)\(causes.isEmpty ? "" : " (\(causes))")")
    lines.append("still open at the stop: \(report.stillOpen)")
    if let s = report.statistics {
      lines.append(
        "packets: \(s.received) received, \(s.droppedByKernel) dropped by the kernel, \(s.droppedByInterface) dropped by the interface"
      )
    } else {
      lines.append(
        "packets: \(report.capture.packets) read (libpcap has no counters for this interface)")
    }
    if !report.writtenFiles.isEmpty {
      lines.append("written: \(report.writtenFiles.joined(separator: ", "))")
    }
    for line in lines { Diagnostics.note(line) }
    if report.kernelDroppedPackets {
      Diagnostics.warning(
        "the kernel dropped packets; verdicts may be wrong (a lost FIN or RST changes the story). Raise --buffer-size or narrow --filter."
      )
    }
    for warning in report.capture.warnings { Diagnostics.warning(warning) }
  }
}

extension Diagnostics {
  /// An informational line on stderr (stdout carries only verdicts, so `| jq` keeps working).
  static func note(_ message: String) {
    FileHandle.standardError.write(Data("coroner: \(message)\n".utf8))
  }
}
