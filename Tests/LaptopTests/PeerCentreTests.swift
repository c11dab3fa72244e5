import Crypto
import Foundation
import Handover
import LineProtocol
import Referrals
import Replication
import TestSupport
import Testing
import Uploader

@testable import Laptop

/// Peer centres: a home authority's own central records its acts at its own dot, signed with its
/// own key, and the laptop's centre vouches for that key in its replies (`peers=`). Through the
/// real sync (libcurl, a stand-in centre on a loopback port, ``FakeCentre``) and the real store:
/// a vouched peer's act is taken and counts; one signed with another key, or at a centre device
/// nobody vouched for, is refused whole; the peers are kept for good.
@Suite("Workspace: peer centres")
struct PeerCentreTests {
    /// The home authority the case is forwarded to (West Berkshire), whose own central is the peer.
    static let home = "E06000037"
    static let peer = try! DeviceID("central.westberks1")
    static let acceptedAt = Instant(iso8601: "2027-03-27T02:25:00Z")!

    let centre = FakeCentre(key: Curve25519.Signing.PrivateKey())
    let peerKey = Curve25519.Signing.PrivateKey()
    var peerPublicKey: [UInt8] { Array(peerKey.publicKey.rawRepresentation) }

    func options(_ url: String) -> SyncSession.Options {
        var options = SyncSession.Options(server: url)
        options.machine.baseBackoffSeconds = 0.01
        options.machine.maximumAttempts = 1
        // One attempt only: on a machine loaded by the whole suite the stand-in centre may not
        // answer within the usual 30 seconds, and a timeout here would fail the test for nothing
        // it is about.
        options.transfer.lowSpeedSeconds = 300
        return options
    }

    /// Laptop `a` of `bench`, trusting the stand-in centre, with a case captured (host Reading)
    /// and forwarded to ``home`` at 02:20.
    func forwardedCase(_ bench: Bench) throws -> (Workspace, RecordID) {
        let a = try bench.workspace("a")
        try a.setCentreKey(base64: centre.publicKeyBase64)
        let id = try Bench.capture(a)
        try a.forward(id.rawValue, to: Self.home, by: Bench.worker, at: "2027-03-27T02:20:00Z")
        return (a, id)
    }

    /// A part of case `id` holding the home authority's acceptance at `device`'s dot, signed with `key`.
    static func acceptance(
        of id: RecordID, device: DeviceID = peer, signedWith key: Curve25519.Signing.PrivateKey
    ) throws -> Record {
        let act = try CrossAuthorityAct(
            verb: .accept, authority: home, by: try ReferralEntry.Author(name: "H. Patel", role: "Team manager"),
            at: acceptedAt, recordedAt: acceptedAt, device: device, reference: "WB-2027-031")
        let payload = try CrossAuthorityAct.sign(act.payload, record: id) { Array(try key.signature(for: $0)) }
        let entry = try Entry(dot: try Dot(device, 1), kind: CrossAuthorityAct.kind, payload: .object(payload))
        return Record(id: id, fields: [], entries: [entry])
    }

