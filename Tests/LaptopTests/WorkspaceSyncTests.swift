import Central
import Foundation
import Laptop
import LineProtocol
import Logging
import Referrals
import Replication
import Synchronization
import TestSupport
import Testing
import Uploader

/// `Workspace.sync` in process: the real central endpoint on a loopback port (in this process,
/// stopped by cancelling its task) and the real libcurl transport.
@Suite("Workspace: sync")
struct WorkspaceSyncTests {
    /// Runs `body` with the URL of a centre on a fresh database, where `devices` are enrolled
    /// for E06000038 and know the centre's key, then stops the centre.
    func withCentre(
        enrolling devices: [Workspace], in directory: URL, _ body: (String) async throws -> Void
    ) async throws {
        try await withLocalCentre(enrolling: devices, in: directory) { _, url in try await body(url) }
    }

    @Test func aSyncPushesPullsAndKeepsRefusalsFlagged() async throws {
        let bench = Bench()
        defer { bench.remove() }
        let a = try bench.workspace("a", authorities: ["E06000038", "E06000037"])
        let b = try bench.workspace("b")
        let kept = try Bench.capture(a)
        let refused = try Bench.capture(a, Bench.minimal.replacingOccurrences(of: "E06000038", with: "E06000037"))
        try a.set(kept.rawValue, path: "concern", value: "Mother found at 03:00", by: Bench.worker)
        try await withCentre(enrolling: [a, b], in: bench.directory) { url in
            var options = SyncSession.Options(server: url)
            options.machine.baseBackoffSeconds = 0.01
            let first = try await a.sync(options)
            #expect(first.pushed == 1 && first.rejected == 1 && first.requests == 1)
            #expect(first.rejections.map(\.record) == [refused])
            #expect(first.rejections.first?.reason == "forbidden")
            let listed = try a.referrals()
            #expect(
                listed.first { $0.id == refused }?.refusal?.reason == "forbidden",
                "the refused referral stays here, flagged")
            #expect(listed.first { $0.id == kept }?.refusal == nil)

            let pulled = try await b.sync(options)
            #expect(pulled.pulled == 1 && pulled.pushed == 0)
            // The replaced value and who replaced it came with the referral.
            #expect(try b.referral(kept.rawValue).history.map(\.value) == [.string("Child alone at the station.")])
            // A second sync of a: the refused referral is offered again, and refused again.
            let again = try await a.sync(options)
            #expect(again.pushed == 0 && again.rejected == 1 && again.pulled == 0)
        }
    }

    @Test func aPullGoesOnFromItsCursorWhicheverURLReachesTheCentre() async throws {
        let bench = Bench()
        defer { bench.remove() }
        let a = try bench.workspace("a")
        let b = try bench.workspace("b")
        let first = try Bench.capture(a)
        try await withLocalCentre(enrolling: [a, b], in: bench.directory) { storage, url in
            var options = SyncSession.Options(server: url)
            options.machine.baseBackoffSeconds = 0.01
            _ = try await a.sync(options)
            #expect(try await b.sync(options).pulled == 1)
            let second = try Bench.capture(a)
            _ = try await a.sync(options)
            // The same centre by another name (as several servers of one database are).
            var elsewhere = options
            elsewhere.server = url.replacingOccurrences(of: "127.0.0.1", with: "localhost") + "/"
            let again = try await b.sync(elsewhere)
            #expect(again.pulled == 1)
            #expect(try b.referral(second.rawValue).id == second)
            // The centre sent b the first case once: the pull went on from b's cursor.
            let sentToB = try await storage.auditEntries(of: first, after: 0, limit: 10_000).filter {
                $0.who == b.device.rawValue && $0.action == "pull"
            }
            #expect(sentToB.count == 1)
        }
    }

    @Test func anUnreachableCentreIsAnInputOutputFailureAndChangesNothing() async throws {
        let bench = Bench()
        defer { bench.remove() }
        let a = try bench.workspace()
        _ = try Bench.capture(a)
        let centre = try SQLiteCentralStorage(path: bench.directory.appendingPathComponent("central.sqlite").path)
        try a.setCentreKey(base64: Data(centre.publicKey).base64EncodedString())
        let before = try a.digest()
        var options = SyncSession.Options(server: "http://127.0.0.1:9")  // discard port: nothing listens
        options.machine.maximumAttempts = 2
        options.machine.baseBackoffSeconds = 0.01
        let failure = await #expect(throws: LaptopError.self) { try await a.sync(options) }
        #expect(failure?.code == .inputOutput)
        #expect(failure?.message.contains("nothing acknowledged is lost") == true, "\(String(describing: failure))")
        #expect(try a.digest() == before)
    }

    @Test func aLaptopThatDoesNotKnowTheCentresKeyIsRefusedBeforeSending() async throws {
        let bench = Bench()
        defer { bench.remove() }
        let a = try bench.workspace()
        _ = try Bench.capture(a)
        let before = try a.digest()
        let failure = await #expect(throws: LaptopError.self) {
            try await a.sync(SyncSession.Options(server: "http://127.0.0.1:9"))
        }
        #expect(failure?.code == .refused)
        #expect(failure?.message.contains("edt store centre-key") == true, "\(String(describing: failure))")
        #expect(try a.digest() == before)
    }

    @Test func aRequestMeantForAnotherCentreIsRefusedAndNothingApplied() async throws {
        let bench = Bench()
        defer { bench.remove() }
        let a = try bench.workspace()
        let id = try Bench.capture(a)
        try await withCentre(enrolling: [a], in: bench.directory) { url in
            // Told the key of another centre: its requests name that centre, which this one refuses.
            let other = try SQLiteCentralStorage(path: bench.directory.appendingPathComponent("other.sqlite").path)
            try a.setCentreKey(base64: Data(other.publicKey).base64EncodedString())
            var options = SyncSession.Options(server: url)
            options.machine.maximumAttempts = 2
            options.machine.baseBackoffSeconds = 0.01
            let failure = await #expect(throws: LaptopError.self) { try await a.sync(options) }
            #expect(failure?.code == .refused)
            #expect(failure?.message.contains("refused this device") == true, "\(String(describing: failure))")
            #expect(try a.referrals().first { $0.id == id }?.refusal == nil)
        }
    }
}
