import Foundation
import Testing

/// `edt central backup`, end to end: an online copy taken while the centre serves, and a restore
/// after which the laptops start over and nothing they hold is lost.
extension SyncEndToEndTests {
    @Test func anOnlineBackupIsAWholeDatabaseAndARestoreLosesNothingTheLaptopsHold() throws {
        let world = World()
        var central = try world.startCentral()
        let port = central.port
        let a = try laptop(world, "edt-laptop-a")
        try importReferrals(a, count: 5, tag: "first", in: world.directory)
        #expect(count(try sync(a, central.url).json, "pushed") == 5)
        // Taken while the centre serves.
        let backup = world.directory.appendingPathComponent("backup.sqlite")
        let taken = try edt.run([
            "central", "backup", "--db", world.database.path, "--to", backup.path, "--json",
        ])
        #expect(taken.status == 0, "\(taken.standardError)")
        #expect(taken.json["cases"] as? Int == 5)
        #expect(FileManager.default.fileExists(atPath: backup.path))
        #expect(!FileManager.default.fileExists(atPath: backup.path + "-wal"), "one file")
        // Never over an existing file, nor over the database itself.
        let again = try edt.run(["central", "backup", "--db", world.database.path, "--to", backup.path])
        #expect(again.status == 1 && again.standardError.contains("exists already"), "\(again.standardError)")
        let itself = try edt.run(["central", "backup", "--db", world.database.path, "--to", world.database.path])
        #expect(itself.status == 1, "\(itself.standardError)")

        try importReferrals(a, count: 3, tag: "second", in: world.directory)
        #expect(count(try sync(a, central.url).json, "pushed") == 3)
        // Restored: the centre lost 3 acknowledged records; the laptop starts over and sends them.
        central.terminate()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: world.database.path + suffix) }
        try FileManager.default.copyItem(atPath: backup.path, toPath: world.database.path)
        central = try world.startCentral(port: port)
        let restored = try sync(a, central.url)
        #expect(restored.status == 0, "\(restored.standardError)")
        #expect(count(restored.json, "pushed") == 8, "\(restored.standardOutput)")
        let b = try laptop(world, "edt-laptop-b")
        #expect(count(try sync(b, central.url).json, "pulled") == 8)
        #expect(try digest(a) == digest(b))
    }
}

extension SyncEndToEndTests {
    /// After a restore, laptops go on working before they reach the centre: one captures a
    /// referral, another pushes new ones first, so the restored centre's newest change passes
    /// the first laptop's cursor again. It must still start over: otherwise what it had
    /// acknowledged after the backup is never sent again, and what the other pushed never pulled.
    @Test func laptopsThatWriteAgainBeforeReachingARestoredCentreStillStartOverAndLoseNothing() throws {
        let world = World()
        var central = try world.startCentral()
        let port = central.port
        let a = try laptop(world, "edt-laptop-a")
        let c = try laptop(world, "edt-laptop-c")
        try importReferrals(a, count: 5, tag: "first", in: world.directory)
        #expect(count(try sync(a, central.url).json, "pushed") == 5)
        #expect(count(try sync(c, central.url).json, "pulled") == 5)
        let backup = world.directory.appendingPathComponent("backup.sqlite")
        #expect(try edt.run(["central", "backup", "--db", world.database.path, "--to", backup.path]).status == 0)
        try importReferrals(a, count: 3, tag: "second", in: world.directory)
        #expect(count(try sync(a, central.url).json, "pushed") == 3)

        central.terminate()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: world.database.path + suffix) }
        try FileManager.default.copyItem(atPath: backup.path, toPath: world.database.path)
        central = try world.startCentral(port: port)
        _ = try capture(a, concern: "Captured after the restore.")
        try importReferrals(c, count: 3, tag: "third", in: world.directory)
        let fromC = try sync(c, central.url)
        #expect(fromC.status == 0, "\(fromC.standardError)")
        #expect(count(fromC.json, "pushed") >= 3, "\(fromC.standardOutput)")
        let fromA = try sync(a, central.url)
        #expect(fromA.status == 0, "\(fromA.standardError)")
        #expect(count(fromA.json, "pushed") == 9, "a starts over, and sends all it holds: \(fromA.standardOutput)")

        let b = try laptop(world, "edt-laptop-b")
        #expect(count(try sync(b, central.url).json, "pulled") == 12)
        #expect(try sync(c, central.url).status == 0)
        for laptop in [a, c] { #expect(try digest(laptop) == digest(b), "\(laptop.device)") }
    }
}
