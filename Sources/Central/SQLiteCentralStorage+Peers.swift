import Foundation
import GRDB
import Referrals
public import Replication

/// Peer centres in the SQLite database: enrolled in `devices` with their URL (`peer_url`), what
/// each acknowledged in `peer_sent`, and how forwarding to each stands in `peer_state`.
extension SQLiteCentralStorage {
    public func addPeer(_ peer: PeerCentre) async throws(CentralError) {
        let device = peer.device
        try peer.checkEnrolable(at: try centreDevice)
        let authorities = device.authorities.sorted().joined(separator: " ")
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO devices (id, public_key, authorities, revoked, peer_url) VALUES (?, ?, ?, 0, ?)
                    ON CONFLICT(id) DO UPDATE SET public_key = excluded.public_key, authorities = excluded.authorities,
                        revoked = 0, peer_url = excluded.peer_url,
                        last_counter = CASE WHEN devices.public_key = excluded.public_key THEN devices.last_counter ELSE 0 END
                    """,
                arguments: [device.id.rawValue, Data(device.publicKey), authorities, peer.url])
        }
    }

    public func peers(includingRemoved: Bool) async throws(CentralError) -> [PeerCentre] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, public_key, authorities, revoked, peer_url FROM devices
                    WHERE peer_url IS NOT NULL \(includingRemoved ? "" : "AND revoked = 0") ORDER BY id
                    """
            ).compactMap { row in
                guard let id = try? DeviceID(row["id"] as String) else { return nil }
                return PeerCentre(Self.enrolledDevice(id: id, row))
            }
        }
    }

    public func casesToForward(
        to peer: DeviceID, authorities: Set<String>, after sequence: Int64, limit: Int
    ) async throws(CentralError) -> [(id: RecordID, sequence: Int64)] {
        let codes = authorities.sorted()
        guard !codes.isEmpty, limit > 0 else { return [] }
        let rows = try await read { db in
            var arguments: StatementArguments = [peer.rawValue]
            arguments += StatementArguments(codes)
            arguments += [sequence, limit]
            return try Row.fetchAll(
                db,
                sql: "SELECT c.id, c.sequence " + Self.toForward(codes.count)
                    + " AND c.sequence > ? ORDER BY c.sequence LIMIT ?",
                arguments: arguments
            ).map { row -> (String, Int64) in (row[0], row[1]) }
        }
        return try rows.map { row throws(CentralError) in (try RecordID(storedCaseID: row.0), row.1) }
    }

    public func countCasesToForward(to peer: DeviceID, authorities: Set<String>) async throws(CentralError) -> Int {
        let codes = authorities.sorted()
        guard !codes.isEmpty else { return 0 }
        return try await read { db in
            var arguments: StatementArguments = [peer.rawValue]
            arguments += StatementArguments(codes)
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) " + Self.toForward(codes.count), arguments: arguments)
                ?? 0
        }
    }

    /// The cases to forward to a peer (`?`, then `authorities` codes), from `FROM` on: those the
    /// peer has not acknowledged as they are now, that an authority it serves sees or left
    /// since it last acknowledged them.
    private static func toForward(_ authorities: Int) -> String {
        let marks = Array(repeating: "?", count: authorities).joined(separator: ",")
        return """
            FROM cases c LEFT JOIN peer_sent s ON s.peer = ? AND s.case_id = c.id
            WHERE c.sequence > COALESCE(s.sequence, 0)
            AND EXISTS (
                SELECT 1 FROM case_authorities a WHERE a.case_id = c.id AND a.authority IN (\(marks))
                AND (a.left_at IS NULL OR (s.sequence IS NOT NULL AND a.left_at > s.sequence)))
            """
    }

    public func encodedCases(
        _ ids: [RecordID]
    ) async throws(CentralError) -> [(id: RecordID, sequence: Int64, body: [UInt8])] {
        let texts = ids.map(\.rawValue)
        let rows = try await read { db in
            let statement = try db.cachedStatement(sql: "SELECT sequence, body FROM cases WHERE id = ?")
            return try texts.map { id -> (String, Int64, Data)? in
                guard let row = try Row.fetchOne(statement, arguments: [id]) else { return nil }
                return (id, row["sequence"], row["body"])
            }
        }
        return rows.compactMap { row in
            guard let row, let id = try? RecordID(row.0) else { return nil }
            return (id, row.1, Array(row.2))
        }
    }

    public func markForwarded(to peer: DeviceID, _ cases: [(id: RecordID, sequence: Int64)]) async throws(CentralError)
    {
        let rows = cases.map { ($0.id.rawValue, $0.sequence) }
        try await write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO peer_sent (peer, case_id, sequence) VALUES (?, ?, ?)
                    ON CONFLICT(peer, case_id) DO UPDATE SET sequence = MAX(sequence, excluded.sequence)
                    """)
            for (id, sequence) in rows { try statement.execute(arguments: [peer.rawValue, id, sequence]) }
        }
    }

    public func startForwardingOver(to peer: DeviceID) async throws(CentralError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM peer_sent WHERE peer = ?", arguments: [peer.rawValue])
            try db.execute(sql: "UPDATE peer_state SET cursor = NULL WHERE peer = ?", arguments: [peer.rawValue])
        }
    }

    public func forwardingState(of peer: DeviceID) async throws(CentralError) -> ForwardingState {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT cursor, last_success, problem, retry_at, failures FROM peer_state WHERE peer = ?",
                    arguments: [peer.rawValue])
            else { return ForwardingState() }
            let success: String? = row["last_success"]
            let retry: Int64? = row["retry_at"]
            return ForwardingState(
                cursor: row["cursor"], lastSuccess: success.flatMap(Instant.init(iso8601:)), problem: row["problem"],
                retryAt: retry.map { Instant(secondsSinceEpoch: $0) }, failures: row["failures"])
        }
    }

    public func setForwardingState(_ state: ForwardingState, of peer: DeviceID) async throws(CentralError) {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO peer_state (peer, cursor, last_success, problem, retry_at, failures) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(peer) DO UPDATE SET cursor = excluded.cursor, last_success = excluded.last_success,
                        problem = excluded.problem, retry_at = excluded.retry_at, failures = excluded.failures
                    """,
                arguments: [
                    peer.rawValue, state.cursor, state.lastSuccess?.written(offsetSeconds: 0), state.problem,
                    state.retryAt?.secondsSinceEpoch, state.failures,
                ])
        }
    }

    public func nextRequestCounter() async throws(CentralError) -> UInt64 {
        try await nextCounter("request-counter", what: "request counter")
    }
}
