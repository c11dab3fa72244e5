import Foundation
import GRDB
import Replication
import TestSupport
import Testing

@testable import ReplicaStore

/// A commit that returned must survive a power cut, not only a killed process: the store's log
/// is synced on every commit (`synchronous = FULL`), on a new store and on one opened again.
/// (GRDB sets `NORMAL` when it turns the write-ahead log on, after the store's own settings.)
@Suite("Commits are synced to disk")
struct CommitSyncTests {
    @Test func everyCommitIsSyncedOnANewStoreAndOnOneOpenedAgain() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        do {  // the store is let go (and its lock released) at the end of this block
            let created = try ReplicaStore.create(
                at: directory, device: try DeviceID("edt-laptop-a"), authorities: ["E06000038"], passphrase: "pw")
            #expect(try synchronousMode(of: created) == 2, "FULL is 2; NORMAL (1) does not sync a commit")
        }
        let opened = try ReplicaStore.open(at: directory, passphrase: "pw")
        #expect(try synchronousMode(of: opened) == 2)
        #expect(try opened.database.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") } == "wal")
    }

    private func synchronousMode(of store: ReplicaStore) throws -> Int? {
        try store.database.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
    }
}
