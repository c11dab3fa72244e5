import Central
import CentralPostgres
import Foundation
import LineProtocol
import Replication
import TestSupport
import Testing

/// A central database restored from its backup, on each backend: it keeps its identity and key,
/// begins a life of its own (``DatabaseIncarnation``), and refuses every cursor issued before
/// it was restored, even once its newest change has passed them, so that laptops start over.
extension CentralTests {
    /// A database restored from a backup: opened, and a way to open it again.
    struct Restored {
        let storage: any CentralStorage
        let reopen: () async throws -> any CentralStorage
    }

    /// Takes `edt central backup`'s backup of `storage`'s database and runs `body` with a way to
    /// restore it, as `Docs/CLI.md` says, as often as asked, each time as a new database: SQLite's
    /// copy put in place of a database file, or `pg_dump`'s restored into a new database with
    /// `pg_restore`.
    func withBackup(
        of storage: any CentralStorage, _ body: (_ restore: () async throws -> Restored) async throws -> Void
    ) async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let backup = directory.appendingPathComponent("backup").path
        var restores = 0
        if let sqlite = storage as? SQLiteCentralStorage {
            _ = try await sqlite.backup(to: backup)
            try await body {
                restores += 1
                let path = directory.appendingPathComponent("restored-\(restores).sqlite").path
                try FileManager.default.copyItem(atPath: backup, toPath: path)
                return Restored(storage: try SQLiteCentralStorage(path: path)) { try SQLiteCentralStorage(path: path) }
            }
            return
        }
        let postgres = try #require(storage as? PostgresCentralStorage)
        _ = try await postgres.backup(to: backup)
        var databases: [String] = []
        var opened: [PostgresCentralStorage] = []
        func open(_ database: String) async throws -> any CentralStorage {
            let storage = try await PostgresCentralStorage.open(
                try PostgresAddress(database), leaseTimeout: .seconds(300))
            opened.append(storage)
            return storage
        }
        do {
            try await body {
                let database = try TestPostgres.createDatabase()
                databases.append(database)
                let restore = Process()
                restore.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                restore.arguments = ["pg_restore", "--clean", "--if-exists", "--no-owner", "-d", database, backup]
                try restore.run()
                restore.waitUntilExit()
                #expect(restore.terminationStatus == 0, "pg_restore")
                return Restored(storage: try await open(database)) { try await open(database) }
            }
        } catch {
            for storage in opened { await storage.close() }
            for database in databases { TestPostgres.dropDatabase(database) }
            throw error
        }
        for storage in opened { await storage.close() }
        for database in databases { TestPostgres.dropDatabase(database) }
    }

    /// The cursor a first pull from `storage` by edt-laptop-a ends with.
    func cursorOfAFirstPull(from storage: any CentralStorage) async throws -> Cursor {
        let reply = try await SyncService(storage: storage).reply(
            pushed: [], outcomes: [], pull: Cursor("-"), to: try device(), counter: 1)
        return try #require(try pulled(reply, by: storage).knowledge)
    }

    /// Whether `storage`'s centre takes `cursor` (false: the device must start over).
    func takes(_ cursor: Cursor, _ storage: any CentralStorage) async throws -> Bool {
        let laptop = try device()
        do throws(CentralError) {
            _ = try await SyncService(storage: storage).reply(
                pushed: [], outcomes: [], pull: cursor, to: laptop, counter: 1)
            return true
        } catch {
            #expect(error.code == .startOver, "\(error)")
            #expect(error.message.contains("restored from a backup"), "\(error.message)")
            return false
        }
    }

    @Test(arguments: StorageBackend.available) func aRestoredDatabaseRefusesEveryCursorIssuedBeforeItWasRestored(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try device()
            _ = try await service.store([try referral("case-1"), try referral("case-2")], from: laptop)
            #expect(storage.incarnation == DatabaseIncarnation.first, "a new database is in its first life")
            #expect(try await cursorOfAFirstPull(from: storage).text == "central.\(storage.identity):2")
            try await withBackup(of: storage) { restore in
                // After the backup, the centre acknowledged a third case: a cursor past the backup.
                _ = try await service.store([try referral("case-3")], from: laptop)
                let before = try await cursorOfAFirstPull(from: storage)
                #expect(before.text == "central.\(storage.identity):3")

                let restored = try await restore()
                let copy = restored.storage
                #expect(copy.identity == storage.identity && copy.publicKey == storage.publicKey, "trusted as before")
                #expect(copy.incarnation != DatabaseIncarnation.first, "a restored database begins a life of its own")
                #expect(try await copy.newestSequence() == 2)
                #expect(try await !takes(before, copy), "a cursor ahead of it")
                // Other laptops push to it before this one comes back: its newest change passes
                // the cursor, which is refused all the same.
                _ = try await SyncService(storage: copy).store(
                    [try referral("case-4"), try referral("case-5")], from: laptop)
                #expect(try await copy.newestSequence() == 4)
                #expect(try await !takes(before, copy), "a cursor from before it was restored")
                #expect(try await !takes(try #require(Cursor("central.\(storage.identity):1")), copy), "however old")

                // Its own cursors carry its incarnation, and are taken, also once it is opened again.
                let own = try await cursorOfAFirstPull(from: copy)
                #expect(
                    own.text == "central.\(copy.identity):4,central.\(copy.identity).incarnation:\(copy.incarnation)")
                #expect(try await takes(own, copy))
                #expect(try await takes(try #require(Cursor("-")), copy), "the start is good anywhere")
                let reopened = try await restored.reopen()
                #expect(reopened.incarnation == copy.incarnation, "made once, then kept")
                #expect(try await takes(own, reopened))

                // The same backup restored again is another life: the first restore's cursors are refused.
                let again = try await restore().storage
                #expect(again.incarnation != DatabaseIncarnation.first && again.incarnation != copy.incarnation)
                #expect(try await !takes(own, again))
                #expect(try await takes(try await cursorOfAFirstPull(from: again), again))

                // The database it was copied from lives on in its first life.
                #expect(storage.incarnation == DatabaseIncarnation.first)
                #expect(try await takes(before, storage))
            }
        }
    }
}
