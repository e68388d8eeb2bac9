// One scratch folder per test process, removed when the process exits, so a test run leaves
// nothing behind in the temporary directory however many files its tests write.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public enum TestScratch {
    /// The process's scratch folder (`$TMPDIR` or /tmp, `coroner-test-XXXXXX`), made on first use;
    /// an exit handler removes it and everything in it.
    public static let root: String = {
        let base = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        guard let made = makeDirectory(template: base + "/coroner-test-XXXXXX") else {
            fatalError("TestScratch: cannot make a folder under \(base): errno \(errno)")
        }
        rootForExit = strdup(made)
        atexit { removeRoot() }
        return made
    }()

    /// A fresh empty folder inside the scratch folder; `name` is part of its name, for reading failures.
    public static func directory(_ name: String = "dir") -> String {
        let safe = String(name.map { $0 == "/" ? "_" : $0 })
        guard let made = makeDirectory(template: root + "/" + safe + "-XXXXXX") else {
            fatalError("TestScratch: cannot make a folder under \(root): errno \(errno)")
        }
        return made
    }

    /// A path for a file called `name` in a fresh folder (the file does not exist yet).
    public static func path(_ name: String) -> String {
        directory("f") + "/" + name
    }

    private static func makeDirectory(template: String) -> String? {
        var bytes = Array(template.utf8CString)
        return bytes.withUnsafeMutableBufferPointer { buffer -> String? in
            guard let base = buffer.baseAddress, mkdtemp(base) != nil else { return nil }
            return String(cString: base)
        }
    }
}

/// The root's path as a C string for the exit handler (set once, before the handler is registered).
nonisolated(unsafe) private var rootForExit: UnsafeMutablePointer<CChar>?

/// Removes the scratch folder depth first, without following symbolic links.
private func removeRoot() {
    guard let root = rootForExit else { return }
    removeTree(String(cString: root))
}

private let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!

private func removeTree(_ path: String) {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    if (info.st_mode & S_IFMT) == S_IFDIR, let folder = opendir(path) {
        var names: [String] = []
        while let entry = readdir(folder) {
            // Read in place: a record can end before `d_name`'s declared 256 bytes, so copying the field out
            // would read past it.
            let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(folder)
        for name in names { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}
