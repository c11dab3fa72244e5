import ArgumentParser
import Central
import CentralPostgres
import Foundation
import Handover
import Referrals
import ReplicaStore
import Replication
import Synchronization
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `edt-bench load`: many laptops pushing to one centre at once, each a whole `edt sync` process.
struct LoadBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "D laptops each pushing N referrals to one centre at once (SQLite, or PostgreSQL behind servers).",
        discussion: """
            Makes D laptop stores of N valid referrals of about 2 KB each, and one more as the \
            baseline, each laptop serving an authority of its own (so a sync carries its push \
            alone), or with --shared-authority all serving one (so each laptop's sync also pulls \
            every other laptop's referrals, D x D x N cases sent in all), and a fresh central database: a SQLite file by default; with --db \
            postgres://USER@HOST:PORT/DATABASE, a new database made on that server for the run \
            (CREATE DATABASE, dropped afterwards: the one named is only used to connect). \
            Enrols them, starts --servers `edt central serve` processes on it (default 1 for \
            SQLite, 2 for PostgreSQL), then:
              baseline: the extra laptop pushes alone, one `edt sync` process timed from outside;
              load: the D laptops' `edt sync` processes all started at once, laptop i to server \
            i mod S, each timed from its start to its exit.
            Reported (--json: one object):
              acked              referrals the centre acknowledged, over all laptops
              stored             cases the database holds afterwards that the laptops pushed \
            (each counted once)
              errors             syncs that failed, plus referrals refused
              recordsPerSecond   acked / the load's wall time (first start to last exit)
              p50Ms, p99Ms       a laptop's whole sync, from start to exit
              singleDeviceRecordsPerSecond  the baseline's N / its wall time
              ratio              recordsPerSecond / singleDeviceRecordsPerSecond
            """)

    @Option(help: "Laptops pushing at once.") var devices = 50
    @Option(help: "Referrals each laptop pushes.") var records = 1_000
    @Option(
        help: ArgumentHelp("A PostgreSQL server to run on (a database is made there for the run).", valueName: "URL"))
    var db: String?
    @Option(help: "Central servers sharing the database (default: 1 for SQLite, 2 for PostgreSQL).") var servers: Int?
    @Flag(help: "All laptops serve one authority: each sync also pulls every other laptop's referrals.")
    var sharedAuthority = false
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func validate() throws {
        guard devices > 0 else { throw ValidationError("--devices must be at least 1") }
        guard records > 0 else { throw ValidationError("--records must be at least 1") }
        if let servers, servers < 1 { throw ValidationError("--servers must be at least 1") }
        if let db, !PostgresAddress.isPostgresURL(db) {
            throw ValidationError("--db must be a postgres:// URL (without it, the run uses a new SQLite file)")
        }
    }

    func run() async throws {
        let progress = Progress(everywhere: !json)
        let edt = try CentralProcess.edtExecutable()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "edt-bench-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        // The central database: a new SQLite file, or a new PostgreSQL database for this run.
        let database: String
        var dropDatabase: (() -> Void)?
        if let db {
            let name = "edt_bench_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            progress.say("making database \(name) on \(try PostgresAddress(db))…")
            try TestPostgres.psql(db, "CREATE DATABASE \(name)")
            database = TestPostgres.url(db, database: name)
            dropDatabase = { _ = try? TestPostgres.psql(db, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        } else {
            database = directory.appendingPathComponent("central.sqlite").path
        }
        defer { dropDatabase?() }
        let storage: any CentralStorage =
            PostgresAddress.isPostgresURL(database)
            ? try await PostgresCentralStorage.open(try PostgresAddress(database))
            : try SQLiteCentralStorage(path: database)

        // The laptops, made in process as `edt referral import` would, enrolled, trusting the centre.
        var stores: [URL] = []
        let today = LondonTime.day(of: Instant(Date()))
        let codes = AuthorityDirectory.shipped.all.map(\.gss).filter {
            AuthorityDirectory.shipped.refusal(of: $0, on: today) == nil
        }
        guard sharedAuthority || codes.count > devices else {
            throw BenchFailure("only \(codes.count) authorities for \(devices + 1) laptops: use --shared-authority")
        }
        let served = { (number: Int) in sharedAuthority ? SyncFixture.authority : codes[number] }
        for number in 0...devices {
            let label = number == devices ? "baseline laptop" : "laptop \(number + 1) of \(devices)"
            let url = directory.appendingPathComponent("laptop-\(number)")
            let store = try SyncFixture.laptop(
                at: url, device: "edt-load-\(number)", records: records, progress: progress, label: label,
                serving: served(number))
            try await storage.enroll(
                EnrolledDevice(id: store.device, publicKey: store.publicKey, authorities: Set(store.authorities)))
            try store.setCentreKey(storage.publicKey)
            stores.append(url)
        }
        if let postgres = storage as? PostgresCentralStorage { await postgres.close() }

        let serverCount = servers ?? (db == nil ? 1 : 2)
        progress.say("starting \(serverCount) central server(s)…")
        var centres: [ChildProcess] = []
        var urls: [String] = []
        defer { for centre in centres { centre.terminate() } }
        for number in 0..<serverCount {
            let log = directory.appendingPathComponent("central-\(number).log")
            let centre = try ChildProcess(
                executable: edt, arguments: ["central", "serve", "--db", database, "--listen", "127.0.0.1:0"],
                environment: ProcessInfo.processInfo.environment, output: log, errors: log)
            centres.append(centre)
            urls.append(try CLICentre.address(of: centre, loggingTo: log))
        }

        let environment = ["EDT_PASSPHRASE": SyncFixture.passphrase, "PATH": "/usr/bin:/bin", "HOME": directory.path]
        let sync = { (number: Int, server: String) in
            [
                "sync", "--store", stores[number].path, "--server", server, "--json", "--backoff", "0.2",
                "--attempts", "10",
            ]
        }
        progress.say("baseline: one laptop pushing \(records) alone…")
        let baseline = Self.timed(
            edt, sync(devices, urls[0]), environment: environment,
            output: directory.appendingPathComponent("baseline.out"))
        guard baseline.status == 0, baseline.pushed == records else {
            throw BenchFailure("the baseline sync failed: \(baseline.problem)")
        }

        progress.say("load: \(devices) laptops pushing \(records) each at once…")
        let results = Mutex<[Int: Run]>([:])
        let group = DispatchGroup()
        let clock = ContinuousClock()
        let start = clock.now
        for number in 0..<devices {
            group.enter()
            let arguments = sync(number, urls[number % urls.count])
            let output = directory.appendingPathComponent("laptop-\(number).out")
            Thread {
                let run = Self.timed(edt, arguments, environment: environment, output: output)
                results.withLock { $0[number] = run }
                group.leave()
            }.start()
        }
        group.wait()
        let wall = Self.seconds(clock.now - start)
        let runs = results.withLock { Array($0.values) }

        // What the database holds of the laptops' referrals afterwards.
        let after: any CentralStorage =
            PostgresAddress.isPostgresURL(database)
            ? try await PostgresCentralStorage.open(try PostgresAddress(database))
            : try SQLiteCentralStorage(path: database)
        let listing = try await after.listChanges(
            after: 0, authorities: Set((0...devices).map(served)), limit: .max, byteBudget: .max, leavingOut: [],
            leavingOutAcceptedUpTo: nil)
        let stored = Set(listing.changes.map(\.id)).count - records  // less the baseline's
        if let postgres = after as? PostgresCentralStorage { await postgres.close() }

        let acked = runs.reduce(0) { $0 + $1.pushed }
        let errors = runs.filter { $0.status != 0 }.count + runs.reduce(0) { $0 + $1.rejected }
        let latencies = runs.map(\.seconds).sorted()
        let recordsPerSecond = Double(acked) / wall
        let single = Double(records) / baseline.seconds
        let failures = runs.filter { $0.status != 0 }.prefix(3).map(\.problem)

        if json {
            print(
                """
                {"backend": "\(db == nil ? "sqlite" : "postgresql")", "servers": \(serverCount), \
                "sharedAuthority": \(sharedAuthority), \
                "devices": \(devices), "records": \(records), "acked": \(acked), "stored": \(stored), \
                "errors": \(errors), "recordsPerSecond": \(Int(recordsPerSecond.rounded())), \
                "p50Ms": \(Int((Self.percentile(latencies, 0.50) * 1_000).rounded())), \
                "p99Ms": \(Int((Self.percentile(latencies, 0.99) * 1_000).rounded())), \
                "wallSeconds": \(String(format: "%.3f", wall)), \
                "singleDeviceRecordsPerSecond": \(Int(single.rounded())), \
                "ratio": \(String(format: "%.3f", recordsPerSecond / single))}
                """)
        } else {
            progress.done()
            print(
                "edt-bench load: \(devices) laptops × \(records) referrals, \(db == nil ? "SQLite" : "PostgreSQL"), \(serverCount) server(s)"
            )
            print("  acked \(acked) of \(devices * records), stored \(stored), errors \(errors)")
            print("  \(Int(recordsPerSecond.rounded())) referrals/s over \(String(format: "%.2f", wall)) s")
            print(
                "  a laptop's sync: p50 \(Int((Self.percentile(latencies, 0.50) * 1_000).rounded())) ms, p99 \(Int((Self.percentile(latencies, 0.99) * 1_000).rounded())) ms"
            )
            print(
                "  baseline, one laptop alone: \(Int(single.rounded())) referrals/s; ratio \(String(format: "%.2f", recordsPerSecond / single))"
            )
            for failure in failures { print("  failed: \(failure)") }
        }
    }

    /// One `edt sync` process: how it ended, what its JSON said, how long it took.
    struct Run: Sendable {
        var status: Int32 = -1
        var pushed = 0
        var rejected = 0
        var seconds = 0.0
        var problem = ""
    }

    /// Runs `edt` with `arguments` to its exit, timed from outside.
    static func timed(_ edt: URL, _ arguments: [String], environment: [String: String], output: URL) -> Run {
        var run = Run()
        let errors = output.appendingPathExtension("err")
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let child = try ChildProcess(
                executable: edt, arguments: arguments, environment: environment, output: output, errors: errors)
            let (exit, _) = try child.wait()
            run.seconds = seconds(clock.now - start)
            if case .exited(let status) = exit { run.status = status }
            let object = (try? JSONSerialization.jsonObject(with: Data(contentsOf: output))) as? [String: Any] ?? [:]
            run.pushed = object["pushed"] as? Int ?? 0
            run.rejected = object["rejected"] as? Int ?? 0
            run.problem = ((try? String(contentsOf: errors, encoding: .utf8)) ?? "").trimmingCharacters(
                in: .whitespacesAndNewlines)
        } catch {
            run.problem = "\(error)"
        }
        return run
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// The value at `fraction` of `sorted` (nearest rank).
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}
