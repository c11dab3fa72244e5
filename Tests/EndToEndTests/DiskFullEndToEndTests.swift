import Foundation
import GRDB
import LineProtocol
import Replication
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A full disk under the SQLite centre, end to end: `edt central serve` run under a limit on the
/// size of the files it writes (prlimit(1) `--fsize`, which fails a write as a full disk does),
/// so that a large push cannot be written. The push is answered with the reason, nothing of it
/// is half-stored, the centre keeps serving, and once there is room again (the limit raised on
/// the running process) the next sync stores everything, once.
extension SyncEndToEndTests {
    /// The cases the centre's database holds: id, change number, stored body, read from the file
    /// beside the running centre.
    func centreCases(_ world: World) throws -> [(id: String, sequence: Int64, body: [UInt8])] {
        let database = try DatabaseQueue(path: world.database.path)
        defer { try? database.close() }
        return try database.read { db in
            try Row.fetchAll(db, sql: "SELECT id, sequence, body FROM cases ORDER BY sequence").map { row in
                let id: String = row["id"]
                let sequence: Int64 = row["sequence"]
                let body: Data = row["body"]
                return (id, sequence, [UInt8](body))
            }
        }
    }

    /// SQLite's own check of the centre's database file: `ok` when it is sound.
    func integrityCheck(_ world: World) throws -> [String] {
        let database = try DatabaseQueue(path: world.database.path)
        defer { try? database.close() }
        return try database.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    /// The size of the largest of the database's files (the database, its write-ahead log).
    func largestDatabaseFile(_ world: World) -> Int {
        ["", "-wal"].map {
            (try? FileManager.default.attributesOfItem(atPath: world.database.path + $0)[.size] as? Int) ?? 0
        }.max() ?? 0
    }

    /// Whether the running process `pid` ignores `signal` (Linux: its `SigIgn` mask in /proc).
    func ignores(_ signal: Int32, pid: Int32) -> Bool {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigIgn:") }),
            let mask = UInt64(line.dropFirst("SigIgn:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return mask & (1 << UInt64(signal - 1)) != 0
    }

    /// The referrals the laptop holds that the centre has not acknowledged.
    func pendingCount(_ laptop: Laptop) throws -> Int {
        let list = try edt.run([
            "referral", "list", "--store", laptop.store, "--pending", "--limit", "100000", "--json",
        ])
        return (list.json["referrals"] as? [[String: Any]])?.count ?? -1
    }

    /// Expects every case of `cases` whole (its stored body reads as a record) and their change
    /// numbers 1, 2, 3... without a gap or a repeat.
    func expectWholeAndNumberedWithoutGaps(_ cases: [(id: String, sequence: Int64, body: [UInt8])]) {
        #expect(cases.map(\.sequence) == (0..<Int64(cases.count)).map { $0 + 1 }, "change numbers without gaps")
        #expect(Set(cases.map(\.id)).count == cases.count, "each case once")
        let unreadable = cases.filter { stored in
            (try? RecordID(stored.id)).flatMap { try? RecordCoding.decode(stored.body, id: $0) } == nil
        }
        #expect(unreadable.isEmpty, "every case is stored whole: \(unreadable.map(\.id))")
    }

    @Test func aFullDiskIsAnsweredWithItsReasonHalfStoresNothingAndTheCentreServesOnOnceThereIsRoom() throws {
        let world = World()
        let a = try laptop(world, "edt-laptop-a")  // the database is made here
        _ = try capture(a)
        // Room for the database as it is and a little more: a small push fits, a large one cannot.
        let limit = largestDatabaseFile(world) + 256 * 1024
        let central = try ServerProcess.central(
            database: world.database, log: world.directory.appendingPathComponent("central.log"), fileSize: limit)
        world.central = central
        // A write past the limit sends SIGXFSZ, which would stop the centre: it ignores it, and
        // the write fails as one on a full disk does.
        #expect(ignores(SIGXFSZ, pid: central.process.processIdentifier))
        #expect(count(try sync(a, central.url).json, "pushed") == 1, "a small push fits")

        // 2,000 referrals (about 1.5 MB), in checkpointed parts of 100, each part stored as it is
        // verified: the disk fills part of the way through.
        try importReferrals(a, count: 2_000, tag: "full", in: world.directory)
        let full = try sync(a, central.url, ["--attempts", "2", "--checkpoint", "100"])
        #expect(full.status == 3, "\(full.standardOutput) \(full.standardError)")
        #expect(full.standardError.contains("answered 503"), "\(full.standardError)")
        #expect(
            full.standardError.contains("could not be written") && full.standardError.contains("free disk space"),
            "the centre's reason reaches the laptop: \(full.standardError)")
        #expect(try pendingCount(a) == 2_000, "nothing acknowledged: every referral still pending on the laptop")
        #expect(central.process.isRunning, "the centre serves on: \(central.logText.suffix(2_000))")
        #expect(central.logText.contains("could not be written"), "\(central.logText.suffix(2_000))")
        let duringFault = try centreCases(world)
        #expect(duringFault.count < 2_001, "the disk filled: not everything was stored")
        expectWholeAndNumberedWithoutGaps(duringFault)

        // Room again: the limit lifted on the running centre. The next sync stores everything, once.
        let raised = try edt.run(
            ["--pid", String(central.process.processIdentifier), "--fsize=unlimited"],
            executable: ServerProcess.prlimit)
        #expect(raised.status == 0, "\(raised.standardError)")
        let after = try sync(a, central.url)
        #expect(after.status == 0, "\(after.standardError)")
        #expect(count(after.json, "pushed") == 2_000, "\(after.standardOutput)")
        #expect(try pendingCount(a) == 0)
        let stored = try centreCases(world)
        #expect(stored.count == 2_001)
        expectWholeAndNumberedWithoutGaps(stored)
        #expect(try integrityCheck(world) == ["ok"], "the full disk left the database sound")
        let b = try laptop(world, "edt-laptop-b")
        #expect(count(try sync(b, central.url).json, "pulled") == 2_001)
        #expect(try digest(a) == digest(b))
    }
}
