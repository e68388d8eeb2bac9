import Analysis
import ConnectionTracking
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
    private var batch: Batch
    // Touched only on `queue`, or after `drain()`.
    private var output: Output

    init(failOn: Set<CauseCode>, onlyAbnormal: Bool, json: JSONReport?, batchSize: Int = 128, capacity: Int = 8) {
        self.failOn = failOn
        self.onlyAbnormal = onlyAbnormal
        output = Output(json: json)
        self.batchSize = batchSize
        slots = DispatchSemaphore(value: capacity)
        batch = Batch(capacity: batchSize)
        output.json?.begin()
    }

    /// Hands one finished connection over; blocks while `capacity` batches are still waiting.
    func submit(_ finished: consuming FinishedConnection, captureFile: String) {
        if !batch.accepts(captureIndex: finished.captureIndex) { flush() }
        batch.append(finished, captureFile: captureFile)
        if batch.count >= batchSize { flush() }
    }

    private func flush() {
        guard batch.count > 0 else { return }
        let full = batch
        batch = Batch(capacity: batchSize)
        slots.wait()
        queue.async { [self] in
            defer { slots.signal() }
            // The whole batch in one access to `output`: each access to a class's stored property
            // is an exclusivity check.
            output.write(full, failOn: failOn, onlyAbnormal: onlyAbnormal)
        }
    }

    /// Connections of one capture file handed over together, in memory the batch owns: the tracking
    /// thread moves each connection in straight from the tracker's slot (one copy of its bytes), the
    /// output thread moves it out to diagnose it.
    private final class Batch: @unchecked Sendable {
        private let connections: UnsafeMutablePointer<Connection>
        private let contexts: UnsafeMutablePointer<CaptureContext>
        private let capacity: Int
        private var captureFile = ""
        private var captureIndex = 0
        /// Connections put in; those from `moved` on are still here.
        private(set) var count = 0
        private var moved = 0

        init(capacity: Int) {
            self.capacity = capacity
            connections = .allocate(capacity: capacity)
            contexts = .allocate(capacity: capacity)
        }

        deinit {
            (connections + moved).deinitialize(count: count - moved)
            connections.deallocate()
            contexts.deallocate()
        }

        /// Whether a connection of the capture `captureIndex` may join (a batch holds one file's).
        func accepts(captureIndex: Int) -> Bool { count == 0 || captureIndex == self.captureIndex }

        func append(_ finished: consuming FinishedConnection, captureFile: String) {
            precondition(count < capacity && accepts(captureIndex: finished.captureIndex),
                         "a batch is handed over when full, and holds one file's connections")
            if count == 0 {
                self.captureFile = captureFile
                captureIndex = finished.captureIndex
            }
            (contexts + count).initialize(to: finished.context)
            finished.moveConnection(to: connections + count)
            count += 1
        }

        /// Moves each connection out, in order, diagnoses it and hands it to `body`.
        func analyzeEach(_ body: (AnalyzedConnection, String) -> Void) {
            let end = count
            var i = moved
            while i < end {
                let connection = (connections + i).move()
                i += 1
                moved = i
                let verdict = Diagnoser.diagnose(connection, context: contexts[i - 1])
                body(AnalyzedConnection(connection: connection, verdict: verdict, captureIndex: captureIndex), captureFile)
            }
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
        mutating func write(_ batch: Batch, failOn: Set<CauseCode>, onlyAbnormal: Bool) {
            batch.analyzeEach { analyzed, captureFile in
                // Fields, not a copy of the verdict (a copy retains each of its arrays and strings).
                let cause = analyzed.verdict.cause
                if failOn.contains(cause) { matched = true }
                summary.add(ending: analyzed.verdict.ending, cause: cause)
                if onlyAbnormal && !cause.isAbnormal { return }
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
