import Analysis
import Diagnosis
import Dispatch
import Reporting
import WireFormat

/// Diagnoses finished connections and turns them into report rows and JSON on a second thread, so
/// the diagnosis, the words and the output (most of the work per connection) overlap with reading and
/// tracking. Connections travel in batches (one hand-over and one wake-up per `batchSize`, not per
/// connection). Order is kept (one serial queue); memory stays bounded (at most `capacity` batches wait).
final class OutputPipeline: @unchecked Sendable {
    private let queue = DispatchQueue(label: "coroner.output")
    private let slots: DispatchSemaphore
    private let failOn: Set<CauseCode>
    private let onlyAbnormal: Bool
    private let batchSize: Int
    // Touched only by the submitting thread.
    private var batch = Batch()
    // Touched only on `queue`, or after `drain()`.
    private var output: Output

    init(failOn: Set<CauseCode>, onlyAbnormal: Bool, json: JSONReport?, batchSize: Int = 128, capacity: Int = 8) {
        self.failOn = failOn
        self.onlyAbnormal = onlyAbnormal
        output = Output(json: json)
        self.batchSize = batchSize
        slots = DispatchSemaphore(value: capacity)
        batch.items.reserveCapacity(batchSize)
        output.json?.begin()
    }

    /// Hands one finished connection over; blocks while `capacity` batches are still waiting.
    func submit(_ finished: consuming FinishedConnection, captureFile: String) {
        batch.items.append((consume finished, captureFile))
        if batch.items.count >= batchSize { flush() }
    }

    private func flush() {
        guard !batch.items.isEmpty else { return }
        let full = batch
        batch = Batch()
        batch.items.reserveCapacity(batchSize)
        slots.wait()
        queue.async { [self] in
            defer { slots.signal() }
            // The whole batch in one access to `output` and with the items in a local array: each
            // access to a class's stored property is an exclusivity check.
            var items = full.takeItems()
            output.write(&items, failOn: failOn, onlyAbnormal: onlyAbnormal)
        }
    }

    /// Connections handed over together. A class, so the output thread moves each connection out
    /// (`take`) instead of copying it out of an array that the closure shares.
    private final class Batch: @unchecked Sendable {
        var items: [(FinishedConnection, String)?] = []

        /// The items, left here empty (so the caller's array is the only one and can be changed in place).
        func takeItems() -> [(FinishedConnection, String)?] {
            defer { items = [] }
            return items
        }
    }

    /// What the output thread builds: the JSON as it goes, or the rows for text and Markdown.
    private struct Output {
        var json: JSONReport?
        var rows: [ConnectionRow] = []
        var summary = Summary()
        var matched = false

        /// JSON is written straight from the verdict and the connection; rows are built only for the
        /// text and Markdown reports, which need them all at the end.
        mutating func write(_ items: inout [(FinishedConnection, String)?], failOn: Set<CauseCode>, onlyAbnormal: Bool) {
            for i in items.indices {
                guard let (finished, captureFile) = items[i].take() else { continue }
                let analyzed = finished.diagnosed()
                // Fields, not a copy of the verdict (a copy retains each of its arrays and strings).
                let cause = analyzed.verdict.cause
                if failOn.contains(cause) { matched = true }
                summary.add(ending: analyzed.verdict.ending, cause: cause)
                if onlyAbnormal && !cause.isAbnormal { continue }
                if json != nil {
                    json!.add(analyzed)
                } else {
                    rows.append(ConnectionRow(analyzed, captureFile: captureFile, includeLadder: false))
                }
            }
        }
    }

    /// Waits until every submitted connection is written.
    func drain() {
        flush()
        queue.sync {}
    }

    /// Ends the output: JSON's closing part, or the rows (in start order) for text and Markdown.
    func finish(captures: [CaptureReport]) -> (rows: [ConnectionRow], summary: Summary, matched: Bool) {
        flush()
        return queue.sync {
            let summary = output.summary
            output.json?.end(captures: captures, summary: summary)
            output.rows.sort { ($0.captureIndex, $0.id) < ($1.captureIndex, $1.id) }
            return (output.rows, summary, output.matched)
        }
    }
}
