import Foundation
import GRDB
import TestSupport
import Testing

@testable import Central

/// An acknowledged case must survive a power cut at the centre: the SQLite writer syncs its log
/// on every commit (`synchronous = FULL`). GRDB's pool sets `NORMAL` when it turns the
/// write-ahead log on, after the storage's own settings; a new database and one opened again
/// are both checked.
@Suite("The centre's commits are synced to disk")
struct CommitSyncTests {
    @Test func theWriterSyncsEveryCommitOnANewDatabaseAndOnOneOpenedAgain() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("central.sqlite").path
        for _ in 0..<2 {
            let storage = try SQLiteCentralStorage(path: path)
            let mode = try await storage.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
            #expect(mode == 2, "FULL is 2; NORMAL (1) does not sync a commit")
            let journal = try await storage.write { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
            #expect(journal == "wal")
        }
    }
}
