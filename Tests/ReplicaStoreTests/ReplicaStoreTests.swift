import Foundation
import GRDB
import ReplicaStore
import Replication
import TestSupport
import Testing

@Suite("Replica store")
struct ReplicaStoreTests {
    let device: DeviceID
    let id: RecordID

    init() throws {
        device = try DeviceID("edt-laptop-a")
        id = try RecordID("0b0c0d0e-1111-4222-8333-444455556666")
    }

    @Test func whatWasCommittedIsThereAfterReopening() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        var store: ReplicaStore? = try ReplicaStore.create(
            at: directory, device: device, authorities: ["E06000038"], passphrase: "pass phrase")
        try store?.commit { replica in
            replica.write(.string("Child alone at the station"), to: try FieldPath("concern"), in: id)
            try replica.append(kind: "note", payload: .string("called police"), to: id)
        }
        let digest = (try store?.digest())
        let knowledge = store?.knowledge
        let publicKey = store?.publicKey
        store = nil  // one open store per replica at a time: closing releases its lock
        let reopened = try ReplicaStore.open(at: directory, passphrase: "pass phrase")
        #expect((try reopened.digest()) == digest)
        #expect(reopened.knowledge == knowledge)
        #expect(reopened.device == device)
        #expect(reopened.authorities == ["E06000038"])
        #expect(reopened.publicKey == publicKey)
        // The restored replica keeps counting where it stopped: no dot is reused.
        let next = try reopened.commit(loading: [id]) { replica in
            replica.write(.string("x"), to: try FieldPath("channel"), in: id)
        }
        #expect(next.counter == 3)
    }

    @Test func aWrongPassphraseIsRefusedClearly() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        _ = try ReplicaStore.create(at: directory, device: device, authorities: ["E06000038"], passphrase: "right")
        #expect(throws: StoreError(.wrongPassphrase, "wrong passphrase for the store in \(directory.path)")) {
            try ReplicaStore.open(at: directory, passphrase: "wrong")
        }
        #expect(throws: StoreError.self) {
            try ReplicaStore.create(at: directory, device: device, authorities: [], passphrase: "x")
        }
        #expect(throws: StoreError.self) {
            try ReplicaStore.open(at: directory.appendingPathComponent("nothing"), passphrase: "right")
        }
    }

    @Test func aChangeThatThrowsChangesNothing() throws {
        struct Refused: Error {}
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let store = try ReplicaStore.create(at: directory, device: device, authorities: ["E06000038"], passphrase: "p")
        try store.commit(loading: [id]) { replica in
            replica.write(.string("first"), to: try FieldPath("concern"), in: id)
        }
        let before = (try store.digest())
        #expect(throws: Refused.self) {
            try store.commit(loading: [id]) { replica in
                replica.write(.string("second"), to: try FieldPath("concern"), in: id)
                throw Refused()
            }
        }
        #expect((try store.digest()) == before)
    }

    @Test func aChangeThatThrowsIsNotOnDisk() throws {
        struct Refused: Error {}
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        var before: String?
        do {
            let store = try ReplicaStore.create(
                at: directory, device: device, authorities: ["E06000038"], passphrase: "p")
            try store.commit(loading: [id]) { replica in
                replica.write(.string("first"), to: try FieldPath("concern"), in: id)
            }
            before = (try store.digest())
            _ = try? store.commit(loading: [id]) { replica in
                replica.write(.string("second"), to: try FieldPath("concern"), in: id)
                throw Refused()
            }
        }
        #expect(try ReplicaStore.open(at: directory, passphrase: "p").digest() == before)
    }

    @Test func oneProcessAtATimeChangesAStore() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let store = try ReplicaStore.create(at: directory, device: device, authorities: ["E06000038"], passphrase: "p")
        let started = ContinuousClock.now
        let refusal = #expect(throws: StoreError.self) {
            try ReplicaStore.open(at: directory, passphrase: "p", lockWaitSeconds: 0.2)
        }
        #expect(
            refusal?.code == .busy,
            "a store held by another opener is busy, not damaged: \(String(describing: refusal))")
        #expect(ContinuousClock.now - started >= .milliseconds(200), "it waited for the holder before giving up")
        withExtendedLifetime(store) {}
        // Once the holder closes it, the store opens.
        _ = consume store
        #expect(try ReplicaStore.open(at: directory, passphrase: "p", lockWaitSeconds: 0).device == device)
    }

    @Test func noPersonalStringIsReadableInAnyFileOfTheStore() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let personal = [
            "Amelia Nowak-Łukasiewicz", "14 Rosewood Crescent, Reading", "9434765919",
            "She said her stepfather hit her",
            "PC Daniel Okonkwo", "07700 900123",
        ]
        var store: ReplicaStore? = try ReplicaStore.create(
            at: directory, device: device, authorities: ["E06000038"], passphrase: "p")
        for (index, text) in personal.enumerated() {
            try store?.commit(loading: [id]) { replica in
                replica.write(.string(text), to: try FieldPath("field\(index)"), in: id)
                try replica.append(kind: "note", payload: .object(["text": .string(text)]), to: id)
            }
        }
        // While the store is open its write-ahead log holds the latest pages: scan it too.
        func scan() throws {
            let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            #expect(files.contains(ReplicaStore.fileName))
            for file in files {
                let bytes = try Data(contentsOf: directory.appendingPathComponent(file))
                for text in personal {
                    #expect(bytes.range(of: Data(text.utf8)) == nil, "\(file) holds \"\(text)\" in the clear")
                    #expect(bytes.range(of: Data(text.prefix(8).utf8)) == nil, "\(file) holds part of \"\(text)\"")
                }
            }
        }
        try scan()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).contains { $0.hasSuffix("-wal") })
        store = nil
        _ = try ReplicaStore.open(at: directory, passphrase: "p")
        try scan()
    }

    @Test func anAlteredRecordIsDetected() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        do {
            let store = try ReplicaStore.create(
                at: directory, device: device, authorities: ["E06000038"], passphrase: "p")
            try store.commit { replica in
                replica.write(.string("a long enough concern text"), to: try FieldPath("concern"), in: id)
            }
        }
        // Flip one byte of the sealed record, as someone editing the file would.
        let database = try DatabaseQueue(path: directory.appendingPathComponent(ReplicaStore.fileName).path)
        try database.write { db in
            var sealed = try #require(try Data.fetchOne(db, sql: "SELECT sealed FROM records"))
            sealed[sealed.count / 2] ^= 0x5A
            try db.execute(sql: "UPDATE records SET sealed = ?", arguments: [sealed])
        }
        try database.close()
        // Opening reads no record; reading this one finds it damaged.
        let store = try ReplicaStore.open(at: directory, passphrase: "p")
        #expect(throws: StoreError(.corrupt, "record \(id) cannot be read: the store was damaged or altered")) {
            try store.record(id)
        }
    }
}