    /// A reply vouching for `peers` (none: no `peers=`) that acknowledges the pushed case `id`
    /// and pulls `parts`.
    static func reply(
        acknowledging id: RecordID, pulling parts: [Record], peers: [(device: String, key: [UInt8])] = []
    ) throws -> FakeCentre.Reply {
        let cursor = try #require(Cursor("central.fake:1"))
        return FakeCentre.Reply(
            peers: peers.isEmpty ? nil : Header.peersValue(peers),
            messages: [
                .answer(.stored(id, cursor: cursor)),
                .delta(base: VersionVector(), knowledge: try #require(Notation.vector("central.fake:1"))),
            ] + parts.map { .record($0) })
    }

    /// The case's standing between host and home, as `workspace` works it out from what it holds.
    func standing(of id: RecordID, in workspace: Workspace) throws -> CrossAuthorityHistory? {
        let (_, record) = try workspace.stored(id.rawValue)
        return try workspace.crossAuthority(of: record, at: Bench.clock.now())
    }

    @Test func aPeersActVouchedForInTheSameReplyIsTakenAndCounts() async throws {
        let bench = Bench()
        defer { bench.remove() }
        let (a, id) = try forwardedCase(bench)
        #expect(try standing(of: id, in: a)?.machine.state == .forwardedToHome)
        #expect(try a.peerCentres().isEmpty)
        let reply = try Self.reply(
            acknowledging: id, pulling: [try Self.acceptance(of: id, signedWith: peerKey)],
            peers: [(Self.peer.rawValue, peerPublicKey)])
        try await centre.serve({ _ in reply }) { url in
            let summary = try await a.sync(options(url))
            #expect(summary.pulled == 1 && summary.pushed == 1)
        }
        #expect(try a.peerCentres() == [Self.peer: peerPublicKey])
        #expect(try a.centreKeys()(Self.peer) == peerPublicKey)
        let history = try #require(try standing(of: id, in: a))
        #expect(history.machine.state == .homeResponsible)
        #expect(history.machine.responsible == Self.home)
        let accepted = try #require(history.steps.first { $0.act?.verb == .accept })
        #expect(accepted.dot == (try Dot(Self.peer, 1)) && accepted.notApplied == nil)
        #expect(try a.referral(id.rawValue).crossAuthority?.machine.state == .homeResponsible)
        #expect(try a.referrals().first?.pending == false, "the reply was applied: the case acknowledged")
    }

    @Test func aPeerCentreEntryNotSignedWithTheKeyVouchedForItIsRefusedWhole() async throws {
        let bench = Bench()
        defer { bench.remove() }
        let (a, id) = try forwardedCase(bench)
        let vouched = [(device: Self.peer.rawValue, key: peerPublicKey)]
        let other = Curve25519.Signing.PrivateKey()
        let unvouched = try DeviceID("central.elsewhere9")
        let forgeries: [(reply: FakeCentre.Reply, what: String)] = [
            // At the vouched peer's dot, signed with another key.
            (
                try Self.reply(
                    acknowledging: id, pulling: [try Self.acceptance(of: id, signedWith: other)], peers: vouched),
                "another key"
            ),
            // At a centre device nobody vouched for, signed with neither the centre's key...
            (
                try Self.reply(
                    acknowledging: id, pulling: [try Self.acceptance(of: id, device: unvouched, signedWith: other)],
                    peers: vouched), "a centre device not vouched for"
            ),
            // ...nor by the peer's key, which counts for the peer's own device only.
            (
                try Self.reply(
                    acknowledging: id, pulling: [try Self.acceptance(of: id, device: unvouched, signedWith: peerKey)],
                    peers: vouched), "the peer's key at another centre device"
            ),
        ]
        let digest = try a.digest()
        for forgery in forgeries {
            try await centre.serve({ _ in forgery.reply }) { url in
                let refusal = await #expect(throws: LaptopError.self, "\(forgery.what)") {
                    try await a.sync(options(url))
                }
                #expect(refusal?.message.contains("not signed with the centre's key") == true, "\(forgery.what)")
                #expect(refusal?.message.contains("nothing of it was applied") == true, "\(forgery.what)")
            }
            #expect(try a.digest() == digest, "nothing of the reply applied (\(forgery.what))")
            #expect(try a.referrals().first?.pending == true, "the acknowledgement not applied (\(forgery.what))")
            #expect(try standing(of: id, in: a)?.machine.state == .forwardedToHome, "\(forgery.what)")
        }
        // The peer itself was vouched for by a verified reply: kept, though its replies were refused.
        #expect(try a.peerCentres() == [Self.peer: peerPublicKey])
    }

    @Test func aReplyVouchingForAnotherKeyForAKeptPeerIsRefused() async throws {
        let bench = Bench()
        defer { bench.remove() }
        let (a, id) = try forwardedCase(bench)
        let other = Curve25519.Signing.PrivateKey()
        let first = try Self.reply(acknowledging: id, pulling: [], peers: [(Self.peer.rawValue, peerPublicKey)])
        try await centre.serve({ _ in first }) { url in _ = try await a.sync(options(url)) }
        let digest = try a.digest()
        let swapped = try Self.reply(
            acknowledging: id, pulling: [try Self.acceptance(of: id, signedWith: other)],
            peers: [(Self.peer.rawValue, Array(other.publicKey.rawRepresentation))])
        try await centre.serve({ _ in swapped }) { url in
            let refusal = await #expect(throws: LaptopError.self) { try await a.sync(options(url)) }
            #expect(refusal?.message.contains("another key for the peer centre \(Self.peer)") == true)
        }
        #expect(try a.digest() == digest)
        #expect(try a.peerCentres() == [Self.peer: peerPublicKey], "the key kept is not replaced")
        #expect(try standing(of: id, in: a)?.machine.state == .forwardedToHome)
    }

