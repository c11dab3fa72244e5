public import Dispatch
import LineProtocol
public import Replication
import Synchronization

/// Cases as a central database stores them (each record's canonical JSON, ``RecordCoding``),
/// read back many at a time, decoded across the cores while they are read: what both backends
/// share when a package reads an authority's open cases.
public enum StoredCases {
    /// At most how many cases a reader gathers into one batch before it is decoded: enough to
    /// be worth a thread.
    public static let batchSize = 256
    /// At most about how many bytes of stored bodies one batch holds (a case larger than this is
    /// a batch of its own): cases of a megabyte each are decoded a few at a time, not 256.
    public static let batchBytes = 4 << 20
    /// How many batches may be waiting or being decoded at once before the reader waits for one
    /// to finish: what bounds the memory of a read, whatever an authority's cases add up to.
    public static let batchesInFlight = 4

    /// The records of a run of rows, or the failure of the first that cannot be read.
    static func decodeRun(_ rows: [(id: String, body: [UInt8])]) -> Result<[Record], CentralError> {
        var records: [Record] = []
        records.reserveCapacity(rows.count)
        var reader = RecordCoding.Reader()
        for (id, body) in rows {
            do {
                records.append(try reader.decode(body, id: try RecordID(id)))
            } catch {
                return .failure(CentralError(.storage, "case \(id) is stored in a form that cannot be read: \(error)"))
            }
        }
        return .success(records)
    }

    /// Stored cases decoded while they are still being read: the rows added are gathered into
    /// batches (``batchSize`` cases or ``batchBytes`` of bodies, whichever comes first), each
    /// decoded at once on another thread and handed, there, to `reading` (what the caller makes
    /// of a batch of records, which are let go once it returns), so that reading rows from the
    /// database, decoding them and using them overlap. The reader waits while
    /// ``batchesInFlight`` batches are still to be decoded, so a read holds a few batches of
    /// stored bodies at a time, never all of them.
    ///
    /// ```swift
    /// let decoding = StoredCases.Decoding { records in records.count }
    /// while let (id, body) = nextRow() { decoding.add(id: id, body: body) }
    /// let counts = try decoding.waitForResults()
    /// ```
    public final class Decoding<Reading: Sendable>: Sendable {
        private let reading: @Sendable ([Record]) -> Reading
        private let limits: (cases: Int, bytes: Int)
        private let queue: DispatchQueue
        private let group = DispatchGroup()
        /// One permit per batch that may be waiting or being decoded.
        private let room: Permits
        private let batches = Mutex<[Result<Reading, CentralError>?]>([])
        private let gathering = Mutex(Gathering())

        /// The batch being gathered.
        private struct Gathering {
            var rows: [(id: String, body: [UInt8])] = []
            var bytes = 0
        }

        /// Decodes batches of at most `batchCases` cases and about `batchBytes` bytes, at most
        /// `inFlight` at a time, on `queue` (Dispatch's own, as wide as the cores: a test whose
        /// `reading` blocks gives one of its own), and hands each to `reading`.
        public init(
            batchCases: Int = StoredCases.batchSize, batchBytes: Int = StoredCases.batchBytes,
            inFlight: Int = StoredCases.batchesInFlight, queue: DispatchQueue = .global(),
            _ reading: @escaping @Sendable ([Record]) -> Reading
        ) {
            self.reading = reading
            self.queue = queue
            limits = (cases: max(1, batchCases), bytes: max(1, batchBytes))
            room = Permits(max(1, inFlight))
        }

        /// Adds one stored case (its id and body), after those added before. When that fills a
        /// batch, the batch is started, first waiting (blocking the calling thread, as SQLite's
        /// readers may) while ``StoredCases/batchesInFlight`` batches are still to be decoded.
        public func add(id: String, body: [UInt8]) {
            guard let full = gathered(id: id, body: body) else { return }
            room.take()
            start(full)
        }

        /// ``add(id:body:)`` for a caller on Swift's cooperative threads: waits for room
        /// without holding one.
        public func adding(id: String, body: [UInt8]) async {
            guard let full = gathered(id: id, body: body) else { return }
            await room.taking()
            start(full)
        }

        /// What `reading` made of each batch, in the order added, once all are done, blocking the
        /// calling thread until then (for a caller on a thread of its own, as SQLite's are).
        /// Throws a storage error naming the first case, in that order, whose body cannot be
        /// read.
        public func waitForResults() throws(CentralError) -> [Reading] {
            if let last = takeGathered() {
                room.take()
                start(last)
            }
            group.wait()
            return try collected()
        }

