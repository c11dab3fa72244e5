import Foundation

/// The first push as a worker runs it (`edt-bench push --process`): one whole `edt sync` process
/// spawned from outside, opening the store and starting up included.
enum SyncProcessPush {
    /// Medians of the timed runs (peak: the most any run held resident).
    struct Result {
        let seconds: Double
        let peakMiB: Double
        let cpuSeconds: Double
        /// Making the store and the centre with the CLI, once.
        let setupSeconds: Double
    }

    /// Makes a store of `records` referrals (`edt init`, `edt referral import`) and a centre
    /// (`edt central identity`, `enroll`) once in `directory`; then `runs` times, copies both,
    /// starts `edt central serve` on the copy and times `edt sync` of the copied store, which
    /// must push every referral.
    static func measure(records: Int, runs: Int, edt: URL, in directory: URL, progress: Progress) throws -> Result {
        let started = Date()
        let runner = try CLIFixture.runner(edt: edt, scratch: directory.appendingPathComponent("process-scratch"))
        let pristineDatabase = directory.appendingPathComponent("process-central.sqlite")
        let pristine = try CLICentre(database: pristineDatabase, runner: runner)
        let store = try CLIStore.make(
            at: directory.appendingPathComponent("process-laptop"), device: "edt-laptop-a", records: records,
            centre: pristine, runner: runner, progress: progress, label: "edt sync process")
        let setupSeconds = Date().timeIntervalSince(started)

        var timed: [ProcessRun] = []
        for run in 0..<runs {
            let label = runs > 1 ? " (run \(run + 1) of \(runs))" : ""
            let database = directory.appendingPathComponent("process-central-\(run).sqlite")
            let copy = CLIStore(
                directory: directory.appendingPathComponent("process-laptop-\(run)"), device: store.device)
            defer {
                try? FileManager.default.removeItem(at: copy.directory)
                for suffix in ["", "-wal", "-shm"] {
                    try? FileManager.default.removeItem(atPath: database.path + suffix)
                }
            }
            progress.say("edt sync process: copying the store and the centre\(label)…")
            try DurableCopy.copy(store.directory, to: copy.directory)
            for suffix in ["", "-wal", "-shm"]
            where FileManager.default.fileExists(atPath: pristineDatabase.path + suffix) {
                try DurableCopy.copy(
                    URL(fileURLWithPath: pristineDatabase.path + suffix),
                    to: URL(fileURLWithPath: database.path + suffix))
            }
            let centre = try CLICentre(database: database, runner: runner)
            guard centre.key == pristine.key else { throw BenchFailure("the copied central database has another key") }
            try centre.start()
            defer { centre.stop() }
            progress.say("edt sync process: pushing \(records) referrals\(label)…")
            let (sync, summary) = try copy.sync(with: centre, runner: runner)
            guard summary.pushed == records, summary.rejected == 0 else {
                throw BenchFailure(
                    "edt sync pushed \(summary.pushed) of \(records) referrals (\(summary.rejected) refused)")
            }
            guard sync.peakIsOwn else {
                throw BenchFailure(
                    "edt sync's peak (\(sync.peakKiB) KiB) is no higher than what edt-bench held when it spawned it (\(sync.inheritedKiB) KiB)"
                )
            }
            timed.append(sync)
        }
        return Result(
            seconds: Measure.median(timed.map(\.seconds)), peakMiB: timed.map(\.peakMiB).max() ?? 0,
            cpuSeconds: Measure.median(timed.map(\.cpuSeconds)), setupSeconds: setupSeconds)
    }
}
