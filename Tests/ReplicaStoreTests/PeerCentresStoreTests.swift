import Foundation
import GRDB
import ReplicaStore
import Replication
import Testing

/// The peer centres' keys a laptop's centre vouched for: kept sealed in the store's settings, as
/// a union that never forgets a peer nor replaces its key, across reopening; and covered by the
/// store's integrity seal like the centre's own key.
extension StoreIntegrityTests {
    static let peerA = try! DeviceID("central.westberks1")
    static let peerB = try! DeviceID("central.kent22")
    static let keyA = [UInt8](repeating: 0xA1, count: 32)
    static let keyB = [UInt8](repeating: 0xB2, count: 32)

    @Test func peerCentresAreKeptAsAUnionAcrossReopening() throws {
        let directory = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        do {
            let store = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
            #expect(try store.peerCentres().isEmpty, "a store from before peers reads as having none")
            try store.trustPeerCentres([Self.peerA: Self.keyA])
            try store.trustPeerCentres([:])
            #expect(try store.peerCentres() == [Self.peerA: Self.keyA])
        }
        do {
            let store = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
            #expect(try store.peerCentres() == [Self.peerA: Self.keyA])
            // Another peer is added; a known one keeps the key it was first given.
            try store.trustPeerCentres([Self.peerB: Self.keyB, Self.peerA: Self.keyB])
            #expect(try store.peerCentres() == [Self.peerA: Self.keyA, Self.peerB: Self.keyB])
            // A key that is not 32 bytes is refused, and nothing changes.
            #expect(throws: StoreError.self) {
                try store.trustPeerCentres([try DeviceID("central.short"): [1, 2, 3]])
            }
            #expect(try store.peerCentres() == [Self.peerA: Self.keyA, Self.peerB: Self.keyB])
        }
        let store = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
        #expect(try store.peerCentres() == [Self.peerA: Self.keyA, Self.peerB: Self.keyB])
        _ = try store.verifyWhole()
    }

    @Test func peerCentresAreSealedAndCoveredByTheStoresSeal() throws {
        let directory = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        do {
            let store = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
            try store.trustPeerCentres([Self.peerA: Self.keyA])
        }
        // Neither the device ids nor the keys are in the file in the clear.
        let bytes = try Data(contentsOf: file(directory))
        #expect(bytes.range(of: Data(Self.peerA.rawValue.utf8)) == nil)
        #expect(bytes.range(of: Data(Self.keyA)) == nil)
        let older = try copyOfStore(directory, as: "older.sqlite")
        do {
            let store = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
            try store.trustPeerCentres([Self.peerB: Self.keyB])
        }
        // Put back as it was before peer B (a finder's older copy): found when the store opens.
        try edit(
            directory, attaching: older,
            "UPDATE meta SET value = (SELECT value FROM old.meta WHERE key = 'peerCentres') WHERE key = 'peerCentres'")
        try expectRefused(directory, naming: ["changed"])
    }

    @Test func deletedPeerCentresAreFound() throws {
        let directory = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        do {
            let store = try ReplicaStore.open(at: directory, passphrase: Self.passphrase)
            try store.trustPeerCentres([Self.peerA: Self.keyA])
        }
        try edit(directory, "DELETE FROM meta WHERE key = 'peerCentres'")
        try expectRefused(directory, naming: ["1 row(s) deleted"])
    }
}
