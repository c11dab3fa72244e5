import Foundation
import GRDB
import LineProtocol
import ReplicaStore
import Replication
import TestSupport
import Testing

/// A store written by the previous version (before the schema had migrations) opens and is
/// migrated with nothing lost. The fixture `Fixtures/store-schema-1/replica.sqlite` was made by
/// edt 0.1 (commit 4cf9829): two referrals captured on `edt-laptop-a`, a conflict brought by a
/// bundle from `edt-laptop-b`, a decision, a sync in which the centre refused one referral, then
/// a resolution. Its passphrase is "fixture pass phrase".
@Suite("Store schema migrations")
struct SchemaMigrationTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/store-schema-1/replica.sqlite")
    static let passphrase = "fixture pass phrase"
    static let kept = try! RecordID("c9d0683d-422a-4193-81b9-85fd7b0e3711")
    static let refused = try! RecordID("611f801f-5f8e-4a3b-84a3-449448814725")

    /// A copy of the fixture in a fresh directory (the test must not change the committed file).
    func copyOfFixture() throws -> URL {
        let directory = temporaryDirectory().appendingPathComponent("store")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.fixture, to: directory.appendingPathComponent(ReplicaStore.fileName))
        return directory
    }

    /// The migrations recorded in the store in `directory`.
    func migrations(in directory: URL) throws -> [String] {
        try DatabaseQueue(path: directory.appendingPathComponent(ReplicaStore.fileName).path).read { db in
            try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
        }
    }

    @Test func aStoreOfThePreviousSchemaOpensWithNothingLost() throws {
        let directory = try copyOfFixture()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        var digest = ""
        do {  // the store closes (releasing its lock) at the end of this block
            let opened = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
            // What edt 0.1 printed for this store (`edt store digest`, and the records it listed).
            #expect((try opened.digest()) == "09dd4ca3aa1ebca2a4b4e6632c2c817bd763f5ed22077da8ee887b37d2181819")
            #expect(opened.device.rawValue == "edt-laptop-a")
            #expect(opened.authorities == ["E06000037", "E06000038"])
            #expect(Data(opened.publicKey).base64EncodedString() == "N0hUnD5dvVR2jhQKXj/76/u9U1rabJ2q7G5ib0R4naY=")
            #expect(Notation.text(opened.knowledge) == "edt-laptop-a:23,edt-laptop-b:1")
            #expect(Set((try opened.recordIDs())) == [Self.kept, Self.refused])
            #expect((try opened.record(Self.kept))?.entries.map(\.kind) == ["decision", "resolution"])
            // The sync bookkeeping: both records pending, the refusal kept, the cursor, the counter.
            #expect(try opened.pendingRecords() == [Self.refused, Self.kept].sorted())
            let rejections = try opened.rejections()
            #expect(rejections.map(\.record) == [Self.refused])
            #expect(rejections.first?.reason == "forbidden")
            #expect(try opened.checkpoint(for: "http://127.0.0.1:38315") == "central.frilmovfymy3:1")
            #expect(
                try opened.nextRequestCounter() == 2,
                "the counter goes on from the last one used: no request counter is reused")
            // A change after migrating is kept, and the store reopens without migrating again.
            let dot = try opened.commit(loading: [Self.refused]) { replica in
                replica.write(.string("Seen by the day team"), to: try FieldPath("concern"), in: Self.refused)
            }
            #expect(dot == (try Dot(try DeviceID("edt-laptop-a"), 24)))
            digest = (try opened.digest())
        }
        let reopened = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
        #expect((try reopened.digest()) == digest)
        #expect(try migrations(in: directory) == ["v1-records", "v2-sync", "v3-catalog", "v4-accepted"])
    }

    @Test func aNewStoreHasEveryMigrationRecorded() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        var store: ReplicaStore? = try ReplicaStore.create(
            at: directory, device: try DeviceID("edt-laptop-a"), authorities: ["E06000038"], passphrase: "p")
        #expect(try store?.recordIDs().isEmpty == true)
        store = nil
        #expect(try migrations(in: directory) == ["v1-records", "v2-sync", "v3-catalog", "v4-accepted"])
    }

    @Test func aFileThatIsNotAStoreIsRefusedAndLeftAlone() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent(ReplicaStore.fileName)
        try DatabaseQueue(path: file.path).write { db in try db.execute(sql: "CREATE TABLE other (x)") }
        let refusal = #expect(throws: StoreError.self) { try ReplicaStore.open(at: directory, passphrase: "p") }
        #expect(refusal?.code == .corrupt)
        let tables = try DatabaseQueue(path: file.path).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        }
        #expect(tables == ["other"], "nothing was created in a file that is not a store")
    }
}

/// Migrations the fixture does not exercise, and `edt init` cut short.
@Suite("Store schema: older stores and interrupted creation")
struct OlderStoreTests {
    /// A store made before sync existed (no `pending`, no `rejections`): every record becomes
    /// pending, so the first sync pushes all of it.
    @Test func aStoreFromBeforeSyncHasEveryRecordPending() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent(ReplicaStore.fileName)
        try FileManager.default.copyItem(at: SchemaMigrationTests.fixture, to: file)
        try DatabaseQueue(path: file.path).write { db in
            try db.execute(sql: "DROP TABLE pending; DROP TABLE rejections; DELETE FROM checkpoints")
        }
        let store = try ReplicaStore.open(at: directory, passphrase: SchemaMigrationTests.passphrase)
        #expect(try store.pendingRecords() == [SchemaMigrationTests.refused, SchemaMigrationTests.kept].sorted())
        #expect(try store.rejections().isEmpty)
        #expect((try store.digest()) == "09dd4ca3aa1ebca2a4b4e6632c2c817bd763f5ed22077da8ee887b37d2181819")
    }

    /// `edt init` makes the store under another name and renames it whole: what an interrupted
    /// one leaves is replaced by the next, and no half-made store is ever taken for a store.
    @Test func aCreationCutShortIsReplacedByTheNext() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let leftover = directory.appendingPathComponent(ReplicaStore.fileName + ".creating")
        try DatabaseQueue(path: leftover.path).write { db in try db.execute(sql: "CREATE TABLE meta (key, value)") }
        let notFound = #expect(throws: StoreError.self) { try ReplicaStore.open(at: directory, passphrase: "p") }
        #expect(notFound?.code == .notFound)
        var store: ReplicaStore? = try ReplicaStore.create(
            at: directory, device: try DeviceID("edt-laptop-a"), authorities: ["E06000038"], passphrase: "p")
        #expect(store?.device.rawValue == "edt-laptop-a")
        store = nil
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(!files.contains { $0.contains(".creating") }, "\(files)")
        #expect(try ReplicaStore.open(at: directory, passphrase: "p").device.rawValue == "edt-laptop-a")
    }
}
