import ArgumentParser
import Foundation
import Handover
import Referrals
import ReplicaStore
import Replication
import TestSupport

/// `edt-bench deadlines`: every deadline of many referrals with their entries, in one pass, as
/// the centre recomputes a consortium's open cases at each opening; and the `edt` processes a
/// worker runs for deadlines, timed from outside.
struct DeadlinesBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deadlines",
        abstract: "Deadlines of N referrals (with entries) in one pass, beside reading them alone; and edt processes.",
        discussion: """
            The referrals belong to the six authorities of a consortium with an operator's file \
            (office hours that differ, early closing, a closure, a 24-hour decision standard); \
            received across 2026 and 2027; many with entries (acknowledgements, outcomes, \
            authorisations, feedback, confirmations, strategy discussions and their records). \
            pass       read each record (ReferralTimeline) and work out all its deadlines as of \
            one instant (Deadlines.compute with the host authority's calendar)
            read       the baseline: read each record (ReferralTimeline) alone
            Medians of --runs passes. ratio = pass / read. Then, timed from outside as a worker \
            meets them (median of --process-runs): `edt referral deadlines` on a store of \
            --store-referrals referrals, `edt calendar deadlines`, and `edt --version` (the cost \
            of starting a process) as their baseline.
            """
    )

    @Option(help: "Referrals in the one pass.") var referrals = 100_000
    @Option(help: "Passes timed (the median is reported).") var runs = 5
    @Option(help: "Referrals in the store the process figures use.") var storeReferrals = 1_000
    @Option(help: "Runs of each process timed.") var processRuns = 10
    @Flag(help: "Print one JSON object instead of text.") var json = false

    static let consortium = ["E06000036", "E06000037", "E06000038", "E06000039", "E06000040", "E06000041"]

    static let operatorFile = """
        [authority E06000036]
        hours = mon-fri 08:45-17:00
        early-closing = 12-24 15:30
        early-closing = 12-31 15:30
        [authority E06000037]
        hours = fri 09:00-16:30
        closed = 2026-12-29..2026-12-31
        [authority E06000038]
        decision = 24 hours
        [authority E06000039]
        hours = mon 08:30-17:00
        [team berkshire-eds]
        name = Berkshire Emergency Duty Service
        hosted-by = E06000036
        covers = E06000036 children
        covers = E06000037 children
        covers = E06000038 children
        covers = E06000039 children
        covers = E06000040 children
        covers = E06000041 children
        """

    func run() async throws {
        let progress = Progress()
        let directory = try AuthorityDirectory.shipped.applying(operatorFile: Self.operatorFile, source: "bench")
        progress.say("building \(referrals) referrals…")
        let records = try Self.records(referrals)
        let asOf = Instant(secondsSinceEpoch: 1_798_761_600)  // 2027-01-01T00:00:00Z

        var passTimes: [Double] = []
        var readTimes: [Double] = []
        var deadlineCount = 0
        for run in 0..<runs {
            progress.say("pass \(run + 1)/\(runs)…")
            var seen = 0
            readTimes.append(
                Measure.seconds {
                    for record in records {
                        if let timeline = ReferralTimeline(record: record) { seen &+= timeline.events.count }
                    }
                })
            var count = 0
            passTimes.append(
                Measure.seconds {
                    for record in records {
                        guard let timeline = ReferralTimeline(record: record),
                            let authority = directory.authority(timeline.hostAuthority)
                        else { continue }
                        count &+=
                            Deadlines.compute(
                                timeline, authority: authority, calendar: directory.calendar(for: authority), at: asOf
                            ).count
                    }
                })
            deadlineCount = count
            if seen < 0 { print(seen) }  // keeps the read pass from being optimised away
        }
        let pass = Measure.median(passTimes)
        let read = Measure.median(readTimes)

        progress.say("timing edt processes…")
        let processes = try await ProcessFigures.measure(
            storeReferrals: storeReferrals, runs: processRuns, progress: progress)
        progress.done()

        let perSecond = Double(referrals) / pass
        if json {
            var out = JSONLine()
            out.add("referralsPerSecond", perSecond, decimals: 0)
            out.add("readOnlyReferralsPerSecond", Double(referrals) / read, decimals: 0)
            out.add("ratio", pass / read, decimals: 3)
            out.add("referrals", referrals)
            out.add("deadlines", deadlineCount)
            out.add("referralDeadlinesProcessMs", processes.referralDeadlines * 1_000, decimals: 2)
            out.add("calendarDeadlinesProcessMs", processes.calendarDeadlines * 1_000, decimals: 2)
            out.add("versionProcessMs", processes.version * 1_000, decimals: 2)
            out.add("storeReferrals", storeReferrals)
            print(out.text)
        } else {
            print("deadlines: \(referrals) referrals, \(deadlineCount) deadlines, one pass (median of \(runs))")
            print("  pass  \(Int(perSecond)) referrals/s (\(pass * 1e9 / Double(referrals)) ns each)")
            print("  read  \(Int(Double(referrals) / read)) referrals/s (the baseline)")
            print("  ratio pass/read \((pass / read * 1_000).rounded() / 1_000)")
            print("processes, timed from outside (median of \(processRuns)):")
            print("  edt referral deadlines (store of \(storeReferrals))  \(processes.referralDeadlines * 1_000) ms")
            print("  edt calendar deadlines                            \(processes.calendarDeadlines * 1_000) ms")
            print("  edt --version (baseline)                          \(processes.version * 1_000) ms")
        }
    }

    /// `count` referral records with a realistic spread of entries, made directly in a replica.
    static func records(_ count: Int) throws -> [Record] {
        var replica = Replica(device: try DeviceID("edt-laptop-bench"))
        let received = try FieldPath("receivedAt")
        let host = try FieldPath("hostAuthority")
        let home = try FieldPath("homeAuthority")
        let verbal = try FieldPath("verbal")
        let professional = try FieldPath("referrer.professional")
        let concern = try FieldPath("concern")
        let start: Int64 = 1_767_225_600  // 2026-01-01T00:00:00Z
        var generator = SeededGenerator(seed: 12)
        var ids: [RecordID] = []
        for number in 0..<count {
            let id = try RecordID("referral-\(String(number, radix: 16))")
            ids.append(id)
            let at = Instant(secondsSinceEpoch: start + Int64.random(in: 0..<(2 * 365 * 86_400), using: &generator))
            replica.write(.string(at.london), to: received, in: id)
            let authority = consortium[number % consortium.count]
            replica.write(.string(authority), to: host, in: id)
            if number % 5 == 0 { replica.write(.string("E09000033"), to: home, in: id) }
            let isVerbal = number % 3 == 0
            replica.write(.bool(isVerbal), to: verbal, in: id)
            replica.write(.bool(number % 2 == 0), to: professional, in: id)
            replica.write(.string("Concern \(number)"), to: concern, in: id)
            func entry(_ kind: String, after hours: Int64, _ extra: [String: FieldValue] = [:]) throws -> String {
                var payload = extra
                payload["at"] = .string(Instant(secondsSinceEpoch: at.secondsSinceEpoch + hours * 3_600).london)
                payload["by"] = .string("Bench Worker")
                payload["role"] = .string("Team manager")
                let dot = try replica.append(kind: kind, payload: .object(payload), to: id)
                return "\(dot.device.rawValue):\(dot.counter)"
            }
            if number % 10 < 7 { _ = try entry("acknowledgement", after: 5, ["method": .string("phone")]) }
            if number % 2 == 0 {
                let outcomes = ["early-help", "section-17-assessment", "strategy-discussion", "no-further-action"]
                let outcome = try entry(
                    "outcome", after: 8,
                    ["outcome": .string(outcomes[number / 2 % 4]), "rationale": .string("Rationale \(number)")])
                if number % 5 != 0 { _ = try entry("authorisation", after: 10, ["authorises": .string(outcome)]) }
                if number % 4 == 0 {
                    _ = try entry("feedback", after: 30, ["about": .string(outcome), "text": .string("Told")])
                }
            }
            if isVerbal, number % 2 == 0 {
                _ = try entry("confirmation", after: 20, ["reference": .string("L\(number)")])
            }
            if number % 10 == 4 {
                let discussion = try entry(
                    "strategy-discussion", after: 12, ["section47": .bool(true), "text": .string("Held")])
                if number % 20 == 4 {
                    _ = try entry(
                        "strategy-record", after: 30,
                        ["discussion": .string(discussion), "recipients": .array([.string("Police")])])
                }
            }
        }
        return ids.compactMap { replica.records[$0] }
    }
}

