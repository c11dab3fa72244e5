import Dispatch
import LineProtocol
public import Replication
import Synchronization

/// Cases as a central database stores them (each record's canonical JSON, ``RecordCoding``),
/// read back many at a time, decoded across the cores while they are read: what both backends
/// share when a package reads an authority's open cases.
public enum StoredCases {
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

    /// The records of every run, in order; the first run's failure, in order.
    static func joined(_ runs: [Result<[Record], CentralError>]) throws(CentralError) -> [Record] {
        var records: [Record] = []
        records.reserveCapacity(runs.reduce(0) { $0 + ((try? $1.get())?.count ?? 0) })
        for run in runs { records += try run.get() }
        return records
    }

    /// Stored cases decoded while they are still being read: each batch of rows added is decoded
    /// at once on another thread, so reading rows from the database and decoding them overlap.
    ///
    /// ```swift
    /// let decoding = StoredCases.Decoding()
    /// while let batch = nextRows() { decoding.add(batch) }
    /// let records = try await decoding.records()
    /// ```
    public final class Decoding: Sendable {
        /// How many rows a caller gathers before adding them: enough to be worth a thread.
        public static let batchSize = 256

        private let group = DispatchGroup()
        private let batches = Mutex<[Result<[Record], CentralError>?]>([])

        public init() {}

        /// Starts decoding `rows` (ids and stored bodies), which come after those added before.
        public func add(_ rows: [(id: String, body: [UInt8])]) {
            guard !rows.isEmpty else { return }
            let number = batches.withLock { batches in
                batches.append(nil)
                return batches.count - 1
            }
            DispatchQueue.global().async(group: group) { [self] in
                let result = StoredCases.decodeRun(rows)
                batches.withLock { $0[number] = result }
            }
        }

        /// Every record added, in the order added, once all are decoded, blocking the calling
        /// thread until then (for a caller on a thread of its own, as SQLite's are). Throws a
        /// storage error naming the first case, in that order, whose body cannot be read.
        public func waitForRecords() throws(CentralError) -> [Record] {
            group.wait()
            return try collected()
        }

        /// ``waitForRecords()`` for a caller on Swift's cooperative threads: waits without holding
        /// one.
        public func records() async throws(CentralError) -> [Record] {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                group.notify(queue: .global()) { done.resume() }
            }
            return try collected()
        }

        /// The records once every batch is decoded.
        private func collected() throws(CentralError) -> [Record] {
            let runs = batches.withLock { batches in
                batches.map { batch in
                    guard let batch else { preconditionFailure("StoredCases.Decoding: a batch was not decoded") }
                    return batch
                }
            }
            return try joined(runs)
        }
    }
}
