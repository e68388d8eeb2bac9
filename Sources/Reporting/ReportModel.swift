import Analysis
import ConnectionTracking
import Diagnosis
import WireFormat

/// One connection as the reports show it: plain data, words included, built once when the connection
/// is finished so the big tracking record can be released.
public struct ConnectionRow: Sendable {
    public struct Side: Sendable { public var ip: String; public var port: Int }
    public struct EvidenceLine: Sendable {
        public var packet: Int
        public var timestamp: Timestamp
        public var from: String?
        public var what: String
        /// RFC 3339 text of `timestamp` (formatted when asked: JSON writes it in place).
        public var time: String { Format.rfc3339(timestamp) }
    }
    public struct AppLine: Sendable { public var linux: String; public var windows: String; public var detail: String }
    public struct LadderLine: Sendable {
        public var packet: Int
        public var offsetNanoseconds: Int64
        public var fromClient: Bool
        public var flags: String
        public var relativeSeq: Int64
        public var relativeAck: Int64?
        public var length: UInt32
        public var window: UInt16
        public var ttl: UInt8
    }

    public var id: Int
    public var captureIndex: Int
    public var captureFile: String
    public var client: Side
    public var server: Side
    public var rolesInferred: Bool
    public var roleEvidence: String
    public var firstPacket: Int
    public var lastPacket: Int
    public var startTime: Timestamp
    public var endTime: Timestamp
    /// RFC 3339 text of the first and last packet's times (formatted when asked: JSON writes them in place).
    public var start: String { Format.rfc3339(startTime) }
    public var end: String { Format.rfc3339(endTime) }
    public var durationNanoseconds: Int64
    public var packetsClient: UInt64
    public var packetsServer: UInt64
    public var bytesClient: UInt64
    public var bytesServer: UInt64
    public var handshake: String
    public var ending: Ending
    public var closedBy: Party?
    public var resetBy: Party?
    public var cause: CauseCode
    public var confidence: Confidence
    public var rule: String
    public var explanation: String
    public var advice: String?
    public var evidence: [EvidenceLine]
    public var clientView: AppLine?
    public var serverView: AppLine?
    public var alternatives: [CauseCode]
    public var zeekConnState: String
    public var zeekHistory: String
    public var finishReason: String
    public var rttNanoseconds: Int64?
    public var retransmissionsClient: Int
    public var retransmissionsServer: Int
    public var longestIdleNanoseconds: Int64
    public var ladder: [LadderLine]
    public var elidedPackets: Int

    /// `includeLadder: false` skips the ladder rows (only the bundle's diagrams use them).
    public init(_ analyzed: AnalyzedConnection, captureFile: String, includeLadder: Bool = true) {
        let c = analyzed.connection
        let v = analyzed.verdict
        // Plain fields come from `AnalyzedConnection`'s `JSONConnectionSource` accessors: the one place
        // that says which connection or verdict field each report field is (the JSON stream reads them too).
        // Those it gives as `StaticString` names (handshake, advice, evidence's sender, finish reason)
        // are the `rawValue`s and `Words.advice` here.
        let a = analyzed
        id = a.id
        captureIndex = a.captureIndex
        self.captureFile = captureFile
        client = Side(ip: c.client.ip.description, port: a.port(.client))
        server = Side(ip: c.server.ip.description, port: a.port(.server))
        rolesInferred = a.rolesInferred
        roleEvidence = c.roleEvidence.rawValue
        firstPacket = a.firstPacket
        lastPacket = a.lastPacket
        startTime = a.startTime
        endTime = a.endTime
        durationNanoseconds = a.durationNanoseconds
        packetsClient = a.packetsClient
        packetsServer = a.packetsServer
        bytesClient = a.bytesClient
        bytesServer = a.bytesServer
        handshake = c.handshake.rawValue
        ending = a.ending
        closedBy = a.closedBy
        resetBy = a.resetBy
        cause = a.cause
        confidence = a.confidence
        rule = a.rule
        explanation = Words.explanation(v, c)
        advice = v.advice.map(Words.advice)
        evidence = v.reasons.indices.map { i in
            let e = a.evidence(i)
            return EvidenceLine(packet: e.packet, timestamp: e.time, from: v.reasons[i].from?.rawValue, what: Words.evidence(v.reasons[i], c))
        }
        clientView = v.clientView.map { AppLine(linux: $0.result.linux, windows: $0.result.windows, detail: Words.appDetail($0, side: .client, v, c)) }
        serverView = v.serverView.map { AppLine(linux: $0.result.linux, windows: $0.result.windows, detail: Words.appDetail($0, side: .server, v, c)) }
        alternatives = a.alternatives
        zeekConnState = a.zeekConnState
        zeekHistory = a.zeekHistory
        finishReason = c.finishReason.rawValue
        rttNanoseconds = a.rttNanoseconds
        retransmissionsClient = a.retransmissionsClient
        retransmissionsServer = a.retransmissionsServer
        longestIdleNanoseconds = a.longestIdleNanoseconds
        let clientBase = c.clientSide.hasBase ? c.clientSide.base : SequenceNumber(0)
        let serverBase = c.serverSide.hasBase ? c.serverSide.base : SequenceNumber(0)
        ladder = !includeLadder ? [] : c.ladderPackets.map { p in
            let fromClient = p.from == .client
            let ownBase = fromClient ? clientBase : serverBase
            let peerBase = fromClient ? serverBase : clientBase
            return LadderLine(
                packet: p.packet, offsetNanoseconds: c.start.nanoseconds(to: p.time), fromClient: fromClient,
                flags: p.flags.description, relativeSeq: Int64(ownBase.distance(to: p.sequenceNumber)),
                relativeAck: p.flags.contains(.ack) ? Int64(peerBase.distance(to: p.acknowledgmentNumber)) : nil,
                length: p.payloadLength, window: p.window, ttl: p.ttl)
        }
        elidedPackets = c.elidedPackets
    }

    public var isAbnormal: Bool { cause.isAbnormal }
    public var clientText: String { client.ip.contains(":") ? "[\(client.ip)]:\(client.port)" : "\(client.ip):\(client.port)" }
    public var serverText: String { server.ip.contains(":") ? "[\(server.ip)]:\(server.port)" : "\(server.ip):\(server.port)" }
}

/// Totals over all connections, by ending and by cause.
public struct Summary: Sendable {
    public var connections = 0
    /// Counts in `allCases` order: a short scan per connection instead of hashing names.
    var endingCounts = [Int](repeating: 0, count: Ending.allCases.count)
    var causeCounts = [Int](repeating: 0, count: CauseCode.allCases.count)
    static let endings = Ending.allCases
    static let causes = CauseCode.allCases

    public init() {}

    public mutating func add(_ row: ConnectionRow) { add(ending: row.ending, cause: row.cause) }

    public mutating func add(ending: Ending, cause: CauseCode) {
        connections += 1
        if let i = Self.endings.firstIndex(of: ending) { endingCounts[i] += 1 }
        if let i = Self.causes.firstIndex(of: cause) { causeCounts[i] += 1 }
    }

    /// Connections per ending that occurred, keyed by its code.
    public var byEnding: [String: Int] {
        var d: [String: Int] = [:]
        for (i, ending) in Self.endings.enumerated() where endingCounts[i] > 0 { d[ending.rawValue] = endingCounts[i] }
        return d
    }

    /// Connections per cause that occurred, keyed by its code.
    public var byCause: [String: Int] {
        var d: [String: Int] = [:]
        for (i, cause) in Self.causes.enumerated() where causeCounts[i] > 0 { d[cause.rawValue] = causeCounts[i] }
        return d
    }
}
