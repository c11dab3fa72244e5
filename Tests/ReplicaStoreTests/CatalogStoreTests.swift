import Foundation
import GRDB
import LineProtocol
import ReplicaStore
import Replication
import TestSupport
import Testing

/// The store works from disk: opening reads no record, a change reads only the records it names,
/// the catalog lists and filters records without opening them, and a store of the previous
/// format (`edt-store-2`, which loaded every record at opening) is upgraded with nothing lost.
@Suite("Store from disk: catalog, listing, upgrade")
struct CatalogStoreTests {
    let device = try! DeviceID("edt-laptop-a")
    let concern = try! FieldPath("concern")

    /// A describer for tests: `t` (an integer) is the receipt, `host` and `status` as written.
    static let describe: RecordDescriber = { record in
        func field(_ name: String) -> FieldValue? {
            guard let path = try? FieldPath(name), let register = record.register(at: path),
                register.values.count == 1
            else { return nil }
            return register.values[0]
        }
        var summary = RecordSummary(status: "open", content: Array(record.id.rawValue.utf8))
        if case .integer(let seconds)? = field("t") { summary.receivedSeconds = seconds }
        if case .string(let code)? = field("host") { summary.host = code }
        if case .string(let status)? = field("status") { summary.status = status }
        return summary
    }

    func file(_ directory: URL) -> URL { directory.appendingPathComponent(ReplicaStore.fileName) }

    func edit(_ directory: URL, _ sql: String, arguments: StatementArguments = []) throws {
        let database = try DatabaseQueue(path: file(directory).path)
        try database.write { db in try db.execute(sql: sql, arguments: arguments) }
        try database.close()
    }

    /// A store holding `records` referrals `r0`, `r1`, ... (receipt `t` = 1000 - index, so the
    /// last is the oldest), closed again.
    func makeStore(records: Int = 5) throws -> URL {
        let directory = temporaryDirectory().appendingPathComponent("store")
        let store = try ReplicaStore.create(
            at: directory, device: device, authorities: ["E06000038"], passphrase: "p", describe: Self.describe)
        try store.commit { replica in
            for index in 0..<records {
                let id = try RecordID("r\(index)")
                replica.write(
                    [
                        (try FieldPath("t"), .integer(Int64(1000 - index))),
                        (try FieldPath("host"), .string(index % 2 == 0 ? "E06000038" : "E06000037")),
                        (concern, .string("concern \(index)")),
                    ], in: id)
            }
        }
        return directory
    }

    func listed(
        _ store: ReplicaStore, _ configure: (inout ReplicaStore.ListFilter) -> Void = { _ in }
    ) throws
        -> [String]
    {
        var filter = ReplicaStore.ListFilter()
        configure(&filter)
        var ids: [String] = []
        try store.list(filter) { ids.append($0.id.rawValue) }
        return ids
    }

    // MARK: - Upgrading

    static let formatTwo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/store-format-2/replica.sqlite")

