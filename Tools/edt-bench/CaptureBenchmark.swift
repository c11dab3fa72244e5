import ArgumentParser
import Foundation
import GRDB
import Referrals
import ReplicaStore
import Replication

/// `edt-bench capture`: durable capture latency beside a raw SQLite insert with the same durability.
struct CaptureBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Durable referral capture latency beside a raw SQLite insert+commit.",
        discussion: """
            capture   what `edt referral new` does once the store is open: validate a referral \
            of about 2 KB, write its fields to the replica, seal the record (AES-GCM) and commit \
            it in WAL mode with synchronous=FULL, returning only once durable
            raw       INSERT of a 2 KB blob and COMMIT in a database with the same settings, on \
            the same disk
            The two are interleaved, N of each, in a temporary directory. ratio = p50 capture / \
            p50 raw.
            """
    )

    @Option(help: "Captures (and raw inserts) to time.")
    var captures = 300

    @Option(help: "Referrals already in the store before timing.")
    var preload = 1_000

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let progress = Progress()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "edt-bench-capture-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        progress.say("creating the store…")
        let store = try ReplicaStore.create(
            at: directory.appendingPathComponent("store"), device: try DeviceID("edt-laptop-a"),
            authorities: ["E06000038"], passphrase: "benchmark passphrase")
        var configuration = Configuration()
        configuration.journalMode = .wal
        let raw = try DatabaseQueue(
            path: directory.appendingPathComponent("raw.sqlite").path, configuration: configuration)
        // Synced as the store's commits are. Set once open: GRDB sets synchronous = NORMAL as it
        // turns the write-ahead log on, after any prepareDatabase.
        try raw.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try raw.write { db in try db.execute(sql: "CREATE TABLE t (id TEXT PRIMARY KEY NOT NULL, blob BLOB NOT NULL)") }

        let document = Self.referral()
        var counter = 0
        func capture() throws {
            counter += 1
            let result = try ReferralCapture.validate(document) { prefix in prefix + String(counter) }
            let id = try RecordID(UUID().uuidString.lowercased())
            try store.commit { replica in
                replica.write(result.writes, in: id)
            }
        }
        progress.say("preloading \(preload) referrals…")
        if preload > 0 {
            try store.commit { replica in
                for number in 0..<preload {
                    let result = try ReferralCapture.validate(document) { prefix in prefix + "p\(number)" }
                    let id = try RecordID(UUID().uuidString.lowercased())
                    replica.write(result.writes, in: id)
                }
            }
        }
        let blob = Data((0..<2048).map { _ in UInt8.random(in: 0...255) })
        var captureTimes: [Double] = []
        var rawTimes: [Double] = []
        for index in 0..<captures {
            progress.say("timing \(index + 1)/\(captures)…")
            captureTimes.append(try Measure.seconds { try capture() })
            let key = UUID().uuidString
            rawTimes.append(
                try Measure.seconds {
                    try raw.write { db in
                        try db.execute(sql: "INSERT INTO t (id, blob) VALUES (?, ?)", arguments: [key, blob])
                    }
                })
        }
        progress.done()
        let p50 = Self.percentile(captureTimes, 0.50) * 1000
        let p99 = Self.percentile(captureTimes, 0.99) * 1000
        let rawP50 = Self.percentile(rawTimes, 0.50) * 1000
        if json {
            var out = JSONLine()
            out.add("p50Ms", p50, decimals: 3)
            out.add("p99Ms", p99, decimals: 3)
            out.add("rawSqliteP50Ms", rawP50, decimals: 3)
            out.add("ratio", p50 / rawP50, decimals: 3)
            out.add("captures", captures)
            out.add("preloaded", preload)
            print(out.text)
        } else {
            print(
                "capture: \(captures) durable captures into a store of \(preload)+ referrals, interleaved with raw inserts"
            )
            print("  capture p50 \(p50) ms, p99 \(p99) ms")
            print("  raw SQLite insert+commit p50 \(rawP50) ms")
            print("  ratio \((p50 / rawP50 * 1000).rounded() / 1000)")
        }
    }

    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))]
    }

    /// A referral of about 2 KB.
    static func referral() -> FieldValue {
        let text = { (seed: Int, length: Int) in FieldValue.string(ReferralCorpus.text(seed: seed, length: length)) }
        return .object([
            "receivedAt": .string("2027-03-27T02:10:00Z"),
            "receivedBy": .object(["name": .string("J. Okafor"), "role": .string("EDT social worker")]),
            "hostAuthority": .string("E06000038"), "homeAuthority": .string("E06000039"),
            "channel": .string("phone"), "verbal": .bool(true), "immediateProtection": .bool(true),
            "concern": text(1, 700),
            "children": .array([
                .object([
                    "name": .string("Amelia Nowak"), "dateOfBirth": .string("2019-05-14"),
                    "nhsNumber": .string("9434765919"),
                    "location": text(2, 80), "condition": text(3, 200), "views": text(4, 300),
                ])
            ]),
            "referrer": .object([
                "name": .string("PC Daniel Okonkwo"), "role": .string("Police constable"),
                "agency": .string("Thames Valley Police"),
                "phone": .string("07700 900123"), "professional": .bool(true),
            ]),
            "family": .object(["address": text(5, 80)]),
            "consent": .object(["parentsInformed": .bool(false), "reason": text(6, 200)]),
        ])
    }
}
