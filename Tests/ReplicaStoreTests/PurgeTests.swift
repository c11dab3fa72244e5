import Crypto
import Foundation
import GRDB
import LineProtocol
import Referrals
import ReplicaStore
import Replication
import TestSupport
import Testing

/// A record the centre durably holds and its day team accepted is dropped from the store, gone
/// from every file of it, and never before both.
@Suite("Store: purging accepted records")
struct PurgeTests {
    let device = try! DeviceID("edt-laptop-a")
    let centreDevice = try! DeviceID("central.test")
    let centre = Curve25519.Signing.PrivateKey()
    static let peer = "http://centre.test"
    /// The acceptance instant of the tests' acceptances, as the catalog keeps it.
    static let acceptedAt = Instant(iso8601: "2027-03-27T08:15:00Z")!

    /// The laptop's acceptance reader: a genuine acceptance for the case's host authority.
    static let accepting: AcceptanceReader = { record, key in
        HandoverAcceptance.acceptedAt(record, centreKey: key)?.secondsSinceEpoch
    }

    func file(_ directory: URL) -> URL { directory.appendingPathComponent(ReplicaStore.fileName) }

    /// A store trusting `centre`, holding one case `r1` hosted by E06000038, pending.
    func makeStore() throws -> (ReplicaStore, URL, RecordID) {
        let directory = temporaryDirectory().appendingPathComponent("store")
        let store = try ReplicaStore.create(
            at: directory, device: device, authorities: ["E06000038"], passphrase: "p", acceptance: Self.accepting)
        try store.setCentreKey(Array(centre.publicKey.rawRepresentation))
        let id = try RecordID("r1")
        try store.commit { replica in
            replica.write(
                [
                    (try FieldPath(ReferralCapture.hostAuthorityPath), .string("E06000038")),
                    (try FieldPath("concern"), .string("Child alone at the station at 03:00.")),
                ], in: id)
        }
        return (store, directory, id)
    }

    /// The centre acknowledges the record as it is now: nothing of it is pending any more.
    func acknowledge(_ id: RecordID, in store: ReplicaStore) throws {
        let version = try #require(try store.record(id)).version
        try store.applySync(acknowledgements: [.stored(id, pushed: version)], pulled: [], cursor: nil, peer: Self.peer)
    }

    /// A part of case `id` holding the day team of `authority`'s acceptance, at the centre's
    /// dot `counter`, signed with `key` (the centre's, unless told).
    func acceptance(
        of id: RecordID, by authority: String = "E06000038", counter: UInt64 = 1,
        signedWith key: Curve25519.Signing.PrivateKey? = nil
    ) throws -> Replication.Record {
        let accepted = try HandoverAcceptance(
            authority: authority, by: try ReferralEntry.Author(name: "A. Day", role: "Team manager"),
            at: Self.acceptedAt, recordedAt: Self.acceptedAt, device: centreDevice)
        let signer = key ?? centre
        let payload = try HandoverAcceptance.sign(accepted.payload, record: id) {
            Array(try signer.signature(for: $0))
        }
        let entry = try Entry(
            dot: try Dot(centreDevice, counter), kind: HandoverAcceptance.kind, payload: .object(payload))
        return Replication.Record(id: id, fields: [], entries: [entry])
    }

    /// Takes in `part` as a sync reply's pull does.
    func pull(_ part: Replication.Record, into store: ReplicaStore) throws {
        try store.applySync(acknowledgements: [], pulled: [part], cursor: nil, peer: Self.peer)
    }

