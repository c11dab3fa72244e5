import Foundation
import LineProtocol
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Laptops syncing with a real central endpoint process, through real libcurl on loopback.
@Suite("Sync with the central endpoint, end to end", .serialized)
struct SyncEndToEndTests {
    let edt = EDTProcess()

    /// One laptop: its store directory and enrolment.
    struct Laptop {
        let store: String
        let device: String
        let publicKey: String
    }

    /// A test world: a directory, a central database and server.
    final class World {
        let directory = temporaryDirectory()
        var database: URL { directory.appendingPathComponent("central.sqlite") }
        var central: ServerProcess?

        deinit {
            central?.terminate()
            try? FileManager.default.removeItem(at: directory)
        }

        func startCentral(port: Int = 0, extra: [String] = [], metrics: Bool = false) throws -> ServerProcess {
            let server = try ServerProcess.central(
                database: database, port: port,
                log: directory.appendingPathComponent("central-\(UUID().uuidString).log"),
                extra: extra, metrics: metrics)
            central = server
            return server
        }
    }

    /// A laptop set up and enrolled with the centre whose database is `db` (the world's SQLite
    /// file unless another, such as a `postgres://` URL, is given).
    func laptop(
        _ world: World, _ device: String, serves: String = "E06000038", enrolFor: [String]? = ["E06000038"],
        db: String? = nil
    ) throws -> Laptop {
        let db = db ?? world.database.path
        let store = world.directory.appendingPathComponent(device).path
        // The laptop is told the centre's key when it is set up (an administrator's
        // `edt central identity`), so it can tell the centre's replies from forged ones.
        let identity = try edt.run(["central", "identity", "--db", db])
        #expect(identity.status == 0, "\(identity.standardError)")
        let centreKey = identity.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let created = try edt.run([
            "init", "--store", store, "--device", device, "--authority", serves, "--centre-key", centreKey, "--json",
        ])
        #expect(created.status == 0, "\(created.standardError)")
        let key = created.json["publicKey"] as? String ?? ""
        if let enrolFor {
            let enrolled = try edt.run(
                ["central", "enroll", "--db", db, "--device", device, "--public-key", key]
                    + enrolFor.flatMap { ["--authority", $0] })
            #expect(enrolled.status == 0, "\(enrolled.standardError)")
        }
        return Laptop(store: store, device: device, publicKey: key)
    }

    @discardableResult
    func sync(_ laptop: Laptop, _ url: String, _ extra: [String] = []) throws -> EDTProcess.Result {
        try edt.run(["sync", "--store", laptop.store, "--server", url, "--json", "--backoff", "0.05"] + extra)
    }

    func capture(_ laptop: Laptop, concern: String = "Child (7) found alone at Reading station.") throws -> String {
        let document = minimalReferral.replacingOccurrences(
            of: "Child (7) found alone at Reading station.", with: concern)
        let result = try edt.run(["referral", "new", "--store", laptop.store, "--json"], input: document)
        #expect(result.status == 0, "\(result.standardError)")
        return result.json["id"] as? String ?? ""
    }

    /// Captures `count` referrals in one import.
    func importReferrals(_ laptop: Laptop, count: Int, tag: String, in directory: URL) throws {
        let compact = try JSONSerialization.data(
            withJSONObject: try JSONSerialization.jsonObject(with: Data(minimalReferral.utf8)))
        var lines = ""
        for number in 0..<count {
            lines +=
                String(decoding: compact, as: UTF8.self).replacingOccurrences(
                    of: "found alone", with: "found alone (\(tag) \(number))") + "\n"
        }
        let file = directory.appendingPathComponent("\(tag).jsonl")
        try lines.write(to: file, atomically: true, encoding: .utf8)
        let result = try edt.run(["referral", "import", "--store", laptop.store, "--file", file.path, "--json"])
        #expect(result.status == 0, "\(result.standardError)")
    }

