import Foundation
import GRDB
import GRDBSQLite
public import LineProtocol
public import Replication
import Synchronization

/// Reading records from disk: one, a few, all of them in id order (a digest, a bundle), each
/// checked against its bucket's integrity tally and its catalog row's seal (``StoreIntegrity``)
/// before it is believed.
extension ReplicaStore {
    /// The record `id` as last committed; nil when this store does not hold it.
    public func record(_ id: RecordID) throws(StoreError) -> Replication.Record? {
        try reading("record \(id.rawValue)") { db in try loadRecord(id, in: db) }
    }

    /// The records of `ids` this store holds, in the order of `ids`, read in one transaction.
    public func records(_ ids: [RecordID]) throws(StoreError) -> [Replication.Record] {
        guard !ids.isEmpty else { return [] }
        return try reading("records") { db in try ids.compactMap { id in try loadRecord(id, in: db) } }
    }

    /// The records of `ids` this store holds, as stored: each one's version (from its catalog,
    /// checked with its bucket) and canonical encoding (opened, its tag checked), not decoded.
    /// The push's hot path: values are read from SQLite as it holds them, nothing copied but
    /// the opened content.
    public func encodedRecords(_ ids: [RecordID]) throws(StoreError) -> [EncodedRecord] {
        guard !ids.isEmpty else { return [] }
        return try reading("records") { db in
            try checkBuckets(of: ids, in: db)
            let statement = try db.cachedStatement(
                sql: "SELECT catalog.seal, catalog.version, records.sealed FROM catalog "
                    + "LEFT JOIN records ON records.id = catalog.id WHERE catalog.id = ?")
            var records: [EncodedRecord] = []
            records.reserveCapacity(ids.count)
            for id in ids {
                let record = try statement.step(key: id.rawValue, "read record \(id.rawValue)") { handle in
                    func bytes(_ column: Int32) -> UnsafeRawBufferPointer? {
                        guard sqlite3_column_type(handle, column) != SQLITE_NULL else { return nil }
                        let count = Int(sqlite3_column_bytes(handle, column))
                        return UnsafeRawBufferPointer(start: sqlite3_column_blob(handle, column), count: count)
                    }
                    let payload = try openContent(id.rawValue, seal: bytes(0), sealed: bytes(2))
                    guard let text = bytes(1),
                        let version = Notation.vector(Substring(decoding: text, as: UTF8.self))
                    else {
                        throw StoreError(
                            .corrupt, "record \(id.rawValue) cannot be read: the store was damaged or altered")
                    }
                    return EncodedRecord(id: id, version: version, payload: payload)
                }
                if let record { records.append(record) }
            }
            return records
        }
    }

    /// Every record id, in canonical order.
    public func recordIDs() throws(StoreError) -> [RecordID] {
        try reading("the record ids") { db in
            try String.fetchAll(db, sql: "SELECT id FROM catalog ORDER BY id").compactMap { try? RecordID($0) }
        }
    }

