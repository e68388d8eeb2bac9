import ConnectionTracking
import Diagnosis
@testable import Reporting
import Testing

/// The `StaticString` names the JSON output writes are the raw values, spelled a second time in
/// JSONNames.swift: every case is checked here (a new case fails to compile there, not here, so the
/// lists below name every case).
@Suite("JSON names: the StaticString codes equal the raw values")
struct JSONNamesTests {
    @Test("enum codes")
    func codes() {
        for e in Ending.allCases { #expect(e.jsonName.description == e.rawValue) }
        for c in CauseCode.allCases { #expect(c.jsonName.description == c.rawValue) }
        for p in [Party.client, .server, .middlebox, .unknown] { #expect(p.jsonName.description == p.rawValue) }
        for c in [Confidence.high, .medium, .low] { #expect(c.jsonName.description == c.rawValue) }
        for h in [Handshake.complete, .synOnly, .synSynAck, .notSeen] { #expect(h.jsonName.description == h.rawValue) }
        let reasons: [FinishReason] = [.reset, .closed, .idle, .gaveUp, .attemptTimeout, .reused, .evicted, .endOfInput]
        for f in reasons { #expect(f.jsonName.description == f.rawValue) }
    }

    @Test("names are written quoted, as string(_:) writes them")
    func writtenLikeStrings() {
        var a = JSONWriter(capacity: 8), b = JSONWriter(capacity: 8)
        for c in CauseCode.allCases {
            a.name(c.jsonName)
            b.string(c.rawValue)
        }
        a.nameOrNull(nil)
        b.stringOrNull(nil)
        #expect(a.text == b.text)
    }
}
