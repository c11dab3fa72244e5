import ArgumentParser
import Foundation

/// `edt-bench laptop`: what a worker waits for at the laptop, whole `edt` processes timed from
/// outside, on a small store and a large one: each should cost about the same.
struct LaptopBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "laptop",
        abstract: "Whole edt processes (open, new, set, show, list, no-op sync) on a small and a large store.",
        discussion: """
            Makes two stores with the edt CLI (the edt executable beside edt-bench, or --edt): \
            `edt init`, `edt referral import` of --small and of --records referrals (about 2 KB \
            each, received out of order), each enrolled with its own centre (`edt central \
            identity`, `enroll`, `serve` on a loopback port) and synced once. Then spawns each \
            operation R times (--runs) on each store, interleaved, and reads each child's wall \
            time and peak resident memory (wait4's ru_maxrss):
              open   edt store vector (opens the store, prints its version vector)
              new    edt referral new --file F (captures one referral)
              set    edt referral set ID concern TEXT (a different referral each run)
              show   edt referral show ID --json
              list   edt referral list --limit 50 --json (without --limit while edt lacks it: \
            "limited": false)
              sync   edt sync --json with nothing to push or pull (checked)
            The writes (new, set) run after every sync, so that each timed sync is a no-op. \
            Reported per operation: the medians of the wall times (smallMs, largeMs, ratio = \
            largeMs / smallMs) and the most any run held resident (smallPeakMiB, largePeakMiB, \
            peakDifferenceMiB = large - small). Goals: ratio <= 1.25 and peak difference <= 16 MiB.
            """
    )

    @Option(help: "Referrals in the large store.")
    var records = 100_000

    @Option(help: "Referrals in the small store.")
    var small = 100

    @Option(help: "Timed runs of each operation on each store.")
    var runs = 5

    @Option(help: ArgumentHelp("The edt executable to time (default: the one beside edt-bench).", valueName: "PATH"))
    var edt: String?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    /// The goals: a large store costs at most this much more time, and this much more memory.
    static let ratioGoal = 1.25
    static let peakDifferenceGoalMiB = 16.0

    func validate() throws {
        guard small > 0, records > 0 else { throw ValidationError("--small and --records must be at least 1") }
        guard runs > 0 else { throw ValidationError("--runs must be at least 1") }
    }

    /// One operation a worker runs, as an `edt` command line.
    enum Operation: String, CaseIterable {
        case open, new, set, show, list, sync
    }

    /// A store with its centre, and what its operations cost.
    private struct Side {
        let label: String
        let store: CLIStore
        let centre: CLICentre
        /// Referrals to show (the first) and to set (one per run, after it).
        let ids: [String]
        /// The document `new` captures.
        let document: URL
        var runs: [Operation: [ProcessRun]] = [:]
    }

    func run() async throws {
        let progress = Progress(everywhere: true)
        let edt = try CLIFixture.edt(edt)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "edt-bench-laptop-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let runner = try CLIFixture.runner(edt: edt, scratch: directory.appendingPathComponent("scratch"))
        let help = try runner.run(["referral", "list", "--help"]).output()
        let limited = String(decoding: help, as: UTF8.self).contains("--limit")
        if !limited { progress.say("edt referral list has no --limit: list runs without it (\"limited\": false)") }

        var sides: [Side] = []
        defer { for side in sides { side.centre.stop() } }
        for (label, count) in [("small", small), ("large", records)] {
            sides.append(try makeSide(label, records: count, in: directory, runner: runner, progress: progress))
        }

        // Reads and syncs first, writes last: every timed sync must find nothing to do.
        for phase: [Operation] in [[.open, .show, .list, .sync], [.new, .set]] {
            for run in 0..<runs {
                progress.say("timing \(phase.map(\.rawValue).joined(separator: ", ")), run \(run + 1)/\(runs)…")
                for operation in phase {
                    // Alternate which store goes first, so neither always follows the other.
                    for index in (run % 2 == 0 ? [0, 1] : [1, 0]) {
                        let arguments = arguments(for: operation, on: sides[index], run: run, limited: limited)
                        let timed = try runner.run(arguments)
                        if operation == .sync { try checkNoop(timed, side: sides[index]) }
                        sides[index].runs[operation, default: []].append(timed)
                    }
                }
            }
        }
        progress.done()
        report(sides, limited: limited)
    }

    /// Makes one store of `count` referrals with its centre, syncs it once and checks that a
    /// second sync has nothing to do.
    private func makeSide(
        _ label: String, records count: Int, in directory: URL, runner: ProcessRunner, progress: Progress
    ) throws -> Side {
        let started = Date()
        progress.say("\(label): making its centre (edt central identity)…")
        let centre = try CLICentre(
            database: directory.appendingPathComponent("central-\(label).sqlite"), runner: runner)
        let store = try CLIStore.make(
            at: directory.appendingPathComponent(label), device: "edt-laptop-\(label)", records: count, centre: centre,
            runner: runner, progress: progress, label: label)
        progress.say("\(label): starting edt central serve…")
        try centre.start()
        progress.say("\(label): first sync, pushing \(count) referrals (edt sync)…")
        let (first, summary) = try store.sync(with: centre, runner: runner)
        guard summary.pushed == count, summary.rejected == 0 else {
            throw BenchFailure(
                "\(label): the first sync pushed \(summary.pushed) of \(count) (\(summary.rejected) refused)")
        }
        progress.say("\(label): first sync took \(String(format: "%.1f", first.seconds)) s; listing the ids…")
        let (listed, ids) = try store.referralIDs(runs + 1, runner: runner)
        guard listed == count else { throw BenchFailure("\(label): edt referral list listed \(listed) of \(count)") }
        let document = directory.appendingPathComponent("new-\(label).json")
        try JSONEncoder().encode(CLIFixture.referral(count, of: count)).write(to: document)
        let side = Side(label: label, store: store, centre: centre, ids: ids, document: document)
        // Untimed: warms the page cache as the timed runs will find it, and checks the no-op.
        try checkNoop(try runner.run(arguments(for: .sync, on: side, run: 0, limited: false)), side: side)
        progress.say("\(label): \(count) referrals ready in \(Int(Date().timeIntervalSince(started).rounded())) s")
        return side
    }

    /// The command line of `operation` on `side`'s store, in run `run`.
    private func arguments(for operation: Operation, on side: Side, run: Int, limited: Bool) -> [String] {
        let store = ["--store", side.store.directory.path]
        switch operation {
        case .open:
            return ["store", "vector"] + store
        case .new:
            return ["referral", "new"] + store + ["--file", side.document.path, "--json"]
        case .set:
            let id = side.ids[1 + run]
            return ["referral", "set"] + store + [
                id, "concern", "Run \(run): the child is now with her grandmother, who is safe to care for her.",
                "--by", "Sam Patel", "--role", "EDT social worker", "--json",
            ]
        case .show:
            return ["referral", "show"] + store + [side.ids[0], "--json"]
        case .list:
            return ["referral", "list"] + store + (limited ? ["--limit", "50"] : []) + ["--json"]
        case .sync:
            return ["sync"] + store + ["--server", side.centre.url, "--json"]
        }
    }

    /// Throws unless `run` (of `edt sync --json`) pushed, pulled and refused nothing.
    private func checkNoop(_ run: ProcessRun, side: Side) throws {
        let summary = try JSONDecoder().decode(SyncSummary.self, from: try run.output())
        guard summary.pushed == 0, summary.pulled == 0, summary.rejected == 0 else {
            throw BenchFailure(
                "\(side.label): a sync meant to be a no-op pushed \(summary.pushed), pulled \(summary.pulled) and refused \(summary.rejected)"
            )
        }
    }

    /// One operation's figures on both stores.
    private struct Row {
        let operation: Operation
        let smallMs: Double
        let largeMs: Double
        let smallPeakMiB: Double
        let largePeakMiB: Double
        var ratio: Double { largeMs / smallMs }
        var peakDifferenceMiB: Double { largePeakMiB - smallPeakMiB }
        var meetsRatio: Bool { ratio <= LaptopBenchmark.ratioGoal }
        var meetsMemory: Bool { peakDifferenceMiB <= LaptopBenchmark.peakDifferenceGoalMiB }
    }

    private func report(_ sides: [Side], limited: Bool) {
        let rows = Operation.allCases.map { operation in
            let small = sides[0].runs[operation] ?? []
            let large = sides[1].runs[operation] ?? []
            return Row(
                operation: operation, smallMs: Measure.median(small.map(\.seconds)) * 1_000,
                largeMs: Measure.median(large.map(\.seconds)) * 1_000,
                smallPeakMiB: small.map(\.peakMiB).max() ?? 0, largePeakMiB: large.map(\.peakMiB).max() ?? 0)
        }
        let met = rows.filter { $0.meetsRatio && $0.meetsMemory }.map(\.operation.rawValue)
        var goals = """
            goals: ratio <= \(Self.ratioGoal) and peak difference <= \(Int(Self.peakDifferenceGoalMiB)) MiB; \
            met by \(met.isEmpty ? "none" : met.joined(separator: ", ")) of \(rows.count)
            """
        let inherited = sides.flatMap { $0.runs.values.joined() }.filter { !$0.peakIsOwn }
        if let most = inherited.map(\.inheritedKiB).max() {
            goals += """
                \nwarning: \(inherited.count) run(s) peaked no higher than what edt-bench held when it \
                spawned them (up to \(fixed(Double(most) / 1_024, 1)) MiB): their peaks may be edt-bench's
                """
        }
        if json {
            var operations = JSONLine()
            for row in rows {
                var figures = JSONLine()
                figures.add("smallMs", row.smallMs, decimals: 3)
                figures.add("largeMs", row.largeMs, decimals: 3)
                figures.add("ratio", row.ratio, decimals: 3)
                figures.add("smallPeakMiB", row.smallPeakMiB, decimals: 2)
                figures.add("largePeakMiB", row.largePeakMiB, decimals: 2)
                figures.add("peakDifferenceMiB", row.peakDifferenceMiB, decimals: 2)
                if row.operation == .list { figures.add("limited", limited) }
                operations.add(row.operation.rawValue, figures)
            }
            var out = JSONLine()
            out.add("small", small)
            out.add("large", records)
            out.add("runs", runs)
            out.add("operations", operations)
            print(out.text)
            FileHandle.standardError.write(Data((goals + "\n").utf8))
            return
        }
        print(
            "laptop: whole edt processes on \(small) and \(records) referrals; times: medians of \(runs) runs; peaks: the most resident in any run"
        )
        let header = ["operation", "small ms", "large ms", "ratio", "small MiB", "large MiB", "diff MiB", "goals"]
        let widths = [9, 10, 10, 8, 10, 10, 9, 0]
        print(zip(header, widths).map { pad($0, $1, left: $0 == "operation" || $0 == "goals") }.joined(separator: "  "))
        for row in rows {
            let misses = [row.meetsRatio ? nil : "ratio", row.meetsMemory ? nil : "memory"].compactMap { $0 }
            let cells = [
                row.operation.rawValue, fixed(row.smallMs, 1), fixed(row.largeMs, 1), fixed(row.ratio, 2),
                fixed(row.smallPeakMiB, 1), fixed(row.largePeakMiB, 1), fixed(row.peakDifferenceMiB, 1),
                misses.isEmpty ? "met" : "missed: " + misses.joined(separator: ", "),
            ]
            print(
                zip(cells, widths).enumerated().map { pad($1.0, $1.1, left: $0 == 0 || $0 == 7) }.joined(
                    separator: "  "))
        }
        print(goals)
        if !limited {
            print("list ran without --limit: edt referral list has no --limit option yet (\"limited\": false)")
        }
    }
}

/// `value` with `decimals` digits after the point.
private func fixed(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }

/// `text` padded with spaces to `width`, on the right (`left`-aligned) or on the left.
private func pad(_ text: String, _ width: Int, left: Bool) -> String {
    let spaces = String(repeating: " ", count: max(0, width - text.count))
    return left ? text + spaces : spaces + text
}
