import GRDB

/// One write transaction on the tables the integrity seal covers (``StoreIntegrity``): every
/// covered row is written through it, so the tallies follow the rows, and
/// ``ReplicaStore/writeSealed(_:)`` stores the new seal in the same transaction.
///
/// A row replaced or deleted is read (or returned by its `DELETE`) first, so its digest can be
/// taken out of its table's tally.
struct SealedWrite {
    let db: Database
    private(set) var integrity: StoreIntegrity

    init(db: Database, integrity: StoreIntegrity) {
        self.db = db
        self.integrity = integrity
    }

    /// Writes `value` under `key` in `table` (not `pending`), replacing the row there was.
    mutating func put(_ table: StoreIntegrity.Table, _ key: String, _ value: some DatabaseValueConvertible) throws {
        guard let valueColumn = table.valueColumn else { preconditionFailure("\(table.name) has no values") }
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

    /// Deletes the row under `key` in `table`, if there is one.
    mutating func delete(_ table: StoreIntegrity.Table, _ key: String) throws {
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
        let added = try Row.fetchAll(db, sql: "INSERT OR IGNORE INTO pending (id) SELECT id FROM records RETURNING id")
        for row in added { integrity.add(.pending, key: row[0], value: nil) }
    }

    /// Makes the records whose ids `jsonArray` holds (a JSON array of strings) no longer pending:
    /// one statement, the ids going to SQLite as one array (a whole push settles at once).
    mutating func settle(jsonArray: String) throws {
        let removed = try Row.fetchAll(
            db, sql: "DELETE FROM pending WHERE id IN (SELECT value FROM json_each(?)) RETURNING id",
            arguments: [jsonArray])
        for row in removed { integrity.subtract(.pending, key: row[0], value: nil) }
    }
}
