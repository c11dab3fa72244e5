public import Central
import LineProtocol
import Logging
import NIOCore
import PostgresNIO
import Referrals
public import Replication

/// Cases in PostgreSQL: stored a push at a time under the writers' advisory lock, listed and read
/// for pulls from one snapshot.
extension PostgresCentralStorage {
    public func store(
        _ parts: [PreparedPart], by actor: AuditActor, check: @escaping PartCheck
    ) async throws(CentralError) -> [StoredOutcome] {
        guard parts.contains(where: { $0.rejection == nil }) else {
            return parts.map { .rejected($0.part.id, $0.rejection ?? .init(.invalid, message: "refused")) }
        }
        let centreKey = self.centreKey
        let centreDevice = HandoverAcceptance.centreDevicePrefix + identity
        let logger = self.logger
        return try await withTransaction { connection in
            // One writer at a time, whichever server: numbers are given and committed in order.
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.casesLock))", logger: logger)
            let newest = try await Self.newest(on: connection, logger: logger)
            var peerKeys: [String: [UInt8]] = [:]
            for try await (id, key) in try await connection.query(
                "SELECT id, public_key FROM devices WHERE peer_url IS NOT NULL", logger: logger
            ).decode((String, ByteBuffer).self) {
                peerKeys[id] = Array(key.readableBytesView)
            }
            let centreKeyOf: (DeviceID) -> [UInt8]? = { device in
                device.rawValue == centreDevice ? centreKey : peerKeys[device.rawValue]
            }
            // The stored cases the push touches, in one query.
            let ids = Array(Set(parts.lazy.filter { $0.rejection == nil }.map(\.part.id.rawValue)))
            var stored: [String: StoredState] = [:]
            for try await (id, sequence, body) in try await connection.query(
                "SELECT id, sequence, body FROM cases WHERE id = ANY(\(ids))", logger: logger
            ).decode((String, Int64, ByteBuffer).self) {
                stored[id] = StoredState(sequence: sequence, body: Array(body.readableBytesView))
            }
            var batch = StoreBatch(sequence: newest, stored: stored)
            var outcomes: [StoredOutcome] = []
            outcomes.reserveCapacity(parts.count)
            for prepared in parts {
                outcomes.append(
                    try batch.merge(
                        prepared, check: check, centreKey: centreKey, centreKeyOf: centreKeyOf,
                        centreDevice: centreDevice))
            }
            try await batch.write(on: connection, logger: logger)
            try await Self.appendAudit(on: connection, cases: batch.written, by: actor, logger: logger)
            return outcomes
        }
    }

    public func storedCase(_ id: RecordID) async throws(CentralError) -> Replication.Record? {
        let text = id.rawValue
        let body = try await withConnection { connection in
            try await connection.query("SELECT body FROM cases WHERE id = \(text)", logger: self.logger)
                .collect().first?.decode(ByteBuffer.self)
        }
        guard let body else { return nil }
        do {
            return try RecordCoding.decode(Array(body.readableBytesView), id: id)
        } catch {
            throw CentralError(.storage, "case \(id) is stored in a form that cannot be read: \(error)")
        }
    }

    public func listChanges(
        after sequence: Int64, authorities: Set<String>, limit: Int, byteBudget: Int, leavingOut: [Int64],
        leavingOutAcceptedUpTo: Int64?
    ) async throws(CentralError) -> ChangeListing {
        let codes = authorities.sorted()
        let gaps = SequenceGaps(after: sequence, leavingOut: leavingOut)
        let logger = self.logger
        return try await withTransaction { connection in
            // One snapshot for the newest number and every stretch read.
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            let newest = try await Self.newest(on: connection, logger: logger)
            guard !codes.isEmpty, newest > sequence else {
                return ChangeListing(changes: [], upTo: max(newest, sequence), more: false)
            }
            guard limit > 0 else { return ChangeListing(changes: [], upTo: sequence, more: true) }
            // Each gap is read in stretches: up to `leavingOutAcceptedUpTo` without the accepted
            // cases (through the index of the others), past it with them.
            let stretches = gaps.stretches(upTo: newest, acceptedUpTo: leavingOutAcceptedUpTo ?? 0)
            var changes: [ListedChange] = []
            var bytes = 0
            for stretch in stretches {
                // At most what is still wanted, plus one to know more follow.
                let (rowLimit, overflow) = Int64(limit - changes.count).addingReportingOverflow(1)
                let rows = overflow ? Int64.max : rowLimit
                let query: PostgresQuery =
                    stretch.unacceptedOnly
                    ? """
                    SELECT c.id, c.sequence, octet_length(c.body)::BIGINT FROM cases c
                    WHERE c.sequence > \(stretch.lower) AND c.sequence <= \(stretch.upper) AND NOT c.accepted
                    AND EXISTS (
                        SELECT 1 FROM case_authorities a WHERE a.case_id = c.id AND a.authority = ANY(\(codes))
                        AND a.left_at IS NULL)
                    ORDER BY c.sequence LIMIT \(rows)
                    """
                    : """
                    SELECT c.id, c.sequence, octet_length(c.body)::BIGINT FROM cases c
                    WHERE c.sequence > \(stretch.lower) AND c.sequence <= \(stretch.upper)
                    AND EXISTS (
                        SELECT 1 FROM case_authorities a WHERE a.case_id = c.id AND a.authority = ANY(\(codes))
                        AND a.left_at IS NULL)
                    ORDER BY c.sequence LIMIT \(rows)
                    """
                for row in try await connection.query(query, logger: logger).collect() {
                    let (id, number, size) = try row.decode((String, Int64, Int64).self)
                    let length = Int(size)
                    if changes.count == limit || (!changes.isEmpty && length > byteBudget - bytes) {
                        return ChangeListing(changes: changes, upTo: changes.last?.sequence ?? sequence, more: true)
                    }
                    bytes += length
                    changes.append(ListedChange(id: try RecordID(id), sequence: number, bytes: length))
                }
            }
            return ChangeListing(changes: changes, upTo: newest, more: false)
        }
    }

    public func read(_ listed: ArraySlice<ListedChange>) async throws(CentralError) -> [StoredCase] {
        guard !listed.isEmpty else { return [] }
        let numbers = listed.map(\.sequence)
        let found = try await withConnection { connection in
            // By the number of its last change (unique, never reused): a case changed since it
            // was listed is no longer there under that number.
            var found: [Int64: (id: String, version: String, body: [UInt8])] = [:]
            for try await (id, sequence, version, body) in try await connection.query(
                "SELECT id, sequence, version, body FROM cases WHERE sequence = ANY(\(numbers))", logger: self.logger
            ).decode((String, Int64, String, ByteBuffer).self) {
                found[sequence] = (id, version, Array(body.readableBytesView))
            }
            return found
        }
        return listed.compactMap { change in
            guard let row = found[change.sequence], row.id == change.id.rawValue else { return nil }
            return StoredCase(id: change.id, sequence: change.sequence, version: row.version, body: row.body)
        }
    }
}