    func ids(_ laptop: Laptop) throws -> [String] {
        let list = try edt.run(["referral", "list", "--store", laptop.store, "--json"])
        return (list.json["referrals"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }

    func digest(_ laptop: Laptop) throws -> String {
        try edt.run(["store", "digest", "--store", laptop.store]).standardOutput.trimmingCharacters(
            in: .whitespacesAndNewlines)
    }

    func count(_ json: [String: Any], _ key: String) -> Int { json[key] as? Int ?? -1 }

    // MARK: - Two laptops and the centre

    @Test func concurrentEditsToOneFieldSurfaceAsAConflictOnBothAndOtherFieldsMerge() throws {
        let world = World()
        let central = try world.startCentral()
        let a = try laptop(world, "edt-laptop-a")
        let b = try laptop(world, "edt-laptop-b")
        let id = try capture(a)

        let first = try sync(a, central.url)
        #expect(first.status == 0, "\(first.standardError)")
        #expect(count(first.json, "pushed") == 1)
        #expect(count(first.json, "purged") == 0, "held by the centre, but not accepted: kept")
        let fetched = try sync(b, central.url)
        #expect(count(fetched.json, "pulled") == 1)
        #expect(try ids(b) == [id])
        // What b pulled is not pushed back when b captures something of its own.
        let own = try capture(b, concern: "Second child reported by school nurse.")
        let pushedByB = try sync(b, central.url)
        #expect(count(pushedByB.json, "pushed") == 1, "\(pushedByB.standardOutput)")
        #expect(count(try sync(a, central.url).json, "pulled") == 1)
        #expect(Set(try ids(a)) == [id, own])

        // Offline, both change the concern; b also adds the referrer's phone.
        #expect(
            try edt.run([
                "referral", "set", "--store", a.store, id, "concern", "Seen by A: child now with foster carer",
            ]).status == 0)
        #expect(
            try edt.run(["referral", "set", "--store", b.store, id, "concern", "Seen by B: child with grandmother"])
                .status == 0)
        #expect(try edt.run(["referral", "set", "--store", b.store, id, "referrer.phone", "07700 900999"]).status == 0)

        #expect(try sync(a, central.url).status == 0)
        let second = try sync(b, central.url)
        #expect(count(second.json, "conflicts") == 1, "\(second.standardOutput)")
        let third = try sync(a, central.url)
        #expect(count(third.json, "conflicts") == 1, "\(third.standardOutput)")

        for laptop in [a, b] {
            let shown = try edt.run(["referral", "show", "--store", laptop.store, id, "--json"]).json
            let conflicts = shown["conflicts"] as? [[String: Any]] ?? []
            #expect(conflicts.count == 1)
            #expect(conflicts.first?["path"] as? String == "concern")
            #expect(
                Set(conflicts.first?["values"] as? [String] ?? [])
                    == ["Seen by A: child now with foster carer", "Seen by B: child with grandmother"])
            let document = shown["document"] as? [String: Any] ?? [:]
            #expect(document["concern"] == nil, "a conflicted field is not shown as if decided")
            #expect((document["referrer"] as? [String: Any])?["phone"] as? String == "07700 900999")
        }
        #expect(try digest(a) == digest(b))

