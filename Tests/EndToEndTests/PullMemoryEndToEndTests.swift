import Foundation
import TestSupport
import Testing

/// The centre's memory while laptops pull large cases at once: a reply is streamed from
/// storage a case or so at a time and its page is bounded by bytes, so the centre holds about
/// one case per reply, not the page (issue 18: three laptops pulling 150 cases of ~1 MiB once
/// took the centre from 42 MB to 1.28 GB, each reply built whole in memory).
@Suite("The centre's memory during large pulls, end to end", .serialized)
struct PullMemoryEndToEndTests {
    let edt = EDTProcess()
    let sync = SyncEndToEndTests()

    /// Cases of about this many bytes: nine long-text fields of 99,000 characters each, so a
    /// case's `REC` line stays under the 1 MiB line limit.
    static let fieldCharacters = 99_000
    static let cases = 150
    /// The bound on the centre's peak resident memory while three laptops pull every case. The
    /// centre, started anew, also builds the handover package of these cases meanwhile: it reads
    /// them a few batches at a time (`StoredCases.Decoding`), not all at once (which, overlapping
    /// the pulls, once took the peak from about 120 MiB to 600).
    static let peakBound = 256 << 20

    /// One referral whose free text fills about 0.9 MB: the concern, and four long fields of
    /// each of two children.
    func largeReferral(_ number: Int) throws -> String {
        func text(_ field: String) -> String {
            let sentence = "Case \(number), \(field): the child spoke at length about home, school and friends. "
            var text = String(repeating: sentence, count: Self.fieldCharacters / sentence.utf8.count + 1)
            text.removeLast(text.utf8.count - Self.fieldCharacters)
            return text
        }
        func child(_ id: String) -> [String: Any] {
            [
                "id": id, "name": "Child \(id) of case \(number)", "location": "BTP office",
                "condition": text("\(id) condition"), "disabilities": text("\(id) disabilities"),
                "views": text("\(id) views"), "hopesAndFears": text("\(id) hopes and fears"),
            ]
        }
        var document =
            try JSONSerialization.jsonObject(with: Data(minimalReferral.utf8)) as? [String: Any] ?? [:]
        document["concern"] = text("concern")
        document["children"] = [child("c1"), child("c2")]
        return String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self)
    }

    /// The peak resident set of process `pid` (`VmHWM`), in bytes.
    static func peakResident(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kilobytes = Int(fields[1]) else { return nil }
            return kilobytes << 10
        }
        return nil
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/status"), "reads /proc"))
    func threeLaptopsPullingLargeCasesAtOnceKeepTheCentresMemoryBounded() throws {
        let world = SyncEndToEndTests.World()
        var central = try world.startCentral()
        let port = central.port
        let a = try sync.laptop(world, "edt-laptop-a")
        let file = world.directory.appendingPathComponent("large.jsonl")
        var lines = ""
        for number in 0..<Self.cases { lines += try largeReferral(number) + "\n" }
        try lines.write(to: file, atomically: true, encoding: .utf8)
        lines = ""
        let imported = try edt.run(["referral", "import", "--store", a.store, "--file", file.path, "--json"])
        #expect(imported.status == 0, "\(imported.standardError)")
        let pushed = try sync.sync(a, central.url, ["--batch", "20", "--checkpoint", "5"])
        #expect(pushed.status == 0, "\(pushed.standardError)")
        #expect(sync.count(pushed.json, "pushed") == Self.cases, "\(pushed.standardOutput)")

        // A fresh centre process on the same database, so its peak is the pulls' alone.
        central.terminate()
        central = try world.startCentral(port: port)
        let idle = Self.peakResident(central.process.processIdentifier) ?? 0
        let laptops = try ["edt-laptop-b", "edt-laptop-c", "edt-laptop-d"].map { try sync.laptop(world, $0) }
        let pulls = try laptops.map { laptop -> (Process, Pipe) in
            let process = Process()
            process.executableURL = EDTProcess.binary
            process.arguments = [
                "sync", "--store", laptop.store, "--server", central.url, "--json", "--backoff", "0.05",
            ]
            process.environment = ["EDT_PASSPHRASE": edt.passphrase, "PATH": "/usr/bin:/bin"]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            return (process, output)
        }
        for (laptop, (process, output)) in zip(laptops, pulls) {
            let reply = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let text = String(decoding: reply, as: UTF8.self)
            #expect(process.terminationStatus == 0, "\(laptop.device): \(text)")
            let summary = (try? JSONSerialization.jsonObject(with: reply)) as? [String: Any] ?? [:]
            #expect(sync.count(summary, "pulled") == Self.cases, "\(laptop.device): \(text)")
        }
        let peak = try #require(Self.peakResident(central.process.processIdentifier))
        let payload = try Data(contentsOf: file).count / Self.cases
        print(
            "pull memory: centre peak RSS \(peak >> 20) MiB (VmHWM; \(idle >> 20) MiB once started) while 3 laptops pulled \(Self.cases) cases of ~\(payload / 1000) KB at once"
        )
        #expect(peak < Self.peakBound, "the centre's peak resident memory was \(peak >> 20) MiB")

        let pushedDigest = try sync.digest(a)
        for laptop in laptops { #expect(try sync.digest(laptop) == pushedDigest, "\(laptop.device)") }
    }
}
