import Foundation
import GRDB
import TestSupport
import Testing

/// A lost laptop's finder, holding an older copy of the store file, puts back the older sealed
/// copy of a referral and deletes its pending mark, to erase a decision recorded since: every
/// command refuses the store (exit 3, `altered`) and changes nothing.
extension LaptopCommandTests {
    @Test func aStoreAlteredOutsideEdtIsRefusedByEveryCommand() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try makeStore(directory)
        let created = try edt.run(["referral", "new", "--store", store, "--json"], input: minimalReferral)
        #expect(created.status == 0, "\(created.standardError)")
        let id = try #require(created.json["id"] as? String)
        let file = URL(fileURLWithPath: store).appendingPathComponent("replica.sqlite")
        // Closing the last connection folds the write-ahead log into the file, so it can be copied alone.
        try DatabaseQueue(path: file.path).close()
        let older = directory.appendingPathComponent("older.sqlite")
        try FileManager.default.copyItem(at: file, to: older)
        let decision = try edt.run([
            "referral", "note", "--store", store, id, "--kind", "decision", "--text", "Strategy discussion at 09:00",
            "--by", "J. Okafor", "--role", "EDT social worker",
        ])
        #expect(decision.status == 0, "\(decision.standardError)")
        let database = try DatabaseQueue(path: file.path)
        try database.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS old", arguments: [older.path])
            try db.execute(
                sql: "UPDATE records SET sealed = (SELECT sealed FROM old.records WHERE id = ?) WHERE id = ?",
                arguments: [id, id])
            try db.execute(sql: "DELETE FROM pending WHERE id = ?", arguments: [id])
            try db.execute(sql: "DETACH DATABASE old")
        }
        try database.close()
        /// Every row of every table of the store.
        func rows() throws -> [String] {
            let database = try DatabaseQueue(path: file.path)
            defer { try? database.close() }
            return try database.read { db in
                try ["meta", "records", "catalog", "buckets", "pending", "rejections", "checkpoints"].flatMap { table in
                    try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1").map { "\(table) \($0)" }
                }
            }
        }
        let altered = try rows()
        for arguments in [
            ["referral", "list", "--store", store, "--pending", "--json"], ["referral", "show", "--store", store, id],
            ["store", "digest", "--store", store], ["store", "verify", "--store", store, "--json"],
            [
                "referral", "note", "--store", store, id, "--kind", "note", "--text", "x", "--by", "J. Okafor",
                "--role",
                "EDT social worker",
            ],
        ] {
            let refused = try edt.run(arguments)
            #expect(refused.status == 3, "\(arguments): \(refused.standardError)")
            #expect(refused.standardError.hasPrefix("error: the store in "), "\(refused.standardError)")
            #expect(refused.standardError.contains("was altered outside edt"))
            #expect(refused.standardError.contains("Restore the store directory from a backup"))
            #expect(refused.standardOutput.isEmpty)
        }
        #expect(try rows() == altered, "nothing in the refused store was changed")
    }
}

/// The checks before a push of much of the store run side by side (the pending list on the
/// store's connection, the catalog on one of its own): an edited catalog row still refuses the
/// sync before the centre is sent a record.
extension SyncEndToEndTests {
    @Test func aSyncOfMuchOfAnAlteredStoreIsRefusedBeforeTheCentreStoresAnything() throws {
        let world = World()
        let central = try world.startCentral()
        let laptop = try laptop(world, "edt-laptop-a")
        try importReferrals(laptop, count: 600, tag: "night", in: world.directory)
        let file = URL(fileURLWithPath: laptop.store).appendingPathComponent("replica.sqlite")
        // The store is closed: its write-ahead log is folded into the file, which is copied alone.
        let intact = try Data(contentsOf: file)
        let edited = try DatabaseQueue(path: file.path)
        try edited.write { db in
            try db.execute(
                sql:
                    "UPDATE catalog SET conflicts = conflicts + 1 WHERE id = (SELECT id FROM catalog ORDER BY id LIMIT 1 OFFSET 300)"
            )
        }
        try edited.close()
        /// The cases the centre holds.
        func casesAtTheCentre() throws -> Int {
            let database = try DatabaseQueue(path: world.database.path)
            defer { try? database.close() }
            return try database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM cases") ?? -1 }
        }

        let refused = try sync(laptop, central.url)
        #expect(refused.status == 3, "\(refused.standardError)")
        #expect(refused.standardError.contains("was altered outside edt"), "\(refused.standardError)")
        #expect(refused.standardError.contains("records: changed"), "\(refused.standardError)")
        #expect(try casesAtTheCentre() == 0, "nothing was sent, so nothing stored")

        try intact.write(to: file)
        let synced = try sync(laptop, central.url)
        #expect(synced.status == 0, "\(synced.standardError)")
        #expect(count(synced.json, "pushed") == 600, "\(synced.standardOutput)")
        #expect(try casesAtTheCentre() == 600)
    }
}
