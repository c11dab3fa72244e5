import Dispatch
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
        private let group = DispatchGroup()
        /// One permit per batch that may be waiting or being decoded.
        private let room: DispatchSemaphore
        private let batches = Mutex<[Result<Reading, CentralError>?]>([])
        private let gathering = Mutex(Gathering())

        /// The batch being gathered.
        private struct Gathering {
            var rows: [(id: String, body: [UInt8])] = []
            var bytes = 0
        }

        /// Decodes batches of at most `batchCases` cases and about `batchBytes` bytes, at most
        /// `inFlight` at a time, and hands each to `reading`.
        public init(
            batchCases: Int = StoredCases.batchSize, batchBytes: Int = StoredCases.batchBytes,
            inFlight: Int = StoredCases.batchesInFlight, _ reading: @escaping @Sendable ([Record]) -> Reading
        ) {
            self.reading = reading
            limits = (cases: max(1, batchCases), bytes: max(1, batchBytes))
            room = DispatchSemaphore(value: max(1, inFlight))
        }

        /// Adds one stored case (its id and body), after those added before. When that fills a
        /// batch, the batch is started, first waiting (blocking the calling thread, as SQLite's
        /// readers may) while ``StoredCases/batchesInFlight`` batches are still to be decoded.
        public func add(id: String, body: [UInt8]) {
            guard let full = gathered(id: id, body: body) else { return }
            room.wait()
            start(full)
        }

        /// ``add(id:body:)`` for a caller on Swift's cooperative threads: waits for room
        /// without holding one.
        public func adding(id: String, body: [UInt8]) async {
            guard let full = gathered(id: id, body: body) else { return }
            await waitForRoom()
            start(full)
        }

        /// What `reading` made of each batch, in the order added, once all are done, blocking the
        /// calling thread until then (for a caller on a thread of its own, as SQLite's are).
        /// Throws a storage error naming the first case, in that order, whose body cannot be
        /// read.
        public func waitForResults() throws(CentralError) -> [Reading] {
            if let last = takeGathered() {
                room.wait()
                start(last)
            }
            group.wait()
            return try collected()
        }

        /// ``waitForResults()`` for a caller on Swift's cooperative threads: waits without
        /// holding one.
        public func results() async throws(CentralError) -> [Reading] {
            if let last = takeGathered() {
                await waitForRoom()
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

        /// Waits for a permit to start a batch without holding a cooperative thread.
        private func waitForRoom() async {
            if room.wait(timeout: .now()) == .success { return }
            await withCheckedContinuation { (ready: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async { [room] in
                    room.wait()
                    ready.resume()
                }
            }
        }

        /// Decodes `rows` on another thread, holding a permit until done.
        private func start(_ rows: [(id: String, body: [UInt8])]) {
            let number = batches.withLock { batches in
                batches.append(nil)
                return batches.count - 1
            }
            DispatchQueue.global().async(group: group) { [self] in
                let result = StoredCases.decodeRun(rows).map(reading)
                batches.withLock { $0[number] = result }
                room.signal()
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
}
