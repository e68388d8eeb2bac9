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
    private var json: JSONReport?
    private var rows: [ConnectionRow] = []
    private var summary = Summary()
    private var matched = false

    init(failOn: Set<CauseCode>, onlyAbnormal: Bool, json: JSONReport?, batchSize: Int = 128, capacity: Int = 8) {
        self.failOn = failOn
        self.onlyAbnormal = onlyAbnormal
        self.json = json
        self.batchSize = batchSize
        slots = DispatchSemaphore(value: capacity)
        batch.items.reserveCapacity(batchSize)
        self.json?.begin()
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
            for i in full.items.indices {
                guard let (finished, captureFile) = full.items[i].take() else { continue }
                write(finished.diagnosed(), captureFile: captureFile)
            }
        }
    }

    /// Connections handed over together. A class, so the output thread moves each connection out
    /// (`take`) instead of copying it out of an array that the closure shares.
    private final class Batch: @unchecked Sendable {
        var items: [(FinishedConnection, String)?] = []
    }

    /// JSON is written straight from the verdict and the connection; rows are built only for the text
    /// and Markdown reports, which need them all at the end.
    private func write(_ analyzed: AnalyzedConnection, captureFile: String) {
        let verdict = analyzed.verdict
        if failOn.contains(verdict.cause) { matched = true }
        summary.add(ending: verdict.ending, cause: verdict.cause)
        if onlyAbnormal && !verdict.cause.isAbnormal { return }
        if json != nil {
            json!.add(analyzed)
        } else {
            rows.append(ConnectionRow(analyzed, captureFile: captureFile, includeLadder: false))
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
            json?.end(captures: captures, summary: summary)
            rows.sort { ($0.captureIndex, $0.id) < ($1.captureIndex, $1.id) }
            return (rows, summary, matched)
        }
    }
}