    /// The record's sealed content as the file holds it.
    func sealed(_ id: RecordID, in directory: URL) throws -> [UInt8] {
        let database = try DatabaseQueue(path: file(directory).path)
        defer { try? database.close() }
        let data = try database.read { db in
            try Data.fetchOne(db, sql: "SELECT sealed FROM records WHERE id = ?", arguments: [id.rawValue])
        }
        return Array(try #require(data))
    }

    /// The slices of 16 bytes of `bytes` (at every multiple of 16) found in some file of
    /// `directory`.
    func slicesFound(_ bytes: [UInt8], in directory: URL) throws -> Int {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        let contents = try files.map { try Data(contentsOf: directory.appendingPathComponent($0)) }
        var found = 0
        for offset in stride(from: 0, to: bytes.count - 16, by: 16) {
            let slice = Data(bytes[offset..<offset + 16])
            if contents.contains(where: { $0.range(of: slice) != nil }) { found += 1 }
        }
        return found
    }

    /// No acceptance yet: no cutoff drops anything.
    static let anyTime = Int64.max

    @Test func aPendingAcceptedRecordIsKeptUntilTheCentreHoldsIt() throws {
        let (store, directory, id) = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try pull(try acceptance(of: id), into: store)
        #expect(try store.purgeAccepted(acceptedBy: Self.anyTime) { _ in true }.isEmpty, "pending: kept")
        #expect(try store.record(id) != nil)
        try acknowledge(id, in: store)
        #expect(try store.purgeAccepted(acceptedBy: Self.anyTime) { _ in true } == [id])
    }

    @Test func anAcknowledgedRecordNotAcceptedIsKept() throws {
        let (store, directory, id) = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try acknowledge(id, in: store)
        #expect(try store.pendingRecords().isEmpty)
        #expect(try store.purgeAccepted(acceptedBy: Self.anyTime) { _ in true }.isEmpty)
        #expect(try store.record(id) != nil)
    }

    @Test func aRecordAcceptedByAnotherAuthorityIsKept() throws {
        let (store, directory, id) = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try acknowledge(id, in: store)
        try pull(try acceptance(of: id, by: "E06000037"), into: store)
        #expect(try store.purgeAccepted(acceptedBy: Self.anyTime) { _ in true }.isEmpty)
        #expect(try store.record(id) != nil)
    }

    @Test func anAcceptanceNotSignedByTheCentreNeverCounts() throws {
        let (store, directory, id) = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try acknowledge(id, in: store)
        // The store itself takes what it is given (the sync refuses such a reply before it
        // reaches the store): the forged acceptance is held, but makes nothing accepted.
        try pull(try acceptance(of: id, signedWith: Curve25519.Signing.PrivateKey()), into: store)
        #expect(try store.record(id)?.entries.count == 1)
        #expect(try store.purgeAccepted(acceptedBy: Self.anyTime) { _ in true }.isEmpty)
        #expect(try store.record(id) != nil)
    }

    @Test func anAcceptedRecordIsKeptUntilItsCutoffAndConfirmed() throws {
        let (store, directory, id) = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try acknowledge(id, in: store)
        try pull(try acceptance(of: id), into: store)
        let accepted = Self.acceptedAt.secondsSinceEpoch
        #expect(try store.purgeAccepted(acceptedBy: accepted - 1) { _ in true }.isEmpty, "accepted after the cutoff")
        #expect(try store.purgeAccepted(acceptedBy: accepted) { _ in false }.isEmpty, "not confirmed")
        #expect(try store.purgeAccepted(acceptedBy: accepted) { _ in true } == [id])
    }

    /// Dropped: gone from every file of the store (its sealed bytes nowhere), the store intact,
    /// its version vector kept, and the setting for keeping it kept too.
    @Test func aDroppedRecordIsGoneFromEveryFileAndTheStoreIsIntact() throws {
        let (store, directory, id) = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try store.commit { replica in  // another case, which stays
            replica.write(
                .string("E06000038"), to: try FieldPath(ReferralCapture.hostAuthorityPath), in: try RecordID("r2"))
        }
        try acknowledge(id, in: store)
        try pull(try acceptance(of: id), into: store)
        let bytes = try sealed(id, in: directory)
        #expect(bytes.count > 64)
        #expect(try slicesFound(bytes, in: directory) == (bytes.count - 1) / 16, "found before the purge")
        let knowledge = store.knowledge
        #expect(try store.purgeAccepted(acceptedBy: Self.anyTime) { _ in true } == [id])
        #expect(try slicesFound(bytes, in: directory) == 0, "no slice of its sealed bytes in any file")
        #expect(try store.record(id) == nil)
        #expect(try store.recordIDs() == [try RecordID("r2")])
        #expect(store.knowledge == knowledge)
        #expect(try store.verifyWhole() == 1)
        let size = try FileManager.default.attributesOfItem(atPath: file(directory).path + "-wal")[.size] as? Int
        #expect(size == 0, "the write-ahead log emptied")
        _ = consume store
        let reopened = try ReplicaStore.open(at: directory, passphrase: "p", acceptance: Self.accepting)
        #expect(try reopened.verifyWhole() == 1)
        #expect(try reopened.record(id) == nil)
        #expect(reopened.knowledge == knowledge)
    }

    @Test func howLongAcceptedRecordsAreKeptIsASealedSetting() throws {
        let (store, directory, _) = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        #expect(try store.keepAcceptedDays() == 0)
        try store.setKeepAcceptedDays(14)
        #expect(throws: StoreError.self) { try store.setKeepAcceptedDays(-1) }
        _ = consume store
        let reopened = try ReplicaStore.open(at: directory, passphrase: "p")
        #expect(try reopened.keepAcceptedDays() == 14)
        #expect(try reopened.verifyWhole() == 1)
    }

    /// An edited `pending` cannot make a record the centre lacks look held.
    @Test func aDeletedPendingRowDropsNothing() throws {
        let (store, directory, id) = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try pull(try acceptance(of: id), into: store)
        _ = consume store
        let database = try DatabaseQueue(path: file(directory).path)
        try database.write { db in try db.execute(sql: "DELETE FROM pending") }
        try database.close()
        let reopened = try ReplicaStore.open(at: directory, passphrase: "p", acceptance: Self.accepting)
        let refusal = #expect(throws: StoreError.self) {
            try reopened.purgeAccepted(acceptedBy: Self.anyTime) { _ in true }
        }
        #expect(refusal?.code == .altered)
    }

