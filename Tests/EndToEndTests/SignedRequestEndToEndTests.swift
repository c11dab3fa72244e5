import Crypto
import Foundation
import LineProtocol
import Replication
import TestSupport
import Testing

/// An attacker on the network against the real centre: a request's body is bound to the
/// device's signature, its request and its centre, so a rewritten body (every checksum fixed), a
/// captured header sent with another body, an old body under a new header and a replay are all
/// refused, and nothing of them is stored.
extension SyncEndToEndTests {
    /// A device of the test's own making: its key, enrolled at the centre for Reading.
    struct CraftedDevice {
        let id = "edt-laptop-m"
        let key = Curve25519.Signing.PrivateKey()
        var publicKey: String { Data(key.publicKey.rawRepresentation).base64EncodedString() }
    }

    /// A referral as a laptop would push it, made by `device`, with `concern`.
    func craftedReferral(_ id: String, by device: String, concern: String) throws -> Record {
        var replica = Replica(device: try DeviceID(device))
        let record = try RecordID(id)
        for (path, value) in [
            ("receivedAt", "2026-11-28T02:10:00Z"), ("receivedBy.name", "J. Okafor"),
            ("receivedBy.role", "EDT social worker"), ("hostAuthority", "E06000038"), ("channel", "phone"),
            ("concern", concern),
        ] {
            replica.write(.string(value), to: try FieldPath(path), in: record)
        }
        return try #require(replica[record])
    }

    /// A push body for request `counter` to `centre`, signed by `signer`, naming `device`.
    func pushBody(
        _ records: [Record], device: String, counter: UInt64, centre: String, signer: Curve25519.Signing.PrivateKey
    ) -> [UInt8] {
        let header = Header(
            kind: .push, parameters: [("device", device), ("centre", centre), ("counter", String(counter))])
        var messages: [Message] = [.delta(base: VersionVector(), knowledge: VersionVector())]
        messages += records.map(Message.record)
        messages.append(.pull(since: Cursor(VersionVector())))
        return StreamEncoder.encode(header: header, messages: messages, signer: StreamSigner(key: signer))
    }

    /// The `Authorization` header of request `counter` from `device` to `centre`.
    func header(device: CraftedDevice, counter: UInt64, centre: String) throws -> String {
        let signature = try device.key.signature(
            for: SyncAuthorization.message(centre: centre, device: device.id, counter: counter))
        return SyncAuthorization(device: device.id, counter: counter, signature: Array(signature)).headerValue
    }

    /// POSTs `body` with `authorization` to the centre with curl; the status and the body.
    func post(_ body: [UInt8], authorization: String, to url: String, in directory: URL) throws -> (Int, String) {
        let file = directory.appendingPathComponent("request-\(UUID().uuidString).edtlp")
        try Data(body).write(to: file)
        let answer = directory.appendingPathComponent("answer-\(UUID().uuidString)")
        let result = try edt.run(
            [
                "-s", "-o", answer.path, "-w", "%{http_code}", "-H", "Authorization: \(authorization)", "-H",
                "Content-Type: \(SyncContract.mediaType)", "--data-binary", "@\(file.path)",
                url + SyncContract.syncPath,
            ], executable: URL(fileURLWithPath: "/usr/bin/curl"))
        let text = (try? String(contentsOf: answer, encoding: .utf8)) ?? ""
        return (Int(result.standardOutput) ?? -1, text)
    }

    /// Whether the centre holds case `id`.
    func centreHolds(_ id: String, world: World) throws -> Bool {
        try edt.run(["central", "case", "--db", world.database.path, id, "deadlines", "--json"]).status == 0
    }

    @Test func aForgedOrMisboundRequestBodyIsRefusedAndNothingStored() throws {
        let world = World()
        let server = try world.startCentral()
        let identity = try edt.run(["central", "identity", "--db", world.database.path])
        let centreKey = try #require(
            Data(base64Encoded: identity.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
        let centre = SyncContract.centreIdentity(publicKey: Array(centreKey))
        let device = CraftedDevice()
        let enrolled = try edt.run([
            "central", "enroll", "--db", world.database.path, "--device", device.id, "--public-key", device.publicKey,
            "--authority", "E06000038",
        ])
        #expect(enrolled.status == 0, "\(enrolled.standardError)")
        let attacker = Curve25519.Signing.PrivateKey()
        let genuine = try craftedReferral("case-genuine", by: device.id, concern: "Child (7) found alone.")

        // 1. The device's request 1, seen on the network; the attacker rewrites the record and
        //    writes every checksum afresh, but can only sign with a key of its own.
        let forgedRecord = try craftedReferral("case-genuine", by: device.id, concern: "Nothing to worry about.")
        let rewritten = pushBody([forgedRecord], device: device.id, counter: 1, centre: centre, signer: attacker)
        let first = try post(
            rewritten, authorization: try header(device: device, counter: 1, centre: centre), to: server.url,
            in: world.directory)
        #expect(first.0 == 400, "\(first)")
        #expect(first.1.contains("bad-signature"), "\(first.1)")

        // 2. A captured header (request 2) sent with a body of the attacker's own.
        let other = try craftedReferral("case-forged", by: device.id, concern: "Invented.")
        let foreign = pushBody([other], device: device.id, counter: 2, centre: centre, signer: attacker)
        let second = try post(
            foreign, authorization: try header(device: device, counter: 2, centre: centre), to: server.url,
            in: world.directory)
        #expect(second.0 == 400, "\(second)")

        // 3. An older genuine body (request 1, signed by the device) under a newer captured header:
        //    the body names its own request.
        let old = pushBody([genuine], device: device.id, counter: 1, centre: centre, signer: device.key)
        let third = try post(
            old, authorization: try header(device: device, counter: 3, centre: centre), to: server.url,
            in: world.directory)
        #expect(third.0 == 400, "\(third)")
        #expect(third.1.contains("another request"), "\(third.1)")

        // 4. A genuine body meant for another centre.
        let elsewhere = pushBody(
            [genuine], device: device.id, counter: 4, centre: String(repeating: "0", count: 64), signer: device.key)
        let fourth = try post(
            elsewhere, authorization: try header(device: device, counter: 4, centre: centre), to: server.url,
            in: world.directory)
        #expect(fourth.0 == 400, "\(fourth)")

        #expect(try !centreHolds("case-genuine", world: world), "nothing of a refused request is stored")
        #expect(try !centreHolds("case-forged", world: world))

        // The device's own request goes through, once: a replay of it is refused.
        let body = pushBody([genuine], device: device.id, counter: 5, centre: centre, signer: device.key)
        let signed = try header(device: device, counter: 5, centre: centre)
        let accepted = try post(body, authorization: signed, to: server.url, in: world.directory)
        #expect(accepted.0 == 200, "\(accepted)")
        #expect(try centreHolds("case-genuine", world: world))
        let replayed = try post(body, authorization: signed, to: server.url, in: world.directory)
        #expect(replayed.0 == 401, "\(replayed)")
    }
}
