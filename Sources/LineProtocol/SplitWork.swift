import Dispatch
import Synchronization

/// Work over many items (decoding the cases of a package, building and writing them) split into
/// contiguous runs done side by side on the machine's cores. The runs' results come back in the
/// order of their items, so what the caller joins is what one pass in order would have made.
///
/// ```swift
/// let lengths = SplitWork.runs(over: records.count) { range in
///     records[range].reduce(0) { $0 + $1.count }
/// }
/// ```
public enum SplitWork {
    /// At most this many runs: enough for a few cores to share uneven work evenly.
    static let maximumRuns = 16

    /// `body` applied to contiguous runs of `0..<count` (together covering it once), their
    /// results in order. A run is at least `minimumRun` items long, so work too small to be worth
    /// a thread is done in one run, on the calling thread; an empty count gives one empty run.
    public static func runs<Result: Sendable>(
        over count: Int, minimumRun: Int = 256, _ body: @Sendable (Range<Int>) -> Result
    ) -> [Result] {
        let runCount = min(maximumRuns, count / max(1, minimumRun))
        guard runCount > 1 else { return [body(0..<max(0, count))] }
        let results = Mutex<[Result?]>(Array(repeating: nil, count: runCount))
        DispatchQueue.concurrentPerform(iterations: runCount) { run in
            let range = (count * run / runCount)..<(count * (run + 1) / runCount)
            let result = body(range)
            results.withLock { $0[run] = result }
        }
        // concurrentPerform returns once every run has, so each result is there.
        return results.withLock { results in
            results.map { result in
                guard let result else { preconditionFailure("SplitWork: a run returned no result") }
                return result
            }
        }
    }
}

extension SplitWork {
    /// `body` applied to runs as ``runs(over:minimumRun:_:)`` splits them, each result handed to
    /// `deliver` in the runs' order as soon as it and every run before it are done, while later
    /// runs are still being made: what is delivered (written out, say) overlaps what is still
    /// being worked out. `deliver` is called once per run, one call at a time, on whichever of
    /// the working threads finished the run it waited for.
    ///
    /// ```swift
    /// SplitWork.deliveredInOrder(over: cases.count) { range in render(cases[range]) } deliver: { bytes in
    ///     write(bytes)
    /// }
    /// ```
    public static func deliveredInOrder<Result: Sendable>(
        over count: Int, minimumRun: Int = 256, _ body: @Sendable (Range<Int>) -> Result,
        deliver: @Sendable (Result) -> Void
    ) {
        let runCount = min(maximumRuns, count / max(1, minimumRun))
        guard runCount > 1 else { return deliver(body(0..<max(0, count))) }
        let delivery = Delivery<Result>()
        DispatchQueue.concurrentPerform(iterations: runCount) { run in
            let range = (count * run / runCount)..<(count * (run + 1) / runCount)
            delivery.finished(run, body(range), deliver: deliver)
        }
    }

    /// The runs finished but not yet delivered, and whether a thread is delivering: a thread
    /// that finishes a run while another delivers leaves its result and goes on to the next run.
    private final class Delivery<Result: Sendable>: Sendable {
        private struct State {
            var waiting: [Int: Result] = [:]
            var next = 0
            var delivering = false
        }
        private let state = Mutex(State())

        /// Leaves `run`'s result; then, unless another thread is delivering, delivers every
        /// result that is next in order until none is ready.
        func finished(_ run: Int, _ result: Result, deliver: (Result) -> Void) {
            let deliverer = state.withLock { state in
                state.waiting[run] = result
                guard !state.delivering else { return false }
                state.delivering = true
                return true
            }
            guard deliverer else { return }
            while true {
                // Taken, and the role given up when nothing is ready, under one lock: a result
                // left after this look finds the role free and delivers itself.
                let ready = state.withLock { state in
                    var ready: [Result] = []
                    while let result = state.waiting.removeValue(forKey: state.next) {
                        ready.append(result)
                        state.next += 1
                    }
                    if ready.isEmpty { state.delivering = false }
                    return ready
                }
                if ready.isEmpty { return }
                for result in ready { deliver(result) }
            }
        }
    }
}
