import Foundation
import Synchronization
import TestSupport
import Testing

/// Several `edt central serve` processes sharing one PostgreSQL database, laptops syncing
/// through whichever they reach: nothing lost, nothing stored twice, concurrent edits kept as a
/// conflict, cursors good at every server. Runs against the real server `Tools/test` starts
/// (`EDT_TEST_POSTGRES_URL`).
@Suite(
    "Several servers on one PostgreSQL database, end to end", .serialized,
    .enabled(if: TestPostgres.serverURL != nil, "needs EDT_TEST_POSTGRES_URL (Tools/test starts a server)"))
struct SeveralServersEndToEndTests {
    let edt = EDTProcess()

    /// The helpers of the single-centre tests (capture, import, listing).
    let single = SyncEndToEndTests()
    typealias Laptop = SyncEndToEndTests.Laptop

    /// A fresh database, two servers on it, and a directory for the laptops.
    final class World {
        let directory = temporaryDirectory()
        let database: String
        var servers: [ServerProcess] = []

        init() throws { database = try TestPostgres.createDatabase() }

        deinit {
            for server in servers { server.terminate() }
            TestPostgres.dropDatabase(database)
            try? FileManager.default.removeItem(at: directory)
        }

        func startServers(_ count: Int, extra: [String] = []) throws -> [ServerProcess] {
            for number in 0..<count {
                servers.append(
                    try ServerProcess.central(
                        db: database, log: directory.appendingPathComponent("central-\(number).log"), extra: extra))
            }
            return servers
        }

        /// One number from the database.
        func number(_ sql: String) throws -> Int { Int(try TestPostgres.query(database, sql)) ?? -1 }
    }

