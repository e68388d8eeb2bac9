@testable import ConnectionTracking
import TestSupport
import Testing
import WireFormat

// `Connection.apply` takes a fast path (`applyUsual`) for the usual packet, an in-order ACK with or
// without data between open sides, or a side's first FIN+ACK without data. It must leave exactly the state the full state machine
// (`applyGeneral`) leaves. These tests run random but plausible conversations through both and compare
// the whole connection (both sides, events, episodes, ladder rows, Zeek model) after every packet.

@Suite("Connection: fast path and full state machine agree")
struct ConnectionFastPathTests {
    /// A conversation from `Conversations.random` with what it leaves out varied too: time passing
    /// unevenly, TTLs and IP IDs that change, window scaling offered on some SYNs.
    private static func conversation(seed: UInt64) -> [(TCPPacketSummary, fromOriginator: Bool, time: Timestamp)] {
        var random = SeededRandom(seed: seed &* 7919)
        var time = Timestamp(seconds: 1_800_000_000, nanoseconds: 0)
        return Conversations.random(seed: seed, count: Int(seed % 60) + 4).map { packet, fromOriginator in
            var p = packet
            p.ttl = [64, 64, 64, 63, 128, 1][Int.random(in: 0..<6, using: &random)]
            p.ipID = UInt16.random(in: 0...UInt16.max, using: &random)
            if p.flags.contains(.syn) && Bool.random(using: &random) {
                p.options.windowScale = UInt8.random(in: 0...15, using: &random)
            }
            time = time.advanced(byNanoseconds: Int64.random(in: 0...2_000_000_000, using: &random))
            return (p, fromOriginator, time)
        }
    }

    @Test("random conversations leave the same connection after every packet, fast path or not")
    func fastPathMatchesFullStateMachine() throws {
        var usualPackets = 0, otherPackets = 0, usualFINs = 0
        for seed in UInt64(1)...400 {
            let conversation = Self.conversation(seed: seed)
            var configuration = TrackerConfiguration()
            configuration.recordsLadder = seed % 2 == 0
            let (first, _, firstTime) = try #require(conversation.first)
            let source = Endpoint(ip: first.source, port: first.sourcePort)
            let destination = Endpoint(ip: first.destination, port: first.destinationPort)
            var fast = Connection.starting(with: first, source: source, destination: destination, id: 1, number: 1,
                                           time: firstTime)
            var full = fast
            for (index, (p, _, time)) in conversation.enumerated() {
                let number = index + 1
                let sender = Endpoint(ip: p.source, port: p.sourcePort)
                let role: Role = fast.client == sender ? .client : .server
                // Whether the fast path takes this packet (on a copy: it changes nothing when it declines).
                var probe = fast
                let usual = probe.applyUsualSides(p, from: role, number: number, time: time) != .notUsual
                if usual { usualPackets += 1 } else { otherPackets += 1 }
                if usual && p.flags.contains(.fin) { usualFINs += 1 }

                fast.apply(p, from: role, number: number, time: time, configuration: configuration)
                full.applyGeneral(p, from: full.client == sender ? .client : .server, number: number, time: time,
                                  configuration: configuration)
                // Both apply the same full state machine to other packets, so a difference can only start at
                // a usual one, and the whole state shows it there.
                guard usual || number == conversation.count else { continue }
                let same = String(describing: fast) == String(describing: full)
                #expect(same, "seed \(seed), packet \(number) (\(p.flags), usual: \(usual)):\n\(fast)\n\(full)")
                if !same { return }
            }
        }
        // Both paths must have been exercised for the comparison to mean anything.
        #expect(usualPackets > 2_000 && otherPackets > 5_000, "usual \(usualPackets), other \(otherPackets)")
        #expect(usualFINs > 40, "usual FINs \(usualFINs)")
    }

