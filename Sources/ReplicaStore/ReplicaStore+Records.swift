import Foundation
import GRDB
public import LineProtocol
public import Replication

/// Reading records from disk: one, a few, all of them in id order (a digest, a bundle), each
/// checked against its bucket's integrity tally (``StoreIntegrity``) before it is believed.
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
    public func encodedRecords(_ ids: [RecordID]) throws(StoreError) -> [EncodedRecord] {
        guard !ids.isEmpty else { return [] }
        return try reading("records") { db in
            let statement = try db.cachedStatement(sql: "SELECT sealed, version FROM records WHERE id = ?")
            var records: [EncodedRecord] = []
            records.reserveCapacity(ids.count)
            for id in ids {
                try checkBucket(StoreIntegrity.bucket(of: id.rawValue), in: db)
                guard let row = try Row.fetchOne(statement, arguments: [id.rawValue]) else { continue }
                guard let sealed: Data = row[0], let payload = cipher.open(sealed, context: "record:" + id.rawValue),
                    let versionText: String = row[1], let version = Notation.vector(Substring(versionText))
                else {
                    throw StoreError(.corrupt, "record \(id.rawValue) cannot be read: the store was damaged or altered")
                }
                records.append(EncodedRecord(id: id, version: version, payload: payload))
            }
            return records
        }
    }

    /// Every record id, in canonical order.
    public func recordIDs() throws(StoreError) -> [RecordID] {
        try reading("the record ids") { db in
            try String.fetchAll(db, sql: "SELECT id FROM records ORDER BY id").compactMap { try? RecordID($0) }
        }
    }

    /// How many records the store holds.
    public func recordCount() throws(StoreError) -> Int {
        try reading("the number of records") { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM records") ?? 0 }
    }

    /// Fields in conflict over all records (from the catalog, not the records).
    public func conflictCount() throws(StoreError) -> Int {
        try reading("the conflicts") { db in
            try Int.fetchOne(db, sql: "SELECT total(conflicts) FROM records WHERE conflicts > 0") ?? 0
        }
    }

    /// The version of the record `id` as the catalog keeps it; nil when there is no such record.
    func catalogVersion(of id: String, in db: Database) throws -> VersionVector? {
        guard
            let text = try String.fetchOne(
                db.cachedStatement(sql: "SELECT version FROM records WHERE id = ?"), arguments: [id])
        else { return nil }
        guard let version = Notation.vector(Substring(text)) else {
            throw StoreError(.corrupt, "the version of record \(id) cannot be read: the store was damaged")
        }
        return version
    }

    /// The digest (SHA-256) of the replica's canonical content, as ``Replica/digest()`` computes
    /// it: every record read, one at a time, in id order.
    public func digest() throws(StoreError) -> String {
        try reading("the records") { db in
            var digester = ReplicaDigester(recordCount: try Int.fetchOne(db, sql: "SELECT count(*) FROM records") ?? 0)
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
            let rows = try Row.fetchCursor(db, sql: "SELECT id, version, bucket FROM records ORDER BY id")
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
        let rows = try Row.fetchCursor(db, sql: "SELECT id, sealed FROM records ORDER BY id")
        while let row = try rows.next() {
            let idText: String = row[0]
            try checkBucket(StoreIntegrity.bucket(of: idText), in: db)
            try body(try open(idText, sealed: row[1]))
        }
    }

    /// Checks every table and every bucket of the store against its integrity seal, and opens
    /// every record and summary: what `edt store verify` does. Throws ``StoreError/Code/altered``
    /// naming what differs. Returns how many records were checked.
    public func verifyWhole() throws(StoreError) -> Int {
        try reading("the store") { db in
            try integrity.check(
                .meta, .records, .pending, .rejections, .checkpoints, .buckets, in: db, directory: directory)
            bucketTalliesChecked = true
            var count = 0
            let rows = try Row.fetchCursor(db, sql: "SELECT id, sealed, summary FROM records ORDER BY id")
            while let row = try rows.next() {
                let idText: String = row[0]
                try checkBucket(StoreIntegrity.bucket(of: idText), in: db)
                _ = try open(idText, sealed: row[1])
                guard let summary: Data = row[2],
                    cipher.open(summary, context: RecordCatalog.summaryContext(idText)) != nil
                else { throw StoreIntegrity.altered(directory, "the summary of record \(idText) cannot be opened") }
                count += 1
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
            let sealed = try Data.fetchOne(
                db.cachedStatement(sql: "SELECT sealed FROM records WHERE id = ?"), arguments: [id.rawValue])
        else { return nil }
        return try open(id.rawValue, sealed: sealed)
    }

    /// The record `idText` opened from its sealed row.
    func open(_ idText: String, sealed: Data?) throws -> Replication.Record {
        guard let sealed, let id = try? RecordID(idText),
            let plain = cipher.open(sealed, context: "record:" + idText),
            let record = try? RecordCoding.decode(plain, id: id)
        else { throw StoreError(.corrupt, "record \(idText) cannot be read: the store was damaged or altered") }
        return record
    }

    /// Checks the records of `bucket` against its tally, once per process (and, the first time,
    /// the bucket tallies against theirs). Throws ``StoreError/Code/altered`` when they differ.
    func checkBucket(_ bucket: Int, in db: Database) throws {
        guard !checkedBuckets.contains(bucket) else { return }
        if !bucketTalliesChecked {
            try integrity.check(.buckets, in: db, directory: directory)
            bucketTalliesChecked = true
        }
        let stored = try Data.fetchOne(
            db.cachedStatement(sql: "SELECT tally FROM buckets WHERE bucket = ?"), arguments: [bucket])
        var sealed = StoreIntegrity.Tally()
        if let stored {
            guard let tally = StoreIntegrity.decode(stored) else {
                throw StoreIntegrity.altered(directory, "the tally of bucket \(bucket) cannot be read")
            }
            sealed = tally
        }
        try StoreIntegrity.compare(
            found: try integrity.countedBucket(bucket, in: db), sealed: sealed, holds: "records", directory: directory)
        checkedBuckets.insert(bucket)
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
