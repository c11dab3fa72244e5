import GRDB

/// The SQLite database's incarnation (``DatabaseIncarnation``): one row of the table
/// `incarnation`, made by a migration as the database's first life, removed from every backup
/// (``backup(to:)``), and made anew, random, when a database without it (a backup put in place)
/// is opened.
extension SQLiteCentralStorage {
    /// The table, with the row of the database's first life.
    static func migrateIncarnation(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE incarnation (id INTEGER PRIMARY KEY CHECK (id = 1), number INTEGER NOT NULL);
                INSERT INTO incarnation (id, number) VALUES (1, \(DatabaseIncarnation.first));
                """)
    }

    /// The database's incarnation, made when it has none: it was restored from a backup. (Several
    /// processes opening it at once agree on the first one made.)
    static func incarnation(of pool: DatabasePool) throws -> UInt64 {
        let select = "SELECT number FROM incarnation WHERE id = 1"
        if let number = try pool.read({ db in try Int64.fetchOne(db, sql: select) }) { return UInt64(number) }
        return try pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO incarnation (id, number) VALUES (1, ?)",
                arguments: [Int64(DatabaseIncarnation.new())])
            return UInt64(try Int64.fetchOne(db, sql: select) ?? 0)
        }
    }

    /// Removes the incarnation from `copy`, a backup: restored, it makes a new one when opened.
    static func removeIncarnation(from copy: Database) throws {
        try copy.execute(sql: "DELETE FROM incarnation")
    }
}
