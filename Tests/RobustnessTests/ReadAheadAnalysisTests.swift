import Analysis
import Testing

/// `AnalysisOptions.readAhead` moves libpcap to a second thread; it must change nothing a user sees.
@Suite("Reading ahead gives the same analysis as reading inline")
struct ReadAheadAnalysisTests {
    @Test("Whole and cut captures: same JSON, report, warnings", arguments: CaptureFixture.all)
    func sameAnalysis(fixture: CaptureFixture) {
        let bytes = fixture.bytes
        var paths = [fixture.path]
        if bytes.count > 200 { paths.append(RobustnessPaths.write(Array(bytes.prefix(bytes.count * 2 / 3)), named: "ahead-" + fixture.path.split(separator: "/").suffix(3).joined(separator: "-"))) }
        for path in paths {
            var inline = AnalysisOptions()
            inline.readAhead = false
            var ahead = AnalysisOptions()
            ahead.readAhead = true
            let a = AnalyzedFile(path: path, options: inline)
            let b = AnalyzedFile(path: path, options: ahead)
            #expect(a.json == b.json, "\(path)")
            #expect(a.report.packets == b.report.packets && a.report.truncated == b.report.truncated, "\(path)")
            #expect(a.report.warnings == b.report.warnings, "\(path)")
            #expect(a.report.linkTypes == b.report.linkTypes, "\(path)")
        }
    }
}
