import ConnectionTracking
import WireFormat

/// Where the capture was taken, judged from handshake timing: near the client the SYN-ACK takes a
/// whole round trip to come back and the client's ACK follows at once; near the server it is the other
/// way round; in between, both take a part.
public enum VantagePoint: String, Sendable, Hashable {
    case nearClient = "near_client"
    case nearServer = "near_server"
    case between
    case unknown
}

/// Accumulates handshake timings over a capture's connections and judges the vantage point.
public struct VantageEstimator: Sendable {
    var nearClient = 0
    var nearServer = 0
    var between = 0
    public init() {}

    public mutating func add(_ c: borrowing Connection) {
        guard c.handshake == .complete else { return }
        add(synTime: c.synTime, synAckTime: c.synAckTime, handshakeAckTime: c.handshakeAckTime)
    }

    /// `add` for a connection the tracker hands on where it is (`FinishedSlot`): its fields are read in
    /// place (passed on whole, the connection would be copied, 1.3 KB).
    public mutating func add(_ slot: borrowing FinishedSlot) {
        guard slot.connection.handshake == .complete else { return }
        add(synTime: slot.connection.synTime, synAckTime: slot.connection.synAckTime,
            handshakeAckTime: slot.connection.handshakeAckTime)
    }

    mutating func add(synTime: Timestamp, synAckTime: Timestamp, handshakeAckTime: Timestamp) {
        let toSynAck = synTime.nanoseconds(to: synAckTime)
        let toAck = synAckTime.nanoseconds(to: handshakeAckTime)
        guard toSynAck >= 0, toAck >= 0, toSynAck + toAck > 0 else { return }
        let share = Double(toSynAck) / Double(toSynAck + toAck)
        if share >= 0.7 { nearClient += 1 } else if share <= 0.3 { nearServer += 1 } else { between += 1 }
    }

    public var estimate: VantagePoint {
        let total = nearClient + nearServer + between
        guard total > 0 else { return .unknown }
        if nearClient * 2 > total { return .nearClient }
        if nearServer * 2 > total { return .nearServer }
        if between * 2 > total { return .between }
        return .unknown
    }
}