    @Test("the fast path completes the handshake, records first data once per side, counts duplicate ACKs")
    func fastPathEvents() throws {
        var s = SegmentScript()
        s.handshake(client: 1000, server: 5000)
        s.client([.ack, .psh], seq: 1001, ack: 5001, length: 100)
        s.client([.ack, .psh], seq: 1101, ack: 5001, length: 100)
        s.server(.ack, seq: 5001, ack: 1101)
        s.server(.ack, seq: 5001, ack: 1101)  // the same ACK again, below the client's next: a duplicate
        s.server([.ack, .psh], seq: 5001, ack: 1201, length: 50)
        s.client(.ack, seq: 1201, ack: 5051)
        let c = try #require(s.run().first)
        let firstData = c.events.filter { $0.kind == .firstData }
        #expect(firstData.map(\.packet) == [4, 8])
        #expect(firstData.map(\.from) == [.client, .server])
        #expect(c.serverSide.duplicateAcks == 1 && c.clientSide.duplicateAcks == 0)
        #expect(c.clientSide.streamBytes == 200 && c.serverSide.streamBytes == 50)
        #expect(c.clientSide.acknowledgedPeerBytes == 50 && c.serverSide.acknowledgedPeerBytes == 200)
        #expect(c.serverSide.receivedSinceLastSend == 0 && c.clientSide.receivedSinceLastSend == 50)
        #expect(c.clientSide.state == .established && c.serverSide.state == .established && !c.endingKnown)
        // The handshake's ACK takes the fast path too.
        #expect(c.handshakeAckPacket == 3 && c.events.filter { $0.kind == .handshakeCompleted }.map(\.packet) == [3])
    }

    @Test("the fast path acknowledges FINs and completes a graceful close")
    func fastPathClose() throws {
        var s = SegmentScript()
        s.handshake(client: 1000, server: 5000)
        s.client([.ack, .psh], seq: 1001, ack: 5001, length: 100)
        s.server(.ack, seq: 5001, ack: 1101)
        s.client([.fin, .ack], seq: 1101, ack: 5001)
        s.server(.ack, seq: 5001, ack: 1102)  // the client's FIN acknowledged: usual
        s.server([.fin, .ack], seq: 5001, ack: 1102)
        s.client(.ack, seq: 1102, ack: 5002)  // the last ACK, from a closed side: usual, and the ending is known
        let c = try #require(s.run().first)
        let acknowledged = c.events.filter { $0.kind == .finAcknowledged }
        #expect(acknowledged.map(\.packet) == [7, 9])
        #expect(acknowledged.map(\.from) == [.server, .client])
        #expect(c.clientSide.finAcknowledged && c.serverSide.finAcknowledged)
        #expect(c.endingKnown && c.endingKnownTime == c.end && c.finishReason == .closed)
        // Both FINs take the fast path too, and are recorded as the full state machine records them.
        let fins = c.events.filter { $0.kind == .fin }
        #expect(fins.map(\.packet) == [6, 8] && fins.map(\.from) == [.client, .server])
        #expect(c.clientSide.finPacket == 6 && c.serverSide.finPacket == 8)
        #expect(c.clientSide.state == .closed && c.serverSide.state == .closed)
    }

    @Test("a FIN+ACK that also acknowledges the peer's FIN records that first, then the FIN, as the full path does")
    func fastPathFINAcknowledgingFIN() throws {
        var s = SegmentScript()
        s.handshake(client: 1000, server: 5000)
        s.client([.fin, .ack], seq: 1001, ack: 5001)
        s.server([.fin, .ack], seq: 5001, ack: 1002)  // acknowledges the client's FIN and closes: usual
        s.client(.ack, seq: 1002, ack: 5002)
        // The connection after the first four packets, then what the fast path makes of the fifth.
        let first = s.packets[0].summary
        var probe = Connection.starting(
            with: first, source: Endpoint(ip: first.source, port: first.sourcePort),
            destination: Endpoint(ip: first.destination, port: first.destinationPort), id: 1, number: 1,
            time: s.packets[0].time)
        for (i, p) in s.packets.prefix(4).enumerated() {
            probe.apply(p.summary, from: p.summary.sourcePort == first.sourcePort ? .client : .server, number: i + 1,
                        time: p.time, configuration: TrackerConfiguration())
        }
        #expect(probe.applyUsualSides(s.packets[4].summary, from: .server, number: 5, time: s.packets[4].time)
                    == .finAcknowledgingFIN)
        let c = try #require(s.run().first)
        let kinds = c.events.filter { $0.packet == 5 }.map(\.kind)
        #expect(kinds == [.finAcknowledged, .fin])
        #expect(c.endingKnown && c.finishReason == .closed)
    }
}