/// A stored case as a push found it, or as an earlier part of the same push left it.
struct StoredState {
    var sequence: Int64
    var body: [UInt8]
    /// The case decoded, once it was needed.
    var record: Record?
    /// Who saw the case before this push (worked out from it as it was stored).
    var authoritiesBefore: Set<String>?
}

/// The parts of one push merged in memory, in order, then written with one statement per table.
struct StoreBatch {
    /// The last change number given.
    var sequence: Int64
    /// The cases as they stand, by id: as stored, then as each part left them.
    var stored: [String: StoredState]
    /// The cases this push changes, by id: their last number, version, body and index.
    var changed: [String: (sequence: Int64, version: String, body: [UInt8], index: CaseIndex)] = [:]
    /// The highest counter of the centre's own entries the push brought back.
    var centreCounter: UInt64 = 0
    /// The parts written, in order (for the audit log).
    var written: [RecordID] = []

    init(sequence: Int64, stored: [String: StoredState]) {
        self.sequence = sequence
        self.stored = stored
    }

    /// Merges one part into the case as it stands: as ``Central/CentralStorage/store(_:check:)``
    /// describes, the part's outcome.
    mutating func merge(
        _ prepared: PreparedPart, check: PartCheck, centreKey: [UInt8], centreKeyOf: (DeviceID) -> [UInt8]?,
        centreDevice: String
    ) throws -> StoredOutcome {
        let part = prepared.part
        if let rejection = prepared.rejection { return .rejected(part.id, rejection) }
        let id = part.id.rawValue
        var merged = part
        var before: Record?
        if var current = stored[id] {
            if current.body.elementsEqual(prepared.encoded) {
                // The part is the stored case, byte for byte: nothing to write, only the check.
                if let rejection = check(prepared, part, part) { return .rejected(part.id, rejection) }
                return .stored(part.id, sequence: current.sequence, version: part.version)
            }
            let existing = try current.record ?? RecordCoding.decode(current.body, id: part.id)
            current.record = existing
            if current.authoritiesBefore == nil {
                current.authoritiesBefore = CaseIndex.authorities(of: existing, centreKeyOf: centreKeyOf)
            }
            stored[id] = current
            before = existing
            merged = existing
            merged.formJoin(part)
        }
        if let rejection = check(prepared, before, merged) { return .rejected(part.id, rejection) }
        let body = before == nil ? Array(prepared.encoded) : RecordCoding.encode(merged)
        guard body.count <= PostgresCentralStorage.maximumCaseBytes else {
            return .rejected(
                part.id,
                .init(
                    .tooLarge,
                    message:
                        "the case would be \(body.count) bytes, over the \(PostgresCentralStorage.maximumCaseBytes) a sync line carries"
                ))
        }
        if let current = stored[id], current.body == body {
            // Already there (a re-sent part): acknowledged again, nothing written.
            return .stored(part.id, sequence: current.sequence, version: merged.version)
        }
        let index = CaseIndex(of: merged, centreKey: centreKey, centreKeyOf: centreKeyOf)
        if let counter = CaseIndex.highestCentreCounter(in: part, centreDevice: centreDevice) {
            centreCounter = max(centreCounter, counter)
        }
        sequence += 1
        let authoritiesBefore = stored[id]?.authoritiesBefore
        stored[id] = StoredState(
            sequence: sequence, body: body, record: merged,
            authoritiesBefore: authoritiesBefore ?? (before == nil ? [] : nil)
        )
        changed[id] = (sequence, Notation.text(merged.version), body, index)
        written.append(part.id)
        return .stored(part.id, sequence: sequence, version: merged.version)
    }

