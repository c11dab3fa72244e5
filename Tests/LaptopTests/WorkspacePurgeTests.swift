import Central
import Crypto
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

/// The laptop drops a case once the centre holds it and the day team has accepted it, through
/// the real sync (an in-process centre on a loopback port, the real libcurl transport); and a
/// laptop believes an entry in the centre's name only when the centre's key verifies it.
///
/// The centre's own `accept-handover` command is not used: the tests write the acceptance into
/// the centre's storage as that command would (an entry at the centre's dot, signed with its key).
@Suite("Workspace: dropping accepted cases")
struct WorkspacePurgeTests {
    /// Runs `body` with a centre on a fresh database (its storage, and its URL), where `devices`
    /// are enrolled for E06000038 and know the centre's key, then stops the centre.
    func withCentre(
        enrolling devices: [Workspace], in directory: URL,
        _ body: (SQLiteCentralStorage, String) async throws -> Void
    ) async throws {
        try await withLocalCentre(enrolling: devices, in: directory, body)
    }

    static let acceptedAt = Instant(iso8601: "2027-03-27T02:20:00Z")!

    /// A part of case `id` holding the acceptance of `authority`'s day team at `device`'s dot
    /// `counter`, signed with `key`.
    static func acceptance(
        of id: RecordID, by authority: String = "E06000038", device: DeviceID, counter: UInt64 = 1,
        signedWith key: Curve25519.Signing.PrivateKey
    ) throws -> Record {
        let accepted = try HandoverAcceptance(
            authority: authority, by: try ReferralEntry.Author(name: "A. Day", role: "Team manager"),
            at: acceptedAt, recordedAt: acceptedAt, device: device)
        let payload = try HandoverAcceptance.sign(accepted.payload, record: id) { Array(try key.signature(for: $0)) }
        let entry = try Entry(dot: try Dot(device, counter), kind: HandoverAcceptance.kind, payload: .object(payload))
        return Record(id: id, fields: [], entries: [entry])
    }

