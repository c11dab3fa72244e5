import Central
import Crypto
import Foundation

/// The PostgreSQL centre's schema, as a list of named migrations applied in order, each once,
/// each in a transaction of its own, recorded in `schema_migrations`. Several servers starting
/// against one database at once apply them once: the first takes an advisory lock, the others
/// wait for it and find them applied.
///
/// The tables mirror the SQLite backend's (``Central/SQLiteCentralStorage``): `meta`, `devices`,
/// `cases`, `case_authorities`, the kept handover packages and their addenda, what each peer
/// centre acknowledged, the audit log, and the database's `incarnation`. New migrations are
/// appended; an applied one is never edited.
enum PostgresSchema {
    /// The advisory lock key migrations take (any constant unique to them).
    static let migrationLock: Int64 = 0x6564_7401

    /// The migrations, oldest first: a name and its statements.
    static var migrations: [(name: String, statements: [String])] {
        [
            (
                "v1",
                [
                    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
                    """
                    CREATE TABLE devices (
                        id TEXT PRIMARY KEY,
                        public_key BYTEA NOT NULL,
                        authorities TEXT NOT NULL,
                        revoked BOOLEAN NOT NULL DEFAULT FALSE,
                        last_counter BIGINT NOT NULL DEFAULT 0,
                        peer_url TEXT
                    )
                    """,
                    """
                    CREATE TABLE cases (
                        id TEXT PRIMARY KEY,
                        sequence BIGINT NOT NULL UNIQUE,
                        version TEXT NOT NULL,
                        body BYTEA NOT NULL,
                        accepted BOOLEAN NOT NULL DEFAULT FALSE,
                        escalates_at BIGINT,
                        awaiting_home TEXT
                    )
                    """,
                    "CREATE INDEX cases_unaccepted ON cases (sequence) WHERE NOT accepted",
                    "CREATE INDEX cases_escalating ON cases (escalates_at) WHERE escalates_at IS NOT NULL",
                    """
                    CREATE TABLE case_authorities (
                        authority TEXT NOT NULL,
                        case_id TEXT NOT NULL,
                        left_at BIGINT,
                        PRIMARY KEY (authority, case_id)
                    )
                    """,
                    """
                    CREATE TABLE handover_packages (
                        authority TEXT NOT NULL,
                        opens_at BIGINT NOT NULL,
                        opens_at_text TEXT NOT NULL,
                        built_at TEXT NOT NULL,
                        package BYTEA NOT NULL,
                        html BYTEA NOT NULL,
                        PRIMARY KEY (authority, opens_at)
                    )
                    """,
                    """
                    CREATE TABLE handover_package_cases (
                        authority TEXT NOT NULL,
                        opens_at BIGINT NOT NULL,
                        case_id TEXT NOT NULL,
                        PRIMARY KEY (authority, opens_at, case_id)
                    )
                    """,
                    "CREATE INDEX handover_package_cases_by_case ON handover_package_cases (case_id, authority)",
                    """
                    CREATE TABLE handover_addenda (
                        authority TEXT NOT NULL,
                        opens_at BIGINT NOT NULL,
                        number INTEGER NOT NULL,
                        built_at TEXT NOT NULL,
                        cases TEXT NOT NULL,
                        package BYTEA NOT NULL,
                        html BYTEA NOT NULL,
                        PRIMARY KEY (authority, opens_at, number)
                    )
                    """,
                    """
                    CREATE TABLE peer_sent (
                        peer TEXT NOT NULL,
                        case_id TEXT NOT NULL,
                        sequence BIGINT NOT NULL,
                        PRIMARY KEY (peer, case_id)
                    )
                    """,
                    """
                    CREATE TABLE peer_state (
                        peer TEXT PRIMARY KEY,
                        cursor TEXT,
                        last_success TEXT,
                        problem TEXT,
                        retry_at BIGINT,
                        failures INTEGER NOT NULL DEFAULT 0
                    )
                    """,
                    // The database's random name (cursors carry it), the centre's signing key,
                    // and the counters of its own entries and of its requests to peers.
                    "INSERT INTO meta (key, value) VALUES ('identity', '\(newIdentity())')",
                    "INSERT INTO meta (key, value) VALUES ('signing-key', '\(newSigningKey())')",
                    "INSERT INTO meta (key, value) VALUES ('entry-counter', '0')",
                    "INSERT INTO meta (key, value) VALUES ('request-counter', '0')",
                ]
            ),
            (
                "audit",
                [
                    // Who touched which case, chained by hash (AuditChain), and the chain's
                    // heads signed at moments (AuditAnchor).
                    """
                    CREATE TABLE audit_log (
                        number BIGINT PRIMARY KEY,
                        at TEXT NOT NULL,
                        who TEXT NOT NULL,
                        authorities TEXT NOT NULL,
                        case_id TEXT NOT NULL,
                        action TEXT NOT NULL,
                        hash TEXT NOT NULL
                    )
                    """,
                    "CREATE INDEX audit_log_by_case ON audit_log (case_id, number)",
                    "CREATE TABLE audit_anchors (number BIGINT PRIMARY KEY, line TEXT NOT NULL)",
                ]
            ),
            (
                "device freshness",
                [
                    // Each device's last successful sync (seconds since the epoch) and what it
                    // then held unacknowledged.
                    "ALTER TABLE devices ADD COLUMN last_sync BIGINT",
                    "ALTER TABLE devices ADD COLUMN last_pending BIGINT",
                ]
            ),
            (
                "incarnation",
                [
                    // Which life of the database this is (DatabaseIncarnation): this row is its
                    // first; backups leave the table's rows out, and a restored database opened
                    // without one makes its own.
                    "CREATE TABLE incarnation (id INTEGER PRIMARY KEY CHECK (id = 1), number BIGINT NOT NULL)",
                    "INSERT INTO incarnation (id, number) VALUES (1, \(DatabaseIncarnation.first))",
                ]
            ),
            (
                "case bodies lz4",
                [
                    // A case's body (a few KB of JSON) is compressed when stored out of line:
                    // with PostgreSQL's default (pglz) that was most of the database's CPU under a
                    // load of pushes. lz4 is several times cheaper; a server built without it
                    // (or older than 14) stores bodies uncompressed instead.
                    """
                    DO $$
                    BEGIN
                        ALTER TABLE cases ALTER COLUMN body SET COMPRESSION lz4;
                    EXCEPTION WHEN feature_not_supported OR syntax_error OR undefined_object THEN
                        ALTER TABLE cases ALTER COLUMN body SET STORAGE EXTERNAL;
                    END
                    $$
                    """
                ]
            ),
        ]
    }

    /// A new database's identity: 12 random letters and digits.
    static func newIdentity() -> String {
        String((0..<12).map { _ in "0123456789abcdefghijklmnopqrstuvwxyz".randomElement() ?? "x" })
    }

    /// A new Ed25519 signing key, base64 of its raw representation.
    static func newSigningKey() -> String {
        Curve25519.Signing.PrivateKey().rawRepresentation.base64EncodedString()
    }
}
