import Foundation
import GRDB
import GRDBSQLite
import Replication

/// One write transaction on the tables the integrity seal covers (``StoreIntegrity``): every
/// covered row is written through it, so the tallies follow the rows, and
/// ``ReplicaStore/writeSealed(_:)`` stores the new seal in the same transaction.
///
/// A row replaced or deleted is read (or returned by its `DELETE`) first, so its digest can be
/// taken out of its table's tally.
struct SealedWrite {
    let db: Database
    private(set) var integrity: StoreIntegrity
    /// The tallies of the buckets whose records this write changed, as they now are; written to
    /// `buckets` by ``finish()``.
    private var buckets: [Int: StoreIntegrity.Tally] = [:]

    init(db: Database, integrity: StoreIntegrity) {
        self.db = db
        self.integrity = integrity
    }

    /// Writes `value` under `key` in `table` (not `pending`), replacing the row there was.
    mutating func put(
        _ table: StoreIntegrity.Table, _ key: some DatabaseValueConvertible, _ value: some DatabaseValueConvertible
    ) throws {
        guard let valueColumn = table.valueColumn, table != .catalog else {
            preconditionFailure("\(table.name) is not written with put")
        }
        let keyValue = key.databaseValue
        if let old = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(valueColumn) FROM \(table.name) WHERE \(table.keyColumn) = ?"),
            arguments: [keyValue])
        {
            integrity.subtract(table, key: keyValue, value: old[0])
        }
        let newValue = value.databaseValue
        try db.cachedStatement(
            sql: """
                INSERT INTO \(table.name) (\(table.keyColumn), \(valueColumn)) VALUES (?, ?) \
                ON CONFLICT(\(table.keyColumn)) DO UPDATE SET \(valueColumn) = excluded.\(valueColumn)
                """
        ).execute(arguments: [keyValue, newValue])
        integrity.add(table, key: keyValue, value: newValue)
    }

    /// Writes a record: its sealed content (`records`, covered through its catalog row's seal)
    /// and its catalog row, replacing those there were, and brings the tallies of `catalog` and
    /// of its bucket up to date.
    mutating func putRecord(_ row: CatalogRow) throws {
        let columns = RecordCatalog.columns
        let key = row.id.databaseValue
        let bucket = row.bucket
        var tally = try bucketTally(bucket)
        if let old = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT id, \(columns.joined(separator: ", ")) FROM catalog WHERE id = ?"),
            arguments: [key])
        {
            let digest = integrity.catalogDigest(old)
            integrity.subtractDigest(.catalog, digest)
            let oldBucket: Int = old["bucket"] ?? bucket
            if oldBucket == bucket {
                tally.subtract(digest)
            } else {  // put in another bucket outside edt: that bucket's tally follows the row
                var other = try bucketTally(oldBucket)
                other.subtract(digest)
                buckets[oldBucket] = other
            }
        }
        try db.cachedStatement(
            sql: "INSERT INTO records (id, sealed) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET sealed = excluded.sealed"
        ).execute(arguments: [key, row.sealed])
        let placeholders = Array(repeating: "?", count: columns.count + 1).joined(separator: ", ")
        let updates = columns.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        try db.cachedStatement(
            sql: """
                INSERT INTO catalog (id, \(columns.joined(separator: ", "))) VALUES (\(placeholders)) \
                ON CONFLICT(id) DO UPDATE SET \(updates)
                """
        ).execute(arguments: StatementArguments([key] + row.columns))
        let digest = integrity.digest(.catalog, key: key, value: nil, extra: row.columns)
        integrity.addDigest(.catalog, digest)
        tally.add(digest)
        buckets[bucket] = tally
    }

    /// Deletes the record `id` whole: its sealed content, its catalog row (taken out of the
    /// tallies of `catalog` and of its bucket), and its rows in `pending` and `rejections`, if
    /// any. Returns whether there was such a record.
    mutating func deleteRecord(_ id: String) throws -> Bool {
        let columns = RecordCatalog.columns.joined(separator: ", ")
        guard
            let old = try Row.fetchOne(
                db.cachedStatement(sql: "DELETE FROM catalog WHERE id = ? RETURNING id, \(columns)"), arguments: [id])
        else { return false }
        let digest = integrity.catalogDigest(old)
        integrity.subtractDigest(.catalog, digest)
        let bucket: Int = old["bucket"] ?? StoreIntegrity.bucket(of: id)
        var tally = try bucketTally(bucket)
        tally.subtract(digest)
        buckets[bucket] = tally
        try db.cachedStatement(sql: "DELETE FROM records WHERE id = ?").execute(arguments: [id])
        try delete(.pending, id)
        try delete(.rejections, id)
        return true
    }

    /// The tally of `bucket` as this write has left it so far.
    private mutating func bucketTally(_ bucket: Int) throws -> StoreIntegrity.Tally {
        if let tally = buckets[bucket] { return tally }
        let stored = try Data.fetchOne(
            db.cachedStatement(sql: "SELECT tally FROM buckets WHERE bucket = ?"), arguments: [bucket])
        return stored.flatMap(StoreIntegrity.decode) ?? StoreIntegrity.Tally()
    }

    /// Writes the tallies of the buckets this write changed (``ReplicaStore/writeSealed(_:)``
    /// calls it before it stores the seal).
    mutating func finish() throws {
        for (bucket, tally) in buckets.sorted(by: { $0.key < $1.key }) {
            try put(.buckets, Int64(bucket), StoreIntegrity.encode(tally))
        }
        buckets = [:]
    }

    /// Deletes the row under `key` in `table`, if there is one.
    mutating func delete(_ table: StoreIntegrity.Table, _ key: String) throws {
        precondition(table != .catalog && table != .buckets, "records are not deleted with delete")
        let returned = table.keyColumn + ", " + (table.valueColumn ?? "NULL")
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: "DELETE FROM \(table.name) WHERE \(table.keyColumn) = ? RETURNING \(returned)"),
            arguments: [key])
        for row in rows {
            integrity.subtract(table, key: row[0], value: table.valueColumn == nil ? nil : row[1] as DatabaseValue)
        }
    }

    /// Marks the record `id` pending (changed here, not acknowledged by the centre), if it is not.
    mutating func markPending(_ id: String) throws {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO pending (id) VALUES (?)").execute(arguments: [id])
        if db.changesCount > 0 { integrity.add(.pending, key: id.databaseValue, value: nil) }
    }

    /// Marks every record pending.
    mutating func markEveryRecordPending() throws {
        let added = try Row.fetchAll(db, sql: "INSERT OR IGNORE INTO pending (id) SELECT id FROM catalog RETURNING id")
        for row in added { integrity.add(.pending, key: row[0], value: nil) }
    }

    /// Makes the records `ids` names no longer pending (those that were), through one prepared
    /// statement stepped once per id (a whole push settles at once); each row deleted leaves
    /// the tally, so an id named twice, or not pending, changes nothing.
    ///
    /// When no record is left pending (a sync that pushed everything, all acknowledged), the
    /// list's tally is the empty one, exactly: the digests of the rows deleted are not worked
    /// out one by one (10,000 HMACs, 10 ms at the end of such a sync).
    mutating func settle(_ ids: [RecordID]) throws {
        let statement = try db.cachedStatement(sql: "DELETE FROM pending WHERE id = ?")
        var deleted: [RecordID] = []
        for id in ids {
            _ = try statement.step(key: id.rawValue, "mark record \(id.rawValue) as synced") { _ in () }
            // A row deleted (not one already gone, nor an id named twice) leaves the tally.
            if sqlite3_changes(db.sqliteConnection) > 0 { deleted.append(id) }
        }
        guard !deleted.isEmpty else { return }
        if try Bool.fetchOne(db, sql: "SELECT NOT EXISTS (SELECT 1 FROM pending)") == true {
            integrity.empty(.pending)
        } else {
            for id in deleted { integrity.subtract(.pending, key: id.rawValue.databaseValue, value: nil) }
        }
    }
}
