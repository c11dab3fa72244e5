import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    /// The working threads are the caller's and threads of this call's own (one per core in
    /// all), not Dispatch's shared pool: a thread held up in `deliver` (a slow reader of what is
    /// written) must leave the others making runs, and in a process whose pool is busy with
    /// other work (a server's database queues, say) the pool may give none for a long while.
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
        withoutActuallyEscaping(body) { body in
            withoutActuallyEscaping(deliver) { deliver in
                // Each thread takes the next run not yet taken until none is left.
                let work: @Sendable () -> Void = {
                    while let run = delivery.claimRun(of: runCount) {
                        let range = (count * run / runCount)..<(count * (run + 1) / runCount)
                        delivery.finished(run, body(range), deliver: deliver)
                    }
                }
                let helpers = (1..<min(runCount, processorCount())).compactMap { _ in WorkerThread.start(work) }
                work()
                for helper in helpers { helper.join() }
            }
        }
    }

    /// The cores the process may run on now (at least one).
    private static func processorCount() -> Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// A thread of its own running one closure, joined before the closure's captures end.
    private final class WorkerThread {
        private let thread: pthread_t

        private init(thread: pthread_t) { self.thread = thread }

        /// A thread running `work`; nil when the system gives none (the caller's thread then
        /// does the runs this one would have).
        static func start(_ work: @escaping @Sendable () -> Void) -> WorkerThread? {
            let box = Unmanaged.passRetained(Box(work))
            #if canImport(Glibc)
            var thread = pthread_t()
            #else
            var thread: pthread_t?
            #endif
            let started = pthread_create(
                &thread, nil,
                { raw in
                    guard let raw else { return nil }
                    Unmanaged<Box>.fromOpaque(raw).takeRetainedValue().work()
                    return nil
                }, box.toOpaque())
            guard started == 0 else {
                box.release()
                return nil
            }
            #if canImport(Glibc)
            return WorkerThread(thread: thread)
            #else
            return thread.map { WorkerThread(thread: $0) }
            #endif
        }

        /// Waits for the thread to end.
        func join() { pthread_join(thread, nil) }

        private final class Box {
            let work: @Sendable () -> Void
            init(_ work: @escaping @Sendable () -> Void) { self.work = work }
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
        /// How many runs threads have taken so far.
        private let taken = Atomic<Int>(0)

        /// The next run no thread has taken yet, for the caller to make; nil once all
        /// `runCount` are taken.
        func claimRun(of runCount: Int) -> Int? {
            let run = taken.add(1, ordering: .relaxed).oldValue
            return run < runCount ? run : nil
        }

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