    /// Writes the changed cases, who sees them, and the centre's entry counter.
    func write(on connection: PostgresConnection, logger: Logger) async throws {
        guard !changed.isEmpty else { return }
        let rows = changed.sorted { $0.value.sequence < $1.value.sequence }
        let ids = rows.map(\.key)
        let sequences = rows.map(\.value.sequence)
        let versions = rows.map(\.value.version)
        let bodies = rows.map { ByteBuffer(bytes: $0.value.body) }
        let accepted = rows.map(\.value.index.accepted)
        // No NULL inside an array parameter: a sentinel each, turned back into NULL.
        let escalates = rows.map { $0.value.index.escalatesAt ?? Int64.min }
        let awaiting = rows.map { $0.value.index.awaitingHome ?? "" }
        try await connection.query(
            """
            INSERT INTO cases (id, sequence, version, body, accepted, escalates_at, awaiting_home)
            SELECT id, sequence, version, body, accepted, NULLIF(escalates, \(Int64.min)), NULLIF(awaiting, '')
            FROM unnest(\(ids)::TEXT[], \(sequences)::BIGINT[], \(versions)::TEXT[], \(bodies)::BYTEA[],
                \(accepted)::BOOLEAN[], \(escalates)::BIGINT[], \(awaiting)::TEXT[])
                AS t(id, sequence, version, body, accepted, escalates, awaiting)
            ON CONFLICT (id) DO UPDATE SET sequence = excluded.sequence, version = excluded.version,
                body = excluded.body, accepted = excluded.accepted, escalates_at = excluded.escalates_at,
                awaiting_home = excluded.awaiting_home
            """, logger: logger)
        // Who sees each case: an authority it left keeps its row with the change that removed it.
        var leftAuthorities: [String] = []
        var leftCases: [String] = []
        var leftAt: [Int64] = []
        var addedAuthorities: [String] = []
        var addedCases: [String] = []
        for (id, change) in rows {
            let before = stored[id]?.authoritiesBefore ?? []
            let after = change.index.authorities
            guard before != after else { continue }
            for authority in before.subtracting(after).sorted() {
                leftAuthorities.append(authority)
                leftCases.append(id)
                leftAt.append(change.sequence)
            }
            for authority in after.sorted() {
                addedAuthorities.append(authority)
                addedCases.append(id)
            }
        }
        if !leftCases.isEmpty {
            try await connection.query(
                """
                UPDATE case_authorities a SET left_at = t.left_at
                FROM unnest(\(leftAuthorities)::TEXT[], \(leftCases)::TEXT[], \(leftAt)::BIGINT[])
                    AS t(authority, case_id, left_at)
                WHERE a.authority = t.authority AND a.case_id = t.case_id
                """, logger: logger)
        }
        if !addedCases.isEmpty {
            try await connection.query(
                """
                INSERT INTO case_authorities (authority, case_id)
                SELECT * FROM unnest(\(addedAuthorities)::TEXT[], \(addedCases)::TEXT[])
                ON CONFLICT (authority, case_id) DO UPDATE SET left_at = NULL
                """, logger: logger)
        }
        if centreCounter > 0 {
            // An entry of the centre's own brought back (its database restored from an older
            // backup): its counter must not be given again.
            let counter = Int64(clamping: centreCounter)
            try await connection.query(
                """
                UPDATE meta SET value = \(counter)::TEXT WHERE key = 'entry-counter' AND value::BIGINT < \(counter)
                """, logger: logger)
        }
    }
}