/// `coroner analyze` turns event recording off (nothing it reports reads events): everything else a
/// connection holds must come out the same.
@Suite("Connection: events off changes nothing but the events")
struct EventsOffTests {
    @Test("random conversations through a tracker with and without events: the same connections, minus the events")
    func sameWithoutEvents() throws {
        var withEvents = TrackerConfiguration()
        withEvents.recordsLadder = false
        var withoutEvents = withEvents
        withoutEvents.recordsEvents = false
        var recorded = 0
        for seed in UInt64(1)...200 {
            var time = Timestamp(seconds: 1_800_000_000, nanoseconds: 0)
            var on = ConnectionTracker(configuration: withEvents), off = ConnectionTracker(configuration: withoutEvents)
            var finishedOn: [Connection] = [], finishedOff: [Connection] = []
            for (number, (packet, _)) in Conversations.random(seed: seed, count: Int(seed % 50) + 4).enumerated() {
                time = time.advanced(byNanoseconds: 300_000_000)
                on.process(packet, number: number + 1, time: time) { finishedOn.append($0) }
                off.process(packet, number: number + 1, time: time) { finishedOff.append($0) }
            }
            on.finishAll { finishedOn.append($0) }
            off.finishAll { finishedOff.append($0) }
            #expect(finishedOn.count == finishedOff.count, "seed \(seed)")
            for (var a, b) in zip(finishedOn, finishedOff) {
                #expect(b.events.isEmpty && b.eventsDropped == 0, "seed \(seed)")
                recorded += a.events.count
                a.events = []
                a.eventsDropped = 0
                a.recordsEvents = false
                #expect(String(describing: a) == String(describing: b), "seed \(seed)")
            }
        }
        #expect(recorded > 1_000, "events recorded with them on: \(recorded)")
    }
}

/// The look-ahead asks the cache only for the bytes the usual packet touches (`Connection.hotRanges`,
/// from the field order). A field the usual packet writes, declared among the cold ones, would still
/// work but miss the cache on every packet: this test finds it.
@Suite("Connection: the usual packet stays in the hot bytes")
struct HotRangesTests {
    @Test("random conversations: the usual packet, as coroner analyze applies it, writes only hot bytes")
    func usualPacketWritesOnlyHotBytes() throws {
        var configuration = TrackerConfiguration()
        configuration.recordsLadder = false
        configuration.recordsEvents = false
        let hot = Connection.hotRanges
        let size = MemoryLayout<Connection>.size
        // Fewer than two thirds of the lines: otherwise there is nothing to gain from the ranges.
        #expect(hot.front + hot.server.count < size * 2 / 3, "hot \(hot), size \(size)")
        #expect(hot.front <= hot.server.lowerBound && hot.server.upperBound <= size)
        var checked = 0, changedBytes = 0
        for seed in UInt64(1)...300 {
            let conversation = Conversations.random(seed: seed, count: Int(seed % 60) + 4)
            let (first, _) = try #require(conversation.first)
            var c = Connection.starting(with: first, source: Endpoint(ip: first.source, port: first.sourcePort),
                                        destination: Endpoint(ip: first.destination, port: first.destinationPort),
                                        id: 1, number: 1, time: .zero, recordsEvents: false)
            for (index, (p, _)) in conversation.enumerated() {
                let number = index + 1, time = Timestamp(seconds: 1_800_000_000 + Int64(number), nanoseconds: 0)
                let role: Role = c.client == Endpoint(ip: p.source, port: p.sourcePort) ? .client : .server
                var probe = c
                let outcome = probe.applyUsualSides(p, from: role, number: number, time: time)
                // Completing the handshake writes its packet and time (cold, once per connection).
                let usual = outcome != .notUsual && outcome != .completesHandshake
                let before = withUnsafeBytes(of: &c) { Array($0) }
                c.apply(p, from: role, number: number, time: time, configuration: configuration)
                guard usual else { continue }
                checked += 1
                let after = withUnsafeBytes(of: &c) { Array($0) }
                for offset in 0..<size where before[offset] != after[offset] {
                    changedBytes += 1
                    #expect(offset < hot.front || hot.server.contains(offset),
                            "seed \(seed), packet \(number): byte \(offset) changed, outside \(hot)")
                }
            }
        }
        #expect(checked > 2_000 && changedBytes > 10_000, "usual packets \(checked), bytes changed \(changedBytes)")
    }
}
