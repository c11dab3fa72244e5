import ArgumentParser
import Crypto
import Foundation
import GRDB
import Laptop  // where the store meets SyncStore
import LineProtocol
import ReplicaStore
import Replication
import Uploader

/// `edt-bench push`: a first sync of N referrals to the central endpoint, beside the physical
/// limit of what it must do (send the bytes over loopback HTTP, store the rows durably).
struct PushBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Sync (push) of N referrals to a local central endpoint beside curl + SQLite.",
        discussion: """
            Builds a laptop store of N valid referrals of about 2 KB, once. Then, R times \
            (--runs), interleaved: copies the store, enrols the copy with a fresh central \
            database, starts `edt central serve` (the edt executable beside edt-bench) on a \
            loopback port and times one `SyncSession.run()`, which must push all N; then runs \
            each baseline once. Medians of R are reported:
              seconds            the sync's wall time; recordsPerSecond = N / seconds
            Physical limit, same runs, same disk:
              curlSeconds        /usr/bin/curl uploading the same records as one EDTLP push \
            body (header, DELTA, one REC per record, PULL, END) to an HTTP sink in edt-bench \
            that reads and discards it
              sqliteSeconds      inserting the records' canonical JSON as N rows of (id, \
            sequence, body) in one transaction, WAL with synchronous=FULL, in a fresh file
            limitSeconds = curlSeconds + sqliteSeconds; ratio = seconds / limitSeconds.
            Also reported: laptopCPUSeconds and centralCPUSeconds, the CPU time (user + system, \
            all threads) each side used during the sync: with both near the machine's cores \
            times seconds, the sync is CPU-bound.
            With --process, also the push as a worker runs it: a store of N referrals made by the \
            CLI (`edt init`, `edt referral import`) and a centre (`edt central identity`, \
            `enroll`), then R times, on fresh copies of both, `edt central serve` and one whole \
            `edt sync` process spawned and timed from outside, start-up and opening the store \
            included (--edt names another build of edt to run; the in-process sync is always \
            edt-bench's own); the copies are written to disk before each run, as a worker's \
            store is:
              processSeconds     its wall time (median); processRecordsPerSecond = N / processSeconds
              processPeakMiB     the most it held resident in any run (wait4's ru_maxrss)
              processCPUSeconds  its CPU time, user + system (median)
            """
    )

    @Option(help: "Referrals to push.")
    var records = 10_000

    @Option(help: "Records per sync request.")
    var batch = SyncSession.StateMachine.Configuration().batchSize

    @Option(help: "Records between +SUM checkpoints in each request.")
    var checkpoint = SyncSession.Options.defaultCheckpointRecords

    @Option(
        help:
            "Timed syncs, each of a fresh copy of the laptop store to a fresh central database, interleaved with the baselines."
    )
    var runs = 3

    @Flag(help: "Also time the push as one whole `edt sync` process, spawned from outside.")
    var process = false

    @Option(
        help: ArgumentHelp(
            "The edt program --process runs (default: the one beside edt-bench), to compare two builds.",
            valueName: "PATH"))
    var edt: String?

    @Flag(help: "Copy the central endpoint's log (one line per request, with its timings) to stderr.")
    var verbose = false

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard records > 0 else { throw ValidationError("--records must be at least 1") }
        guard runs > 0 else { throw ValidationError("--runs must be at least 1") }
        guard checkpoint > 0 else { throw ValidationError("--checkpoint must be at least 1") }
    }

    func run() async throws {
        let curl = URL(fileURLWithPath: "/usr/bin/curl")
        guard FileManager.default.isExecutableFile(atPath: curl.path) else {
            throw BenchFailure(
                "/usr/bin/curl is missing: the physical limit needs the curl command (Debian package curl)")
        }
        let progress = Progress()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "edt-bench-push-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        // First, while edt-bench holds little: Linux counts the spawner's resident memory into
        // the child's peak.
        let whole =
            process
            ? try SyncProcessPush.measure(
                records: records, runs: runs, edt: try CLIFixture.edt(edt), in: directory, progress: progress) : nil
        let setupStarted = Date()
        let pristine = directory.appendingPathComponent("laptop")
        // The laptop store is built once and closed; each run syncs a fresh copy of it.
        let replica = try {
            let store = try SyncFixture.laptop(
                at: pristine, device: "edt-laptop-a", records: records, progress: progress, label: "laptop")
            return Replica(
                device: store.device, knowledge: store.knowledge, records: try store.records(try store.recordIDs()))
        }()
        let setup = Date().timeIntervalSince(setupStarted)

        // The same records, as one push body and as SQLite rows, for the physical limit.
        progress.say("encoding the baseline's body and rows…")
        let ids = replica.recordIDs
        let body = directory.appendingPathComponent("push.edtlp")
        let bytes = try Self.writeBody(of: replica, ids: ids, to: body)
        let rows: [(String, Data)] = ids.compactMap { id in
            replica[id].map { (id.rawValue, Data(RecordCoding.encode($0))) }
        }
        let sink = try SinkServer()
        defer { sink.stop() }

        var syncs: [Sync] = []
        var curlTimes: [Double] = []
        var sqliteTimes: [Double] = []
        for run in 0..<runs {
            let label = runs > 1 ? " (run \(run + 1) of \(runs))" : ""
            syncs.append(try await sync(copyOf: pristine, run: run, in: directory, progress: progress, label: label))
            progress.say("baseline: curl upload\(label)…")
            curlTimes.append(try Self.upload(body, with: curl, to: "http://127.0.0.1:\(sink.port)/"))
            guard sink.lastBodyBytes == bytes else {
                throw BenchFailure("the sink received \(sink.lastBodyBytes) of the body's \(bytes) bytes")
            }
            progress.say("baseline: SQLite insert\(label)…")
            sqliteTimes.append(try Self.insert(rows, into: directory.appendingPathComponent("raw-\(run).sqlite")))
            try? FileManager.default.removeItem(at: directory.appendingPathComponent("raw-\(run).sqlite"))
        }
        progress.done()

        let seconds = Measure.median(syncs.map(\.seconds))
        let curlSeconds = Measure.median(curlTimes)
        let sqliteSeconds = Measure.median(sqliteTimes)
        let limit = curlSeconds + sqliteSeconds
        let rate = Double(records) / seconds
        let laptopCPU = Measure.median(syncs.map(\.laptopCPU))
        let centralCPU = Measure.median(syncs.map(\.centralCPU))
        if json {
            var out = JSONLine()
            out.add("recordsPerSecond", Int(rate.rounded()))
            out.add("seconds", seconds)
            out.add("limitSeconds", limit)
            out.add("ratio", seconds / limit, decimals: 3)
            out.add("records", records)
            out.add("runs", runs)
            out.add("bytes", bytes)
            out.add("bytesPerRecord", bytes / records)
            out.add("requests", syncs.map(\.requests).max() ?? 0)
            out.add("attempts", syncs.map(\.attempts).max() ?? 0)
            out.add("curlSeconds", curlSeconds)
            out.add("sqliteSeconds", sqliteSeconds)
            out.add("setupSeconds", setup, decimals: 3)
            out.add("laptopCPUSeconds", laptopCPU, decimals: 3)
            out.add("centralCPUSeconds", centralCPU, decimals: 3)
            if let whole {
                out.add("processSeconds", whole.seconds)
                out.add("processRecordsPerSecond", Int((Double(records) / whole.seconds).rounded()))
                out.add("processPeakMiB", whole.peakMiB, decimals: 2)
                out.add("processCPUSeconds", whole.cpuSeconds, decimals: 3)
                out.add("processSetupSeconds", whole.setupSeconds, decimals: 3)
            }
            print(out.text)
        } else {
            print(
                "push: \(records) referrals, \(bytes) bytes as one push body, first sync to a local central endpoint (medians of \(runs))"
            )
            print(
                "  sync           \(format(seconds)) s  (\(Int(rate.rounded())) referrals/s, \(syncs.map(\.requests).max() ?? 0) requests)"
            )
            print(
                "  physical limit \(format(limit)) s  (curl upload \(format(curlSeconds)) s + SQLite insert \(format(sqliteSeconds)) s)"
            )
            print("  ratio          \(format(seconds / limit, 3))")
            print(
                "  CPU during the sync: laptop \(format(laptopCPU, 3)) s, central endpoint \(format(centralCPU, 3)) s")
            if let whole {
                print(
                    "  edt sync process \(format(whole.seconds)) s  (\(Int((Double(records) / whole.seconds).rounded())) referrals/s; peak RSS \(format(whole.peakMiB, 1)) MiB; CPU \(format(whole.cpuSeconds, 3)) s), one whole process timed from outside"
                )
            }
        }
    }

    /// One timed sync and what it cost.
    private struct Sync {
        let seconds: Double
        let laptopCPU: Double
        let centralCPU: Double
        let requests: Int
        let attempts: Int
    }

    /// Syncs a fresh copy of the laptop store at `pristine` to a fresh central database; checks
    /// that every record was pushed and none refused.
    private func sync(
        copyOf pristine: URL, run: Int, in directory: URL, progress: Progress, label: String
    ) async throws -> Sync {
        let copy = directory.appendingPathComponent("laptop-\(run)")
        let database = directory.appendingPathComponent("central-\(run).sqlite")
        defer {
            try? FileManager.default.removeItem(at: copy)
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database.path + suffix) }
        }
        progress.say("opening a copy of the laptop store\(label)…")
        try DurableCopy.copy(pristine, to: copy)
        let store = try ReplicaStore.open(at: copy, passphrase: SyncFixture.passphrase)
        progress.say("starting the central endpoint\(label)…")
        let central = try await CentralProcess(database: database, enrolling: [store])
        defer { central.stop() }

        progress.say("syncing \(records) referrals\(label)…")
        var options = SyncSession.Options(server: central.url)
        options.machine.batchSize = batch
        options.checkpointRecords = checkpoint
        let session = SyncSession(store: store, options: options) { status in
            progress.say("syncing\(label): \(status.pushed)/\(status.toPush) pushed, \(status.requests) requests…")
        }
        var result: SyncSession.Summary?
        let centralCPUBefore = central.cpuSeconds ?? 0
        let laptopCPUBefore = Measure.ownCPUSeconds()
        let seconds = try await Measure.seconds { result = try await session.run() }
        let laptopCPU = Measure.ownCPUSeconds() - laptopCPUBefore
        let centralCPU = (central.cpuSeconds ?? centralCPUBefore) - centralCPUBefore
        central.stop()
        if verbose, let log = try? String(contentsOf: central.log, encoding: .utf8) {
            FileHandle.standardError.write(Data(log.utf8))
        }
        guard let summary = result, summary.pushed == records, summary.rejected == 0 else {
            let reasons = (result?.rejections ?? []).prefix(3).map { "\($0.record): \($0.reason) \($0.message)" }
                .joined(separator: "; ")
            throw BenchFailure(
                "the sync pushed \(result?.pushed ?? 0) of \(records) records (\(result?.rejected ?? 0) refused: \(reasons))"
            )
        }
        return Sync(
            seconds: seconds, laptopCPU: laptopCPU, centralCPU: centralCPU, requests: summary.requests,
            attempts: summary.attempts)
    }

    /// Writes one EDTLP push body holding every record of `replica` (in `ids` order) to `file`;
    /// returns its size in bytes.
    static func writeBody(of replica: Replica, ids: [RecordID], to file: URL) throws -> Int {
        guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
            throw BenchFailure("cannot create \(file.path)")
        }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        guard let start = Cursor("-") else { throw BenchFailure("\"-\" is not a cursor") }
        let encoder = StreamEncoder(
            header: Header(kind: .push, parameters: [("device", replica.device.rawValue)]),
            signer: StreamSigner(key: Curve25519.Signing.PrivateKey()))
        encoder.append(.delta(base: VersionVector(), knowledge: replica.knowledge))
        var size = 0
        for (index, id) in ids.enumerated() {
            guard let record = replica[id] else { continue }
            encoder.append(.record(record))
            if index % 1_000 == 999 {
                let piece = encoder.takeBytes()
                size += piece.count
                try handle.write(contentsOf: piece)
            }
        }
        encoder.append(.pull(since: start))
        for piece in [encoder.takeBytes(), encoder.finish()] {
            size += piece.count
            try handle.write(contentsOf: piece)
        }
        return size
    }

    /// Seconds `curl` takes to POST `file` to `url` (the process from start to exit).
    static func upload(_ file: URL, with curl: URL, to url: String) throws -> Double {
        let process = Process()
        process.executableURL = curl
        process.arguments = [
            "-s", "-S", "-f", "-o", "/dev/null", "-H", "Expect:", "-H", "Content-Type: " + SyncContract.mediaType,
            "--data-binary", "@" + file.path, url,
        ]
        process.standardInput = FileHandle.nullDevice
        let seconds = try Measure.seconds {
            try process.run()
            process.waitUntilExit()
        }
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw BenchFailure("curl failed (exit \(process.terminationStatus)) uploading to \(url)")
        }
        return seconds
    }

    /// Seconds to insert `rows` in one durable transaction into a new database at `file`.
    static func insert(_ rows: [(String, Data)], into file: URL) throws -> Double {
        var configuration = Configuration()
        configuration.journalMode = .wal
        let queue = try DatabaseQueue(path: file.path, configuration: configuration)
        // Synced as the centre's commits are. Set once open: GRDB sets synchronous = NORMAL as
        // it turns the write-ahead log on, after any prepareDatabase.
        try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try queue.write { db in
            try db.execute(
                sql:
                    "CREATE TABLE cases (id TEXT PRIMARY KEY NOT NULL, sequence INTEGER NOT NULL UNIQUE, body BLOB NOT NULL)"
            )
        }
        let seconds = try Measure.seconds {
            try queue.write { db in
                let insert = try db.cachedStatement(sql: "INSERT INTO cases (id, sequence, body) VALUES (?, ?, ?)")
                for (sequence, (id, body)) in rows.enumerated() {
                    try insert.execute(arguments: [id, sequence + 1, body])
                }
            }
        }
        let count = try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM cases") } ?? 0
        guard count == rows.count else { throw BenchFailure("the baseline stored \(count) of \(rows.count) rows") }
        return seconds
    }
}

private func format(_ value: Double, _ decimals: Int = 4) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    return String((value * scale).rounded() / scale)
}
