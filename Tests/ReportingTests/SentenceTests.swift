@testable import Reporting
import Testing

@Suite("Sentence: the bytes Words writes")
struct SentenceTests {
    @Test("interpolations give the same text as String interpolation")
    func likeString() {
        let name: StaticString = "client"
        let file = "naïve → file.pcap"
        let inner: Sentence = "packet \(41): RST"
        let s: Sentence = "The \(name) sent \(3) of \(UInt64.max) (\(inner)), \(-12) \(Int64.min + 1) \(UInt8(255)) \(0) in \(file)."
        #expect(s.string == "The client sent 3 of \(UInt64.max) (packet 41: RST), -12 \(Int64.min + 1) 255 0 in naïve → file.pcap.")
        #expect(s.count == s.string.utf8.count)
        let empty: Sentence = ""
        #expect(empty.string == "" && empty.count == 0)
    }

    @Test("a sentence longer than the inline bytes spills into an array and stays whole", arguments: [1, 2, 3])
    func spills(_ times: Int) {
        let long = String(repeating: "0123456789", count: Sentence.inlineCapacity / 10 * times)
        let s: Sentence = "start \(long) middle \(long) end \(7)"
        #expect(s.string == "start \(long) middle \(long) end 7")
        var text = "x"
        text.write(s)
        #expect(text == "x" + s.string)
    }

    @Test("JSONWriter as a sink escapes what it is given")
    func jsonSink() {
        let tricky = "say \"hi\"\\\n\u{1}"
        var out = JSONWriter(capacity: 8)
        out.raw("\"")
        out.write("a \(tricky) b \(5)")
        out.raw("\"")
        #expect(out.text == JSONWriterTests.escaped("a \(tricky) b 5"))
    }

    @Test("literals and integers go into JSON as they are; a sentence with a String in it, even nested, is escaped")
    func literalsAndStrings() {
        var out = JSONWriter(capacity: 8)
        var text = ""
        let plain: StaticString = "a plain literal, (with) 'marks': µs"
        out.write(plain)
        text.write(plain)
        out.write("; then \(2) and \(plain)")
        text.write("; then \(2) and \(plain)")
        #expect(text == "a plain literal, (with) 'marks': µs; then 2 and a plain literal, (with) 'marks': µs")
        #expect("\"" + out.text + "\"" == JSONWriterTests.escaped(text))

        let tricky = "\"quoted\"\\\n"
        let inner: Sentence = "in \(tricky)"
        let outer: Sentence = "outer (\(inner))"
        #expect(!("no string \(3)" as Sentence).mayNeedEscaping && inner.mayNeedEscaping && outer.mayNeedEscaping)
        var json = JSONWriter(capacity: 8)
        json.write(outer)
        #expect("\"" + json.text + "\"" == JSONWriterTests.escaped("outer (in \(tricky))"))
    }
}
