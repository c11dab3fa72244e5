import Central
import Foundation
import GRDB
import Replication
import TestSupport
import Testing

/// `edt central audit` as an operator uses it, on a centre a laptop synced with.
@Suite("The audit log's commands, end to end", .serialized)
struct AuditEndToEndTests {
    let sync = SyncEndToEndTests()
    var edt: EDTProcess { sync.edt }

    @Test func verifyShowAndAnchorAndWhatTamperingLooksLike() throws {
        let world = SyncEndToEndTests.World()
        let central = try world.startCentral()
        let laptop = try sync.laptop(world, "edt-laptop-a")
        let id = try sync.capture(laptop)
        #expect(try sync.sync(laptop, central.url).status == 0)
        central.terminate()
        let db = world.database.path

        let shown = try edt.run(["central", "audit", "show", "--db", db, "--case", id, "--json"])
        #expect(shown.status == 0, "\(shown.standardError)")
        let entries = shown.json["entries"] as? [[String: Any]] ?? []
        #expect(entries.map { $0["who"] as? String } == ["edt-laptop-a"])
        #expect(entries.map { $0["action"] as? String } == ["push"])

        let intact = try edt.run(["central", "audit", "verify", "--db", db, "--json"])
        #expect(intact.status == 0, "\(intact.standardError)")
        #expect(intact.json["intact"] as? Bool == true)
        #expect(intact.json["entries"] as? Int == 1)

        let anchored = try edt.run(["central", "audit", "anchor", "--db", db])
        #expect(anchored.status == 0, "\(anchored.standardError)")
        let line = anchored.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(line.hasPrefix("edt-audit-anchor 1 "))

        // The tail cut, the anchors in the database with it: the line kept elsewhere tells.
        let queue = try DatabaseQueue(path: db)
        try queue.write { db in
            try db.execute(sql: "DELETE FROM audit_log")
            try db.execute(sql: "DELETE FROM audit_anchors")
        }
        #expect(try edt.run(["central", "audit", "verify", "--db", db]).status == 0, "nothing inside tells")
        let cut = try edt.run(["central", "audit", "verify", "--db", db, "--anchor", line])
        #expect(cut.status == 1)
        #expect(cut.standardError.contains("tail was cut"), "\(cut.standardError)")

        // An altered entry is named.
        let again = try world.startCentral()
        #expect(try edt.run(["referral", "set", "--store", laptop.store, id, "concern", "Seen again"]).status == 0)
        #expect(try sync.sync(laptop, again.url).status == 0)
        again.terminate()
        try queue.write { db in try db.execute(sql: "UPDATE audit_log SET who = 'nobody' WHERE number = 1") }
        let altered = try edt.run(["central", "audit", "verify", "--db", db, "--json"])
        #expect(altered.status == 1)
        #expect(altered.json["entry"] as? Int == 1)
        #expect(altered.json["intact"] as? Bool == false)

        let malformed = try edt.run(["central", "audit", "verify", "--db", db, "--anchor", "not an anchor"])
        #expect(malformed.status == 1)
        #expect(malformed.standardError.contains("is not an anchor line"))
    }

    /// A centre whose audit log holds 2,500 entries about `case-long` (more than two pages of
    /// `audit show`'s 1,000), with an entry about `case-other` after each 500.
    func centreWithALongHistory(_ world: SyncEndToEndTests.World) async throws -> RecordID {
        let storage = try SQLiteCentralStorage(path: world.database.path)
        let id = try RecordID("case-long")
        let other = try RecordID("case-other")
        let laptop = AuditActor(who: "edt-laptop-a", authorities: ["E06000038"], action: "pull")
        for _ in 0..<5 {
            try await storage.audit(Array(repeating: id, count: 500) + [other], by: laptop)
        }
        return id
    }

    @Test func aLongHistoryIsShownWholeAPageAtATime() async throws {
        let world = SyncEndToEndTests.World()
        let id = try await centreWithALongHistory(world)
        let db = world.database.path

        let shown = try edt.run(["central", "audit", "show", "--db", db, "--case", id.rawValue, "--json"])
        #expect(shown.status == 0, "\(shown.standardError)")
        #expect(shown.json["case"] as? String == id.rawValue)
        let entries = shown.json["entries"] as? [[String: Any]] ?? []
        let numbers = entries.compactMap { $0["number"] as? Int }
        #expect(numbers.count == 2_500)
        #expect(zip(numbers, numbers.dropFirst()).allSatisfy { $0 < $1 }, "oldest first, none twice")
        #expect(Set(numbers).isDisjoint(with: [501, 1_002, 1_503, 2_004, 2_505]), "the other case's entries")
        #expect(entries.allSatisfy { $0["who"] as? String == "edt-laptop-a" && $0["action"] as? String == "pull" })

        let text = try edt.run(["central", "audit", "show", "--db", db, "--case", id.rawValue])
        #expect(text.status == 0, "\(text.standardError)")
        let lines = text.standardOutput.split(separator: "\n")
        #expect(lines.count == 2_500)
        #expect(lines.first?.hasPrefix("1\t") == true && lines.last?.hasPrefix("2504\t") == true, "\(lines.suffix(1))")

        let none = try edt.run(["central", "audit", "show", "--db", db, "--case", "case-none", "--json"])
        #expect(none.status == 0, "\(none.standardError)")
        #expect((none.json["entries"] as? [Any])?.isEmpty == true, "\(none.standardOutput)")
        #expect(none.json["case"] as? String == "case-none")
    }

    @Test func aHistoryWhoseReadingFailsPartWayKeepsWhatWasPrintedAndExitsThree() async throws {
        let world = SyncEndToEndTests.World()
        let id = try await centreWithALongHistory(world)
        let db = world.database.path
        // The log's rows from about the 1,200th to the 2,100th are made unreadable in the file,
        // as a failing disk would leave them: the first page of the history reads, the second
        // does not.
        let queue = try DatabaseQueue(path: db)
        let (pageSize, leaves) = try await queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0
            let leaves = try Int.fetchAll(
                db, sql: "SELECT pageno FROM dbstat WHERE name = 'audit_log' AND pagetype = 'leaf' ORDER BY path")
            return (pageSize, leaves)
        }
        try queue.close()
        #expect(leaves.count >= 10, "the log spans pages: \(leaves.count)")
        let file = try FileHandle(forUpdating: world.database)
        for page in leaves[(leaves.count * 48 / 100)...(leaves.count * 84 / 100)] {
            try file.seek(toOffset: UInt64((page - 1) * pageSize))
            file.write(Data(repeating: 0xA5, count: pageSize))
        }
        try file.close()

        let text = try edt.run(["central", "audit", "show", "--db", db, "--case", id.rawValue])
        #expect(text.status == 3, "\(text.standardError)")
        #expect(text.standardError.hasPrefix("error: "), "\(text.standardError)")
        let lines = text.standardOutput.split(separator: "\n")
        #expect(lines.count == 1_000, "the first page, written before the failure")
        #expect(lines.first?.hasPrefix("1\t") == true && lines.last?.hasPrefix("1001\t") == true, "\(lines.suffix(1))")

        let json = try edt.run(["central", "audit", "show", "--db", db, "--case", id.rawValue, "--json"])
        #expect(json.status == 3, "\(json.standardError)")
        #expect(
            json.standardOutput.hasPrefix(#"{"case":"case-long","entries":[{"#), "\(json.standardOutput.prefix(80))")
        #expect(
            (try? JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8))) == nil,
            "a history cut short is never a whole JSON document")
    }
}
