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
