import ArgumentParser

/// Exit codes scripts can rely on.
enum ExitStatus: Int32 {
    /// Every capture was read to the end.
    case success = 0
    /// A capture could not be read at all (missing, unreadable, not a capture, bad filter).
    case unreadableInput = 2
    /// A capture was damaged or cut off: verdicts cover the packets before the damage.
    case damagedInput = 3
    /// A connection had a cause named by --fail-on.
    case failOnMatched = 4
    /// `live`: the interface could not be opened (permission, no such interface, interface down).
    case cannotCapture = 5
}

extension ExitCode {
    static let documentation = """


        Exit codes:
          0   every capture was read completely
          2   a capture could not be read at all (missing file, directory, permissions, not a capture, bad filter)
          3   a capture was damaged or cut off; verdicts cover everything before the damage
          4   --fail-on matched at least one connection (checked after 2 and 3)
          5   live: the interface could not be opened (no permission, no such interface)
          64  invalid command line
        """
}
