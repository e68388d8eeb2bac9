import WireFormat

/// A set of endpoints for the tracker's per-server memories (servers that answered a handshake, servers
/// that showed a listen-queue overflow): open addressing with linear probing, at most half full, no
/// removal. The hash is `FlowIndex`'s keyed multiply-fold with a seed of its own: a SYN-ACK's server is
/// added with a few multiplications, where `Set<Endpoint>` hashed it with SipHash (about 360
/// instructions, on every SYN-ACK of a capture).
struct EndpointSet {
    private var members: ContiguousArray<Endpoint>
    private var used: ContiguousArray<Bool>
    private var mask: Int
    private(set) var count = 0
    private let seed: (UInt64, UInt64, UInt64)

    init(minimumCapacity: Int = 16) {
        var capacity = 16
        while capacity < minimumCapacity * 2 { capacity <<= 1 }
        members = ContiguousArray(repeating: Endpoint(ip: IPAddress(ipv4: 0), port: 0), count: capacity)
        used = ContiguousArray(repeating: false, count: capacity)
        mask = capacity - 1
        var random = SystemRandomNumberGenerator()
        seed = (random.next() | 1, random.next() | 1, random.next() | 1)
    }

    var isEmpty: Bool { count == 0 }

    @inline(__always) private func home(_ endpoint: Endpoint) -> Int {
        let tail = UInt64(endpoint.port) | (endpoint.ip.isIPv6 ? 1 << 16 : 0)
        var h = FlowIndex.mum(endpoint.ip.high ^ seed.0, endpoint.ip.low ^ seed.1)
        h = FlowIndex.mum(h ^ tail, seed.2)
        return Int(truncatingIfNeeded: h ^ h >> 32) & mask
    }

    func contains(_ endpoint: Endpoint) -> Bool {
        var i = home(endpoint)
        while used[i] {
            if members[i] == endpoint { return true }
            i = (i &+ 1) & mask
        }
        return false
    }

    /// Adds `endpoint` unless it is a member already.
    mutating func insert(_ endpoint: Endpoint) {
        var i = home(endpoint)
        while used[i] {
            if members[i] == endpoint { return }
            i = (i &+ 1) & mask
        }
        members[i] = endpoint
        used[i] = true
        count += 1
        if count * 2 > members.count { grow() }
    }

    private mutating func grow() {
        let old = (members, used)
        let capacity = members.count * 2
        members = ContiguousArray(repeating: Endpoint(ip: IPAddress(ipv4: 0), port: 0), count: capacity)
        used = ContiguousArray(repeating: false, count: capacity)
        mask = capacity - 1
        for j in old.0.indices where old.1[j] {
            var i = home(old.0[j])
            while used[i] { i = (i &+ 1) & mask }
            members[i] = old.0[j]
            used[i] = true
        }
    }
}
