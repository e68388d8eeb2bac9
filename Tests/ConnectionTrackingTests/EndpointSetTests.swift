@testable import ConnectionTracking
import TestSupport
import Testing
import WireFormat

@Suite("EndpointSet: the tracker's sets of servers")
struct EndpointSetTests {
    @Test("random inserts and lookups agree with Set<Endpoint>, through growth, for IPv4 and IPv6 alike")
    func agreesWithSet() {
        var rng = SeededRandom(seed: 11)
        var set = EndpointSet(minimumCapacity: 2)
        var model = Set<Endpoint>()
        for step in 0..<40_000 {
            let n = rng.next() % 5000
            let v6 = rng.next() % 3 == 0
            // The same numbers as IPv4 and IPv6 addresses, and ports that differ only in the low bits.
            let ip = v6 ? IPAddress(ipv6High: 0x2001_0db8_0000_0000, low: n % 97) : IPAddress(ipv4: UInt32(n % 97))
            let endpoint = Endpoint(ip: ip, port: UInt16(n / 97))
            #expect(set.contains(endpoint) == model.contains(endpoint), "step \(step)")
            if rng.next() % 2 == 0 {
                set.insert(endpoint)
                model.insert(endpoint)
            }
            #expect(set.count == model.count, "step \(step)")
        }
        #expect(model.count > 2_000)
        for endpoint in model { #expect(set.contains(endpoint)) }
        #expect(set.isEmpty == false && EndpointSet().isEmpty)
    }
}
