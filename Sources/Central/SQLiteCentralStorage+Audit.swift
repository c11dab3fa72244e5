import Foundation
import GRDB
import Referrals
public import Replication

/// The audit log in the SQLite database: `audit_log` (the chained entries) and `audit_anchors`.
/// Appended in the transaction of the act; SQLite's single writer keeps the chain in order.
extension SQLiteCentralStorage {
    /// Appends entries recording that `actor` touched `cases`, on `db` (inside the caller's
    /// transaction), chained to the last entry.
    static func appendAudit(_ db: Database, cases: [RecordID], by actor: AuditActor) throws {
        guard !cases.isEmpty else { return }
        let head = try Row.fetchOne(db, sql: "SELECT number, hash FROM audit_log ORDER BY number DESC LIMIT 1")
        let entries = AuditChain.entries(
            after: (head?["number"] ?? 0, head?["hash"] ?? AuditChain.origin), at: Instant(Date()), cases: cases,
            actor: actor)
        // Straight through SQLite (``HotStatement``): a push appends one entry per case it stored.
        let insert = try HotStatement(
            db,
            """
            INSERT INTO audit_log (number, at, who, authorities, case_id, action, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        for entry in entries {
            insert.bind(entry.number, at: 1)
            insert.bind(entry.at, at: 2)
            insert.bind(entry.who, at: 3)
            insert.bind(entry.authorities, at: 4)
            insert.bind(entry.caseID, at: 5)
            insert.bind(entry.action, at: 6)
            insert.bind(entry.hash, at: 7)
            try insert.execute()
        }
    }

    public func audit(_ cases: [RecordID], by actor: AuditActor) async throws(CentralError) {
        guard !cases.isEmpty else { return }
        try await write { db in try Self.appendAudit(db, cases: cases, by: actor) }
    }

    public func auditEntries(after number: Int64, limit: Int) async throws(CentralError) -> [AuditRecord] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT number, at, who, authorities, case_id, action, hash FROM audit_log
                    WHERE number > ? ORDER BY number LIMIT ?
                    """, arguments: [number, limit]
            ).map(Self.auditRecord)
        }
    }

    public func auditEntries(
        of id: RecordID, after number: Int64, limit: Int
    ) async throws(CentralError)
        -> [AuditRecord]
    {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT number, at, who, authorities, case_id, action, hash FROM audit_log
                    WHERE case_id = ? AND number > ? ORDER BY number LIMIT ?
                    """, arguments: [id.rawValue, number, max(0, limit)]
            ).map(Self.auditRecord)
        }
    }

    public func auditHead() async throws(CentralError) -> (number: Int64, hash: String) {
        try await read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT number, hash FROM audit_log ORDER BY number DESC LIMIT 1")
            else { return (0, AuditChain.origin) }
            return (row["number"], row["hash"])
        }
    }

    public func keepAnchor(_ anchor: AuditAnchor) async throws(CentralError) {
        try await write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO audit_anchors (number, line) VALUES (?, ?)",
                arguments: [anchor.number, anchor.line])
        }
    }

    public func auditAnchors() async throws(CentralError) -> [AuditAnchor] {
        let lines = try await read { db in
            try String.fetchAll(db, sql: "SELECT line FROM audit_anchors ORDER BY number")
        }
        return try lines.map { line throws(CentralError) in
            guard let anchor = AuditAnchor(line: line) else {
                throw CentralError(.storage, "an audit anchor kept in the database cannot be read: \(line)")
            }
            return anchor
        }
    }

    /// An entry as its row holds it.
    static func auditRecord(_ row: Row) -> AuditRecord {
        AuditRecord(
            number: row["number"], at: row["at"], who: row["who"], authorities: row["authorities"],
            caseID: row["case_id"], action: row["action"], hash: row["hash"])
    }
}