    /// Stores `part` at the centre as its own write (what `accept-handover` will do).
    func store(_ part: Record, at storage: SQLiteCentralStorage) async throws {
        let outcomes = try await storage.store(
            [PreparedPart(part: part, encoded: RecordCoding.encode(part)[...], rejection: nil)],
            by: AuditActor(who: "test", authorities: [], action: "push"), check: { _, _, _ in nil })
        guard case .stored = try #require(outcomes.first) else {
            Issue.record("the centre did not store the acceptance")
            return
        }
    }

    func options(_ url: String) -> SyncSession.Options {
        var options = SyncSession.Options(server: url)
        options.machine.baseBackoffSeconds = 0.01
        options.machine.maximumAttempts = 1
        return options
    }

    @Test func aCaseTheCentreHoldsIsDroppedOnceAcceptedAndNotBefore() async throws {
        let bench = Bench()
        defer { bench.remove() }
        let a = try bench.workspace("a")
        let id = try Bench.capture(a)
        let other = try Bench.capture(a, Bench.minimal.replacingOccurrences(of: "Child alone", with: "Another child"))
        try await withCentre(enrolling: [a], in: bench.directory) { storage, url in
            let first = try await a.sync(options(url))
            #expect(first.pushed == 2 && first.purged == 0, "held by the centre, not accepted: kept")
            let centre = try DeviceID("central." + storage.identity)
            // Accepted by another authority's day team: kept.
            try await store(
                try Self.acceptance(of: id, by: "E06000037", device: centre, signedWith: storage.signingKey),
                at: storage)
            let elsewhere = try await a.sync(options(url))
            #expect(elsewhere.pulled == 1 && elsewhere.purged == 0)
            // Accepted by its host authority's day team: dropped at this sync.
            try await store(
                try Self.acceptance(of: id, device: centre, counter: 2, signedWith: storage.signingKey), at: storage)
            let vector = a.versionVector
            let accepted = try await a.sync(options(url))
            #expect(accepted.pulled == 1 && accepted.purged == 1)
            #expect(try a.referrals().map(\.id) == [other])
            #expect(throws: LaptopError.self) { try a.referral(id.rawValue) }
            #expect(try a.verifyStore() == 1)
            #expect(a.versionVector == vector, "the version vector is kept")
            // Not sent back: the centre's cursor had moved past it.
            let again = try await a.sync(options(url))
            #expect(again.pulled == 0 && again.purged == 0)
            // The case is not in a bundle either.
            let other = try bench.workspace("b")
            #expect(try other.importBundle(a.exportBundle(), source: "a").applied == 1)
        }
    }

    @Test func anAcceptedCaseChangedHereIsKeptUntilTheCentreHoldsTheChange() async throws {
        let bench = Bench()
        defer { bench.remove() }
        do {  // the workspace is closed at the end of this block
            let a = try bench.workspace("a")
            let id = try Bench.capture(a)
            try await withCentre(enrolling: [a], in: bench.directory) { storage, url in
                _ = try await a.sync(options(url))
                let centre = try DeviceID("central." + storage.identity)
                try await store(
                    try Self.acceptance(of: id, device: centre, signedWith: storage.signingKey), at: storage)
                try a.setKeepAcceptedDays(1)
                let kept = try await a.sync(options(url))
                #expect(kept.pulled == 1 && kept.purged == 0, "within the day it is kept")
                // Changed here after the acceptance: pending, so kept until the centre has it.
                try a.set(
                    id.rawValue, path: "concern", value: "Child alone at the station; mother found.", by: Bench.worker)
                #expect(try a.purgeAccepted().isEmpty)
            }
        }
        // A day and more later: the change goes to the centre, and then the case is dropped.
        let later = FixedClock(Instant(iso8601: "2027-03-28T03:00:00Z")!)
        let reopened = try Workspace.open(
            at: bench.directory.appendingPathComponent("a"), passphrase: "pass phrase", lockWaitSeconds: 0,
            clock: later)
        #expect(try reopened.keepAcceptedDays() == 1)
        #expect(try reopened.purgeAccepted().isEmpty, "still pending here")
        try await withCentreAgain(reopened, in: bench.directory) { url in
            let synced = try await reopened.sync(options(url))
            #expect(synced.pushed == 1 && synced.purged == 1)
            #expect(try reopened.referrals().isEmpty)
            #expect(try reopened.verifyStore() == 0)
        }
    }

    /// The same centre (its database kept in `directory`), serving again.
    func withCentreAgain(
        _ workspace: Workspace, in directory: URL, _ body: (String) async throws -> Void
    )
        async throws
    {
        try await withCentre(enrolling: [workspace], in: directory) { _, url in try await body(url) }
    }

    @Test func aPulledEntryInTheCentresNameNotSignedByItIsRefusedAndChangesNothing() async throws {
        let bench = Bench()
        defer { bench.remove() }
        let a = try bench.workspace("a")
        let id = try Bench.capture(a)
        try await withCentre(enrolling: [a], in: bench.directory) { storage, url in
            _ = try await a.sync(options(url))
            let centre = try DeviceID("central." + storage.identity)
            try await store(
                try Self.acceptance(of: id, device: centre, signedWith: Curve25519.Signing.PrivateKey()), at: storage)
            let digest = try a.digest()
            let refusal = await #expect(throws: LaptopError.self) { try await a.sync(options(url)) }
            #expect(refusal?.message.contains("not signed with the centre's key") == true)
            #expect(try a.digest() == digest, "nothing of the reply applied")
            #expect(try a.referrals().map(\.id) == [id])
        }
    }

    // MARK: - Bundles

    /// A bundle from device `device` (key `key`, vouched for by `centre`) carrying `part`.
    func bundle(
        _ part: Record, device: String, key: Curve25519.Signing.PrivateKey, centre: Curve25519.Signing.PrivateKey
    ) throws -> [UInt8] {
        let centreKey = Array(centre.publicKey.rawRepresentation)
        let deviceKey = Array(key.publicKey.rawRepresentation)
        let certificate = try centre.signature(
            for: SyncContract.deviceCertificateMessage(
                centre: SyncContract.centreIdentity(publicKey: centreKey), device: device, key: deviceKey))
        let header = Header(
            kind: .bundle,
            parameters: [
                (Header.deviceParameter, device), (Header.keyParameter, Hex.encode(deviceKey)),
                (Header.certificateParameter, Hex.encode(Array(certificate))),
            ])
        return StreamEncoder.encode(
            header: header, messages: [.delta(base: VersionVector(), knowledge: VersionVector()), .record(part)],
            signer: StreamSigner(key: key))
    }

    @Test func aCentreEntryRelayedInABundleIsTakenWhenTheCentresKeyVerifiesIt() throws {
        let bench = Bench()
        defer { bench.remove() }
        let a = try bench.workspace("a")
        let id = try Bench.capture(a)
        let centre = Curve25519.Signing.PrivateKey()
        try a.setCentreKey(base64: centre.publicKey.rawRepresentation.base64EncodedString())
        let m = Curve25519.Signing.PrivateKey()
        let centreDevice = try DeviceID("central.test")
        let before = try a.digest()
        // Forged: in the centre's name, signed by another key. Refused whole, nothing merged.
        let forged = try a.importBundle(
            try bundle(
                try Self.acceptance(of: id, device: centreDevice, signedWith: m), device: "edt-laptop-m", key: m,
                centre: centre), source: "forged")
        #expect(forged.applied == 0 && forged.rejected == 1)
        #expect(forged.refusals.map(\.reason) == ["unproven-write"])
        #expect(forged.refusals.first?.message.contains("not signed with the centre's key") == true)
        #expect(try a.digest() == before)
        // Genuine: signed with the centre's key, relayed by laptop m. Taken.
        let genuine = try a.importBundle(
            try bundle(
                try Self.acceptance(of: id, device: centreDevice, signedWith: centre), device: "edt-laptop-m", key: m,
                centre: centre), source: "genuine")
        #expect(genuine.applied == 1 && genuine.rejected == 0)
        #expect(try a.digest() != before)
    }
}
