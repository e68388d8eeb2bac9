@testable import ConnectionTracking
import TestSupport
import Testing
import WireFormat

@Suite("FlowIndex: the tracker's hash table")
struct FlowIndexTests {
    func key(_ n: UInt64, v6: Bool) -> FlowKey {
        let a = v6 ? IPAddress(ipv6High: 0x2001_0db8_0000_0000, low: n) : IPAddress(ipv4: 0xC612_0000 | UInt32(n & 0xFFFF))
        let b = v6 ? IPAddress(ipv6High: 0x2001_0db8_0000_0001, low: 1) : IPAddress(ipv4: 0xC613_0001)
        return FlowKey.make(source: Endpoint(ip: a, port: UInt16(truncatingIfNeeded: n >> 16 | 1024)),
                            destination: Endpoint(ip: b, port: 443)).key
    }

    @Test("random inserts, lookups and removals agree with a Dictionary, through growth and wraparound")
    func agreesWithDictionary() {
        var rng = SeededRandom(seed: 7)
        var index = FlowIndex(minimumCapacity: 4)
        var model: [FlowKey: Int32] = [:]
        var keys = ContiguousArray<FlowKey>()
        var free: [Int32] = []
        for step in 0..<60_000 {
            let k = key(rng.next() % 3000, v6: rng.next() % 3 == 0)
            let hash = index.hash(k)
            let found = index.find(k, hash: hash, keys: keys)
            #expect(found == model[k], "step \(step)")
            if let slot = found {
                if rng.next() % 2 == 0 {
                    index.remove(slot: slot, hash: hash)
                    model[k] = nil
                    free.append(slot)
                }
            } else {
                let slot: Int32
                if let reused = free.popLast() {
                    slot = reused
                    keys[Int(slot)] = k
                } else {
                    slot = Int32(keys.count)
                    keys.append(k)
                }
                index.insert(slot: slot, hash: hash)
                model[k] = slot
            }
            #expect(index.count == model.count)
        }
        for (k, slot) in model { #expect(index.find(k, hash: index.hash(k), keys: keys) == slot) }
        // The look-ahead's guess: the first entry with the hash, which is the key's own unless two keys
        // share the whole 32-bit hash (none do among these 3,000); nil for absent keys.
        var hashes: [UInt32: Int] = [:]
        for k in model.keys { hashes[index.hash(k), default: 0] += 1 }
        for (k, slot) in model where hashes[index.hash(k)] == 1 { #expect(index.probableSlot(hash: index.hash(k)) == slot) }
        for n in 3000..<3200 {
            let absent = key(UInt64(n), v6: false)
            if hashes[index.hash(absent)] == nil { #expect(index.probableSlot(hash: index.hash(absent)) == nil) }
        }
    }

    @Test("the tracker's flow hash is the index's hash of the packet's canonical key, in both directions")
    func flowHash() {
        let a = Endpoint(ip: IPAddress(ipv4: 0xC612_0001), port: 40000)
        let b = Endpoint(ip: IPAddress(ipv4: 0xC613_0001), port: 443)
        let there = TCPPacketSummary(source: a.ip, destination: b.ip, sourcePort: a.port, destinationPort: b.port,
                                     sequenceNumber: SequenceNumber(rawValue: 1), acknowledgmentNumber: SequenceNumber(rawValue: 0), flags: [.syn])
        let back = TCPPacketSummary(source: b.ip, destination: a.ip, sourcePort: b.port, destinationPort: a.port,
                                    sequenceNumber: SequenceNumber(rawValue: 9), acknowledgmentNumber: SequenceNumber(rawValue: 2), flags: [.syn, .ack])
        let index = FlowIndex(minimumCapacity: 4)
        let key = FlowKey.make(source: a, destination: b).key
        #expect(ConnectionTracker.flowHash(of: there) == index.hash(key))
        #expect(ConnectionTracker.flowHash(of: back) == index.hash(key))
    }

    @Test("entries whose hashes collide all stay findable after removals in the middle of their run")
    func collisions() {
        var index = FlowIndex(minimumCapacity: 8)
        var keys = ContiguousArray<FlowKey>()
        // The same hash for every key forces one probe run; keys are told apart by comparison.
        for n in 0..<6 { keys.append(key(UInt64(n), v6: false)); index.insert(slot: Int32(n), hash: 5) }
        index.remove(slot: 2, hash: 5)
        index.remove(slot: 0, hash: 5)
        for n in [1, 3, 4, 5] { #expect(index.find(keys[n], hash: 5, keys: keys) == Int32(n)) }
        #expect(index.find(keys[2], hash: 5, keys: keys) == nil)
        #expect(index.count == 4)
    }
}