        /// ``waitForResults()`` for a caller on Swift's cooperative threads: waits without
        /// holding one.
        public func results() async throws(CentralError) -> [Reading] {
            if let last = takeGathered() {
                await room.taking()
                start(last)
            }
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                group.notify(queue: .global()) { done.resume() }
            }
            return try collected()
        }

        /// Adds a row to the batch being gathered; returns the batch when that filled it.
        private func gathered(id: String, body: [UInt8]) -> [(id: String, body: [UInt8])]? {
            gathering.withLock { gathering in
                // A large case does not join a batch it would take over its bytes: it starts the next.
                var full: [(id: String, body: [UInt8])]?
                if !gathering.rows.isEmpty, gathering.bytes + body.count > limits.bytes {
                    full = gathering.rows
                    gathering = Gathering()
                }
                gathering.rows.append((id: id, body: body))
                gathering.bytes += body.count
                if full == nil, gathering.rows.count >= limits.cases || gathering.bytes >= limits.bytes {
                    full = gathering.rows
                    gathering = Gathering()
                }
                return full
            }
        }

        /// The batch being gathered, if any, taken to be started.
        private func takeGathered() -> [(id: String, body: [UInt8])]? {
            gathering.withLock { gathering in
                defer { gathering = Gathering() }
                return gathering.rows.isEmpty ? nil : gathering.rows
            }
        }

        /// Decodes `rows` on another thread, holding a permit until done.
        private func start(_ rows: [(id: String, body: [UInt8])]) {
            let number = batches.withLock { batches in
                batches.append(nil)
                return batches.count - 1
            }
            queue.async(group: group) { [self] in
                let result = StoredCases.decodeRun(rows).map(reading)
                batches.withLock { $0[number] = result }
                room.give()
            }
        }

        /// Every batch's result once all are done; the first failure, in order.
        private func collected() throws(CentralError) -> [Reading] {
            let runs = batches.withLock { batches in
                batches.map { batch in
                    guard let batch else { preconditionFailure("StoredCases.Decoding: a batch was not decoded") }
                    return batch
                }
            }
            var results: [Reading] = []
            results.reserveCapacity(runs.count)
            for run in runs { results.append(try run.get()) }
            return results
        }
    }

    /// A count of permits a thread can wait for by blocking (``take()``) and a task by suspending
    /// (``taking()``), neither holding a thread that the work which gives a permit back may need:
    /// a task's wait is not parked on one of Dispatch's threads (on Linux their number is the
    /// cores', and the batches being decoded run on them).
    final class Permits: Sendable {
        private enum Waiter {
            case thread(DispatchSemaphore)
            case task(CheckedContinuation<Void, Never>)
        }
        private struct State {
            var available: Int
            var waiting: [Waiter] = []
            var next = 0  // the first of `waiting` not yet woken
        }
        private let state: Mutex<State>

        init(_ count: Int) {
            state = Mutex(State(available: count))
        }

        /// Takes a permit, blocking the calling thread until one is free.
        func take() {
            let semaphore = state.withLock { state -> DispatchSemaphore? in
                if state.available > 0 {
                    state.available -= 1
                    return nil
                }
                let semaphore = DispatchSemaphore(value: 0)
                state.waiting.append(.thread(semaphore))
                return semaphore
            }
            semaphore?.wait()
        }

        /// Takes a permit, suspending the calling task until one is free.
        func taking() async {
            let taken = state.withLock { state in
                guard state.available > 0 else { return false }
                state.available -= 1
                return true
            }
            if taken { return }
            await withCheckedContinuation { (ready: CheckedContinuation<Void, Never>) in
                let free = state.withLock { state in
                    // Given back meanwhile: take it now.
                    if state.available > 0 {
                        state.available -= 1
                        return true
                    }
                    state.waiting.append(.task(ready))
                    return false
                }
                if free { ready.resume() }
            }
        }

        /// Gives a permit back: to the longest waiting, if any.
        func give() {
            let woken = state.withLock { state -> Waiter? in
                guard state.next < state.waiting.count else {
                    state.available += 1
                    return nil
                }
                let waiter = state.waiting[state.next]
                state.next += 1
                if state.next == state.waiting.count {
                    state.waiting.removeAll(keepingCapacity: true)
                    state.next = 0
                }
                return waiter
            }
            switch woken {
            case .thread(let semaphore): semaphore.signal()
            case .task(let continuation): continuation.resume()
            case nil: break
            }
        }
    }
}
