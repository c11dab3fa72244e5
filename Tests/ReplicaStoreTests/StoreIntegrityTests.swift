import Foundation
import GRDB
import LineProtocol
import ReplicaStore
import Replication
import TestSupport
import Testing

/// A lost laptop's finder who keeps an older copy of the store file cannot make the laptop
/// forget: a record put back from the copy, a row deleted, the version vector, a cursor or the
/// request counter rolled back, are each found when the store is opened, which then refuses
/// with `altered` and changes nothing. Every test works on real store files, edited with SQL
/// while the store is closed, as the finder would.
@Suite("Store integrity: a store changed outside edt is refused")
struct StoreIntegrityTests {
    static let passphrase = "pass phrase"
    let device: DeviceID
    let first: RecordID
    let second: RecordID
    let concern: FieldPath

    init() throws {
        device = try DeviceID("edt-laptop-a")
        first = try RecordID("0b0c0d0e-1111-4222-8333-444455556666")
        second = try RecordID("0b0c0d0e-1111-4222-8333-777788889999")
        concern = try FieldPath("concern")
    }

    // MARK: - Helpers

    /// A new store in a fresh directory holding `first` and `second`, closed again; the caller
    /// removes `directory.deletingLastPathComponent()`.
    func makeStore() throws -> URL {
        let directory = temporaryDirectory().appendingPathComponent("store")
        let store = try ReplicaStore.create(
            at: directory, device: device, authorities: ["E06000038"], passphrase: Self.passphrase)
        try store.commit { replica in
            replica.write(.string("Child alone at the station"), to: concern, in: first)
            replica.write(.string("Neighbour heard shouting"), to: concern, in: second)
        }
        return directory
    }

    func file(_ directory: URL) -> URL { directory.appendingPathComponent(ReplicaStore.fileName) }

    /// A copy of the (closed) store's file, beside the store: the finder's older copy.
    func copyOfStore(_ directory: URL, as name: String) throws -> URL {
        let copy = directory.deletingLastPathComponent().appendingPathComponent(name)
        try FileManager.default.copyItem(at: file(directory), to: copy)
        return copy
    }

    /// Runs each statement of `statements` with `arguments` on the closed store's file, in one
    /// transaction, with `older` (a copy of the file) attached as `old`.
    func edit(
        _ directory: URL, attaching older: URL? = nil, _ statements: String..., arguments: StatementArguments = []
    ) throws {
        let database = try DatabaseQueue(path: file(directory).path)
        try database.writeWithoutTransaction { db in
            if let older { try db.execute(sql: "ATTACH DATABASE ? AS old", arguments: [older.path]) }
            try db.inTransaction {
                for sql in statements {
                    try db.execute(sql: sql, arguments: arguments)
                    #expect(db.changesCount > 0, "the edit \(sql) changed nothing")
                }
                return .commit
            }
            if older != nil { try db.execute(sql: "DETACH DATABASE old") }
        }
        try database.close()
    }

