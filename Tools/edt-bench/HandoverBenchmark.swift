import ArgumentParser
import Central
import Foundation
import Handover
import LineProtocol
import Referrals
import Replication
import TestSupport

/// `edt-bench handover`: the morning handover package of one authority with many open EDT
/// cases, as the centre builds it at an opening: the package, its JSON and its HTML, beside
/// reading the records alone.
struct HandoverBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "handover",
        abstract: "The handover package of N open EDT cases of one authority, beside reading them alone.",
        discussion: """
            The cases are Reading's (E06000038), received out of hours over the 60 days before \
            the opening of Monday 4 January 2027, each with a child, a concern and a spread of \
            entries (acknowledgements, outcomes, authorisations, conversations, strategy \
            discussions), some with an allocated social worker or an early help worker.

            What is timed:
              build     HandoverPackage.build (summary, actions, tasks, gaps,
                        deadlines, routing)
              json      build, then its canonical JSON bytes
              html      build, then its printable HTML
              read      the baseline: read each record (ReferralTimeline) alone
              centre    the centre's own: HandoverDesk reads the open cases from a central
                        database (SQLite) and builds the package, its JSON and its page
              process   the whole `edt central handover --json` process, timed from outside
                        (start, opening the database, reading, building, printing), on a
                        fresh copy of the database each run; --edt names the executable
                        (default: the one beside edt-bench)

            Medians of --runs passes; cases/s of each.
            """
    )

    @Option(help: "Open cases in the package.") var cases = 10_000
    @Option(help: "Passes timed (the median is reported).") var runs = 5
    @Option(help: "The edt executable the process figure runs (default: the one beside edt-bench).")
    var edt: String?
    @Flag(help: "Print one JSON object instead of text.") var json = false

    static let reading = "E06000038"
    static let opening = Instant(secondsSinceEpoch: 1_799_053_200)  // 2027-01-04T09:00:00Z

    func run() async throws {
        let progress = Progress()
        progress.say("building \(cases) cases…")
        let records = try Self.records(cases)
        let key = [UInt8](repeating: 7, count: 32)
        var buildTimes: [Double] = []
        var jsonTimes: [Double] = []
        var htmlTimes: [Double] = []
        var readTimes: [Double] = []
        var handed = 0
        var bytes = 0
        for run in 0..<runs {
            progress.say("pass \(run + 1)/\(runs)…")
            var seen = 0
            readTimes.append(
                Measure.seconds {
                    for record in records {
                        if let timeline = ReferralTimeline(record: record) { seen &+= timeline.events.count }
                    }
                })
            if seen < 0 { print(seen) }  // keeps the read pass from being optimised away
            buildTimes.append(
                try Measure.seconds {
                    handed = try Self.package(records, key: key).cases.count
                })
            jsonTimes.append(
                try Measure.seconds {
                    bytes = try Self.package(records, key: key).jsonBytes().count
                })
            htmlTimes.append(
                try Measure.seconds {
                    bytes &+= try Self.package(records, key: key).html().utf8.count
                })
        }
        progress.say("storing \(cases) cases in a central database…")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "edt-bench-handover-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let pristine = scratch.appendingPathComponent("central.sqlite")
        try await Self.store(records, at: pristine)
        var centreTimes: [Double] = []
        for run in 0..<runs {
            progress.say("centre pass \(run + 1)/\(runs)…")
            let copy = try Self.copy(pristine, as: "centre-\(run)", in: scratch)
            let storage = try SQLiteCentralStorage(path: copy.path)
            let desk = HandoverDesk(storage: storage, directory: .shipped)
            var listed = 0
            centreTimes.append(
                try await Measure.seconds {
                    listed = try await desk.package(for: Self.reading, at: Self.opening, now: Self.opening).kept.cases
                        .count
                })
            guard listed == handed else {
                throw BenchFailure("the centre handed over \(listed) cases, the builder \(handed)")
            }
        }
        let runner = try CLIFixture.runner(
            edt: try CLIFixture.edt(edt), scratch: scratch.appendingPathComponent("process-scratch"))
        var processRuns: [ProcessRun] = []
        for run in 0..<runs {
            progress.say("edt central handover process \(run + 1)/\(runs)…")
            let copy = try Self.copy(pristine, as: "process-\(run)", in: scratch)
            let timed = try runner.run([
                "central", "handover", "--db", copy.path, "--authority", Self.reading, "--at",
                Self.opening.description, "--json",
            ])
            let printed = Array(try timed.output())
            guard case .object(let document)? = try? JSONPayload.read(printed[...].prefix { $0 != 0x0A }),
                case .array(let listed)? = document["cases"], listed.count == handed
            else { throw BenchFailure("edt central handover did not print a package of \(handed) cases") }
            processRuns.append(timed)
        }
        progress.done()
        let count = Double(cases)
        let centre = count / Measure.median(centreTimes)
        let process = count / Measure.median(processRuns.map(\.seconds))
        let processPeak = processRuns.map(\.peakMiB).max() ?? 0
        let build = count / Measure.median(buildTimes)
        let withJSON = count / Measure.median(jsonTimes)
        let withHTML = count / Measure.median(htmlTimes)
        let read = count / Measure.median(readTimes)
        if json {
            var out = JSONLine()
            out.add("casesPerSecond", build, decimals: 0)
            out.add("jsonCasesPerSecond", withJSON, decimals: 0)
            out.add("htmlCasesPerSecond", withHTML, decimals: 0)
            out.add("readOnlyCasesPerSecond", read, decimals: 0)
            out.add("centreCasesPerSecond", centre, decimals: 0)
            out.add("processCasesPerSecond", process, decimals: 0)
            out.add("processPeakMiB", processPeak, decimals: 1)
            out.add("cases", cases)
            out.add("handedOver", handed)
            print(out.text)
        } else {
            print("handover: \(cases) open cases of Reading, \(handed) handed over (median of \(runs))")
            print("  build  \(Int(build)) cases/s")
            print("  json   \(Int(withJSON)) cases/s (build and JSON)")
            print("  html   \(Int(withHTML)) cases/s (build and HTML)")
            print("  read   \(Int(read)) cases/s (the baseline: ReferralTimeline alone)")
            print("  centre \(Int(centre)) cases/s (HandoverDesk: read from the database, build, JSON and page)")
            print(
                "  process \(Int(process)) cases/s (edt central handover --json, timed from outside; peak \((processPeak * 10).rounded() / 10) MiB)"
            )
            if bytes < 0 { print(bytes) }
        }
    }

    /// Stores `records` in a new central database at `path` as pushed parts, without the push's
    /// checks (the bench's cases carry only what a package reads).
    static func store(_ records: [Record], at path: URL) async throws {
        let storage = try SQLiteCentralStorage(path: path.path)
        for start in stride(from: 0, to: records.count, by: 1_000) {
            let parts = records[start..<min(records.count, start + 1_000)].map {
                PreparedPart(part: $0, encoded: RecordCoding.encode($0)[...], rejection: nil)
            }
            _ = try await storage.store(parts, by: AuditActor(who: "edt-bench", authorities: [], action: "push")) {
                _, _, _ in nil
            }
        }
    }

    /// A copy of the database at `database` (and its log) named `name` in `directory`.
    static func copy(_ database: URL, as name: String, in directory: URL) throws -> URL {
        let copy = directory.appendingPathComponent("\(name).sqlite")
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: database.path + suffix) {
            try? FileManager.default.removeItem(atPath: copy.path + suffix)
            try DurableCopy.copy(
                URL(fileURLWithPath: database.path + suffix), to: URL(fileURLWithPath: copy.path + suffix))
        }
        return copy
    }

    static func package(_ records: [Record], key: [UInt8]) throws -> HandoverPackage {
        try HandoverPackage.build(
            authority: reading, at: opening, candidates: records, directory: .shipped, centreKey: key)
    }

    /// `count` out-of-hours cases of Reading, with entries, made directly in a replica.
    static func records(_ count: Int) throws -> [Record] {
        var replica = Replica(device: try DeviceID("edt-laptop-bench"))
        let directory = AuthorityDirectory.shipped
        guard let authority = directory.authority(reading) else { throw BenchFailure("Reading is not known") }
        let calendar = directory.calendar(for: authority)
        var generator = SeededGenerator(seed: 44)
        var ids: [RecordID] = []
        let span: Int64 = 60 * 86_400
        var number = 0
        while ids.count < count {
            let at = Instant(
                secondsSinceEpoch: opening.secondsSinceEpoch - Int64.random(in: 1...span, using: &generator))
            guard calendar.isEDTCase(receivedAt: at) else { continue }
            number += 1
            let id = try RecordID("case-\(String(number, radix: 16))")
            ids.append(id)
            var fields: [(path: FieldPath, value: FieldValue)] = [
                (try FieldPath("receivedAt"), .string(at.london)),
                (try FieldPath("hostAuthority"), .string(reading)),
                (try FieldPath("channel"), .string("phone")),
                (try FieldPath("receivedBy.name"), .string("Bench Worker")),
                (try FieldPath("receivedBy.role"), .string("EDT social worker")),
                (try FieldPath("concern"), .string("Concern \(number): the child was found alone at night.")),
                (try FieldPath("children.c00000001.name"), .string("Child \(number)")),
                (try FieldPath("children.c00000001.dateOfBirth"), .string("2016-05-0\(number % 9 + 1)")),
                (try FieldPath("children.c00000001.location"), .string("With a neighbour")),
                (try FieldPath("childSafeNow"), .bool(number % 4 != 0)),
                (try FieldPath("recordCheck"), .string(number % 3 == 0 ? "not-checked-offline" : "checked")),
            ]
            if number % 5 == 0 { fields.append((try FieldPath("homeAuthority"), .string("E06000039"))) }
            if number % 7 == 0 {
                fields.append((try FieldPath("children.c00000001.allocatedSocialWorker.name"), .string("Sam")))
                fields.append((try FieldPath("children.c00000001.allocatedSocialWorker.team"), .string("Team 2")))
            }
            if number % 11 == 0 {
                fields.append((try FieldPath("children.c00000001.earlyHelpWorker"), .string("Erin")))
            }
            replica.write(fields, in: id)
            func entry(_ kind: String, after minutes: Int64, _ extra: [String: FieldValue]) throws -> String {
                var payload = extra
                payload["at"] = .string(Instant(secondsSinceEpoch: at.secondsSinceEpoch + minutes * 60).london)
                payload["by"] = .string("Bench Worker")
                payload["role"] = .string("EDT manager")
                let dot = try replica.append(kind: kind, payload: .object(payload), to: id)
                return "\(dot.device.rawValue):\(dot.counter)"
            }
            _ = try entry("conversation", after: 5, ["text": .string("Spoke to the referrer at length.")])
            if number % 10 < 7 { _ = try entry("acknowledgement", after: 10, ["method": .string("phone")]) }
            if number % 2 == 0 {
                let outcomes = ["early-help", "section-17-assessment", "strategy-discussion", "no-further-action"]
                let outcome = try entry(
                    "outcome", after: 30,
                    ["outcome": .string(outcomes[number / 2 % 4]), "rationale": .string("Rationale \(number)")])
                if number % 5 != 0 { _ = try entry("authorisation", after: 40, ["authorises": .string(outcome)]) }
            }
            if number % 10 == 4 {
                _ = try entry("strategy-discussion", after: 60, ["section47": .bool(true), "text": .string("Held")])
            }
        }
        return ids.compactMap { replica.records[$0] }
    }
}
