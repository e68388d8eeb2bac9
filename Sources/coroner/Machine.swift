import Foundation

/// Facts about the machine the analysis runs on.
enum Machine {
    /// CPUs this process may run on: its affinity mask (`taskset`, cgroup cpusets), not the machine's
    /// total, which `ProcessInfo.activeProcessorCount` reports on Linux. Read from the kernel's
    /// `Cpus_allowed_list` in /proc/self/status ("0-3,8"), since glibc's `sched_getaffinity` is not
    /// visible to Swift without `_GNU_SOURCE`.
    static var availableCores: Int {
        let total = ProcessInfo.processInfo.activeProcessorCount
        #if os(Linux)
            guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }),
                  let allowed = cpuCount(list: line.dropFirst("Cpus_allowed_list:".count))
            else { return total }
            return min(allowed, total)
        #else
            return total
        #endif
    }

    /// How many CPUs a kernel CPU list ("0-3,8,10-11") names; nil when it does not parse.
    static func cpuCount(list: Substring) -> Int? {
        var count = 0
        for part in list.split(separator: ",") {
            let bounds = part.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            switch bounds.count {
            case 1:
                guard bounds[0] != nil else { return nil }
                count += 1
            case 2:
                guard let low = bounds[0], let high = bounds[1], high >= low else { return nil }
                count += high - low + 1
            default:
                return nil
            }
        }
        return count > 0 ? count : nil
    }
}
