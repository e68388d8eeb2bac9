// `coroner live` end to end: real kernels in two network namespaces joined by a veth pair (addresses from
// 198.18.0.0/15 only, no routes out), and an in-process churn run of the live engine with a fast-forwarded
// clock. The namespace tests need root and `ip`; without them they are skipped with a printed reason.

import Analysis
import ConnectionTracking
import Foundation
import PacketCapture
import Synchronization
import TestSupport
import Testing
import WireFormat

// MARK: - Helpers

/// Lines a child process writes, each with the wall time it was read, for "within 2 s" checks.
final class LineCollector: Sendable {
  private let state = Mutex<(lines: [(text: String, time: Double)], partial: String)>(([], ""))

  init(_ pipe: Pipe) {
    pipe.fileHandleForReading.readabilityHandler = { [self] handle in
      let data = handle.availableData
      let now = Date().timeIntervalSince1970
      if data.isEmpty {
        handle.readabilityHandler = nil
        return
      }
      state.withLock { s in
        s.partial += String(decoding: data, as: UTF8.self)
        while let newline = s.partial.firstIndex(of: "\n") {
          s.lines.append((String(s.partial[..<newline]), now))
          s.partial = String(s.partial[s.partial.index(after: newline)...])
        }
      }
    }
  }

  var lines: [(text: String, time: Double)] { state.withLock { $0.lines } }
  var text: String {
    state.withLock { s in s.lines.map(\.text).joined(separator: "\n") + "\n" + s.partial }
  }

  /// The first line satisfying `predicate`, waiting up to `timeout` seconds for it.
  func wait(timeout: Double, _ predicate: (String) -> Bool) -> (text: String, time: Double)? {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
      if let hit = lines.first(where: { predicate($0.text) }) { return hit }
      Thread.sleep(forTimeInterval: 0.02)
    } while Date() < deadline
    return lines.first { predicate($0.text) }
  }
}

/// A started child process with its output collected line by line.
struct Child {
  let process: Process
  let stdout: LineCollector
  let stderr: LineCollector

  static func start(_ executable: String, _ arguments: [String]) throws -> Child {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let child = Child(process: process, stdout: LineCollector(out), stderr: LineCollector(err))
    try process.run()
    return child
  }

  /// Waits up to `timeout` seconds for the exit; kills the process if it is still running then.
  @discardableResult
  func waitForExit(timeout: Double) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      return false
    }
    process.waitUntilExit()
    return true
  }
}

