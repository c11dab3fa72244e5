public import Central
import Foundation
import Logging
import PostgresNIO
import Referrals
public import Replication

/// The audit log in PostgreSQL: `audit_log` (the chained entries) and `audit_anchors`. Appended
/// in the transaction of the act, under an advisory lock of its own, so entries from every
/// server join one chain in order.
extension PostgresCentralStorage {
    /// The advisory lock key that orders the appenders to the audit log.
    static let auditLock: Int64 = 0x6564_7404

    /// Appends entries recording that `actor` touched `cases`, on `connection` (inside the
    /// caller's transaction), chained to the last entry.
    static func appendAudit(
        on connection: PostgresConnection, cases: [RecordID], by actor: AuditActor, logger: Logger
    ) async throws {
        guard !cases.isEmpty else { return }
        try await connection.query("SELECT pg_advisory_xact_lock(\(auditLock))", logger: logger)
        var head: (Int64, String) = (0, AuditChain.origin)
        if let row = try await connection.query(
            "SELECT number, hash FROM audit_log ORDER BY number DESC LIMIT 1", logger: logger
        ).collect().first {
            head = try row.decode((Int64, String).self)
        }
        let entries = AuditChain.entries(after: head, at: Instant(Date()), cases: cases, actor: actor)
        try await connection.query(
            """
            INSERT INTO audit_log (number, at, who, authorities, case_id, action, hash)
            SELECT * FROM unnest(\(entries.map(\.number))::BIGINT[], \(entries.map(\.at))::TEXT[],
                \(entries.map(\.who))::TEXT[], \(entries.map(\.authorities))::TEXT[], \(entries.map(\.caseID))::TEXT[],
                \(entries.map(\.action))::TEXT[], \(entries.map(\.hash))::TEXT[])
            """, logger: logger)
    }

    public func audit(_ cases: [RecordID], by actor: AuditActor) async throws(CentralError) {
        guard !cases.isEmpty else { return }
        let logger = self.logger
        try await withTransaction { connection in
            try await Self.appendAudit(on: connection, cases: cases, by: actor, logger: logger)
        }
    }

    public func auditEntries(after number: Int64, limit: Int) async throws(CentralError) -> [AuditRecord] {
        let count = Int64(limit)
        return try await records(
            """
            SELECT number, at, who, authorities, case_id, action, hash FROM audit_log
            WHERE number > \(number) ORDER BY number LIMIT \(count)
            """)
    }

    public func auditEntries(
        of id: RecordID, after number: Int64, limit: Int
    ) async throws(CentralError)
        -> [AuditRecord]
    {
        let text = id.rawValue
        let count = Int64(max(0, limit))
        return try await records(
            """
            SELECT number, at, who, authorities, case_id, action, hash FROM audit_log
            WHERE case_id = \(text) AND number > \(number) ORDER BY number LIMIT \(count)
            """)
    }

    public func auditHead() async throws(CentralError) -> (number: Int64, hash: String) {
        let row = try await withConnection { connection in
            try await connection.query(
                "SELECT number, hash FROM audit_log ORDER BY number DESC LIMIT 1", logger: self.logger
            ).collect().first
        }
        guard let row else { return (0, AuditChain.origin) }
        do {
            return try row.decode((Int64, String).self)
        } catch {
            throw mapped(error)
        }
    }

    public func keepAnchor(_ anchor: AuditAnchor) async throws(CentralError) {
        let number = anchor.number
        let line = anchor.line
        try await withConnection { connection in
            try await connection.query(
                "INSERT INTO audit_anchors (number, line) VALUES (\(number), \(line)) ON CONFLICT DO NOTHING",
                logger: self.logger)
        }
    }

    public func auditAnchors() async throws(CentralError) -> [AuditAnchor] {
        let lines = try await strings("SELECT line FROM audit_anchors ORDER BY number")
        return try lines.map { line throws(CentralError) in
            guard let anchor = AuditAnchor(line: line) else {
                throw CentralError(.storage, "an audit anchor kept in the database cannot be read: \(line)")
            }
            return anchor
        }
    }

    /// The entries `query` selects (number, at, who, authorities, case_id, action, hash).
    private func records(_ query: PostgresQuery) async throws(CentralError) -> [AuditRecord] {
        try await withConnection { connection in
            var records: [AuditRecord] = []
            for try await (number, at, who, authorities, caseID, action, hash) in try await connection.query(
                query, logger: self.logger
            ).decode((Int64, String, String, String, String, String, String).self) {
                records.append(
                    AuditRecord(
                        number: number, at: at, who: who, authorities: authorities, caseID: caseID, action: action,
                        hash: hash))
            }
            return records
        }
    }
}
