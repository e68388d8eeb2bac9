import CPrefetch
import WireFormat

/// The tracker's 4-tuple → slot index: open addressing with linear probing, at most half full,
/// deletion by backward shift (no tombstones). Buckets hold only the slot and the hash; keys are
/// compared against the tracker's own key array. The hash is a keyed multiply-fold (after wyhash's
/// `mum`) of the key's five words with a random seed drawn once per process: a few multiplications
/// instead of SipHash, and without the seed a capture cannot be crafted to collide. One seed for the
/// process, so a packet's hash can be computed ahead, on the reading thread (`ConnectionTracker.flowHash`).
///
/// The tracker's look-ahead (`prefetchBucket`, `probableSlot`) is inlined into another module's read
/// loop, hence the `@usableFromInline` members.
@usableFromInline struct FlowIndex {
    @usableFromInline struct Bucket: Sendable {
        @usableFromInline var slot: Int32  // -1: empty
        @usableFromInline var hash: UInt32
        @usableFromInline init(slot: Int32, hash: UInt32) {
            self.slot = slot
            self.hash = hash
        }
        static let empty = Bucket(slot: -1, hash: 0)
    }

    @usableFromInline private(set) var buckets: ContiguousArray<Bucket>
    @usableFromInline private(set) var mask: Int
    private(set) var count = 0

    /// The hash's key, drawn once per process.
    @usableFromInline static let seed: (UInt64, UInt64, UInt64, UInt64) = {
        var random = SystemRandomNumberGenerator()
        return (random.next() | 1, random.next() | 1, random.next() | 1, random.next() | 1)
    }()

    init(minimumCapacity: Int = 64) {
        var capacity = 16
        while capacity < minimumCapacity * 2 { capacity <<= 1 }
        buckets = ContiguousArray(repeating: .empty, count: capacity)
        mask = capacity - 1
    }

    var isEmpty: Bool { count == 0 }

    @inlinable @inline(__always) static func mum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    @inlinable @inline(__always) static func hash(_ key: FlowKey) -> UInt32 {
        let seed = Self.seed
        let ports = UInt64(key.low.port) | UInt64(key.high.port) << 16
            | (key.low.ip.isIPv6 ? 1 << 32 : 0) | (key.high.ip.isIPv6 ? 1 << 33 : 0)
        var h = mum(key.low.ip.high ^ seed.0, key.low.ip.low ^ seed.1)
        h = mum(h ^ key.high.ip.high ^ seed.2, key.high.ip.low ^ seed.3)
        h = mum(h ^ ports, seed.0 ^ seed.3)
        return UInt32(truncatingIfNeeded: h ^ h >> 32)
    }

    @inline(__always) func hash(_ key: FlowKey) -> UInt32 { Self.hash(key) }

    /// Asks the cache for the bucket where the lookup of a key hashing to `hash` starts.
    @inlinable @inline(__always) func prefetchBucket(hash: UInt32) {
        buckets.withUnsafeBufferPointer { coroner_prefetch($0.baseAddress.unsafelyUnwrapped + (Int(hash) & mask)) }
    }

    /// The slot in the first bucket holding `hash` in its probe run: most likely the slot of the key with
    /// that hash (not compared with the key: for prefetching only).
    @inlinable @inline(__always) func probableSlot(hash: UInt32) -> Int32? {
        buckets.withUnsafeBufferPointer { buckets in
            var i = Int(hash) & mask
            while true {
                let bucket = buckets[i]
                if bucket.slot < 0 { return nil }
                if bucket.hash == hash { return bucket.slot }
                i = (i &+ 1) & mask
            }
        }
    }

    /// The slot of `key`, whose hash is `hash`; `keys[slot]` is each candidate's key.
    @inline(__always) func find(_ key: FlowKey, hash: UInt32, keys: ContiguousArray<FlowKey>) -> Int32? {
        var i = Int(hash) & mask
        while true {
            let bucket = buckets[i]
            if bucket.slot < 0 { return nil }
            if bucket.hash == hash && keys[Int(bucket.slot)] == key { return bucket.slot }
            i = (i &+ 1) & mask
        }
    }

    /// Adds a key known to be absent.
    mutating func insert(slot: Int32, hash: UInt32) {
        if (count + 1) * 2 > buckets.count { grow() }
        var i = Int(hash) & mask
        while buckets[i].slot >= 0 { i = (i &+ 1) & mask }
        buckets[i] = Bucket(slot: slot, hash: hash)
        count += 1
    }

    /// Removes the entry for `slot`, whose key hashes to `hash`.
    mutating func remove(slot: Int32, hash: UInt32) {
        var i = Int(hash) & mask
        while buckets[i].slot != slot {
            guard buckets[i].slot >= 0 else { return }
            i = (i &+ 1) & mask
        }
        // Backward shift: pull later entries of the probe run into the hole when their home allows it.
        var hole = i
        var j = i
        while true {
            j = (j &+ 1) & mask
            let bucket = buckets[j]
            if bucket.slot < 0 { break }
            let home = Int(bucket.hash) & mask
            // Movable when `home` is not cyclically within (hole, j].
            let distanceToHome = (j &- home) & mask
            let distanceToHole = (j &- hole) & mask
            if distanceToHome >= distanceToHole {
                buckets[hole] = bucket
                hole = j
            }
        }
        buckets[hole] = .empty
        count -= 1
    }

    private mutating func grow() {
        let old = buckets
        buckets = ContiguousArray(repeating: .empty, count: old.count * 2)
        mask = buckets.count - 1
        for bucket in old where bucket.slot >= 0 {
            var i = Int(bucket.hash) & mask
            while buckets[i].slot >= 0 { i = (i &+ 1) & mask }
            buckets[i] = bucket
        }
    }
}
