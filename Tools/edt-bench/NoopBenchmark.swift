import ArgumentParser
import Foundation
import Laptop  // where the store meets SyncStore
import ReplicaStore
import Replication
import Uploader

/// `edt-bench noop`: a sync with nothing to push or pull, in a small and a large replica.
struct NoopBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "noop",
        abstract: "A no-op sync of a small and a large replica: it should cost the same.",
        discussion: """
            Builds two laptop stores of valid referrals of about 2 KB (--small and --large), each \
            with its own central database and `edt central serve` (the edt executable beside \
            edt-bench) on a loopback port, syncs each fully once, then closes and reopens each \
            store (timed apart: smallOpenSeconds, largeOpenSeconds). Then times \
            `SyncSession.run()` with nothing to push or pull, R times per store, interleaved:
              smallSeconds, largeSeconds   medians of R
              requests                     requests a no-op sync made (the most over every run; should be 1)
            ratio = largeSeconds / smallSeconds.
            """
    )

    @Option(help: "Referrals in the small replica.")
    var small = 1_000

    @Option(help: "Referrals in the large replica.")
    var large = 100_000

    @Option(help: "Timed no-op syncs per replica.")
    var runs = 9

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard small > 0, large > 0 else { throw ValidationError("--small and --large must be at least 1") }
        guard runs > 0 else { throw ValidationError("--runs must be at least 1") }
    }

    /// One replica with its central endpoint, synced once.
    private struct Side {
        let label: String
        let records: Int
        let directory: URL
        let central: CentralProcess
        /// Nil while closed.
        var store: ReplicaStore?
        var openSeconds = 0.0
        var times: [Double] = []
        var requests = 0
    }

    func run() async throws {
        let progress = Progress()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "edt-bench-noop-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var centrals: [CentralProcess] = []
        defer { for central in centrals { central.stop() } }

        var sides: [Side] = []
        for (label, records) in [("small", small), ("large", large)] {
            let storeDirectory = directory.appendingPathComponent(label)
            let store = try SyncFixture.laptop(
                at: storeDirectory, device: "edt-laptop-\(label)", records: records, progress: progress, label: label)
            progress.say("\(label): starting its central endpoint…")
            let central = try await CentralProcess(
                database: directory.appendingPathComponent("central-\(label).sqlite"), enrolling: [store])
            centrals.append(central)
            let session = SyncSession(store: store, options: SyncSession.Options(server: central.url)) { status in
                progress.say("\(label): first sync, \(status.pushed)/\(status.toPush) pushed…")
            }
            let summary = try await session.run()
            guard summary.pushed == records, summary.rejected == 0 else {
                throw BenchFailure(
                    "\(label): the first sync pushed \(summary.pushed) of \(records) records (\(summary.rejected) refused)"
                )
            }
            sides.append(
                Side(label: label, records: records, directory: storeDirectory, central: central, store: store))
        }

        // Close and reopen each store, as `edt sync` opens it.
        for index in sides.indices {
            progress.say("\(sides[index].label): reopening the store…")
            let storeDirectory = sides[index].directory
            sides[index].store = nil  // closes it, releasing its lock
            var reopened: ReplicaStore?
            sides[index].openSeconds = try Measure.seconds {
                reopened = try ReplicaStore.open(at: storeDirectory, passphrase: SyncFixture.passphrase)
            }
            guard let reopened, try reopened.recordCount() == sides[index].records else {
                throw BenchFailure(
                    "\(sides[index].label): the reopened store does not hold its \(sides[index].records) records")
            }
            sides[index].store = reopened
        }

        for run in 0..<runs {
            for index in sides.indices {
                progress.say("timing no-op syncs \(run + 1)/\(runs) (\(sides[index].label))…")
                guard let store = sides[index].store else { continue }
                let session = SyncSession(store: store, options: SyncSession.Options(server: sides[index].central.url))
                var result: SyncSession.Summary?
                sides[index].times.append(try await Measure.seconds { result = try await session.run() })
                guard let summary = result, summary.pushed == 0, summary.pulled == 0, summary.rejected == 0 else {
                    throw BenchFailure(
                        "\(sides[index].label): a no-op sync pushed \(result?.pushed ?? 0) and pulled \(result?.pulled ?? 0)"
                    )
                }
                sides[index].requests = max(sides[index].requests, summary.requests)
            }
        }
        progress.done()

        let smallSeconds = Measure.median(sides[0].times)
        let largeSeconds = Measure.median(sides[1].times)
        let requests = max(sides[0].requests, sides[1].requests)
        if json {
            var out = JSONLine()
            out.add("smallSeconds", smallSeconds)
            out.add("largeSeconds", largeSeconds)
            out.add("ratio", largeSeconds / smallSeconds, decimals: 3)
            out.add("requests", requests)
            out.add("smallRecords", small)
            out.add("largeRecords", large)
            out.add("runs", runs)
            out.add("smallOpenSeconds", sides[0].openSeconds)
            out.add("largeOpenSeconds", sides[1].openSeconds)
            print(out.text)
        } else {
            print("noop: a sync with nothing to push or pull, medians of \(runs)")
            print(
                "  \(small) referrals   \(format(smallSeconds * 1000, 3)) ms  (opening the store \(format(sides[0].openSeconds, 3)) s)"
            )
            print(
                "  \(large) referrals   \(format(largeSeconds * 1000, 3)) ms  (opening the store \(format(sides[1].openSeconds, 3)) s)"
            )
            print("  ratio \(format(largeSeconds / smallSeconds, 3)), \(requests) request(s) per sync")
        }
    }
}

private func format(_ value: Double, _ decimals: Int = 4) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    return String((value * scale).rounded() / scale)
}
