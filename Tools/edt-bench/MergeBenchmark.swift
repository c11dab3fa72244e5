import ArgumentParser
import Replication

/// `edt-bench merge`: full-state merge versus delta merge of two diverged replicas.
struct MergeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Full merge and delta merge of two replicas of referral-sized records.",
        discussion: """
            Builds two replicas of N records of about 2 KB (20 fields and a conversation entry \
            each) from a common history, then lets a fraction F of the records diverge: laptop B \
            changes one field in F·N records, laptop A one field in F·N/2 of them (half on the same \
            field, so those become conflicts).
              fullMergeSeconds   merge A and then B, whole, into an empty replica (median of 3)
              deltaMergeSeconds  compute the delta A lacks from B, then apply it to A (median of 9)
              compareOpsPerSecond  version-vector comparisons per second (4-device vectors)
              deltaBytesPerChangedField  canonical bytes of that delta per changed field
            Baseline, same run: baselineInsertSeconds, inserting the same records into a plain \
            dictionary with no merge logic; fullMergeRatio = fullMergeSeconds / baseline.
            """
    )

    @Option(help: "Records per replica.")
    var records = 100_000

    @Option(help: "Fraction of records that diverge, between 0 and 1.")
    var divergence = 0.01

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard records > 0 else { throw ValidationError("--records must be at least 1") }
        guard (0...1).contains(divergence) else { throw ValidationError("--divergence must be between 0 and 1") }
    }

    func run() throws {
        let progress = Progress()
        let corpus = try ReferralCorpus(records: records)
        let diverged = Int((Double(records) * divergence).rounded())

        progress.say("building laptop A (\(records) records)…")
        var a = try corpus.laptop("edt-laptop-a")
        progress.say("building laptop B (\(records) records)…")
        var b = try corpus.laptop("edt-laptop-b")
        progress.say("diverging \(diverged) records…")
        let changedFields = try corpus.diverge(a: &a, b: &b, count: diverged)

        progress.say("full merge…")
        var fullTimes: [Double] = []
        var mergedDigest = ""
        for run in 0..<3 {
            var central = Replica(device: try DeviceID("central"))
            let first = Measure.seconds { central.merge(a) }
            let second = Measure.seconds { central.merge(b) }
            if run == 0, !json { print("  (first merge \(format(first)) s, second \(format(second)) s)") }
            fullTimes.append(first + second)
            if run == 0 { mergedDigest = central.digest() }
        }

        progress.say("baseline insert…")
        var baselineTimes: [Double] = []
        for _ in 0..<3 {
            var plain: [RecordID: Record] = [:]
            baselineTimes.append(
                Measure.seconds {
                    for (id, record) in a.records { plain[id] = record }
                    for (id, record) in b.records { plain[id] = record }
                })
            precondition(plain.count == records)
        }

        progress.say("delta merge…")
        var copies: [Replica] = []
        for _ in 0..<9 {
            var copy = Replica(device: a.device)
            copy.merge(a)
            copies.append(copy)
        }
        var deltaTimes: [Double] = []
        var deltaBytes = 0
        var deltaFields = 0
        for index in copies.indices {
            var receiver = copies[index]
            copies[index] = Replica(device: a.device)  // leave `receiver` the only owner of its storage
            var delta: Delta?
            deltaTimes.append(
                Measure.seconds {
                    let computed = b.delta(since: receiver.knowledge)
                    receiver.apply(computed)
                    delta = computed
                })
            if index == 0, let delta {
                deltaBytes = delta.canonicalEncoding().count
                deltaFields = delta.fieldCount
                precondition(receiver.digest() == mergedDigest, "a delta merge must equal the full merge")
            }
        }

        progress.say("comparisons…")
        let (compareOps, compareSeconds) = Self.compareRate()
        progress.done()

        let full = Measure.median(fullTimes)
        let baseline = Measure.median(baselineTimes)
        let deltaSeconds = Measure.median(deltaTimes)
        let bytesPerField = Double(deltaBytes) / Double(max(changedFields, 1))
        if json {
            var out = JSONLine()
            out.add("fullMergeSeconds", full)
            out.add("deltaMergeSeconds", deltaSeconds)
            out.add("compareOpsPerSecond", Int(Double(compareOps) / compareSeconds))
            out.add("deltaBytesPerChangedField", bytesPerField, decimals: 1)
            out.add("records", records)
            out.add("divergedRecords", diverged)
            out.add("changedFields", changedFields)
            out.add("deltaFields", deltaFields)
            out.add("deltaBytes", deltaBytes)
            out.add("baselineInsertSeconds", baseline)
            out.add("fullMergeRatio", full / baseline, decimals: 2)
            print(out.text)
        } else {
            print(
                "merge: \(records) records of ~\(corpus.approximateRecordBytes) bytes, \(diverged) diverged (\(changedFields) fields changed on B)"
            )
            print(
                "  full merge into an empty replica  \(format(full)) s   (median of 3; baseline plain insert \(format(baseline)) s, ratio \(format(full / baseline, 2)))"
            )
            print(
                "  delta compute + apply             \(format(deltaSeconds * 1000, 3)) ms   (median of 9; \(deltaFields) fields, \(deltaBytes) bytes)"
            )
            print("  version-vector comparisons        \(Int(Double(compareOps) / compareSeconds)) per second")
            print("  delta bytes per changed field     \(format(bytesPerField, 1))")
        }
    }

    /// Times `compare(to:)` over a ring of random 4-device vectors.
    static func compareRate() -> (operations: Int, seconds: Double) {
        var random = SystemRandomNumberGenerator()
        let devices = (0..<6).compactMap { try? DeviceID("edt-laptop-\($0)") }
        let vectors: [VersionVector] = (0..<1024).map { _ in
            var counters: [DeviceID: UInt64] = [:]
            for device in devices.shuffled(using: &random).prefix(4) {
                counters[device] = UInt64.random(in: 1...1_000_000, using: &random)
            }
            return VersionVector(counters)
        }
        let operations = 5_000_000
        var concurrent = 0
        let seconds = Measure.seconds {
            for index in 0..<operations {
                if vectors[index & 1023].compare(to: vectors[(index &* 7 &+ 3) & 1023]) == .concurrent {
                    concurrent &+= 1
                }
            }
        }
        precondition(concurrent >= 0)
        return (operations, seconds)
    }
}

private func format(_ value: Double, _ decimals: Int = 4) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    return String((value * scale).rounded() / scale)
}
