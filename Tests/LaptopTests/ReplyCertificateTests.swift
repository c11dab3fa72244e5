import Crypto
import Foundation
import LineProtocol
import Replication
import TestSupport
import Testing
import Uploader

@testable import Laptop

/// The centre's certificate of the laptop's key, which a verified reply carries: kept, in the
/// commit that applies the reply, only when the laptop's centre signed it for this very device
/// and key. Through the real sync (libcurl, a stand-in centre on a loopback port,
/// ``FakeCentre``) and the real store.
@Suite("Workspace: the centre's certificate from a reply")
struct ReplyCertificateTests {
    let centre = FakeCentre(key: Curve25519.Signing.PrivateKey())

    /// Laptop `name` of `bench`, trusting the stand-in centre, with one case captured.
    func laptop(_ name: String, in bench: Bench) throws -> (Workspace, RecordID) {
        let workspace = try bench.workspace(name)
        try workspace.setCentreKey(base64: centre.publicKeyBase64)
        return (workspace, try Bench.capture(workspace))
    }

    /// `signer`'s certificate of `key` for `device`, as a centre of key `signer` makes it.
    func certificate(by signer: Curve25519.Signing.PrivateKey, device: String, key: [UInt8]) throws -> [UInt8] {
        let identity = SyncContract.centreIdentity(publicKey: Array(signer.publicKey.rawRepresentation))
        return Array(
            try signer.signature(
                for: SyncContract.deviceCertificateMessage(centre: identity, device: device, key: key)))
    }

    /// Syncs `workspace` with the stand-in centre answering with `certificate` in its header.
    func sync(_ workspace: Workspace, acknowledging id: RecordID, certificate: [UInt8]) async throws {
        var reply = try PeerCentreTests.reply(acknowledging: id, pulling: [])
        reply.certificate = certificate
        try await centre.serve({ [reply] _ in reply }) { url in
            var options = SyncSession.Options(server: url)
            options.machine.maximumAttempts = 1
            options.transfer.lowSpeedSeconds = 300
            let summary = try await workspace.sync(options)
            #expect(summary.pushed == 1 && summary.rejected == 0, "the reply is applied either way")
        }
    }

    @Test func aCertificateOfThisDevicesKeyByItsCentreIsKept() async throws {
        let bench = Bench()
        defer { bench.remove() }
        let (a, id) = try laptop("a", in: bench)
        let genuine = try certificate(by: centre.key, device: a.device.rawValue, key: a.publicKey)
        try await sync(a, acknowledging: id, certificate: genuine)
        #expect(try (a.store as any SyncStore).deviceCertificate() == genuine)
        #expect(try a.referrals().first?.pending == false, "kept with the acknowledgement it came with")
    }

    @Test(arguments: ["another key", "another device", "another centre"])
    func aCertificateThatDoesNotVouchForThisDevicesKeyIsNotKept(_ flaw: String) async throws {
        let bench = Bench()
        defer { bench.remove() }
        let (a, id) = try laptop("a", in: bench)
        let otherKey = Array(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation)
        let offered =
            switch flaw {
            case "another key": try certificate(by: centre.key, device: a.device.rawValue, key: otherKey)
            case "another device": try certificate(by: centre.key, device: "edt-laptop-z", key: a.publicKey)
            default:
                try certificate(by: Curve25519.Signing.PrivateKey(), device: a.device.rawValue, key: a.publicKey)
            }
        try await sync(a, acknowledging: id, certificate: offered)
        #expect(try (a.store as any SyncStore).deviceCertificate() == nil, "\(flaw)")
        #expect(try a.referrals().first?.pending == false, "the rest of the reply is applied")
    }
}