    /// How many records the store holds.
    public func recordCount() throws(StoreError) -> Int {
        try reading("the number of records") { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM catalog") ?? 0 }
    }

    /// Fields in conflict over all records (from the catalog, not the records).
    public func conflictCount() throws(StoreError) -> Int {
        try reading("the conflicts") { db in
            try Int.fetchOne(db, sql: "SELECT total(conflicts) FROM catalog WHERE conflicts > 0") ?? 0
        }
    }

    /// Whether the catalog holds each record of `versions` at the version given: one prepared
    /// statement stepped once per record (a sync's acknowledgements name a whole push), the
    /// version kept (the line protocol's notation) compared with the one given, written into
    /// one reused buffer, byte for byte where it lies, so nothing read is kept. A record not
    /// stored is not held at any version.
    func catalogHolds(_ versions: [(id: RecordID, version: VersionVector)], in db: Database) throws -> [Bool] {
        let statement = try db.cachedStatement(sql: "SELECT version FROM catalog WHERE id = ?")
        var expected: [UInt8] = []
        return try versions.map { id, version in
            expected.removeAll(keepingCapacity: true)
            Notation.append(version, to: &expected)
            let held = try statement.step(key: id.rawValue, "read record \(id.rawValue)'s version") { handle in
                guard let text = sqlite3_column_text(handle, 0) else { return false }
                let kept = UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, 0)))
                return expected.elementsEqual(kept)
            }
            return held ?? false
        }
    }

    /// The digest (SHA-256) of the replica's canonical content, as ``Replica/digest()`` computes
    /// it: every record read, one at a time, in id order.
    public func digest() throws(StoreError) -> String {
        try reading("the records") { db in
            var digester = ReplicaDigester(recordCount: try Int.fetchOne(db, sql: "SELECT count(*) FROM catalog") ?? 0)
            try forEachStoredRecord(in: db) { record in digester.add(record) }
            return digester.finish()
        }
    }

    /// Hands `body` what this replica holds that a replica whose version vector is `base` lacks:
    /// one record part at a time, in id order (a bundle's content, read from disk).
    public func forEachRecord(
        notCoveredBy base: VersionVector, _ body: (Replication.Record) throws -> Void
    ) throws {
        try reading("the records") { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT id, version FROM catalog ORDER BY id")
            while let row = try rows.next() {
                let idText: String = row[0]
                let bucket = StoreIntegrity.bucket(of: idText)
                try checkBucket(bucket, in: db)  // the catalog's version is believed once its bucket is checked
                guard let versionText: String = row[1], let version = Notation.vector(Substring(versionText)),
                    let id = try? RecordID(idText)
                else { throw StoreError(.corrupt, "the catalog of record \(idText) cannot be read") }
                guard !base.descends(version), let record = try loadRecord(id, in: db),
                    let part = record.missing(from: base)
                else { continue }
                try body(part)
            }
        }
    }

    /// Hands `body` every record, in id order, each checked and opened.
    func forEachStoredRecord(in db: Database, _ body: (Replication.Record) throws -> Void) throws {
        let rows = try Row.fetchCursor(
            db,
            sql: "SELECT catalog.id, catalog.seal, records.sealed FROM catalog "
                + "LEFT JOIN records ON records.id = catalog.id ORDER BY catalog.id")
        while let row = try rows.next() {
            let idText: String = row[0]
            try checkBucket(StoreIntegrity.bucket(of: idText), in: db)
            let seal: Data? = row[1]
            let sealed: Data? = row[2]
            try body(try decode(idText, try openContent(idText, seal: seal, sealed: sealed)))
        }
    }

    /// Checks every table and every bucket of the store against its integrity seal, and opens
    /// every record and summary: what `edt store verify` does. Throws ``StoreError/Code/altered``
    /// naming what differs. Returns how many records were checked.
    public func verifyWhole() throws(StoreError) -> Int {
        try reading("the store") { db in
            try integrity.check(
                .meta, .catalog, .pending, .rejections, .checkpoints, .buckets, in: db, directory: directory)
            bucketTalliesChecked = true
            let orphans =
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM records WHERE id NOT IN (SELECT id FROM catalog)") ?? 0
            guard orphans == 0 else {
                throw StoreIntegrity.altered(directory, "records: \(orphans) row(s) added")
            }
            var count = 0
            try forEachStoredRecord(in: db) { _ in count += 1 }
            let summaries = try Row.fetchCursor(db, sql: "SELECT id, summary FROM catalog ORDER BY id")
            while let row = try summaries.next() {
                let idText: String = row[0]
                guard let summary: Data = row[1],
                    cipher.open(summary, context: RecordCatalog.summaryContext(idText)) != nil
                else { throw StoreIntegrity.altered(directory, "the summary of record \(idText) cannot be opened") }
            }
            return count
        }
    }

    // MARK: - In a transaction

    /// The record `id` read in `db`, its bucket checked first; nil when there is none.
    func loadRecord(_ id: RecordID, in db: Database) throws -> Replication.Record? {
        // The bucket is checked even when the record is absent: that is how a deleted row shows.
        try checkBucket(StoreIntegrity.bucket(of: id.rawValue), in: db)
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT catalog.seal, records.sealed FROM catalog "
                        + "LEFT JOIN records ON records.id = catalog.id WHERE catalog.id = ?"),
                arguments: [id.rawValue])
        else { return nil }
        let seal: Data? = row[0]
        let sealed: Data? = row[1]
        return try decode(id.rawValue, try openContent(id.rawValue, seal: seal, sealed: sealed))
    }

    /// The plaintext of record `idText`'s sealed content `sealed`, once it matches the `seal`
    /// its (checked) catalog row holds and opens under the store key.
    func openContent(
        _ idText: String, seal: (some DataProtocol)?, sealed: (some DataProtocol & RandomAccessCollection)?
    ) throws -> [UInt8] {
        guard let sealed else {
            throw StoreIntegrity.altered(directory, "records: the content of record \(idText) was deleted")
        }
        guard let seal, RecordCatalog.sealMatches(sealed, seal) else {
            throw StoreIntegrity.altered(
                directory,
                "records: changed (record \(idText) does not match its catalog: put back from an older copy, or edited)"
            )
        }
        guard let plain = cipher.open(sealed, context: "record:" + idText) else {
            throw StoreError(.corrupt, "record \(idText) cannot be read: the store was damaged or altered")
        }
        return plain
    }

    /// The record `idText` decoded from its opened content.
    func decode(_ idText: String, _ plain: [UInt8]) throws -> Replication.Record {
        guard let id = try? RecordID(idText), let record = try? RecordCoding.decode(plain, id: id) else {
            throw StoreError(.corrupt, "record \(idText) cannot be read: the store was damaged or altered")
        }
        return record
    }

    /// Checks the catalog rows of `bucket` against its tally, once per process (and, the first
    /// time, the bucket tallies against theirs). Throws ``StoreError/Code/altered`` when they differ.
    func checkBucket(_ bucket: Int, in db: Database) throws {
        guard !checkedBuckets.contains(bucket) else { return }
        try check(buckets: [bucket], in: db)
    }

    /// Checks the buckets of `ids` not checked yet, in one query (a push reads its records a few
    /// dozen at a time, most in buckets of their own).
    func checkBuckets(of ids: [RecordID], in db: Database) throws {
        let unchecked = uncheckedBuckets(of: ids)
        guard !unchecked.isEmpty else { return }
        try check(buckets: unchecked.sorted(), in: db)
    }

    /// Whether every bucket has been checked in this process.
    private var everyBucketChecked: Bool { checkedBuckets.count >= StoreIntegrity.bucketCount }

    /// The buckets of `ids` not checked yet. None once every bucket is, and then no id's bucket
    /// is worked out (a SHA-256 each: a push asks for 10,000 ids twice).
    private func uncheckedBuckets(of ids: [RecordID]) -> Set<Int> {
        guard !everyBucketChecked else { return [] }
        var unchecked: Set<Int> = []
        for id in ids {
            let bucket = StoreIntegrity.bucket(of: id.rawValue)
            if !checkedBuckets.contains(bucket) { unchecked.insert(bucket) }
        }
        return unchecked
    }

    /// From how many buckets to check on one checks every bucket in one pass over the catalog,
    /// cheaper than seeking the rows of so many bucket by bucket.
    static let wholeCatalogPassFrom = StoreIntegrity.bucketCount / 8

    /// Checks, before a push reads `ids` a few dozen at a time, the buckets they fall in: when
    /// they are many (``wholeCatalogPassFrom``; a push of much of the store), every bucket in
    /// one pass over the catalog; else nothing yet (each batch read checks its own).
    public func prepareToRead(_ ids: [RecordID]) throws(StoreError) {
        guard uncheckedBuckets(of: ids).count >= Self.wholeCatalogPassFrom else { return }
        try reading("the catalog") { db in try check(buckets: nil, in: db) }
    }

    /// Checks the catalog rows of `buckets` (nil: every bucket, in one pass) against their
    /// sealed tallies.
    private func check(buckets: [Int]?, in db: Database) throws {
        try Self.verify(
            buckets: buckets, andTheirTallies: !bucketTalliesChecked, integrity: integrity, in: db,
            directory: directory)
        bucketTalliesChecked = true
        checkedBuckets.formUnion(buckets ?? Array(0..<StoreIntegrity.bucketCount))
    }

    /// Checks the catalog rows of `buckets` (nil: every bucket, in one pass) in `db` against
    /// their sealed tallies, and first, when `andTheirTallies`, the bucket tallies against theirs.
    /// Throws ``StoreError/Code/altered`` when they differ. Changes nothing, so it may run on
    /// another connection, beside this store's own work.
    private static func verify(
        buckets: [Int]?, andTheirTallies: Bool, integrity: StoreIntegrity, in db: Database, directory: URL
    ) throws {
        if andTheirTallies { try integrity.check(.buckets, in: db, directory: directory) }
        let found = try integrity.countedBuckets(buckets, in: db)
        var sealed: [Int: StoreIntegrity.Tally] = [:]
        let tallies = try Row.fetchCursor(
            db,
            sql: "SELECT bucket, tally FROM buckets"
                + (buckets.map { " WHERE bucket IN (\($0.map(String.init).joined(separator: ",")))" } ?? ""))
        while let row = try tallies.next() {
            let bucket: Int = row[0]
            guard let data: Data = row[1], let tally = StoreIntegrity.decode(data) else {
                throw StoreIntegrity.altered(directory, "the tally of bucket \(bucket) cannot be read")
            }
            sealed[bucket] = tally
        }
        for bucket in buckets ?? Array(0..<StoreIntegrity.bucketCount) {
            try StoreIntegrity.compare(
                found: found[bucket] ?? StoreIntegrity.Tally(), sealed: sealed[bucket] ?? StoreIntegrity.Tally(),
                holds: "records", directory: directory)
        }
    }

    /// The records with changes the centre has not acknowledged (``pendingRecords()``), with
    /// every bucket checked when they are many (``prepareToRead(_:)``): the two side by side.
    ///
    /// A push of much of the store starts with both checks, each a pass over thousands of rows
    /// (10,000 pending records: about 20 ms for the list and 30 ms for the catalog), on one core
    /// while the centre waits for the push. The catalog's pass runs on a read-only connection of
    /// its own, on another core, while the list is read and checked on the store's connection;
    /// nothing is read for the push before both have passed. Which it is is decided before the
    /// list is read, by its sealed count: as many records as ``wholeCatalogPassFrom`` (they fall
    /// in nearly as many buckets). Fewer: the list alone, then ``prepareToRead(_:)``.
    public func pendingRecordsReadyToRead() throws(StoreError) -> [RecordID] {
        let pendingCount = integrity.tallies[Int(StoreIntegrity.Table.pending.rawValue)].count
        guard pendingCount >= UInt64(Self.wholeCatalogPassFrom), !everyBucketChecked else {
            let ids = try pendingRecords()
            try prepareToRead(ids)
            return ids
        }
        let pass = CatalogPass(
            file: Self.databaseFile(in: directory), integrity: integrity,
            andTheirTallies: !bucketTalliesChecked, directory: directory)
        let ids: [RecordID]
        do {
            ids = try pendingRecords()
        } catch {
            _ = pass.outcome()  // its connection is closed before the refusal is reported
            throw error
        }
        try pass.outcome().get()
        bucketTalliesChecked = true
        checkedBuckets.formUnion(0..<StoreIntegrity.bucketCount)
        return ids
    }

    /// Every bucket's catalog rows checked against their sealed tallies, on a read-only
    /// connection of its own and a thread of its own, started at once.
    private final class CatalogPass: Sendable {
        private let done = DispatchSemaphore(value: 0)
        private let result = Mutex<Result<Void, StoreError>?>(nil)

        init(file: URL, integrity: StoreIntegrity, andTheirTallies: Bool, directory: URL) {
            DispatchQueue.global(qos: .userInitiated).async { [self] in
                let outcome = Result { () throws(StoreError) -> Void in
                    do {
                        var configuration = Configuration()
                        configuration.readonly = true
                        let connection = try DatabaseQueue(path: file.path, configuration: configuration)
                        defer { try? connection.close() }
                        try connection.read { db in
                            try ReplicaStore.verify(
                                buckets: nil, andTheirTallies: andTheirTallies, integrity: integrity, in: db,
                                directory: directory)
                        }
                    } catch let error as StoreError {
                        throw error
                    } catch {
                        throw StoreError(.io, "cannot read the store's catalog to check it: \(error)")
                    }
                }
                result.withLock { $0 = outcome }
                done.signal()
            }
        }

        /// Waits for the pass to end; what it found.
        func outcome() -> Result<Void, StoreError> {
            done.wait()
            done.signal()  // a second call returns at once
            return result.withLock { $0 } ?? .failure(StoreError(.io, "the catalog's check did not end"))
        }
    }

    /// Runs `body` in a read transaction; a failure other than the store's own is an I/O error
    /// reading `what`.
    func reading<Result>(_ what: String, _ body: (Database) throws -> Result) throws(StoreError) -> Result {
        do {
            return try database.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot read \(what): \(error)")
        }
    }
}