/// Whole `edt` processes timed from outside, as a worker waits for them.
enum ProcessFigures {
    struct Figures {
        let referralDeadlines: Double
        let calendarDeadlines: Double
        let version: Double
    }

    static func measure(storeReferrals: Int, runs: Int, progress: Progress) async throws -> Figures {
        let executable = try CentralProcess.edtExecutable()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "edt-bench-deadlines-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let storeDirectory = directory.appendingPathComponent("store")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // The store is closed (its lock released) when this scope ends, before edt opens it.
        let id: RecordID = try {
            let store = try SyncFixture.laptop(
                at: storeDirectory, device: "edt-laptop-bench", records: storeReferrals, progress: progress,
                label: "store")
            guard let id = try store.recordIDs().first else {
                throw BenchFailure("the store holds no referral")
            }
            return id
        }()
        func time(_ arguments: [String]) throws -> Double {
            var times: [Double] = []
            for _ in 0..<runs {
                let process = Process()
                process.executableURL = executable
                process.arguments = arguments
                process.environment = ["EDT_PASSPHRASE": SyncFixture.passphrase, "PATH": "/usr/bin:/bin"]
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                times.append(
                    try Measure.seconds {
                        try process.run()
                        process.waitUntilExit()
                    })
                guard process.terminationStatus == 0 else {
                    throw BenchFailure("edt \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
                }
            }
            return Measure.median(times)
        }
        return Figures(
            referralDeadlines: try time([
                "referral", "deadlines", "--store", storeDirectory.path, id.rawValue, "--json",
            ]),
            calendarDeadlines: try time([
                "calendar", "deadlines", "--authority", "E06000038", "--received", "2026-12-24T16:59:00Z", "--verbal",
                "--json",
            ]),
            version: try time(["--version"]))
    }
}
