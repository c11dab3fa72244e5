import ArgumentParser
import Foundation
import GRDB
import LineProtocol
import ReplicaStore
import Replication
import Uploader

/// `edt-bench push`: a first sync of N referrals to the central endpoint, beside the physical
/// limit of what it must do (send the bytes over loopback HTTP, store the rows durably).
struct PushBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Sync (push) of N referrals to a local central endpoint beside curl + SQLite.",
        discussion: """
            Builds a laptop store of N valid referrals of about 2 KB, enrols it with a fresh \
            central database, and starts `edt central serve` (the edt executable beside \
            edt-bench) on a loopback port. Then times one `SyncSession.run()`, which must push \
            all N:
              seconds            the sync's wall time; recordsPerSecond = N / seconds
            Physical limit, same run, same disk:
              curlSeconds        /usr/bin/curl uploading the same records as one EDTLP push \
            body (header, DELTA, one REC per record, PULL, END) to an HTTP sink in edt-bench \
            that reads and discards it (median of 3)
              sqliteSeconds      inserting the records' canonical JSON as N rows of (id, \
            sequence, body) in one transaction, WAL with synchronous=FULL, in a fresh file \
            (median of 3)
            limitSeconds = curlSeconds + sqliteSeconds; ratio = seconds / limitSeconds.
            Also reported: laptopCPUSeconds and centralCPUSeconds, the CPU time (user + system, \
            all threads) each side used during the sync: with both near the machine's cores \
            times seconds, the sync is CPU-bound.
            """
    )

    @Option(help: "Referrals to push.")
    var records = 10_000

    @Option(help: "Records per sync request.")
    var batch = SyncSession.StateMachine.Configuration().batchSize

    @Flag(help: "Copy the central endpoint's log (one line per request, with its timings) to stderr.")
    var verbose = false

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard records > 0 else { throw ValidationError("--records must be at least 1") }
    }

    func run() throws {
        let curl = URL(fileURLWithPath: "/usr/bin/curl")
        guard FileManager.default.isExecutableFile(atPath: curl.path) else {
            throw BenchFailure("/usr/bin/curl is missing: the physical limit needs the curl command (Debian package curl)")
        }
        let progress = Progress()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edt-bench-push-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let setupSeconds = Date()
        let store = try SyncFixture.laptop(at: directory.appendingPathComponent("laptop"), device: "edt-laptop-a", records: records,
                                           progress: progress, label: "laptop")
        progress.say("starting the central endpoint…")
        let central = try CentralProcess(database: directory.appendingPathComponent("central.sqlite"), enrolling: [store])
        defer { central.stop() }
        let setup = Date().timeIntervalSince(setupSeconds)

        progress.say("syncing \(records) referrals…")
        var options = SyncSession.Options(server: central.url)
        options.machine.batchSize = batch
        let session = SyncSession(store: store, options: options) { status in
            progress.say("syncing: \(status.pushed)/\(status.toPush) pushed, \(status.requests) requests…")
        }
        var result: SyncSession.Summary?
        let centralCPUBefore = central.cpuSeconds ?? 0
        let laptopCPUBefore = Measure.ownCPUSeconds()
        let seconds = try Measure.seconds { result = try session.run() }
        let laptopCPU = Measure.ownCPUSeconds() - laptopCPUBefore
        let centralCPU = (central.cpuSeconds ?? centralCPUBefore) - centralCPUBefore
        central.stop()
        if verbose, let log = try? String(contentsOf: central.log, encoding: .utf8) { FileHandle.standardError.write(Data(log.utf8)) }
        guard let summary = result, summary.pushed == records, summary.rejected == 0 else {
            let reasons = (result?.rejections ?? []).prefix(3).map { "\($0.record): \($0.reason) \($0.message)" }.joined(separator: "; ")
            throw BenchFailure("the sync pushed \(result?.pushed ?? 0) of \(records) records (\(result?.rejected ?? 0) refused: \(reasons))")
        }

        // The same records, as one push body and as SQLite rows.
        progress.say("encoding the baseline's body and rows…")
        let ids = store.replica.recordIDs
        let body = directory.appendingPathComponent("push.edtlp")
        let bytes = try Self.writeBody(of: store.replica, ids: ids, to: body)
        let rows: [(String, Data)] = ids.compactMap { id in store.replica[id].map { (id.rawValue, Data(RecordCoding.encode($0))) } }

        progress.say("baseline: curl upload…")
        let sink = try SinkServer()
        defer { sink.stop() }
        var curlTimes: [Double] = []
        for _ in 0..<3 {
            curlTimes.append(try Self.upload(body, with: curl, to: "http://127.0.0.1:\(sink.port)/"))
            guard sink.lastBodyBytes == bytes else {
                throw BenchFailure("the sink received \(sink.lastBodyBytes) of the body's \(bytes) bytes")
            }
        }

        progress.say("baseline: SQLite insert…")
        var sqliteTimes: [Double] = []
        for run in 0..<3 {
            sqliteTimes.append(try Self.insert(rows, into: directory.appendingPathComponent("raw-\(run).sqlite")))
        }
        progress.done()

        let curlSeconds = Measure.median(curlTimes)
        let sqliteSeconds = Measure.median(sqliteTimes)
        let limit = curlSeconds + sqliteSeconds
        let rate = Double(records) / seconds
        if json {
            var out = JSONLine()
            out.add("recordsPerSecond", Int(rate.rounded()))
            out.add("seconds", seconds)
            out.add("limitSeconds", limit)
            out.add("ratio", seconds / limit, decimals: 3)
            out.add("records", records)
            out.add("bytes", bytes)
            out.add("bytesPerRecord", bytes / records)
            out.add("requests", summary.requests)
            out.add("attempts", summary.attempts)
            out.add("curlSeconds", curlSeconds)
            out.add("sqliteSeconds", sqliteSeconds)
            out.add("setupSeconds", setup, decimals: 3)
            out.add("laptopCPUSeconds", laptopCPU, decimals: 3)
            out.add("centralCPUSeconds", centralCPU, decimals: 3)
            print(out.text)
        } else {
            print("push: \(records) referrals, \(bytes) bytes as one push body, first sync to a local central endpoint")
            print("  sync          \(format(seconds)) s  (\(Int(rate.rounded())) referrals/s, \(summary.requests) requests)")
            print("  physical limit \(format(limit)) s  (curl upload \(format(curlSeconds)) s + SQLite insert \(format(sqliteSeconds)) s, medians of 3)")
            print("  ratio         \(format(seconds / limit, 3))")
            print("  CPU during the sync: laptop \(format(laptopCPU, 3)) s, central endpoint \(format(centralCPU, 3)) s")
        }
    }

    /// Writes one EDTLP push body holding every record of `replica` (in `ids` order) to `file`;
    /// returns its size in bytes.
    static func writeBody(of replica: Replica, ids: [RecordID], to file: URL) throws -> Int {
        guard FileManager.default.createFile(atPath: file.path, contents: nil) else { throw BenchFailure("cannot create \(file.path)") }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        guard let start = Cursor("-") else { throw BenchFailure("\"-\" is not a cursor") }
        let encoder = StreamEncoder(header: Header(kind: .push, parameters: [("device", replica.device.rawValue)]))
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
        process.arguments = ["-s", "-S", "-f", "-o", "/dev/null", "-H", "Expect:", "-H", "Content-Type: text/x-edtlp; charset=utf-8",
                             "--data-binary", "@" + file.path, url]
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
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let queue = try DatabaseQueue(path: file.path, configuration: configuration)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE cases (id TEXT PRIMARY KEY NOT NULL, sequence INTEGER NOT NULL UNIQUE, body BLOB NOT NULL)")
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