        // Resolving on one laptop clears the conflict on both after sync.
        #expect(
            try edt.run([
                "referral", "resolve", "--store", a.store, id, "concern", "Child with grandmother, then foster carer",
            ]).status == 0)
        #expect(try sync(a, central.url).status == 0)
        let resolved = try sync(b, central.url)
        #expect(count(resolved.json, "conflicts") == 0)
        #expect(try digest(a) == digest(b))
    }

    /// Evidence is never silently overwritten: a value replaced on one laptop, with who replaced
    /// it, when and on which device, is readable on another laptop after both synced.
    @Test func aReplacedValueStaysReadableOnEveryReplicaAfterSync() throws {
        let world = World()
        let central = try world.startCentral()
        let a = try laptop(world, "edt-laptop-a")
        let b = try laptop(world, "edt-laptop-b")
        let id = try capture(a)
        let set = try edt.run([
            "referral", "set", "--store", a.store, id, "children.c1.location", "Foster carer, 12 Oak Road",
            "--by", "J. Okafor", "--role", "EDT social worker",
        ])
        #expect(set.status == 0, "\(set.standardError)")
        #expect(try sync(a, central.url).status == 0)
        #expect(count(try sync(b, central.url).json, "pulled") == 1)

        for laptop in [a, b] {
            let show = try edt.run(["referral", "show", "--store", laptop.store, id, "--history", "--json"])
            #expect(show.status == 0, "\(show.standardError)")
            let history = try #require(
                show.json["history"] as? [[String: Any]], "\(laptop.device): \(show.standardOutput)")
            #expect(history.count == 1, "\(laptop.device)")
            #expect(history.first?["path"] as? String == "children.c1.location")
            #expect(history.first?["value"] as? String == "BTP office", "the value that was replaced")
            let by = try #require(history.first?["replacedBy"] as? [String: Any])
            #expect(by["device"] as? String == "edt-laptop-a")
            #expect(by["name"] as? String == "J. Okafor")
            #expect(by["role"] as? String == "EDT social worker")
            let at = try #require(history.first?["replacedAt"] as? String)
            #expect(at.hasSuffix("Z") || at.hasSuffix("+01:00"), "an instant in Europe/London's offset: \(at)")
            let document = try #require(show.json["document"] as? [String: Any])
            let children = try #require(document["children"] as? [[String: Any]])
            #expect(children.first?["location"] as? String == "Foster carer, 12 Oak Road")
        }
        // Without --history the key is absent (the contract of `show --json`).
        #expect(try edt.run(["referral", "show", "--store", b.store, id, "--json"]).json["history"] == nil)
    }

    @Test func aNoChangeSyncIsASingleRequest() throws {
        let world = World()
        let central = try world.startCentral()
        let a = try laptop(world, "edt-laptop-a")
        try importReferrals(a, count: 25, tag: "noop", in: world.directory)
        #expect(count(try sync(a, central.url, ["--batch", "10"]).json, "pushed") == 25)
        let before = central.logText.components(separatedBy: "\n").filter { $0.contains("edt-central") }.count

        let noop = try sync(a, central.url)
        #expect(noop.status == 0)
        #expect(count(noop.json, "requests") == 1)
        #expect(count(noop.json, "attempts") == 1)
        #expect(count(noop.json, "pushed") == 0)
        #expect(count(noop.json, "pulled") == 0)
        let after = central.logText.components(separatedBy: "\n").filter { $0.contains("edt-central") }.count
        #expect(after == before + 1, "the centre saw \(after - before) requests")
    }

    @Test func aLongPullComesInPagesUntilTheCentreHasNoMore() throws {
        let world = World()
        let central = try world.startCentral(extra: ["--page", "7"])
        let a = try laptop(world, "edt-laptop-a")
        let b = try laptop(world, "edt-laptop-b")
        try importReferrals(a, count: 20, tag: "paged", in: world.directory)
        #expect(count(try sync(a, central.url).json, "pushed") == 20)
        let paged = try sync(b, central.url)
        #expect(count(paged.json, "pulled") == 20)
        #expect(count(paged.json, "requests") == 3, "7 + 7 + 6: \(paged.standardOutput)")
        #expect(try digest(a) == digest(b))
    }

    @Test(arguments: [
        ["sync", "--store", "x", "--server", "ftp://centre.example"],
        ["sync", "--store", "x", "--server", "http://127.0.0.1:1", "--checkpoint", "0"],
        ["sync", "--store", "x", "--server", "http://127.0.0.1:1", "--batch", "0"],
        ["central", "serve", "--db", "/nonexistent/x.sqlite", "--listen", "no-port-here"],
        [
            "central", "enroll", "--db", "x.sqlite", "--device", "d", "--public-key", "not-base64", "--authority",
            "E06000038",
        ],
        ["central", "enroll", "--db", "x.sqlite", "--device", "d", "--public-key", "AAAA", "--authority", "NOTACODE"],
        ["central", "serve", "--db", "x.sqlite", "--page", "0"],
        ["central", "serve", "--db", "x.sqlite", "--page-bytes", "0"],
        // Over 32 MiB: a page a laptop would refuse as more than any reply may hold.
        ["central", "serve", "--db", "x.sqlite", "--page-bytes", "33554433"],
        ["central", "peer", "sync", "--db", "x.sqlite", "--cases-per-round", "0"],
    ])
    func badCommandLinesAreUsageErrors(_ arguments: [String]) throws {
        let result = try edt.run(arguments)
        #expect(result.status == 2, "\(arguments): \(result.standardError)")
        #expect(result.standardError.lowercased().contains("error"))
    }

    @Test func aCentralDatabaseThatCannotBeOpenedIsAnIOError() throws {
        let result = try edt.run([
            "central", "serve", "--db", "/nonexistent/dir/central.sqlite", "--listen", "127.0.0.1:0",
        ])
        #expect(result.status == 3, "\(result.standardError)")
        #expect(result.standardError.hasPrefix("error:"))
    }

    @Test func healthAndGracefulShutdown() throws {
        let world = World()
        let central = try world.startCentral()
        let health = try edt.run(
            ["-s", central.url + SyncContract.healthPath], executable: URL(fileURLWithPath: "/usr/bin/curl"))
        #expect(health.standardOutput == "ok\n")
        #expect(central.terminate() == 0)
        world.central = nil
    }

    // MARK: - Refusals

    @Test func aRecordTheCentreRefusesStaysFlaggedOnTheLaptop() throws {
        let world = World()
        let central = try world.startCentral()
        // The laptop serves Reading, but the centre enrolled it for Westminster only.
        let laptop = try laptop(world, "edt-laptop-c", serves: "E06000038", enrolFor: ["E09000033"])
        let id = try capture(laptop)
        let refused = try sync(laptop, central.url)
        #expect(refused.status == 0, "\(refused.standardError)")
        #expect(count(refused.json, "rejected") == 1)
        #expect(count(refused.json, "pushed") == 0)
        #expect(try ids(laptop) == [id], "a refused record is never dropped")
        let refusals = refused.json["refusals"] as? [[String: Any]] ?? []
        #expect(refusals.first?["id"] as? String == id && refusals.first?["reason"] as? String == "forbidden")
        let listed =
            (try edt.run(["referral", "list", "--store", laptop.store, "--json"]).json["referrals"] as? [[String: Any]])?
            .first
        #expect(
            (listed?["refused"] as? [String: Any])?["reason"] as? String == "forbidden", "the flag shows in the list")
        let human = try edt.run(["sync", "--store", laptop.store, "--server", central.url])
        #expect(human.standardOutput.contains("rejected 1"), "offered again at each sync: \(human.standardOutput)")
        #expect(human.standardOutput.contains("forbidden"))

        // Another laptop of the centre's Reading team sees nothing of it.
        let reading = try self.laptop(world, "edt-laptop-d")
        #expect(count(try sync(reading, central.url).json, "pulled") == 0)

        // Once an administrator enrols the laptop for Reading, the next sync delivers it.
        let enrolled = try edt.run([
            "central", "enroll", "--db", world.database.path, "--device", laptop.device,
            "--public-key", laptop.publicKey, "--authority", "E06000038",
        ])
        #expect(enrolled.status == 0)
        let delivered = try sync(laptop, central.url)
        #expect(count(delivered.json, "pushed") == 1 && count(delivered.json, "rejected") == 0)
        let cleared =
            (try edt.run(["referral", "list", "--store", laptop.store, "--json"]).json["referrals"] as? [[String: Any]])?
            .first
        #expect(cleared?["refused"] is NSNull, "the flag goes once the centre takes it")
        #expect(count(try sync(reading, central.url).json, "pulled") == 1)
    }

    @Test func aCentreWhoseDatabaseWasRestoredOrReplacedGetsEverythingAgain() throws {
        let world = World()
        var central = try world.startCentral()
        let port = central.port
        let a = try laptop(world, "edt-laptop-a")
        try importReferrals(a, count: 5, tag: "first", in: world.directory)
        #expect(count(try sync(a, central.url).json, "pushed") == 5)
        // A backup is taken (the server stopped), then the laptop syncs more.
        central.terminate()
        // A stopped SQLite database in WAL mode is its file and its write-ahead log (which may
        // still hold the last commits, the enrolment among them): the backup takes both.
        let backup = world.directory.appendingPathComponent("backup.sqlite")
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: world.database.path + suffix) {
            try FileManager.default.copyItem(atPath: world.database.path + suffix, toPath: backup.path + suffix)
        }
        central = try world.startCentral(port: port)
        try importReferrals(a, count: 3, tag: "second", in: world.directory)
        #expect(count(try sync(a, central.url).json, "pushed") == 3)

        // The backup is restored: the centre has lost 3 acknowledged records, and the laptop's
        // cursor is ahead of it. The laptop must notice, and send everything again.
        central.terminate()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: world.database.path + suffix) }
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: backup.path + suffix) {
            try FileManager.default.copyItem(atPath: backup.path + suffix, toPath: world.database.path + suffix)
        }
        central = try world.startCentral(port: port)
        let restored = try sync(a, central.url)
        #expect(restored.status == 0, "\(restored.standardError)")
        #expect(count(restored.json, "pushed") == 8, "\(restored.standardOutput)")
        let b = try laptop(world, "edt-laptop-b")
        #expect(count(try sync(b, central.url).json, "pulled") == 8)

        // A new, empty database at the same address: the cursor is not one it issued.
        central.terminate()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: world.database.path + suffix) }
        central = try world.startCentral(port: port)
        let enrolled = try edt.run([
            "central", "enroll", "--db", world.database.path, "--device", a.device, "--public-key", a.publicKey,
            "--authority", "E06000038",
        ])
        #expect(enrolled.status == 0)
        // A new database is a new centre, with a key of its own: the laptop, still trusting the
        // old one, names it in its requests and is refused until it is told the new key.
        let untrusted = try sync(a, central.url)
        #expect(untrusted.status == 1, "\(untrusted.standardError)")
        #expect(untrusted.standardError.contains("edt store centre-key"), "\(untrusted.standardError)")
        let key = try edt.run(["central", "identity", "--db", world.database.path]).standardOutput
        #expect(
            try edt.run([
                "store", "centre-key", "--store", a.store, key.trimmingCharacters(in: .whitespacesAndNewlines),
            ])
            .status == 0)
        let replaced = try sync(a, central.url)
        #expect(replaced.status == 0, "\(replaced.standardError)")
        #expect(count(replaced.json, "pushed") == 8)
        #expect(try digest(a) == digest(b))
    }

    @Test func unenrolledAndRevokedDevicesAreRefused() throws {
        let world = World()
        let central = try world.startCentral()
        let stranger = try laptop(world, "edt-laptop-x", enrolFor: nil)
        let unknown = try sync(stranger, central.url)
        #expect(unknown.status == 1)
        #expect(unknown.standardError.contains("not authenticated"), "\(unknown.standardError)")

        let member = try laptop(world, "edt-laptop-y")
        #expect(try sync(member, central.url).status == 0)
        #expect(try edt.run(["central", "revoke", "--db", world.database.path, "--device", member.device]).status == 0)
        let revoked = try sync(member, central.url)
        #expect(revoked.status == 1)
        #expect(revoked.standardError.contains("revoked"), "\(revoked.standardError)")

        let nobody = try edt.run(["central", "revoke", "--db", world.database.path, "--device", "no-such-device"])
        #expect(nobody.status == 1)
    }

    @Test func anUnreachableCentreExitsThreeAfterRetries() throws {
        let world = World()
        let a = try laptop(world, "edt-laptop-a", enrolFor: nil)
        _ = try capture(a)
        let failed = try sync(a, "http://127.0.0.1:9", ["--attempts", "2"])
        #expect(failed.status == 3)
        #expect(failed.standardError.hasPrefix("error:"))
        #expect(try ids(a).count == 1)
    }

    // MARK: - A bad network

    @Test(arguments: ["drop", "truncate", "flip", "stall", "502", "503"])
    func syncsThroughFaultsConvergeWithNothingLostOrDuplicated(_ fault: String) throws {
        let world = World()
        let central = try world.startCentral()
        let proxy = try ServerProcess.faultProxy(
            upstream: central.port,
            arguments: [
                "--faults", fault, "--rate", "0.6", "--seed", "7", "--fault-limit", "4", "--stall-seconds", "3",
            ],
            log: world.directory.appendingPathComponent("proxy.log"))
        defer { proxy.terminate() }
        let a = try laptop(world, "edt-laptop-a")
        let b = try laptop(world, "edt-laptop-b")
        try importReferrals(a, count: 30, tag: "a", in: world.directory)
        try importReferrals(b, count: 20, tag: "b", in: world.directory)
        let options = ["--batch", "12", "--checkpoint", "5", "--attempts", "8", "--stall-seconds", "1"]
        for laptop in [a, b, a] {
            let result = try sync(laptop, proxy.url, options)
            #expect(result.status == 0, "\(fault): \(result.standardError)")
        }
        #expect(proxy.logText.contains(": \(fault)"), "the proxy injected no \(fault): \(proxy.logText)")
        let aIDs = try ids(a)
        #expect(aIDs.count == 50 && Set(aIDs).count == 50)
        #expect(try digest(a) == digest(b))
        // What the centre holds, seen by a newcomer syncing directly.
        let c = try laptop(world, "edt-laptop-c")
        #expect(count(try sync(c, central.url).json, "pulled") == 50)
        #expect(try digest(c) == digest(a))
    }

    @Test func aCentreKilledMidPushLosesNothingItAcknowledged() throws {
        let world = World()
        var central = try world.startCentral()
        let port = central.port
        let a = try laptop(world, "edt-laptop-a")
        try importReferrals(a, count: 600, tag: "kill", in: world.directory)

        let process = Process()
        process.executableURL = EDTProcess.binary
        process.arguments = [
            "sync", "--store", a.store, "--server", central.url, "--json", "--batch", "25", "--checkpoint", "10",
            "--attempts", "30", "--backoff", "0.1",
        ]
        process.environment = ["EDT_PASSPHRASE": edt.passphrase, "PATH": "/usr/bin:/bin"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill the centre once it has acknowledged a few batches.
        let deadline = Date().addingTimeInterval(60)
        while central.logText.components(separatedBy: "records=25").count < 4, Date() < deadline { usleep(20_000) }
        central.killAbruptly()
        usleep(300_000)
        central = try world.startCentral(port: port)
        let reply = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(String(decoding: reply, as: UTF8.self))")
        let summary = (try? JSONSerialization.jsonObject(with: reply)) as? [String: Any] ?? [:]
        #expect(
            count(summary, "attempts") > count(summary, "requests"), "the kill must have failed a request: \(summary)")

        // A second sync finds nothing left to push: every record was acknowledged...
        #expect(count(try sync(a, central.url).json, "pushed") == 0)
        // ...and the centre has every one of them.
        let b = try laptop(world, "edt-laptop-b")
        #expect(count(try sync(b, central.url).json, "pulled") == 600)
        #expect(try digest(b) == digest(a))
    }
}
