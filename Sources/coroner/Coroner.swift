import ArgumentParser

@main
struct Coroner: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coroner",
        abstract: "Says, for every TCP connection in a capture, how it ended and why.",
        discussion: """
            coroner reads pcap/pcapng captures and explains each TCP connection's ending: who closed or \
            reset it, the cause (unread data on close, data after close, refused, timeouts, forged \
            resets, ...), the packets that prove it, and what each application most likely saw \
            (ECONNRESET, EPIPE, 10054, ...).

            Example:
              coroner analyze captures/server-closes-with-unread-data.pcap
              coroner analyze --format json --only abnormal dump.pcapng | jq '.connections[].cause'
            """ + ExitCode.documentation,
        version: "coroner 0.1.0",
        subcommands: [Analyze.self, Report.self, Live.self, Interfaces.self],
        defaultSubcommand: Analyze.self
    )
}