    // MARK: - Upgrading format 3

    static let formatThree = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/store-format-3/replica.sqlite")

    /// The fixture `Fixtures/store-format-3/replica.sqlite` was made by the previous edt (commit
    /// 4033fe8, format `edt-store-3`, passphrase "fixture pass phrase"): three referrals captured
    /// on `edt-laptop-a` (E06000038), never synced.
    @Test func aStoreOfFormatThreeIsUpgradedWithNothingLost() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.formatThree, to: file(directory))
        for _ in 0..<2 {  // upgraded at the first opening; the second finds it upgraded
            let store = try ReplicaStore.open(
                at: directory, passphrase: "fixture pass phrase", acceptance: Self.accepting)
            #expect(try store.digest() == "c534db4592fab167040297e055cd19934aaafb172ac2634369dff727ca77be9b")
            #expect(Notation.text(store.knowledge) == "edt-laptop-a:18")
            #expect(try store.pendingRecords().count == 3)
            #expect(try store.verifyWhole() == 3)
        }
        let format = try DatabaseQueue(path: file(directory).path).read { db in
            try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'format'")
        }
        #expect(format == "edt-store-4")
    }

    /// A format-3 store altered outside edt is refused at its upgrade and left as it was.
    @Test func anAlteredStoreOfFormatThreeIsRefused() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.formatThree, to: file(directory))
        let database = try DatabaseQueue(path: file(directory).path)
        try database.write { db in try db.execute(sql: "UPDATE catalog SET status = 'closed'") }
        try database.close()
        let before = try StoreIntegrityTests().contents(directory)
        let refusal = #expect(throws: StoreError.self) {
            try ReplicaStore.open(at: directory, passphrase: "fixture pass phrase")
        }
        #expect(refusal?.code == .altered)
        #expect(try StoreIntegrityTests().contents(directory) == before, "nothing changed, the schema included")
    }
}