/// Two network namespaces joined by a veth pair: A 198.18.100.1/24, B 198.18.100.2/24, no other routes.
/// Deleted on `tearDown` (which also removes the veth pair).
struct NamespacePair {
  static let ipCommand = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }
  static let python = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(
    separator: ":"
  )
  .map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }

  /// Why the namespace tests cannot run here, or nil.
  static var skipReason: String? {
    if geteuid() != 0 { return "not running as root (network namespaces need CAP_SYS_ADMIN)" }
    if ipCommand == nil { return "the `ip` command (iproute2) is missing" }
    if python == nil { return "python3 is missing" }
    if Paths.coronerExecutable == nil { return "the coroner executable is not built" }
    return nil
  }

  /// Evaluated by the `.enabled(if:)` traits; prints why a test is skipped.
  static func canRun(_ test: String) -> Bool {
    guard let reason = skipReason else { return true }
    print("LiveTests: SKIPPED '\(test)': \(reason)")
    return false
  }

  let prefix: String
  var a: String { prefix + "a" }
  var b: String { prefix + "b" }
  var vethA: String { prefix + "0" }
  var vethB: String { prefix + "1" }
  static let addressA = "198.18.100.1"
  static let addressB = "198.18.100.2"

  init(tag: String) {
    // Interface names are at most 15 characters: "crnlive" + tag (<= 4) + 2 hex digits + 1.
    prefix = "crnlive" + tag + String(format: "%02x", getpid() & 0xff)
  }

  @discardableResult
  static func ip(_ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try #require(ipCommand))
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
  }

  func setUp() throws {
    tearDown()  // leftovers of an interrupted earlier run
    let steps: [[String]] = [
      ["netns", "add", a], ["netns", "add", b],
      ["link", "add", vethA, "type", "veth", "peer", "name", vethB],
      ["link", "set", vethA, "netns", a], ["link", "set", vethB, "netns", b],
      ["-n", a, "addr", "add", "\(Self.addressA)/24", "dev", vethA],
      ["-n", b, "addr", "add", "\(Self.addressB)/24", "dev", vethB],
      ["-n", a, "link", "set", "lo", "up"], ["-n", b, "link", "set", "lo", "up"],
      ["-n", a, "link", "set", vethA, "up"], ["-n", b, "link", "set", vethB, "up"],
    ]
    for step in steps {
      let status = try Self.ip(step)
      try #require(status == 0, "ip \(step.joined(separator: " ")) failed with \(status)")
    }
  }

  func tearDown() {
    _ = try? Self.ip(["netns", "del", a])
    _ = try? Self.ip(["netns", "del", b])
    _ = try? Self.ip(["link", "del", vethA])  // only if it never moved into A
  }

  /// Runs `command` inside namespace `namespace`.
  func start(in namespace: String, _ command: [String]) throws -> Child {
    try Child.start(try #require(Self.ipCommand), ["netns", "exec", namespace] + command)
  }

  /// Starts one of the `LiveTests.peer` roles with python3 inside `namespace`.
  func peer(in namespace: String, _ role: String, port: Int) throws -> Child {
    try start(
      in: namespace,
      [try #require(Self.python), "-c", LiveTests.peer, role, Self.addressA, String(port)])
  }
}

// MARK: - Tests

@Suite("coroner live")
struct LiveTests {
  /// The applications: servers in namespace A (where coroner captures), clients in B. Each client prints
  /// "event <what> <unix time>" the moment its application learns how the connection ended.
  static let peer = #"""
    import socket, sys, time
    role, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    def event(what):
        print("event %s %.6f" % (what, time.time()), flush=True)
    def listener(rcvbuf=None):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.bind((host, port))
        s.listen(4)
        print("ready", flush=True)
        return s
    if role == "server-unread":      # small receive buffer, never reads, closes: RST+ACK
        c, _ = listener(rcvbuf=4096).accept()
        time.sleep(0.5)
        c.close()
    elif role == "server-graceful":  # reads to EOF, then closes: FIN
        c, _ = listener().accept()
        while c.recv(65536):
            pass
        c.close()
    elif role == "client-refused":
        c = socket.socket()
        try:
            c.connect((host, port))
        except ConnectionRefusedError:
            event("ECONNREFUSED")
    elif role == "client-unread":
        c = socket.create_connection((host, port))
        c.sendall(b"x" * 1000)
        try:
            c.recv(100)
        except ConnectionResetError:
            event("ECONNRESET")
        c.close()
    elif role == "client-graceful":
        c = socket.create_connection((host, port))
        c.sendall(b"hello " * 10)
        c.shutdown(socket.SHUT_WR)
        while c.recv(65536):
            pass
        event("EOF")
        c.close()
    """#

  struct Scenario: Sendable, CustomStringConvertible {
    var name: String
    var port: Int
    var server: String?
    var client: String
    var cause: String
    var description: String { "\(name) (port \(port)) -> \(cause)" }
  }

  static let scenarios = [
    Scenario(
      name: "refused connect", port: 7001, server: nil, client: "client-refused", cause: "refused"),
    Scenario(
      name: "unread data then close", port: 7002, server: "server-unread", client: "client-unread",
      cause: "unread_data_on_close"),
    Scenario(
      name: "graceful close", port: 7003, server: "server-graceful", client: "client-graceful",
      cause: "graceful_close"),
  ]

  /// (client, server, cause) of a JSON connection object.
  static func verdict(_ object: [String: Any]) -> String? {
    guard let client = object["client"] as? [String: Any],
      let server = object["server"] as? [String: Any],
      let cause = object["cause"] as? String
    else { return nil }
    return
      "\(client["ip"] ?? "?"):\(client["port"] ?? "?") -> \(server["ip"] ?? "?"):\(server["port"] ?? "?") \(cause)"
  }

  static func json(_ line: String) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
  }

  @Test(
    "verdicts within 2 s of each ending, a clean SIGINT, and the --write file gives the same verdicts offline",
    .enabled(if: NamespacePair.canRun("live verdicts")), .timeLimit(.minutes(1)))
  func liveVerdicts() throws {
    let lab = NamespacePair(tag: "v")
    defer { lab.tearDown() }
    try lab.setUp()
    let written = URL(fileURLWithPath: TestScratch.path("live.pcap"))
    let coroner = try #require(Paths.coronerExecutable).path
    let live = try lab.start(
      in: lab.a, [coroner, "live", "-i", lab.vethA, "--format", "ndjson", "--write", written.path])
    defer { if live.process.isRunning { kill(live.process.processIdentifier, SIGKILL) } }
    try #require(
      live.stderr.wait(timeout: 10) { $0.contains("capturing on") } != nil,
      "coroner live did not start: \(live.stderr.text)")

    for scenario in Self.scenarios {
      var server: Child? = nil
      if let role = scenario.server {
        let started = try lab.peer(in: lab.a, role, port: scenario.port)
        try #require(
          started.stdout.wait(timeout: 5) { $0 == "ready" } != nil, "\(scenario): server not ready")
        server = started
      }
      let client = try lab.peer(in: lab.b, scenario.client, port: scenario.port)
      #expect(client.waitForExit(timeout: 10), "\(scenario): client hung")
      server?.waitForExit(timeout: 5)
      let event = try #require(
        client.stdout.lines.first { $0.text.hasPrefix("event ") },
        "\(scenario): the client saw no ending: \(client.stdout.text) \(client.stderr.text)")
      let eventTime = try #require(Double(event.text.split(separator: " ")[2]))
      let line = live.stdout.wait(timeout: 3) { line in
        guard let object = Self.json(line), let server = object["server"] as? [String: Any] else {
          return false
        }
        return server["port"] as? Int == scenario.port
      }
      let verdictLine = try #require(
        line, "\(scenario): no verdict line; stdout: \(live.stdout.text)")
      let object = try #require(Self.json(verdictLine.text))
      #expect(object["cause"] as? String == scenario.cause, "\(scenario): \(verdictLine.text)")
      let delay = verdictLine.time - eventTime
      print(
        "LiveTests: \(scenario.name): \(event.text.split(separator: " ")[1]) at the client, verdict "
          + "\(object["cause"] ?? "?") \(String(format: "%.2f", delay)) s later")
      #expect(delay < 2, "\(scenario): verdict \(delay) s after the event")
    }

    kill(live.process.processIdentifier, SIGINT)
    #expect(live.waitForExit(timeout: 5), "coroner live did not stop on SIGINT")
    #expect(live.process.terminationReason == .exit)
    #expect(live.process.terminationStatus == 0)
    let summary = live.stderr.text
    print("LiveTests: summary on stderr:\n" + summary)
    #expect(summary.contains("stopped by signal"))
    #expect(summary.contains("connections: 3"))
    for scenario in Self.scenarios {
      #expect(summary.contains("\(scenario.cause) 1"), "summary: \(summary)")
    }
    #expect(summary.contains("still open at the stop: 0"))
    #expect(
      summary.contains("received") && summary.contains("dropped by the kernel")
        && summary.contains("dropped by the interface"))

    let liveVerdicts = live.stdout.lines.compactMap { Self.json($0.text).flatMap(Self.verdict) }
      .sorted()
    #expect(liveVerdicts.count == 3)
    let offline = try runCoroner(["analyze", "--format", "json", written.path])
    #expect(offline.status == 0, "\(offline.stderr)")
    let document = try #require(Self.json(offline.stdout))
    let offlineVerdicts = ((document["connections"] as? [[String: Any]]) ?? []).compactMap(
      Self.verdict
    ).sorted()
    #expect(liveVerdicts == offlineVerdicts)
    print("LiveTests: live and offline verdicts:\n  " + offlineVerdicts.joined(separator: "\n  "))
  }

  @Test(
    "no permission: exit 5 naming root, setcap and `coroner interfaces`; a missing interface names those that exist",
    .enabled(
      if: NamespacePair.canRun("open failures")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")),
    .timeLimit(.minutes(1)))
  func openFailures() throws {
    let lab = NamespacePair(tag: "p")
    defer { lab.tearDown() }
    try lab.setUp()
    let coroner = try #require(Paths.coronerExecutable).path
    let missing = try lab.start(in: lab.a, [coroner, "live", "-i", "crnnosuch0"])
    missing.waitForExit(timeout: 10)
    #expect(missing.process.terminationStatus == 5)
    #expect(missing.stderr.text.contains("no interface named 'crnnosuch0'"))
    #expect(
      missing.stderr.text.contains(lab.vethA) && missing.stderr.text.contains("lo"),
      "\(missing.stderr.text)")

    let unprivileged = try lab.start(
      in: lab.a,
      [
        "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
        coroner, "live", "-i", lab.vethA,
      ])
    unprivileged.waitForExit(timeout: 10)
    let message = unprivileged.stderr.text
    if unprivileged.process.terminationStatus == 126
      || message.contains("Permission denied") && !message.contains("coroner:")
    {
      print("LiveTests: SKIPPED the permission half: uid 65534 cannot execute \(coroner)")
      return
    }
    #expect(unprivileged.process.terminationStatus == 5, "\(message)")
    #expect(message.contains("no permission"))
    #expect(message.contains("setcap cap_net_raw,cap_net_admin=eip"))
    #expect(message.contains("coroner interfaces"))
  }

  @Test("`coroner interfaces` lists devices with addresses and state")
  func interfaces() throws {
    let r = try runCoroner(["interfaces"])
    #expect(r.status == 0)
    let loopback = try #require(
      r.stdout.split(separator: "\n").first { $0.hasPrefix("lo ") }, "\(r.stdout)")
    #expect(loopback.contains("loopback") && loopback.contains("127.0.0.1"))
    #expect(loopback.contains("up"))
  }

  @Test(
    "`coroner interfaces` goes through PcapHandle.devices: every device has a name, lo has its addresses"
  )
  func devices() throws {
    let devices = try PcapHandle.devices()
    #expect(devices.allSatisfy { !$0.name.isEmpty })
    let lo = try #require(devices.first { $0.name == "lo" })
    #expect(lo.isLoopback && lo.isUp)
    #expect(lo.addresses.contains(IPAddress("127.0.0.1")!))
  }

  // MARK: Churn

  /// One synthetic connection of the churn run, as frames with their offsets in seconds from its start.
  static func churnConnection(_ i: Int) -> (
    kind: String, frames: [(offset: Double, bytes: [UInt8])]
  ) {
    let client = "198.18.\(1 + i / 60_000 % 200).\(1 + i % 250)"
    let server = "198.19.0.2"
    let port = UInt16(20_000 + i % 40_000)
    func c(_ flags: TCPFlags, _ seq: UInt32, _ ack: UInt32 = 0, payload: Int = 0) -> [UInt8] {
      FrameBuilder.tcp(
        src: client, sport: port, dst: server, dport: 443, seq: seq, ack: ack, flags: flags,
        payload: .count(payload))
    }
    func s(_ flags: TCPFlags, _ seq: UInt32, _ ack: UInt32 = 0, payload: Int = 0) -> [UInt8] {
      FrameBuilder.tcp(
        src: server, sport: 443, dst: client, dport: port, seq: seq, ack: ack, flags: flags,
        payload: .count(payload))
    }
    let handshake: [(Double, [UInt8])] = [
      (0, c(.syn, 1000)), (0.001, s([.syn, .ack], 5000, 1001)),
      (0.002, c(.ack, 1001, 5001)),
    ]
    if i % 100 == 99 { return ("idle", handshake) }  // goes silent: finished by the idle timeout
    switch i % 3 {
    case 0:
      return (
        "graceful",
        handshake + [
          (0.010, c([.psh, .ack], 1001, 5001, payload: 100)), (0.011, s(.ack, 5001, 1101)),
          (0.020, c([.fin, .ack], 1101, 5001)), (0.021, s([.fin, .ack], 5001, 1102)),
          (0.022, c(.ack, 1102, 5002)),
        ]
      )
    case 1:
      return ("refused", [(0, c(.syn, 1000)), (0.001, s([.rst, .ack], 0, 1001))])
    default:
      return (
        "reset",
        handshake + [
          (0.010, c([.psh, .ack], 1001, 5001, payload: 1000)), (0.011, s(.ack, 5001, 2001)),
          (0.200, s([.rst, .ack], 5001, 2001)),
        ]
      )
    }
  }

  @Test(
    "an hour of churn at 10 connections/s: tracked connections stay flat while the total grows 100x and more"
  )
  func churn() throws {
    let start = Timestamp(seconds: 1_800_000_000, nanoseconds: 0)
    let hour = 3600.0
    let rate = 10.0
    let total = Int(hour * rate)
    var configuration = LiveAnalyzer.trackerConfiguration(idleTimeout: .seconds(60))
    configuration.maxConnections = 100_000
    var session = LiveSession(source: "churn", configuration: configuration)

    // Every packet of the hour, in time order (connections overlap a little).
    var schedule: [(time: Double, bytes: [UInt8])] = []
    schedule.reserveCapacity(total * 6)
    for i in 0..<total {
      let begin = Double(i) / rate
      for frame in Self.churnConnection(i).frames {
        schedule.append((begin + frame.offset, frame.bytes))
      }
    }
    schedule.sort { $0.time < $1.time }

    var verdicts = 0
    var latest = 0.0  // the longest wait from a known ending to its verdict, in wall seconds
    var wall = 0.0
    var samples: [Int] = []
    var nextTick = 0.1
    var nextSample = 60.0
    var packetNumber = 0
    func sink(_ analyzed: AnalyzedConnection) {
      verdicts += 1
      let c = analyzed.connection
      if c.endingKnown && c.finishReason != .endOfInput {
        latest = max(latest, wall - start.seconds(to: c.endingKnownTime))
      }
    }
    for packet in schedule {
      // The read timeouts between packets: ticks every 100 ms of wall time, as LiveAnalyzer does.
      while nextTick < packet.time {
        wall = nextTick
        session.tick(wallNanoseconds: Int64(wall * 1e9), sink: sink)
        nextTick += 0.1
        if wall >= nextSample {
          samples.append(session.activeCount)
          nextSample += 60
        }
      }
      wall = packet.time
      packetNumber += 1
      packet.bytes.withUnsafeBytes { bytes in
        let captured = CapturedPacket(
          number: packetNumber, timestamp: start.advanced(byNanoseconds: Int64(packet.time * 1e9)),
          bytes: bytes, wireLength: bytes.count, linkType: .ethernet)
        session.consume(captured, wallNanoseconds: Int64(wall * 1e9), sink: sink)
      }
    }
    for _ in 0..<700 {  // a little over the idle timeout of quiet link after the last connection
      wall = nextTick
      session.tick(wallNanoseconds: Int64(wall * 1e9), sink: sink)
      nextTick += 0.1
    }
    let stillOpen = session.finish(sink: sink)
    let statistics = session.trackerStatistics
    print(
      "LiveTests: churn: \(statistics.connectionsStarted) connections in a simulated hour, peak concurrent "
        + "\(statistics.peakConcurrent), active per minute \(samples.min() ?? 0)...\(samples.max() ?? 0), "
        + "longest ending-to-verdict \(String(format: "%.2f", latest)) s, still open at the end \(stillOpen)"
    )
    #expect(statistics.connectionsStarted == UInt64(total))
    #expect(verdicts == total)
    #expect(stillOpen == 0)
    #expect(statistics.evictions == 0)
    #expect(
      statistics.peakConcurrent * 100 <= total,
      "peak \(statistics.peakConcurrent) for \(total) connections")
    // Flat: the last minutes hold no more connections than the first ones (bounded by rate x lingers + idle).
    let bound = Int(rate * 0.6) + Int(rate * 60 / 100) + 4
    #expect(samples.count >= 59)
    #expect(samples.allSatisfy { $0 <= bound }, "active per minute: \(samples)")
    #expect(latest < 1.0, "a verdict came \(latest) s after its ending was known")
  }
}
