import Foundation

/// Buffered standard output (reports can be large; one write per chunk).
final class StandardOutput: @unchecked Sendable {
    func write(_ s: String) {
        var s = s
        s.withUTF8 { write(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Writes UTF-8 bytes as they are (the JSON reports hand over their buffer, no `String` made).
    func write(bytes buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let n = Foundation.write(STDOUT_FILENO, base + offset, buffer.count - offset)
            if n <= 0 { if errno == EINTR { continue }; return }  // EPIPE (e.g. `| head`): stop quietly
            offset += n
        }
    }
    func flush() {}
}

/// Messages on standard error: one line each, prefixed so scripts can grep them.
enum Diagnostics {
    static func error(_ message: String) { FileHandle.standardError.write(Data("coroner: error: \(message)\n".utf8)) }
    static func warning(_ message: String) { FileHandle.standardError.write(Data("coroner: warning: \(message)\n".utf8)) }
}

/// A progress line on stderr while reading long files (only when stderr is a terminal).
final class Progress: @unchecked Sendable {
    let enabled: Bool
    var path = ""
    var size: Int64 = 0
    var started = Date()
    var shown = false

    init(enabled: Bool) { self.enabled = enabled }

    func start(path: String) {
        guard enabled else { return }
        self.path = path
        size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
        started = Date()
        shown = false
    }

    func update(bytesRead: Int64, packets: Int) {
        guard enabled, size > 0 else { return }
        let elapsed = Date().timeIntervalSince(started)
        guard elapsed > 0.5 else { return }
        let fraction = min(1, Double(max(0, bytesRead)) / Double(size))
        let rate = Double(packets) / elapsed
        let eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(format: "\r%@ %@ %3.0f%%  %.0fk pkt/s  ETA %.0fs ", (path as NSString).lastPathComponent, bar, fraction * 100, rate / 1000, eta)
        FileHandle.standardError.write(Data(line.utf8))
        shown = true
    }

    func finish() {
        if enabled && shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
