import Foundation
import Testing

/// JSONWriter copies the literals of Words without scanning them for JSON escapes (see `Sentence`).
/// That is only right while no literal there can hold a quote, a backslash or a control character,
/// and in Swift source a plain literal can hold those only through an escape sequence.
@Suite("Words' literals need no JSON escapes")
struct WordsSourceTests {
    @Test("Words.swift has no escape sequence, raw string or multi-line string: only \\( interpolations")
    func noEscapes() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/Reporting/Words.swift")
        let source = Array(try String(contentsOf: url, encoding: .utf8).utf8)
        #expect(source.count > 1000)
        var problems: [String] = []
        for (i, byte) in source.enumerated() {
            if byte == UInt8(ascii: "\\") && (i + 1 >= source.count || source[i + 1] != UInt8(ascii: "(")) {
                problems.append("backslash not starting an interpolation at byte \(i)")
            }
            if byte < 0x20 && byte != UInt8(ascii: "\n") { problems.append("control character \(byte) at byte \(i)") }
        }
        let text = String(decoding: source, as: UTF8.self)
        if text.contains("#\"") { problems.append("a raw string literal") }
        if text.contains("\"\"\"") { problems.append("a multi-line string literal") }
        #expect(problems.isEmpty, "\(problems)")
    }
}