    /// A laptop enrolled at the centre of `world`, or on `database` (another of the server's).
    func laptop(_ world: World, _ device: String, database: String? = nil) throws -> Laptop {
        let database = database ?? world.database
        let store = world.directory.appendingPathComponent(device).path
        let identity = try edt.run(["central", "identity", "--db", database])
        #expect(identity.status == 0, "\(identity.standardError)")
        let created = try edt.run([
            "init", "--store", store, "--device", device, "--authority", "E06000038", "--centre-key",
            identity.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines), "--json",
        ])
        #expect(created.status == 0, "\(created.standardError)")
        let enrolled = try edt.run([
            "central", "enroll", "--db", database, "--device", device, "--public-key",
            created.json["publicKey"] as? String ?? "", "--authority", "E06000038",
        ])
        #expect(enrolled.status == 0, "\(enrolled.standardError)")
        return Laptop(store: store, device: device, publicKey: created.json["publicKey"] as? String ?? "")
    }

    @discardableResult
    func sync(_ laptop: Laptop, _ server: ServerProcess) throws -> EDTProcess.Result {
        try edt.run(["sync", "--store", laptop.store, "--server", server.url, "--json", "--backoff", "0.05"])
    }

    func importReferrals(_ laptop: Laptop, count: Int, tag: String, in directory: URL) throws {
        try single.importReferrals(laptop, count: count, tag: tag, in: directory)
    }

    func ids(_ laptop: Laptop) throws -> Set<String> {
        let list = try edt.run(["referral", "list", "--store", laptop.store, "--json", "--limit", "100000"])
        return Set((list.json["referrals"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
    }

    /// Runs `syncs` at once, each a whole `edt sync` process; their results in the same order.
    func concurrently(_ syncs: [(Laptop, ServerProcess)]) -> [EDTProcess.Result?] {
        let results = Mutex<[Int: EDTProcess.Result]>([:])
        let edt = self.edt
        let work = syncs.map { ($0.0.store, $0.1.url) }
        DispatchQueue.concurrentPerform(iterations: work.count) { index in
            let (store, url) = work[index]
            let result = try? edt.run(["sync", "--store", store, "--server", url, "--json", "--backoff", "0.05"])
            results.withLock { $0[index] = result }
        }
        return results.withLock { results in (0..<work.count).map { results[$0] } }
    }

    @Test func concurrentEditsThroughTwoServersAreKeptAsAConflictAndNothingIsStoredTwice() throws {
        let world = try World()
        let servers = try world.startServers(2)
        let a = try laptop(world, "edt-laptop-a")
        let b = try laptop(world, "edt-laptop-b")
        let captured = try edt.run(["referral", "new", "--store", a.store, "--json"], input: minimalReferral)
        #expect(captured.status == 0, "\(captured.standardError)")
        let id = captured.json["id"] as? String ?? ""
        #expect(try sync(a, servers[0]).status == 0)
        #expect(try sync(b, servers[1]).json["pulled"] as? Int == 1, "b reads through the other server")

        // Both change the concern offline, then push at the same time through different servers.
        #expect(try edt.run(["referral", "set", "--store", a.store, id, "concern", "Seen by A"]).status == 0)
        #expect(try edt.run(["referral", "set", "--store", b.store, id, "concern", "Seen by B"]).status == 0)
        let pushes = concurrently([(a, servers[0]), (b, servers[1])])
        for push in pushes { #expect(push?.status == 0, "\(push?.standardError ?? "no result")") }
        // Each reads back through the server it did not push to.
        #expect(try sync(a, servers[1]).status == 0)
        #expect(try sync(b, servers[0]).status == 0)
        for laptop in [a, b] {
            let shown = try edt.run(["referral", "show", "--store", laptop.store, id, "--json"]).json
            let conflicts = shown["conflicts"] as? [[String: Any]] ?? []
            #expect(conflicts.count == 1, "\(laptop.device): \(shown)")
            #expect(Set(conflicts.first?["values"] as? [String] ?? []) == ["Seen by A", "Seen by B"])
        }
        #expect(try world.number("SELECT COUNT(*) FROM cases") == 1)
    }

    @Test func manyLaptopsPushingThroughTwoServersLoseNothingAndCursorsWorkAtEither() throws {
        let world = try World()
        // Small pages, so each pull takes several requests.
        let servers = try world.startServers(2, extra: ["--page", "40"])
        let writers = try (0..<4).map { try laptop(world, "edt-laptop-w\($0)") }
        let reader = try laptop(world, "edt-laptop-reader")
        for (number, writer) in writers.enumerated() {
            try importReferrals(writer, count: 150, tag: "w\(number)", in: world.directory)
        }
        // The reader reaches the centre at one address, a balancer sending each connection to
        // the next server in turn: a cursor one server issued is presented to the other.
        let balancer = try ServerProcess.faultProxy(
            upstreams: servers.map(\.port), arguments: ["--rate", "0"],
            log: world.directory.appendingPathComponent("balancer.log"))
        defer { balancer.terminate() }
        var pulled: [Int] = []
        for pair in [[0, 1], [2, 3]] {
            // Two laptops push at once, one through each server.
            let pushes = concurrently(pair.map { (writers[$0], servers[$0 % 2]) })
            for push in pushes {
                #expect(push?.status == 0, "\(push?.standardError ?? "no result")")
                #expect(push?.json["pushed"] as? Int == 150, "\(push?.standardOutput ?? "")")
            }
            let result = try sync(reader, balancer)
            #expect(result.status == 0, "\(result.standardError)")
            pulled.append(result.json["pulled"] as? Int ?? -1)
        }
        let routed = balancer.logText
        #expect(
            servers.allSatisfy { routed.contains("to 127.0.0.1:\($0.port)") },
            "both servers served the reader: \(routed)")
        #expect(pulled == [300, 300], "each case pulled once, whichever server sent it")
        // Every referral stored once, each change numbered once, no gap and no repeat.
        #expect(try world.number("SELECT COUNT(*) FROM cases") == 600)
        #expect(try world.number("SELECT COUNT(DISTINCT sequence) FROM cases") == 600)
        #expect(try world.number("SELECT MAX(sequence) FROM cases") == 600)
        var expected: Set<String> = []
        for writer in writers { expected.formUnion(try ids(writer)) }
        #expect(expected.count == 600)
        #expect(try ids(reader) == expected)
    }
}
