import Foundation
import TestSupport
import Testing

/// `edt central backup` of a centre on PostgreSQL (`pg_dump`), restored as `Docs/CLI.md` says
/// into a new database with `pg_restore`: the laptops start over and nothing they hold is lost,
/// even when they write again, and push, before they first reach the restored centre. Runs
/// against the server `Tools/test` starts (`EDT_TEST_POSTGRES_URL`).
@Suite(
    "Backups of a PostgreSQL centre, end to end", .serialized,
    .enabled(if: TestPostgres.serverURL != nil, "needs EDT_TEST_POSTGRES_URL (Tools/test starts a server)"))
struct PostgresBackupEndToEndTests {
    let several = SeveralServersEndToEndTests()
    let e2e = SyncEndToEndTests()
    var edt: EDTProcess { e2e.edt }

    /// Runs PostgreSQL's `tool` (`pg_restore`, ...) with `arguments`, as an administrator would.
    func postgresTool(_ tool: String, _ arguments: [String]) throws -> EDTProcess.Result {
        try edt.run([tool] + arguments, executable: URL(fileURLWithPath: "/usr/bin/env"))
    }

    @Test func aBackupRestoredIntoANewDatabaseLosesNothingTheLaptopsHold() throws {
        let world = try SeveralServersEndToEndTests.World()
        let first = try world.startServers(1)[0]
        let a = try several.laptop(world, "edt-laptop-a")
        let c = try several.laptop(world, "edt-laptop-c")
        try several.importReferrals(a, count: 5, tag: "first", in: world.directory)
        #expect(e2e.count(try several.sync(a, first).json, "pushed") == 5)
        #expect(e2e.count(try several.sync(c, first).json, "pulled") == 5)

        // Taken while the centre serves.
        let backup = world.directory.appendingPathComponent("central.dump")
        let taken = try edt.run(["central", "backup", "--db", world.database, "--to", backup.path, "--json"])
        #expect(taken.status == 0, "\(taken.standardError)")
        #expect(taken.json["cases"] as? Int == 5, "\(taken.standardOutput)")
        #expect(taken.json["newestSequence"] as? Int == 5)
        #expect(FileManager.default.fileExists(atPath: backup.path))
        let again = try edt.run(["central", "backup", "--db", world.database, "--to", backup.path])
        #expect(again.status == 1 && again.standardError.contains("exists already"), "\(again.standardError)")

        // Acknowledged after the backup: only the laptop holds these once the backup is restored.
        try several.importReferrals(a, count: 3, tag: "second", in: world.directory)
        #expect(e2e.count(try several.sync(a, first).json, "pushed") == 3)

        // Restored as documented: the servers stopped, pg_restore into a new database, and the
        // centre started again on it, where the laptops reach it (a laptop's cursor is per URL).
        for server in world.servers { server.terminate() }
        world.servers = []
        let restoredDatabase = try TestPostgres.createDatabase()
        defer { TestPostgres.dropDatabase(restoredDatabase) }
        let restore = try postgresTool(
            "pg_restore", ["--clean", "--if-exists", "--no-owner", "-d", restoredDatabase, backup.path])
        #expect(restore.status == 0, "\(restore.standardError)")
        let restored = try ServerProcess.central(
            db: restoredDatabase, port: first.port, log: world.directory.appendingPathComponent("restored.log"))
        defer { if restored.process.isRunning { restored.terminate() } }
        // Its cursor is ahead of the restored database: it starts over and sends all it holds.
        let restoredSync = try several.sync(a, restored)
        #expect(restoredSync.status == 0, "the restored centre is trusted (its key): \(restoredSync.standardError)")
        #expect(e2e.count(restoredSync.json, "pushed") == 8, "\(restoredSync.standardOutput)")
        #expect(Int(try TestPostgres.query(restoredDatabase, "SELECT COUNT(*) FROM cases")) == 8)
        #expect(try several.ids(a).count == 8)

        // A new laptop pulls everything, the same.
        let b = try several.laptop(world, "edt-laptop-b", database: restoredDatabase)
        #expect(e2e.count(try several.sync(b, restored).json, "pulled") == 8)
        #expect(try e2e.digest(a) == e2e.digest(b))
        #expect(try several.sync(c, restored).status == 0)
        #expect(try e2e.digest(c) == e2e.digest(b))

        // The same backup restored again, in place this time (--clean): another life, and again
        // every laptop starts over, losing nothing.
        restored.terminate()
        let inPlace = try postgresTool(
            "pg_restore", ["--clean", "--if-exists", "--no-owner", "-d", restoredDatabase, backup.path])
        #expect(inPlace.status == 0, "\(inPlace.standardError)")
        #expect(Int(try TestPostgres.query(restoredDatabase, "SELECT COUNT(*) FROM cases")) == 5)
        let restoredAgain = try ServerProcess.central(
            db: restoredDatabase, port: first.port, log: world.directory.appendingPathComponent("again.log"))
        defer { restoredAgain.terminate() }
        // (a first: only a brings a's own writes; c's copies of them are taken once a has.)
        for laptop in [a, c] {
            let synced = try several.sync(laptop, restoredAgain)
            #expect(synced.status == 0, "\(laptop.device): \(synced.standardError)")
            #expect(e2e.count(synced.json, "pushed") == 8, "\(laptop.device) starts over: \(synced.standardOutput)")
        }
        #expect(Int(try TestPostgres.query(restoredDatabase, "SELECT COUNT(*) FROM cases")) == 8)
        // b was enrolled after the backup: its enrolment is lost with the rest, until it is made again.
        #expect(try several.sync(b, restoredAgain).status == 1)
        let enrolled = try edt.run([
            "central", "enroll", "--db", restoredDatabase, "--device", b.device, "--public-key", b.publicKey,
            "--authority", "E06000038",
        ])
        #expect(enrolled.status == 0, "\(enrolled.standardError)")
        let reenrolled = try several.sync(b, restoredAgain)
        #expect(e2e.count(reenrolled.json, "pushed") == 8, "b starts over too: \(reenrolled.standardOutput)")
        for laptop in [a, c] { #expect(try e2e.digest(laptop) == e2e.digest(b), "\(laptop.device)") }
    }

    @Test func laptopsThatWriteAgainBeforeReachingTheRestoredCentreStillStartOverAndLoseNothing() throws {
        let world = try SeveralServersEndToEndTests.World()
        let first = try world.startServers(1)[0]
        let a = try several.laptop(world, "edt-laptop-a")
        let c = try several.laptop(world, "edt-laptop-c")
        try several.importReferrals(a, count: 5, tag: "first", in: world.directory)
        #expect(e2e.count(try several.sync(a, first).json, "pushed") == 5)
        #expect(e2e.count(try several.sync(c, first).json, "pulled") == 5)
        let backup = world.directory.appendingPathComponent("central.dump")
        #expect(try edt.run(["central", "backup", "--db", world.database, "--to", backup.path]).status == 0)
        try several.importReferrals(a, count: 3, tag: "second", in: world.directory)
        #expect(e2e.count(try several.sync(a, first).json, "pushed") == 3)

        for server in world.servers { server.terminate() }
        world.servers = []
        let restoredDatabase = try TestPostgres.createDatabase()
        defer { TestPostgres.dropDatabase(restoredDatabase) }
        let restore = try postgresTool(
            "pg_restore", ["--clean", "--if-exists", "--no-owner", "-d", restoredDatabase, backup.path])
        #expect(restore.status == 0, "\(restore.standardError)")
        let restored = try ServerProcess.central(
            db: restoredDatabase, port: first.port, log: world.directory.appendingPathComponent("restored.log"))
        defer { restored.terminate() }

        // Before laptop a reaches the restored centre, it captures another referral, and laptop c
        // pushes three of its own there: the centre's newest change is past a's cursor again.
        _ = try e2e.capture(a, concern: "Captured after the restore.")
        try several.importReferrals(c, count: 3, tag: "third", in: world.directory)
        let fromC = try several.sync(c, restored)
        #expect(fromC.status == 0, "\(fromC.standardError)")
        #expect(e2e.count(fromC.json, "pushed") >= 3, "\(fromC.standardOutput)")
        let fromA = try several.sync(a, restored)
        #expect(fromA.status == 0, "\(fromA.standardError)")
        #expect(e2e.count(fromA.json, "pushed") == 9, "a starts over, and sends all it holds: \(fromA.standardOutput)")
        #expect(Int(try TestPostgres.query(restoredDatabase, "SELECT COUNT(*) FROM cases")) == 12)
        #expect(Int(try TestPostgres.query(restoredDatabase, "SELECT COUNT(DISTINCT sequence) FROM cases")) == 12)

        let b = try several.laptop(world, "edt-laptop-b", database: restoredDatabase)
        #expect(e2e.count(try several.sync(b, restored).json, "pulled") == 12)
        #expect(try several.sync(c, restored).status == 0)
        for laptop in [a, c] { #expect(try e2e.digest(laptop) == e2e.digest(b), "\(laptop.device)") }
    }
}
