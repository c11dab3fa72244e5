public import Central
import Logging
import NIOCore
import PostgresNIO
import Referrals
public import Replication

/// Peer centres in PostgreSQL: enrolled in `devices` with their URL (`peer_url`), what each
/// acknowledged in `peer_sent`, and how forwarding to each stands in `peer_state`.
extension PostgresCentralStorage {
    public func addPeer(_ peer: PeerCentre) async throws(CentralError) {
        let device = peer.device
        try peer.checkEnrolable(at: try centreDevice)
        try await upsertDevice(device, peerURL: peer.url)
    }

    public func peers(includingRemoved: Bool) async throws(CentralError) -> [PeerCentre] {
        let query: PostgresQuery =
            includingRemoved
            ? "SELECT id, public_key, authorities, revoked, peer_url FROM devices WHERE peer_url IS NOT NULL ORDER BY id"
            : """
            SELECT id, public_key, authorities, revoked, peer_url FROM devices
            WHERE peer_url IS NOT NULL AND NOT revoked ORDER BY id
            """
        return try await withConnection { connection in
            var peers: [PeerCentre] = []
            for row in try await connection.query(query, logger: self.logger).collect() {
                let columns = row.makeRandomAccess()
                guard let id = try? DeviceID(columns[0].decode(String.self)) else { continue }
                let (_, key, authorities, revoked, url) = try row.decode(
                    (String, ByteBuffer, String, Bool, String?).self)
                let device = EnrolledDevice(
                    id: id, publicKey: Array(key.readableBytesView),
                    authorities: Set(authorities.split(separator: " ").map(String.init)), revoked: revoked,
                    peerURL: url)
                if let peer = PeerCentre(device) { peers.append(peer) }
            }
            return peers
        }
    }

    public func casesToForward(
        to peer: DeviceID, authorities: Set<String>, after sequence: Int64, limit: Int
    ) async throws(CentralError) -> [(id: RecordID, sequence: Int64)] {
        let codes = authorities.sorted()
        guard !codes.isEmpty, limit > 0 else { return [] }
        let name = peer.rawValue
        return try await caseIDsAndNumbers(
            """
            SELECT c.id, c.sequence FROM cases c LEFT JOIN peer_sent s ON s.peer = \(name) AND s.case_id = c.id
            WHERE c.sequence > COALESCE(s.sequence, 0) AND c.sequence > \(sequence)
            AND EXISTS (
                SELECT 1 FROM case_authorities a WHERE a.case_id = c.id AND a.authority = ANY(\(codes))
                AND (a.left_at IS NULL OR (s.sequence IS NOT NULL AND a.left_at > s.sequence)))
            ORDER BY c.sequence LIMIT \(Int64(limit))
            """
        ).map { (id: $0.id, sequence: $0.number) }
    }

    public func countCasesToForward(to peer: DeviceID, authorities: Set<String>) async throws(CentralError) -> Int {
        let codes = authorities.sorted()
        guard !codes.isEmpty else { return 0 }
        let name = peer.rawValue
        let count: Int64 = try await withConnection { connection in
            let row = try await connection.query(
                """
                SELECT COUNT(*)::BIGINT FROM cases c LEFT JOIN peer_sent s ON s.peer = \(name) AND s.case_id = c.id
                WHERE c.sequence > COALESCE(s.sequence, 0)
                AND EXISTS (
                    SELECT 1 FROM case_authorities a WHERE a.case_id = c.id AND a.authority = ANY(\(codes))
                    AND (a.left_at IS NULL OR (s.sequence IS NOT NULL AND a.left_at > s.sequence)))
                """, logger: self.logger
            ).collect().first
            return try row?.decode(Int64.self) ?? 0
        }
        return Int(count)
    }

    public func encodedCases(
        _ ids: [RecordID]
    ) async throws(CentralError) -> [(id: RecordID, sequence: Int64, body: [UInt8])] {
        let texts = ids.map(\.rawValue)
        let found = try await withConnection { connection in
            var found: [String: (Int64, [UInt8])] = [:]
            for try await (id, sequence, body) in try await connection.query(
                "SELECT id, sequence, body FROM cases WHERE id = ANY(\(texts))", logger: self.logger
            ).decode((String, Int64, ByteBuffer).self) {
                found[id] = (sequence, Array(body.readableBytesView))
            }
            return found
        }
        return ids.compactMap { id in found[id.rawValue].map { (id, $0.0, $0.1) } }
    }

    public func markForwarded(to peer: DeviceID, _ cases: [(id: RecordID, sequence: Int64)]) async throws(CentralError)
    {
        // One row per case (the highest number), as one statement may not touch a row twice.
        var highest: [String: Int64] = [:]
        for (id, sequence) in cases { highest[id.rawValue] = max(highest[id.rawValue] ?? 0, sequence) }
        guard !highest.isEmpty else { return }
        let ids = Array(highest.keys)
        let sequences = ids.map { highest[$0] ?? 0 }
        let name = peer.rawValue
        try await withConnection { connection in
            try await connection.query(
                """
                INSERT INTO peer_sent (peer, case_id, sequence)
                SELECT \(name), id, sequence FROM unnest(\(ids)::TEXT[], \(sequences)::BIGINT[]) AS t(id, sequence)
                ON CONFLICT (peer, case_id) DO UPDATE SET sequence = GREATEST(peer_sent.sequence, excluded.sequence)
                """, logger: self.logger)
        }
    }

    public func startForwardingOver(to peer: DeviceID) async throws(CentralError) {
        let name = peer.rawValue
        let logger = self.logger
        try await withTransaction { connection in
            try await connection.query("DELETE FROM peer_sent WHERE peer = \(name)", logger: logger)
            try await connection.query("UPDATE peer_state SET cursor = NULL WHERE peer = \(name)", logger: logger)
        }
    }

    public func forwardingState(of peer: DeviceID) async throws(CentralError) -> ForwardingState {
        let name = peer.rawValue
        return try await withConnection { connection in
            guard
                let row = try await connection.query(
                    "SELECT cursor, last_success, problem, retry_at, failures FROM peer_state WHERE peer = \(name)",
                    logger: self.logger
                ).collect().first
            else { return ForwardingState() }
            let (cursor, success, problem, retry, failures) = try row.decode(
                (String?, String?, String?, Int64?, Int32).self)
            return ForwardingState(
                cursor: cursor, lastSuccess: success.flatMap(Instant.init(iso8601:)), problem: problem,
                retryAt: retry.map { Instant(secondsSinceEpoch: $0) }, failures: Int(failures))
        }
    }

    public func setForwardingState(_ state: ForwardingState, of peer: DeviceID) async throws(CentralError) {
        let name = peer.rawValue
        let success = state.lastSuccess?.written(offsetSeconds: 0)
        let retry = state.retryAt?.secondsSinceEpoch
        let failures = Int32(clamping: state.failures)
        try await withConnection { connection in
            try await connection.query(
                """
                INSERT INTO peer_state (peer, cursor, last_success, problem, retry_at, failures)
                VALUES (\(name), \(state.cursor), \(success), \(state.problem), \(retry), \(failures))
                ON CONFLICT (peer) DO UPDATE SET cursor = excluded.cursor, last_success = excluded.last_success,
                    problem = excluded.problem, retry_at = excluded.retry_at, failures = excluded.failures
                """, logger: self.logger)
        }
    }
}