    /// The rows of every table of the closed store, to show that a refused opening changed nothing.
    func contents(_ directory: URL) throws -> [String] {
        let database = try DatabaseQueue(path: file(directory).path)
        defer { try? database.close() }
        return try database.read { db in
            var lines = try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY 1")
            for table in ["meta", "records", "pending", "rejections", "checkpoints", "grdb_migrations", "buckets"]
            where try db.tableExists(table) {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1") {
                    lines.append("\(table) \(row)")
                }
            }
            return lines
        }
    }

    /// Expects opening the store to be refused as altered, naming `found`, with nothing changed.
    func expectRefused(
        _ directory: URL, naming found: [String], sourceLocation: SourceLocation = #_sourceLocation
    )
        throws
    {
        let before = try contents(directory)
        let refusal = #expect(throws: StoreError.self, sourceLocation: sourceLocation) {
            try readAsCommandsDo(directory)
        }
        #expect(refusal?.code == .altered, "\(String(describing: refusal))", sourceLocation: sourceLocation)
        let message = refusal?.message ?? ""
        #expect(message.contains("was altered outside edt"), "\(message)", sourceLocation: sourceLocation)
        #expect(message.contains("Restore the store directory from a backup"), sourceLocation: sourceLocation)
        for text in found { #expect(message.contains(text), "\(message)", sourceLocation: sourceLocation) }
        #expect(try contents(directory) == before, "a refused opening changes nothing", sourceLocation: sourceLocation)
        // Refused again the next time: nothing was repaired or re-sealed by the first attempt.
        #expect(throws: StoreError.self, sourceLocation: sourceLocation) {
            try readAsCommandsDo(directory, lockWaitSeconds: 0)
        }
        // And the whole check finds it too.
        #expect(throws: StoreError.self, sourceLocation: sourceLocation) {
            try ReplicaStore.open(at: directory, passphrase: Self.passphrase, lockWaitSeconds: 0).verifyWhole()
        }
    }

    /// Opens the store and reads it as commands do: opening (settings, refusals, cursors), each
    /// record, the pending list (a sync) and the list of referrals. A store is refused by the
    /// first of these that reads the altered part.
    func readAsCommandsDo(_ directory: URL, lockWaitSeconds: Double = ReplicaStore.defaultLockWaitSeconds) throws {
        let store = try ReplicaStore.open(
            at: directory, passphrase: Self.passphrase, lockWaitSeconds: lockWaitSeconds)
        for id in [first, second] { _ = try store.record(id) }
        _ = try store.pendingRecords()
        try store.list(ReplicaStore.ListFilter()) { _ in }
    }

    // MARK: - The attack of issue 18

    /// The attack found: an older sealed copy of a record put back from an earlier copy of the
    /// file, and its `pending` row deleted, erased a recorded decision with no error.
    @Test func aRecordPutBackFromAnOlderCopyWithItsPendingRowDeletedIsRefused() throws {
        let directory = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let older = try copyOfStore(directory, as: "older.sqlite")
        do {
            let store = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
            try store.commit(loading: [first]) { replica in
                _ = try replica.append(
                    kind: "decision", payload: .object(["text": .string("strategy discussion now")]), to: first)
            }
        }
        let decided = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
        #expect((try decided.record(first))?.entries.map(\.kind) == ["decision"])
        _ = consume decided
        try edit(
            directory, attaching: older,
            "UPDATE records SET sealed = (SELECT sealed FROM old.records WHERE id = ?1) WHERE id = ?1",
            "DELETE FROM pending WHERE id = ?1", arguments: [first.rawValue])
        // Reading the record finds its content put back; the whole check finds the pending row.
        try expectRefused(directory, naming: ["records: changed", "does not match its catalog"])
        let whole = #expect(throws: StoreError.self) {
            try ReplicaStore.open(at: directory, passphrase: Self.passphrase).verifyWhole()
        }
        #expect(whole?.message.contains("the list of records waiting to be synced: 1 row(s) deleted") == true)
    }

    @Test func anEditedVersionVectorIsRefused() throws {
        let directory = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        // A vector that parses and covers less: the laptop would reuse dots it already used.
        try edit(directory, "UPDATE meta SET value = 'edt-laptop-a:1' WHERE key = 'knowledge'")
        try expectRefused(directory, naming: ["the store's settings", "changed"])
    }

    @Test func aDeletedPendingRowIsRefused() throws {
        let directory = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try edit(directory, "DELETE FROM pending WHERE id = ?", arguments: [second.rawValue])
        try expectRefused(directory, naming: ["the list of records waiting to be synced: 1 row(s) deleted"])
    }

    /// A sync that settles every pending record leaves the list's tally empty without working
    /// out each deleted row's digest; one that settles some subtracts theirs. Either way the
    /// store opens and verifies whole, and a pending row added or deleted afterwards is found.
    @Test func settlingEveryPendingRecordOrSomeKeepsTheListSealed() throws {
        for settlesAll in [true, false] {
            let directory = try makeStore()
            defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
            do {
                let store = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
                let settled = settlesAll ? [first, second] : [first]
                let acknowledgements: [PushAcknowledgement] = try settled.map { id in
                    .stored(id, pushed: try #require(try store.record(id)).version)
                }
                try store.applySync(acknowledgements: acknowledgements, pulled: [], cursor: nil, peer: "p")
                #expect(try store.pendingRecords() == (settlesAll ? [] : [second]))
            }
            let reopened = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
            #expect(try reopened.verifyWhole() == 2)
            #expect(try reopened.pendingRecords() == (settlesAll ? [] : [second]))
            _ = consume reopened
            if settlesAll {
                try edit(directory, "INSERT INTO pending (id) VALUES (?)", arguments: [first.rawValue])
                try expectRefused(directory, naming: ["the list of records waiting to be synced: 1 row(s) added"])
            } else {
                try edit(directory, "DELETE FROM pending WHERE id = ?", arguments: [second.rawValue])
                try expectRefused(directory, naming: ["the list of records waiting to be synced: 1 row(s) deleted"])
            }
        }
    }

    @Test func aDeletedRecordIsRefused() throws {
        let directory = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try edit(directory, "DELETE FROM records WHERE id = ?", arguments: [second.rawValue])
        try expectRefused(directory, naming: ["records: the content of record \(second) was deleted"])
    }

    /// A push of much of the store checks every bucket in one pass before it reads any record:
    /// an intact store reads on, and a catalog row edited anywhere refuses the push before a
    /// byte of it is sent. A push of a few records leaves each batch to check its own buckets.
    @Test func aPushOfMuchOfTheStoreChecksEveryBucketBeforeReading() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let ids = try (0..<800).map { try RecordID("0b0c0d0e-1111-4222-8333-" + String(format: "%012d", $0)) }
        do {
            let store = try ReplicaStore.create(
                at: directory, device: device, authorities: ["E06000038"], passphrase: Self.passphrase)
            try store.commit { replica in
                for id in ids { replica.write(.string("Child alone at the station"), to: concern, in: id) }
            }
            try store.prepareToRead(ids)
            #expect(try store.encodedRecords(ids).count == ids.count)
        }
        let edited = ids[400]
        try edit(directory, "UPDATE catalog SET conflicts = conflicts + 1 WHERE id = ?", arguments: [edited.rawValue])
        let store = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
        let refusal = #expect(throws: StoreError.self) { try store.prepareToRead(ids) }
        #expect(refusal?.code == .altered, "\(String(describing: refusal))")
        // Three records in other buckets than the edited one.
        let database = try DatabaseQueue(path: file(directory).path)
        let few = try database.read { db in
            try String.fetchAll(
                db,
                sql: "SELECT id FROM catalog WHERE bucket != (SELECT bucket FROM catalog WHERE id = ?) LIMIT 3",
                arguments: [edited.rawValue])
        }.map { try RecordID($0) }
        try database.close()
        try store.prepareToRead(few)
        #expect(try store.encodedRecords(few).count == 3, "a few records are checked as they are read")
        #expect(throws: StoreError.self) { try store.encodedRecords([edited]) }
    }

    /// Before a push of much of the store, the pending list (on the store's connection) and
    /// every bucket of the catalog (on a read-only connection of its own) are checked side by
    /// side: an intact store reads on, every bucket checked; a catalog row edited anywhere, or a
    /// pending row deleted, refuses the push before a record is read, and again when asked again.
    @Test func theListAndTheCatalogAreCheckedSideBySideBeforeAPushOfMuchOfTheStore() throws {
        let ids = try (0..<800).map { try RecordID("0b0c0d0e-1111-4222-8333-" + String(format: "%012d", $0)) }
        func makeLargeStore() throws -> URL {
            let directory = temporaryDirectory().appendingPathComponent("store")
            let store = try ReplicaStore.create(
                at: directory, device: device, authorities: ["E06000038"], passphrase: Self.passphrase)
            try store.commit { replica in
                for id in ids { replica.write(.string("Child alone at the station"), to: concern, in: id) }
            }
            return directory
        }
        let intact = try makeLargeStore()
        defer { try? FileManager.default.removeItem(at: intact.deletingLastPathComponent()) }
        do {
            let store = try ReplicaStore.open(at: intact, passphrase: Self.passphrase)
            #expect(try store.pendingRecordsReadyToRead() == ids)
            #expect(try store.encodedRecords(ids).count == ids.count)
        }

        let editedCatalog = try makeLargeStore()
        defer { try? FileManager.default.removeItem(at: editedCatalog.deletingLastPathComponent()) }
        try edit(
            editedCatalog, "UPDATE catalog SET conflicts = conflicts + 1 WHERE id = ?", arguments: [ids[400].rawValue])
        do {
            let store = try ReplicaStore.open(at: editedCatalog, passphrase: Self.passphrase)
            #expect(try store.pendingRecords() == ids, "the list alone is intact: the catalog's pass finds the edit")
            for _ in 0..<2 {
                let refusal = #expect(throws: StoreError.self) { try store.pendingRecordsReadyToRead() }
                #expect(refusal?.code == .altered, "\(String(describing: refusal))")
                #expect(refusal?.message.contains("records: changed") == true, "\(String(describing: refusal))")
            }
        }

        let deletedPending = try makeLargeStore()
        defer { try? FileManager.default.removeItem(at: deletedPending.deletingLastPathComponent()) }
        try edit(deletedPending, "DELETE FROM pending WHERE id = ?", arguments: [ids[7].rawValue])
        let store = try ReplicaStore.open(at: deletedPending, passphrase: Self.passphrase)
        let refusal = #expect(throws: StoreError.self) { try store.pendingRecordsReadyToRead() }
        #expect(refusal?.code == .altered, "\(String(describing: refusal))")
        #expect(
            refusal?.message.contains("the list of records waiting to be synced: 1 row(s) deleted") == true,
            "\(String(describing: refusal))")
    }

    /// When the catalog's own connection cannot be opened (here, the database file renamed
    /// while the store is open), the push is refused with an I/O error saying so, though the
    /// list passed; nothing was counted as checked, so once the file is back it reads on.
    @Test func aCatalogThatCannotBeReadBesideTheListRefusesThePushWithAnIOError() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let ids = try (0..<600).map { try RecordID("0b0c0d0e-1111-4222-8333-" + String(format: "%012d", $0)) }
        let store = try ReplicaStore.create(
            at: directory, device: device, authorities: ["E06000038"], passphrase: Self.passphrase)
        try store.commit { replica in
            for id in ids { replica.write(.string("Child alone at the station"), to: concern, in: id) }
        }
        let aside = directory.appendingPathComponent("aside.sqlite")
        try FileManager.default.moveItem(at: file(directory), to: aside)
        let refusal = #expect(throws: StoreError.self) { try store.pendingRecordsReadyToRead() }
        #expect(refusal?.code == .io, "\(String(describing: refusal))")
        #expect(
            refusal?.message.contains("cannot read the store's catalog to check it") == true,
            "\(String(describing: refusal))")
        try FileManager.default.moveItem(at: aside, to: file(directory))
        #expect(try store.pendingRecordsReadyToRead() == ids)
    }

    @Test func aDeletedCatalogRowIsRefused() throws {
        let directory = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try edit(directory, "DELETE FROM catalog WHERE id = ?", arguments: [second.rawValue])
        try expectRefused(directory, naming: ["records: 1 row(s) deleted"])
    }

    /// The sync checkpoints rolled back to an older copy's: the pull cursor (the laptop would
    /// pull again what it has) and the request counter (it would sign requests with used counters).
    @Test func aSyncCursorOrRequestCounterRolledBackIsRefused() throws {
        let directory = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        do {
            let store = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
            #expect(try store.nextRequestCounter() == 1)
            try store.applySync(acknowledgements: [], pulled: [], cursor: "central.x:2", peer: "https://centre")
        }
        let older = try copyOfStore(directory, as: "older.sqlite")
        do {
            let store = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
            #expect(try store.nextRequestCounter() == 2)
            let versions = try [first, second].map { try #require((try store.record($0))).version }
            try store.applySync(
                acknowledgements: [.stored(first, pushed: versions[0]), .stored(second, pushed: versions[1])],
                pulled: [], cursor: "central.x:9", peer: "https://centre")
        }
        let synced = try copyOfStore(directory, as: "synced.sqlite")
        try edit(
            directory, attaching: older,
            "UPDATE checkpoints SET cursor = (SELECT cursor FROM old.checkpoints WHERE peer = ?1) WHERE peer = ?1",
            arguments: ["https://centre"])
        try expectRefused(directory, naming: ["the sync cursor: changed"])

        try FileManager.default.removeItem(at: file(directory))
        try FileManager.default.copyItem(at: synced, to: file(directory))
        try edit(
            directory, attaching: older,
            "UPDATE meta SET value = (SELECT value FROM old.meta WHERE key = ?1) WHERE key = ?1",
            arguments: ["requestCounter"])
        try expectRefused(directory, naming: ["the store's settings"])

        // Untouched, the synced store opens, with both where they were.
        try FileManager.default.removeItem(at: file(directory))
        try FileManager.default.copyItem(at: synced, to: file(directory))
        let store = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
        #expect(try store.checkpoint(for: "https://centre") == "central.x:9")
        #expect(try store.nextRequestCounter() == 3)
        #expect(try store.pendingRecords().isEmpty)
    }

    /// Every row the seal covers, each table in turn, changed in the ways a finder could: each
    /// one is found.
    @Test(
        arguments: [
            ("a pending row added", "INSERT INTO pending (id) VALUES ('case-9')", "synced: 1 row(s) added"),
            ("a refusal deleted", "DELETE FROM rejections", "the centre's refusals: 1 row(s) deleted"),
            (
                "a refusal put back", "INSERT OR REPLACE INTO rejections SELECT * FROM old.rejections",
                "the centre's refusals: 1 row(s) added"
            ),
            ("a cursor deleted", "DELETE FROM checkpoints", "the sync cursor: 1 row(s) deleted"),
            ("a cursor edited", "UPDATE checkpoints SET cursor = 'central.x:1'", "the sync cursor: changed"),
            (
                "the centre key put back",
                "UPDATE meta SET value = (SELECT value FROM old.meta WHERE key = 'centreKey') WHERE key = 'centreKey'",
                "centre key or identity): changed"
            ),
            (
                "the authorities edited", "UPDATE meta SET value = '[\"E06000037\"]' WHERE key = 'authorities'",
                "settings"
            ),
            ("a setting added", "INSERT INTO meta (key, value) VALUES ('other', 'x')", "identity): 1 row(s) added"),
            ("the seal removed", "DELETE FROM meta WHERE key = 'integrity'", "its integrity seal has been removed"),
            (
                "the seal put back",
                "UPDATE meta SET value = (SELECT value FROM old.meta WHERE key = 'integrity') WHERE key = 'integrity'",
                "the centre's refusals: changed"
            ),
            ("the seal edited", "UPDATE meta SET value = x'00' || value WHERE key = 'integrity'", "cannot be read"),
            ("the format put back", "UPDATE meta SET value = 'edt-store-1' WHERE key = 'format'", "its format"),
        ])
    func everyCoveredRowIsChecked(change: String, sql: String, found: String) throws {
        let directory = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        do {
            let store = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
            try store.setCentreKey(Array(repeating: 1, count: 32))
            try store.applySync(
                acknowledgements: [
                    .refused(
                        .init(record: first, reason: "forbidden", message: "not for this authority"),
                        pushed: try #require((try store.record(first))).version)
                ], pulled: [], cursor: "central.x:4", peer: "https://centre")
        }
        let older = try copyOfStore(directory, as: "older.sqlite")
        do {
            let store = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
            try store.setCentreKey(Array(repeating: 2, count: 32))
            try store.commit(loading: [second]) { replica in
                replica.write(.string("Seen by police"), to: concern, in: second)
            }
            try store.applySync(
                acknowledgements: [
                    .stored(first, pushed: try #require((try store.record(first))).version),
                    .refused(
                        .init(record: second, reason: "invalid", message: "hostAuthority is missing"),
                        pushed: try #require((try store.record(second))).version),
                ], pulled: [], cursor: "central.x:6", peer: "https://centre")
            #expect(try store.rejections().map(\.record) == [second])
        }
        #expect(try ReplicaStore.open(at: directory, passphrase: Self.passphrase).device == device)
        try edit(directory, attaching: older, sql)
        try expectRefused(directory, naming: [found])
        _ = change
    }

    // MARK: - What edt itself does still opens

    /// A long, seeded life of a store, with every kind of change (captures, entries, pulls,
    /// acknowledgements, refusals, starting over, counters, cursors, the centre key, changes
    /// that throw), closed and reopened after each step: it always opens, as it was left.
    @Test func aStoreThatOnlyEdtChangedAlwaysOpens() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        struct Refused: Error {}
        var random = SeededGenerator(seed: 18)
        var store: ReplicaStore? = try ReplicaStore.create(
            at: directory, device: device, authorities: ["E06000038"], passphrase: Self.passphrase)
        var centre = Replica(device: try DeviceID("edt-laptop-b"))
        let ids = try (0..<6).map { try RecordID("case-\($0)") }
        var counter: UInt64 = 0
        for step in 0..<30 {
            let live = try #require(store)
            let id = ids[Int.random(in: 0..<ids.count, using: &random)]
            switch Int.random(in: 0..<9, using: &random) {
            case 0, 1:
                try live.commit(loading: [id]) { replica in replica.write(.string("step \(step)"), to: concern, in: id)
                }
            case 2:
                try live.commit(loading: [id]) { replica in
                    _ = try replica.append(kind: "note", payload: .string("n\(step)"), to: id)
                }
            case 3:
                centre.write(.string("from b, step \(step)"), to: try FieldPath("channel"), in: id)
                try live.applySync(
                    acknowledgements: [], pulled: [try #require(centre[id])], cursor: "central.y:\(step)", peer: "p")
            case 4:
                let acknowledgements: [PushAcknowledgement] = try live.pendingRecords().map { pending in
                    let version = try #require((try live.record(pending))).version
                    return Bool.random(using: &random)
                        ? .stored(pending, pushed: version)
                        : .refused(.init(record: pending, reason: "invalid", message: "step \(step)"), pushed: version)
                }
                try live.applySync(acknowledgements: acknowledgements, pulled: [], cursor: nil, peer: "p")
            case 5:
                try live.startSyncOver()
            case 6:
                counter += 1
                #expect(try live.nextRequestCounter() == counter)
                try live.setCheckpoint("central.y:\(step)", for: "q")
            case 7:
                try live.setCentreKey((0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })
            default:
                #expect(throws: Refused.self) {
                    try live.commit(loading: [id]) { replica in
                        replica.write(.string("never"), to: concern, in: id)
                        throw Refused()
                    }
                }
            }
            let digest = (try live.digest())
            let pending = try live.pendingRecords()
            let rejections = try live.rejections()
            _ = consume live
            store = nil  // closes it, releasing its lock
            store = try ReplicaStore.open(at: directory, passphrase: Self.passphrase, lockWaitSeconds: 0)
            #expect((try store?.digest()) == digest, "step \(step)")
            #expect(try store?.pendingRecords() == pending, "step \(step)")
            #expect(try store?.rejections() == rejections, "step \(step)")
        }
    }

    // MARK: - Stores from before the seal

    /// The schema-1 fixture (edt 0.1, no seal) is sealed at its first opening under a new key:
    /// afterwards its own rows from before, put back, are refused too.
    @Test func aStoreFromBeforeTheSealIsSealedAtItsFirstOpening() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: SchemaMigrationTests.fixture, to: file(directory))
        let preUpgrade = try copyOfStore(directory, as: "pre-upgrade.sqlite")
        let digest = "09dd4ca3aa1ebca2a4b4e6632c2c817bd763f5ed22077da8ee887b37d2181819"
        do {
            let store = try ReplicaStore.open(at: directory, passphrase: SchemaMigrationTests.passphrase)
            #expect((try store.digest()) == digest)
        }
        let format = try DatabaseQueue(path: file(directory).path).read { db in
            try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'format'")
        }
        #expect(format == "edt-store-4")
        // Sealed: it opens again, as it was, and the checks of a sealed store hold for it.
        let reopened = try ReplicaStore.open(at: directory, passphrase: SchemaMigrationTests.passphrase)
        #expect((try reopened.digest()) == digest)
        #expect(try reopened.pendingRecords() == [SchemaMigrationTests.refused, SchemaMigrationTests.kept].sorted())
        #expect(try reopened.rejections().map(\.record) == [SchemaMigrationTests.refused])
        #expect(try reopened.checkpoint(for: "http://127.0.0.1:38315") == "central.frilmovfymy3:1")
        _ = consume reopened
        let sealed = try copyOfStore(directory, as: "sealed.sqlite")
        func restoreSealed() throws {
            try FileManager.default.removeItem(at: file(directory))
            try FileManager.default.copyItem(at: sealed, to: file(directory))
        }
        /// Opens the upgraded store and reads it whole, as a sync and a list would.
        func readWhole() throws {
            let store = try ReplicaStore.open(at: directory, passphrase: SchemaMigrationTests.passphrase)
            _ = try store.pendingRecords()
            _ = try store.digest()
        }
        try edit(directory, "DELETE FROM pending WHERE id = ?", arguments: [SchemaMigrationTests.kept.rawValue])
        let refusal = #expect(throws: StoreError.self) { try readWhole() }
        #expect(refusal?.code == .altered)

        // A record from before the upgrade, put back: sealed under the old key, it does not open.
        try restoreSealed()
        try edit(
            directory, attaching: preUpgrade,
            "UPDATE records SET sealed = (SELECT sealed FROM old.records WHERE id = ?1) WHERE id = ?1",
            arguments: [SchemaMigrationTests.kept.rawValue])
        #expect(throws: StoreError.self) { try readWhole() }
        // Nor can the store be made to pass for one from before the seal, to be sealed anew: the
        // old format, key settings and check put back give the old key, which opens none of its rows.
        try restoreSealed()
        try edit(
            directory, attaching: preUpgrade,
            """
            UPDATE meta SET value = (SELECT value FROM old.meta WHERE old.meta.key = meta.key)
            WHERE key IN ('format', 'kdf', 'check')
            """, "DELETE FROM meta WHERE key = 'integrity'")
        #expect(throws: StoreError.self) { try readWhole() }
    }
}