    @Test func vouchedPeersSurviveReopeningAndLaterRepliesNeedNotNameThem() async throws {
        let bench = Bench()
        defer { bench.remove() }
        let id: RecordID
        do {  // the workspace is closed at the end of this block
            let (a, forwarded) = try forwardedCase(bench)
            id = forwarded
            let vouching = try Self.reply(
                acknowledging: id, pulling: [], peers: [(Self.peer.rawValue, peerPublicKey)])
            try await centre.serve({ _ in vouching }) { url in _ = try await a.sync(options(url)) }
            #expect(try a.peerCentres() == [Self.peer: peerPublicKey])
        }
        let reopened = try Workspace.open(
            at: bench.directory.appendingPathComponent("a"), passphrase: "pass phrase", lockWaitSeconds: 0,
            clock: Bench.clock)
        #expect(try reopened.peerCentres() == [Self.peer: peerPublicKey])
        #expect(try reopened.centreKeys()(Self.peer) == peerPublicKey)
        #expect(try reopened.verifyStore() == 1, "the store's seal covers the peers kept")
        // A later reply naming no peer: the peer's act still verifies with the key kept.
        let later = try Self.reply(acknowledging: id, pulling: [try Self.acceptance(of: id, signedWith: peerKey)])
        try await centre.serve({ _ in later }) { url in
            let summary = try await reopened.sync(options(url))
            #expect(summary.pulled == 1)
        }
        #expect(try standing(of: id, in: reopened)?.machine.state == .homeResponsible)
        #expect(try reopened.peerCentres() == [Self.peer: peerPublicKey])
    }

    // MARK: - Bundles

    /// A bundle from laptop `edt-laptop-m` (its key `key`, vouched for by the stand-in centre)
    /// carrying `part`, as `WorkspacePurgeTests` makes one.
    func bundle(_ part: Record, key: Curve25519.Signing.PrivateKey) throws -> [UInt8] {
        let device = "edt-laptop-m"
        let deviceKey = Array(key.publicKey.rawRepresentation)
        let certificate = try centre.key.signature(
            for: SyncContract.deviceCertificateMessage(
                centre: SyncContract.centreIdentity(publicKey: Array(centre.key.publicKey.rawRepresentation)),
                device: device, key: deviceKey))
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

    @Test func aPeersActRelayedInABundleIsTakenOnlyWithTheKeyVouchedForIt() throws {
        let bench = Bench()
        defer { bench.remove() }
        let (a, id) = try forwardedCase(bench)
        let m = Curve25519.Signing.PrivateKey()
        let before = try a.digest()
        // Before any reply vouched for the peer: its act is checked with the centre's key, and refused.
        let early = try a.importBundle(
            try bundle(try Self.acceptance(of: id, signedWith: peerKey), key: m), source: "early")
        #expect(early.applied == 0 && early.refusals.map(\.reason) == ["unproven-write"])
        #expect(early.refusals.first?.message.contains("not signed with the centre's key") == true)
        #expect(try a.digest() == before)
        // Vouched for (as a verified reply would have it kept).
        try (a.store as any SyncStore).trustPeerCentres([Self.peer: peerPublicKey])
        // Signed with another key at the peer's dot: refused, nothing merged.
        let forged = try a.importBundle(
            try bundle(try Self.acceptance(of: id, signedWith: Curve25519.Signing.PrivateKey()), key: m),
            source: "forged")
        #expect(forged.applied == 0 && forged.refusals.map(\.reason) == ["unproven-write"])
        #expect(try a.digest() == before)
        #expect(try standing(of: id, in: a)?.machine.state == .forwardedToHome)
        // Signed with the vouched key: taken, and it counts.
        let genuine = try a.importBundle(
            try bundle(try Self.acceptance(of: id, signedWith: peerKey), key: m), source: "genuine")
        #expect(genuine.applied == 1 && genuine.rejected == 0)
        #expect(try standing(of: id, in: a)?.machine.state == .homeResponsible)
    }
}
