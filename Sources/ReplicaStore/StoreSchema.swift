import GRDB

/// The laptop store's schema and how it changes: GRDB's `DatabaseMigrator`, one registered
/// migration per change, applied in order when a store is created or opened. A migration is
/// never edited once released; a change of schema is a new migration after the others.
///
/// Stores written before the migrator existed hold the tables of the migrations below but no
/// record of them: each migration therefore creates only what is missing, so such a store is
/// taken up with nothing lost.
///
/// Migrations run before the passphrase is known, so they cannot keep the store's integrity
/// seal (``StoreIntegrity``): one that changes rows of the tables it covers would make the next
/// opening refuse the store as altered. Such a change is made after the seal is verified, with
/// the key (as ``ReplicaStore/upgrade(_:in:format:passphrase:cipher:describe:)`` does), and a
/// new table is added to ``StoreIntegrity/Table`` and written through ``SealedWrite``.
enum StoreSchema {
    /// The last migration of the formats before the catalog (``RecordCatalog``): a store is
    /// migrated up to here before it is checked, and past it only once it is found intact.
    static let lastMigrationBeforeCatalog = "v2-sync"
    /// The migrations from the catalog on.
    static let catalogMigrations: Set<String> = ["v3-catalog", "v4-accepted"]

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        // The store's settings (sealed where secret), the sealed records and the sync cursors.
        migrator.registerMigration("v1-records") { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);
                    CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY NOT NULL, sealed BLOB NOT NULL);
                    CREATE TABLE IF NOT EXISTS checkpoints (peer TEXT PRIMARY KEY NOT NULL, cursor TEXT NOT NULL);
                    """)
        }
        // What sync keeps apart from the sealed records (so flagging one does not rewrite it):
        // the records with changes the centre has not acknowledged, and the centre's sealed
        // reasons for records it refused. Records of a store made before sync are all pending.
        migrator.registerMigration("v2-sync") { db in
            guard try !db.tableExists("pending") else { return }
            try db.execute(
                sql: """
                    CREATE TABLE pending (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
                    CREATE TABLE IF NOT EXISTS rejections (id TEXT PRIMARY KEY NOT NULL, sealed BLOB NOT NULL);
                    INSERT INTO pending (id) SELECT id FROM records;
                    """)
        }
        // The catalog: what a command needs to find, list and check a record without reading
        // its sealed content, one small row per record (``RecordCatalog``), and the integrity
        // buckets. The rows are written, and the seal computed over them, when the store is
        // first opened with its key (``ReplicaStore/upgrade``).
        migrator.registerMigration("v3-catalog") { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS catalog (
                        id TEXT PRIMARY KEY NOT NULL, bucket INTEGER NOT NULL, seal BLOB NOT NULL,
                        version TEXT NOT NULL, conflicts INTEGER NOT NULL, receivedSeconds INTEGER NOT NULL,
                        receivedNanos INTEGER NOT NULL, status TEXT NOT NULL, host TEXT, home TEXT,
                        summary BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE IF NOT EXISTS buckets (bucket INTEGER PRIMARY KEY NOT NULL, tally BLOB NOT NULL);
                    CREATE INDEX IF NOT EXISTS catalog_by_bucket ON catalog (bucket);
                    CREATE INDEX IF NOT EXISTS catalog_by_received ON catalog (receivedSeconds, receivedNanos, id);
                    CREATE INDEX IF NOT EXISTS catalog_by_host ON catalog (host, receivedSeconds, receivedNanos, id);
                    CREATE INDEX IF NOT EXISTS catalog_by_home ON catalog (home, receivedSeconds, receivedNanos, id);
                    CREATE INDEX IF NOT EXISTS catalog_by_status ON catalog (status, receivedSeconds, receivedNanos, id);
                    CREATE INDEX IF NOT EXISTS catalog_in_conflict ON catalog (receivedSeconds, receivedNanos, id)
                        WHERE conflicts > 0;
                    """)
        }
        // When each record was accepted (``AcceptanceReader``): the records a purge may drop
        // are found through this column's index. Filled in, and the seal computed over it, when
        // the store is first opened with its key (``ReplicaStore/upgrade``).
        migrator.registerMigration("v4-accepted") { db in
            if try !db.columns(in: "catalog").contains(where: { $0.name == "accepted" }) {
                try db.execute(sql: "ALTER TABLE catalog ADD COLUMN accepted INTEGER")
            }
            try db.execute(
                sql:
                    "CREATE INDEX IF NOT EXISTS catalog_by_accepted ON catalog (accepted, id) WHERE accepted IS NOT NULL"
            )
        }
        return migrator
    }
}
