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
