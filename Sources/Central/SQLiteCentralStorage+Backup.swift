import Foundation
import GRDB

/// An online backup of the central database (SQLite's backup API, through GRDB): a whole,
/// consistent copy taken while the centre serves, every commit made before it began included,
/// without the database's incarnation (``DatabaseIncarnation``).
extension SQLiteCentralStorage {
    /// What a backup copied.
    public struct Backup: Sendable, Hashable {
        public let path: String
        public let bytes: Int64
        /// The cases it holds, and the newest change number in it.
        public let cases: Int
        public let newestSequence: Int64
    }

    /// Copies the database to a new file at `path`, in one consistent read while writers go on.
    /// Refused when `path` exists (a backup never overwrites) or is this database itself; a
    /// failed copy leaves no file behind.
    public func backup(to path: String) async throws(CentralError) -> Backup {
        let target = URL(fileURLWithPath: path).standardizedFileURL
        guard target.path != URL(fileURLWithPath: self.path).standardizedFileURL.path else {
            throw CentralError(.refused, "\(path) is the central database itself: give a new file for the backup")
        }
        guard !FileManager.default.fileExists(atPath: target.path) else {
            throw CentralError(.refused, "\(path) exists already: a backup never overwrites a file; give a new one")
        }
        do {
            let destination = try DatabaseQueue(path: target.path)
            try await read { db in
                try destination.writeWithoutTransaction { copy in try db.backup(to: copy) }
            }
            let (cases, newest) = try await destination.read { db in
                (
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cases") ?? 0,
                    try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM cases") ?? 0
                )
            }
            // Restored, the copy begins a new life of the database: it makes an incarnation of its
            // own when opened, so the cursors issued after the backup are told from its own.
            try await destination.write { db in try Self.removeIncarnation(from: db) }
            // One file, with nothing left in a write-ahead log beside it.
            try await destination.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
            try destination.close()
            let bytes =
                (try FileManager.default.attributesOfItem(atPath: target.path)[.size] as? NSNumber)?.int64Value ?? 0
            return Backup(path: target.path, bytes: bytes, cases: cases, newestSequence: newest)
        } catch {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                try? FileManager.default.removeItem(atPath: target.path + suffix)
            }
            if let error = error as? CentralError { throw error }
            throw CentralError(.storage, "the backup to \(path) failed, and nothing was left there: \(error)")
        }
    }
}
