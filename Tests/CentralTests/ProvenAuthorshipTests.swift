import Central
import Crypto
import Foundation
import LineProtocol
import Referrals
import Replication
import TestSupport
import Testing

/// A device proves only its own writes: the centre refuses claims about another device's writes it
/// does not hold, and takes a colleague's writes carried by hand only from that colleague's own
/// signed bundle, relayed.
extension CentralTests {
    /// A bundle of `records`, as `device` signs it with `key`.
    func bundle(_ records: [Record], device: String, key: Curve25519.Signing.PrivateKey) -> [UInt8] {
        let header = Header(
            kind: .bundle,
            parameters: [
                (Header.deviceParameter, device),
                (Header.keyParameter, Hex.encode(Array(key.publicKey.rawRepresentation))),
            ])
        var messages: [Message] = [.delta(base: VersionVector(), knowledge: VersionVector())]
        messages += records.map(Message.record)
        return StreamEncoder.encode(header: header, messages: messages, signer: StreamSigner(key: key))
    }

    /// The answers of a reply stream signed by `storage`'s centre.
    func answers(_ reply: [UInt8], storage: any CentralStorage) throws -> [RecordAnswer] {
        let stream = try DecodedStream(reply, verifier: try #require(StreamVerifier.rawKey(storage.publicKey)))
        return stream.messages.compactMap { if case .answer(let answer) = $0 { answer } else { nil } }
    }

    @Test(arguments: StorageBackend.available) func aPushCarryingAnotherDevicesUnheldWriteOrClaimIsRefused(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptopA = try device("edt-laptop-a")
            let laptopX = try device("edt-laptop-x")
            _ = try await service.store([try referral("case-1")], from: laptopA)
            // A's case, taken whole from the centre and pushed back by X: every write of A's is held.
            let held = try #require(try await storage.storedCase(try RecordID("case-1")))
            #expect(try await service.store([held], from: laptopX).map(\.rejectionCode) == [nil])
            // A's case as A made it, pushed by X before A ever did: A's writes are not held.
            #expect(
                try await service.store([try referral("case-2")], from: laptopX).map(\.rejectionCode)
                    == ["unproven-write"])
            // X's overwrite of A's concern, claiming A's writes to it far beyond those held.
            var claims = VersionVector()
            claims.raise(try DeviceID("edt-laptop-a"), to: 1_000)
            claims.raise(try DeviceID("edt-laptop-x"), to: 1)
            let overwrite = Record(
                id: try RecordID("case-1"),
                fields: [
                    Record.Field(
                        path: try FieldPath("concern"),
                        register: MultiValueRegister(
                            sibling: .init(dot: try Dot(try DeviceID("edt-laptop-x"), 1), value: .string("Nothing")),
                            context: claims))
                ], entries: [])
            let outcomes = try await service.store([overwrite], from: laptopX)
            #expect(outcomes.map(\.rejectionCode) == ["unseen-writes"])
            #expect(try await storage.storedCase(try RecordID("case-1")) == held, "nothing of it was stored")
            #expect(try await storage.storedCase(try RecordID("case-2")) == nil)
        }
    }

    @Test(arguments: StorageBackend.available) func aRelayedBundleIsTakenOnItsAuthorsEnrolledKeyOnly(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let keyOfA = Curve25519.Signing.PrivateKey()
            let laptopA = try device("edt-laptop-a", key: keyOfA)
            try await storage.enroll(laptopA)
            let forwarder = try device("edt-laptop-x")
            let carried = bundle([try referral("case-1")], device: "edt-laptop-a", key: keyOfA)

            // Signed by another key: refused whole.
            let impostor = bundle([try referral("case-1")], device: "edt-laptop-a", key: .init())
            await #expect(throws: CentralError.self) { try await service.relay(impostor, from: forwarder, counter: 1) }
            // Altered after signing: refused whole.
            var altered = carried
            let index = try #require(altered.firstIndex(of: UInt8(ascii: "J")))
            altered[index] = UInt8(ascii: "K")
            await #expect(throws: CentralError.self) { try await service.relay(altered, from: forwarder, counter: 2) }
            // A device the centre does not know: refused whole.
            let strangerKey = Curve25519.Signing.PrivateKey()
            let stranger = bundle(
                [try referral("case-2", device: "edt-laptop-s")], device: "edt-laptop-s", key: strangerKey)
            await #expect(throws: CentralError.self) { try await service.relay(stranger, from: forwarder, counter: 3) }
            // Not a stream naming its device at all: refused whole.
            await #expect(throws: CentralError.self) {
                try await service.relay(Array("not a bundle\n".utf8), from: forwarder, counter: 3)
            }
            #expect(try await storage.storedCase(try RecordID("case-1")) == nil)

            // As A signed it: taken, and the reply answers the forwarder's request.
            let reply = try await service.relay(carried, from: forwarder, counter: 4)
            let decoded = try DecodedStream(reply, verifier: try #require(StreamVerifier.rawKey(storage.publicKey)))
            #expect(decoded.header.counter == 4)
            #expect(try answers(reply, storage: storage).map(\.record.rawValue) == ["case-1"])
            #expect(try await storage.storedCase(try RecordID("case-1")) != nil)
            // Now X's own copy of A's case, holding A's writes, is accepted too.
            #expect(try await service.store([try referral("case-1")], from: forwarder).map(\.rejectionCode) == [nil])
            // A revoked author's bundle is not taken.
            _ = try await storage.revoke(try DeviceID("edt-laptop-a"))
            let later = bundle([try referral("case-3")], device: "edt-laptop-a", key: keyOfA)
            await #expect(throws: CentralError.self) { try await service.relay(later, from: forwarder, counter: 5) }
        }
    }

    @Test(arguments: StorageBackend.available) func aNewEntryMustNameItsDeviceAndBeSignedByIt(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let keyOfX = Curve25519.Signing.PrivateKey()
            let laptopX = try device("edt-laptop-x", key: keyOfX)
            let id = try RecordID("case-1")
            _ = try await service.store([try referral("case-1", device: "edt-laptop-x")], from: laptopX)
            func decision(
                at counter: UInt64, naming device: String, signedBy key: Curve25519.Signing.PrivateKey?
            )
                throws -> Record
            {
                var payload: [String: FieldValue] = [
                    "text": .string("Place with grandmother tonight."), "by": .string("J. Okafor"),
                    "role": .string("EDT social worker"), "at": .string("2026-11-28T03:00:00Z"),
                    "device": .string(device),
                ]
                if let key {
                    payload = try EntrySignature.sign(payload, kind: .decision, record: id) {
                        Array(try key.signature(for: $0))
                    }
                }
                let entry = try Entry(
                    dot: try Dot(try DeviceID("edt-laptop-x"), counter), kind: "decision", payload: .object(payload))
                return Record(id: id, fields: [], entries: [entry])
            }
            // X's own dot, but the decision claims to be laptop A's.
            let inAsName = try decision(at: 50, naming: "edt-laptop-a", signedBy: keyOfX)
            #expect(try await service.store([inAsName], from: laptopX).map(\.rejectionCode) == ["unproven-write"])
            // Unsigned, and signed by another key.
            let unsigned = try decision(at: 51, naming: "edt-laptop-x", signedBy: nil)
            #expect(try await service.store([unsigned], from: laptopX).map(\.rejectionCode) == ["unproven-write"])
            let otherKey = try decision(at: 52, naming: "edt-laptop-x", signedBy: .init())
            #expect(try await service.store([otherKey], from: laptopX).map(\.rejectionCode) == ["unproven-write"])
            #expect(try await storage.storedCase(id)?.entries.isEmpty == true, "nothing of them was stored")
            // X's own decision, signed by X: stored.
            let genuine = try decision(at: 53, naming: "edt-laptop-x", signedBy: keyOfX)
            #expect(try await service.store([genuine], from: laptopX).map(\.rejectionCode) == [nil])
            #expect(try await storage.storedCase(id)?.entries.count == 1)
        }
    }

    /// A relay's reply answers each record of the bundle, and a laptop takes at most
    /// ``LineProtocol/SyncContract/relayReplyBytesPerBundleByte`` (16) bytes of reply for each
    /// byte of the bundle it relays (past a reply's 64 MiB; `SyncSession.relay`).
    /// The records that cost most to answer for their size, tiny ones each refused with its
    /// reason, stay well within it; so does a bundle whose records are all taken.
    @Test(arguments: StorageBackend.available) func aRelaysReplyHoldsAtMostSixteenBytesForEachByteOfItsBundle(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let keyOfA = Curve25519.Signing.PrivateKey()
            try await storage.enroll(try device("edt-laptop-a", key: keyOfA))
            let forwarder = try device("edt-laptop-x")
            let author = try DeviceID("edt-laptop-a")
            func tiny(_ number: Int, path: String) throws -> Record {
                Record(
                    id: try RecordID("r\(number)"),
                    fields: [
                        Record.Field(
                            path: try FieldPath(path),
                            register: MultiValueRegister(
                                sibling: .init(dot: try Dot(author, UInt64(number)), value: .bool(true)),
                                context: VersionVector()))
                    ], entries: [])
            }
            let refused = try (1...2_000).map { try tiny($0, path: "x") }
            let taken = try (1...200).map { try referral("taken-\($0)", device: "edt-laptop-a") }
            for (number, records) in [refused, taken].enumerated() {
                let carried = bundle(records, device: "edt-laptop-a", key: keyOfA)
                let reply = try await service.relay(carried, from: forwarder, counter: UInt64(number + 1))
                let answers = try answers(reply, storage: storage)
                #expect(answers.count == records.count)
                #expect(
                    reply.count <= SyncContract.relayReplyBytesPerBundleByte * carried.count,
                    "\(reply.count) bytes of reply for \(carried.count) of bundle")
                if number == 0 { #expect(answers.allSatisfy { if case .refused = $0 { true } else { false } }) }
            }
        }
    }
}
