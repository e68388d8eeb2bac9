import Foundation

/// Folders of the repository and the shared corpus, found from this file's path.
enum Paths {
    static let repository: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let captures = repository.appendingPathComponent("captures")
    /// ../shared/corpus beside the repository (absent outside the project's workplace).
    static let corpus = repository.deletingLastPathComponent().appendingPathComponent("shared/corpus")
    static var corpusExists: Bool { FileManager.default.fileExists(atPath: corpus.path) }

    static func files(under root: URL, extensions: Set<String>) -> [URL] {
        guard let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
        return e.compactMap { $0 as? URL }.filter { extensions.contains($0.pathExtension) }.sorted { $0.path < $1.path }
    }

    /// The built `coroner` executable next to the test bundle.
    static var coronerExecutable: URL? {
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("coroner")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let debug = repository.appendingPathComponent(".build/debug/coroner")
        return FileManager.default.isExecutableFile(atPath: debug.path) ? debug : nil
    }
}
