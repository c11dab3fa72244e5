import Dispatch
import LineProtocol
public import Replication
import Synchronization

/// Cases as a central database stores them (each record's canonical JSON, ``RecordCoding``),
/// read back many at a time, decoded across the cores while they are read: what both backends
/// share when a package reads an authority's open cases.
public enum StoredCases {
    /// How many rows a reader gathers before adding them to a ``Decoding``: enough to be worth
    /// a thread.
    public static let batchSize = 256

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

    /// Stored cases decoded while they are still being read: each batch of rows added is decoded
    /// at once on another thread and handed, there, to `reading` (what the caller makes of a
    /// batch of records, which are let go once it returns), so that reading rows from the
    /// database, decoding them and using them overlap.
    ///
    /// ```swift
    /// let decoding = StoredCases.Decoding { records in records.count }
    /// while let batch = nextRows() { decoding.add(batch) }
    /// let counts = try await decoding.results()
    /// ```
    public final class Decoding<Reading: Sendable>: Sendable {
        private let reading: @Sendable ([Record]) -> Reading
        private let group = DispatchGroup()
        private let batches = Mutex<[Result<Reading, CentralError>?]>([])

        /// Decodes batches and hands each to `reading`.
        public init(_ reading: @escaping @Sendable ([Record]) -> Reading) {
            self.reading = reading
        }

        /// Starts decoding `rows` (ids and stored bodies), which come after those added before.
        public func add(_ rows: [(id: String, body: [UInt8])]) {
            guard !rows.isEmpty else { return }
            let number = batches.withLock { batches in
                batches.append(nil)
                return batches.count - 1
            }
            DispatchQueue.global().async(group: group) { [self] in
                let result = StoredCases.decodeRun(rows).map(reading)
                batches.withLock { $0[number] = result }
            }
        }

        /// What `reading` made of each batch, in the order added, once all are done, blocking the
        /// calling thread until then (for a caller on a thread of its own, as SQLite's are).
        /// Throws a storage error naming the first case, in that order, whose body cannot be
        /// read.
        public func waitForResults() throws(CentralError) -> [Reading] {
            group.wait()
            return try collected()
        }

        /// ``waitForResults()`` for a caller on Swift's cooperative threads: waits without
        /// holding one.
        public func results() async throws(CentralError) -> [Reading] {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                group.notify(queue: .global()) { done.resume() }
            }
            return try collected()
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