    /// The fixture `Fixtures/store-format-2/replica.sqlite` was made by the previous edt (commit
    /// efe474f, format `edt-store-2`, passphrase "fixture pass phrase"): three referrals imported
    /// on `edt-laptop-a` and synced; `edt-laptop-b` and `edt-laptop-a` each set the concern of the
    /// oldest, and a sync brought B's (a conflict); then `channel` set on the second, not synced.
    @Test func aStoreOfThePreviousFormatIsUpgradedWithNothingLost() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.formatTwo, to: file(directory))
        let digest = "72a756e3592bbbd6906c3f25684d60158f3dbcb7d5ec53043a57122a8763b9a3"
        let pending = try RecordID("80619b82-6d89-4d44-b0f5-b1da2ed624ce")
        let conflicted = try RecordID("d0e01c2a-d8cc-4401-93e3-0dceab85e191")
        for _ in 0..<2 {  // upgraded at the first opening; the second finds it upgraded
            let store = try ReplicaStore.open(at: directory, passphrase: "fixture pass phrase")
            #expect(try store.digest() == digest)
            #expect(Notation.text(store.knowledge) == "edt-laptop-a:28")
            #expect(try store.pendingRecords() == [pending])
            #expect(try store.checkpoint(for: "http://127.0.0.1:40225") == "central.oobsevfomm9t:5")
            #expect(try store.conflictCount() == 1)
            #expect(try store.record(conflicted)?.conflictedPaths.map(\.rawValue) == ["concern"])
            #expect(try store.centreKey() != nil)
            #expect(try store.deviceCertificate() != nil)
            #expect(try store.verifyWhole() == 3)
        }
        let format = try DatabaseQueue(path: file(directory).path).read { db in
            try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'format'")
        }
        #expect(format == "edt-store-4")
    }

    /// A store of the previous format altered outside edt is refused at its upgrade, as that
    /// format was at every opening, and left as it was.
    @Test func anAlteredStoreOfThePreviousFormatIsRefusedAndNotUpgraded() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.formatTwo, to: file(directory))
        try edit(directory, "DELETE FROM pending")
        let before = try StoreIntegrityTests().contents(directory)
        let refusal = #expect(throws: StoreError.self) {
            try ReplicaStore.open(at: directory, passphrase: "fixture pass phrase")
        }
        #expect(refusal?.code == .altered)
        #expect(refusal?.message.contains("the list of records waiting to be synced: 1 row(s) deleted") == true)
        #expect(try StoreIntegrityTests().contents(directory) == before, "nothing changed, the schema included")
    }

    // MARK: - Working from disk

    /// Opening reads no record: a store whose every record was damaged still opens (its settings
    /// are intact), and reading a record then finds the damage.
    @Test func openingReadsNoRecord() throws {
        let directory = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try edit(directory, "UPDATE records SET sealed = zeroblob(64)")
        let store = try ReplicaStore.open(at: directory, passphrase: "p")
        #expect(Notation.text(store.knowledge) == "edt-laptop-a:15")
        let refusal = #expect(throws: StoreError.self) { try store.record(try RecordID("r0")) }
        #expect(refusal?.code == .altered)
    }

    /// A change may change only the records it read: writing to a stored record it did not load
    /// would replace what it never saw. Refused, and nothing written.
    @Test func aChangeThatWritesARecordItDidNotReadIsRefused() throws {
        let directory = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let store = try ReplicaStore.open(at: directory, passphrase: "p", describe: Self.describe)
        let digest = try store.digest()
        let refusal = #expect(throws: StoreError.self) {
            try store.commit { replica in replica.write(.string("overwritten"), to: concern, in: try RecordID("r1")) }
        }
        #expect(refusal?.code == .refused)
        #expect(try store.digest() == digest)
        #expect(Notation.text(store.knowledge) == "edt-laptop-a:15")
        // Loaded, the same write keeps the record's other fields and is saved.
        try store.commit(loading: [try RecordID("r1")]) { replica in
            replica.write(.string("changed"), to: concern, in: try RecordID("r1"))
        }
        let record = try #require(try store.record(try RecordID("r1")))
        #expect(record.register(at: concern)?.values == [.string("changed")])
        #expect(record.register(at: try FieldPath("t"))?.values == [.integer(999)])
    }

    /// The catalog's clear columns are covered by the seal: one edited to move a record in the
    /// list, or out of a filter, is refused when its bucket is read.
    @Test(arguments: [
        "UPDATE catalog SET status = 'closed' WHERE id = 'r2'",
        "UPDATE catalog SET receivedSeconds = 1 WHERE id = 'r2'",
        "UPDATE catalog SET host = NULL WHERE id = 'r2'",
        "UPDATE catalog SET conflicts = 3 WHERE id = 'r2'",
        "UPDATE catalog SET version = 'edt-laptop-a:1' WHERE id = 'r2'",
        "UPDATE catalog SET bucket = (bucket + 1) % 4096 WHERE id = 'r2'",
        "UPDATE catalog SET summary = (SELECT summary FROM catalog WHERE id = 'r4') WHERE id = 'r2'",
        "UPDATE catalog SET seal = (SELECT seal FROM catalog WHERE id = 'r4') WHERE id = 'r2'",
        "UPDATE catalog SET accepted = 0 WHERE id = 'r2'",
    ])
    func anEditedCatalogIsRefused(sql: String) throws {
        let directory = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try edit(directory, sql)
        do {
            let store = try ReplicaStore.open(at: directory, passphrase: "p", describe: Self.describe)
            let listing = #expect(throws: StoreError.self) { _ = try listed(store) }
            #expect(listing?.code == .altered, "\(sql)")
        }
        let reading = #expect(throws: StoreError.self) {
            _ = try ReplicaStore.open(at: directory, passphrase: "p", lockWaitSeconds: 0).record(try RecordID("r2"))
        }
        #expect(reading?.code == .altered, "\(sql)")
    }

    /// A reply acknowledging a record whose catalog row was edited is refused whole: nothing of
    /// it is applied, the certificate it brought included.
    @Test func aReplyRefusedOverAnEditedCatalogKeepsNoCertificate() throws {
        let directory = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let id = try RecordID("r2")
        let pushed = try #require(
            try ReplicaStore.open(at: directory, passphrase: "p", describe: Self.describe).record(id)
        ).version
        try edit(directory, "UPDATE catalog SET status = 'closed' WHERE id = 'r2'")
        let store = try ReplicaStore.open(at: directory, passphrase: "p", describe: Self.describe)
        let refusal = #expect(throws: StoreError.self) {
            try store.applySync(
                acknowledgements: [.stored(id, pushed: pushed)], pulled: [], cursor: "central:9", peer: "p",
                certificate: (0..<64).map { UInt8($0) })
        }
        #expect(refusal?.code == .altered)
        #expect(try store.deviceCertificate() == nil)
        #expect(try store.checkpoint(for: "p") == nil)
    }

    /// Content with no catalog row is never read, and the whole check finds it.
    @Test func contentWithoutACatalogRowIsFoundByTheWholeCheck() throws {
        let directory = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try edit(directory, "INSERT INTO records (id, sealed) SELECT 'r9', sealed FROM records WHERE id = 'r0'")
        let store = try ReplicaStore.open(at: directory, passphrase: "p", describe: Self.describe)
        #expect(try store.record(try RecordID("r9")) == nil)
        #expect(try store.recordCount() == 5)
        let refusal = #expect(throws: StoreError.self) { try store.verifyWhole() }
        #expect(refusal?.message.contains("records: 1 row(s) added") == true)
    }

    // MARK: - Listing

    @Test func aListIsOrderedByReceiptFilteredAndPaged() throws {
        let directory = try makeStore()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let store = try ReplicaStore.open(at: directory, passphrase: "p", describe: Self.describe)
        // A record with no receipt comes last.
        try store.commit { replica in replica.write(.string("no receipt"), to: concern, in: try RecordID("a-none")) }
        #expect(try listed(store) == ["r4", "r3", "r2", "r1", "r0", "a-none"])
        #expect(try listed(store) { $0.authority = "E06000037" } == ["r3", "r1"])
        #expect(try listed(store) { $0.receivedSince = (997, 0) } == ["r3", "r2", "r1", "r0"])
        // Pages of two, each starting after the last id of the one before.
        var pages: [[String]] = []
        var after: RecordID?
        repeat {
            let page = try listed(store) {
                $0.limit = 2
                $0.after = after
            }
            pages.append(page)
            after = try page.last.map { try RecordID($0) }
        } while pages.last?.isEmpty == false
        #expect(pages == [["r4", "r3"], ["r2", "r1"], ["r0", "a-none"], []])
        // A status set, a conflict brought by another device's part, pending acknowledged.
        try store.commit(loading: [try RecordID("r1")]) { replica in
            replica.write(.string("awaiting-authorisation"), to: try FieldPath("status"), in: try RecordID("r1"))
        }
        #expect(try listed(store) { $0.status = "awaiting-authorisation" } == ["r1"])
        var other = Replica(device: try DeviceID("edt-laptop-b"))
        other.write(.string("from b"), to: concern, in: try RecordID("r3"))
        try store.applySync(
            acknowledgements: [], pulled: [try #require(other[try RecordID("r3")])], cursor: nil, peer: "x")
        #expect(try listed(store) { $0.conflictsOnly = true } == ["r3"])
        #expect(try store.conflictCount() == 1)
        let r0 = try #require(try store.record(try RecordID("r0")))
        try store.applySync(
            acknowledgements: [.stored(try RecordID("r0"), pushed: r0.version)], pulled: [], cursor: nil, peer: "x")
        #expect(try listed(store) { $0.pendingOnly = true } == ["r4", "r3", "r2", "r1", "a-none"])
        #expect(
            try listed(store) {
                $0.pendingOnly = true
                $0.authority = "E06000038"
                $0.limit = 1
            } == ["r4"])
        // An unknown --after is refused.
        let refusal = #expect(throws: StoreError.self) {
            _ = try listed(store) { $0.after = try? RecordID("nowhere") }
        }
        #expect(refusal?.code == .refused)
    }
}
