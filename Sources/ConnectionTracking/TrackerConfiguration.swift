import WireFormat

/// Timers and limits of the connection table. Defaults follow Zeek where Zeek has a timer, so the
/// same capture splits into the same connections.
public struct TrackerConfiguration: Sendable {
    /// A connection silent this long is finished (`idle`); a later packet starts a new one. Longer than
    /// Linux's default keepalive time (2 h), so keepalive probes stay with their connection.
    public var idleTimeout = Duration64.seconds(7500)
    /// After a RST, packets within this long still belong to the connection (Zeek `tcp_reset_delay`).
    public var resetLinger = Duration64.seconds(5)
    /// After both FINs are acknowledged, stray packets within this long still belong (Zeek `tcp_close_delay`).
    public var closeLinger = Duration64.seconds(5)
    /// An unanswered attempt older than this, whose originator sends something other than a SYN
    /// retransmission, is finished and the packet starts a new connection (Zeek `tcp_attempt_delay`).
    public var attemptTimeout = Duration64.seconds(5)
    /// A connection silent this long while a sender waited for an answer (an unanswered SYN, or data
    /// retransmitted and never acknowledged) is finished (`gave_up`): a live TCP sender retransmits
    /// at least every 120 s (Linux's TCP_RTO_MAX; RFC 6298 §2.5 allows a cap of 60 s or more), so
    /// this much silence means it gave up. Dead attempts then cost no memory until the idle timeout.
    public var giveUpTimeout = Duration64.seconds(300)
    /// At most this many connections are tracked at once; past it the longest-idle are evicted.
    public var maxConnections = 1_000_000
    /// How often (in capture time) expired connections are looked for.
    public var sweepInterval = Duration64.seconds(1)
    /// Keep the first and last packets of each connection for ladder diagrams (`Connection.ladderPackets`).
    /// Only the bug-report bundle draws them; `coroner analyze` turns this off, so an ordinary packet
    /// writes nothing but counters.
    public var recordsLadder = true
    /// Keep each connection's `events` (state changes and anomalies, with their packets), for library
    /// users and tests. No verdict or report reads them; `coroner analyze` turns this off, so a
    /// handshake or a FIN writes no event (an allocation per connection and a cache miss per event:
    /// about a seventh of the tracking thread on the benchmark capture).
    public var recordsEvents = true

    public init() {}
}

/// Counters the tracker keeps about itself.
public struct TrackerStatistics: Sendable, Hashable {
    public var packets: UInt64 = 0
    public var icmpErrors: UInt64 = 0
    public var icmpErrorsMatched: UInt64 = 0
    public var connectionsStarted: UInt64 = 0
    public var connectionsFinished: UInt64 = 0
    public var evictions: UInt64 = 0
    public var peakConcurrent: Int = 0
    /// Packets whose timestamp was earlier than the previous packet's.
    public var timeWentBackwards: UInt64 = 0
    public init() {}
}
