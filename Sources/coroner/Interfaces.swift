import ArgumentParser
import PacketCapture
import WireFormat

struct Interfaces: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "List the interfaces `coroner live` can capture on, with their addresses and state.",
    discussion: """
      Example:
        coroner interfaces
        coroner live -i eth0
      """
  )

  func run() throws {
    let devices: [CaptureDevice]
    do throws(CaptureError) {
      devices = try PcapHandle.devices()
    } catch {
      Diagnostics.error("cannot list interfaces: \(error.message)")
      throw ExitCode(ExitStatus.cannotCapture.rawValue)
    }
    let stdout = StandardOutput()
    stdout.write(Self.render(devices))
    if devices.isEmpty { throw ExitCode(ExitStatus.cannotCapture.rawValue) }
  }

  /// One line per interface: name, state, addresses (or libpcap's description when it has none).
  static func render(_ devices: [CaptureDevice]) -> String {
    guard !devices.isEmpty else {
      return "No interfaces found (without root or cap_net_raw libpcap may not see them).\n"
    }
    let width = max(10, devices.map(\.name.count).max() ?? 0) + 2
    var out = ""
    for d in devices {
      var state = [d.isUp ? "up" : "down"]
      if d.isRunning { state.append("running") }
      if d.isLoopback { state.append("loopback") }
      let stateText = state.joined(separator: ", ")
      let detail =
        d.addresses.isEmpty
        ? (d.description ?? "") : d.addresses.map(\.description).joined(separator: ", ")
      out += pad(d.name, width) + pad(stateText, 25) + detail + "\n"
    }
    return out
  }

  static func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
  }
}
