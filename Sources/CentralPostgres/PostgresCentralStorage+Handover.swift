public import Central
import LineProtocol
import NIOCore
import PostgresNIO
public import Referrals
public import Replication

/// Kept handover packages and their addenda, what each authority sees and left, and the
/// forwarded cases the clock escalates, in PostgreSQL.
extension PostgresCentralStorage {
    /// The advisory lock key that orders the keepers of addenda (two looks at once).
    static let addendaLock: Int64 = 0x6564_7403

    public func keep(_ package: KeptPackage) async throws(CentralError) -> Bool {
        let opensAt = package.opensAt.secondsSinceEpoch
        let opensText = package.opensAt.written(offsetSeconds: 0)
        let builtText = package.builtAt.written(offsetSeconds: 0)
        let json = ByteBuffer(bytes: package.json)
        let html = ByteBuffer(bytes: package.html)
        let cases = package.cases.map(\.rawValue)
        let authority = package.authority
        let logger = self.logger
        return try await withTransaction { connection in
            let kept =
                try await connection.query(
                    """
                    INSERT INTO handover_packages (authority, opens_at, opens_at_text, built_at, package, html)
                    VALUES (\(authority), \(opensAt), \(opensText), \(builtText), \(json), \(html))
                    ON CONFLICT DO NOTHING RETURNING authority
                    """, logger: logger
                ).collect().count > 0
            // A package for that opening was kept already: the first one stands, whole.
            guard kept else { return false }
            try await connection.query(
                """
                INSERT INTO handover_package_cases (authority, opens_at, case_id)
                SELECT \(authority), \(opensAt), id FROM unnest(\(cases)::TEXT[]) AS t(id)
                """, logger: logger)
            return true
        }
    }

    public func keptPackage(authority: String, opensAt: Instant) async throws(CentralError) -> KeptPackage? {
        let seconds = opensAt.secondsSinceEpoch
        let logger = self.logger
        let found = try await withTransaction { connection -> (String, String, ByteBuffer, ByteBuffer, [String])? in
            guard
                let row = try await connection.query(
                    """
                    SELECT opens_at_text, built_at, package, html FROM handover_packages
                    WHERE authority = \(authority) AND opens_at = \(seconds)
                    """, logger: logger
                ).collect().first
            else { return nil }
            let (opens, built, json, html) = try row.decode((String, String, ByteBuffer, ByteBuffer).self)
            var ids: [String] = []
            for try await id in try await connection.query(
                """
                SELECT case_id FROM handover_package_cases WHERE authority = \(authority) AND opens_at = \(seconds)
                ORDER BY case_id
                """, logger: logger
            ).decode(String.self) {
                ids.append(id)
            }
            return (opens, built, json, html, ids)
        }
        guard let found else { return nil }
        guard let opens = Instant(iso8601: found.0), let built = Instant(iso8601: found.1),
            let cases = try? found.4.map({ try RecordID($0) })
        else {
            throw CentralError(
                .storage, "the package kept for \(authority) at \(opensAt) cannot be read: the database was damaged")
        }
        return KeptPackage(
            authority: authority, opensAt: opens, builtAt: built, cases: cases,
            json: Array(found.2.readableBytesView), html: Array(found.3.readableBytesView))
    }

    public func keptOpenings(of authority: String) async throws(CentralError) -> [Instant] {
        try await strings(
            "SELECT opens_at_text FROM handover_packages WHERE authority = \(authority) ORDER BY opens_at"
        ).compactMap(Instant.init(iso8601:))
    }

    public func keepAddendum(_ addendum: KeptPackage) async throws(CentralError) -> Int {
        let authority = addendum.authority
        let opensAt = addendum.opensAt.secondsSinceEpoch
        let builtText = addendum.builtAt.written(offsetSeconds: 0)
        let cases = addendum.cases.map(\.rawValue)
        let caseList = cases.joined(separator: " ")
        let json = ByteBuffer(bytes: addendum.json)
        let html = ByteBuffer(bytes: addendum.html)
        let logger = self.logger
        return try await withTransaction { connection in
            // Two looks at once may both find the same late cases: the first one's addendum stands.
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.addendaLock))", logger: logger)
            var already: Set<String> = []
            for try await id in try await connection.query(
                """
                SELECT case_id FROM handover_package_cases WHERE authority = \(authority) AND opens_at = \(opensAt)
                """, logger: logger
            ).decode(String.self) {
                already.insert(id)
            }
            guard cases.contains(where: { !already.contains($0) }) else { return 0 }
            let last =
                try await connection.query(
                    """
                    SELECT COALESCE(MAX(number), 0)::BIGINT FROM handover_addenda
                    WHERE authority = \(authority) AND opens_at = \(opensAt)
                    """, logger: logger
                ).collect().first?.decode(Int64.self) ?? 0
            let number = Int(last) + 1
            try await connection.query(
                """
                INSERT INTO handover_addenda (authority, opens_at, number, built_at, cases, package, html)
                VALUES (\(authority), \(opensAt), \(number), \(builtText), \(caseList), \(json), \(html))
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO handover_package_cases (authority, opens_at, case_id)
                SELECT \(authority), \(opensAt), id FROM unnest(\(cases)::TEXT[]) AS t(id)
                ON CONFLICT DO NOTHING
                """, logger: logger)
            return number
        }
    }

    public func addenda(authority: String, opensAt: Instant) async throws(CentralError) -> [KeptPackage] {
        let seconds = opensAt.secondsSinceEpoch
        let rows = try await withConnection { connection in
            var rows: [(String, String, ByteBuffer, ByteBuffer)] = []
            for try await row in try await connection.query(
                """
                SELECT built_at, cases, package, html FROM handover_addenda
                WHERE authority = \(authority) AND opens_at = \(seconds) ORDER BY number
                """, logger: self.logger
            ).decode((String, String, ByteBuffer, ByteBuffer).self) {
                rows.append(row)
            }
            return rows
        }
        return try rows.map { (builtText, caseList, json, html) throws(CentralError) in
            guard let built = Instant(iso8601: builtText),
                let cases = try? caseList.split(separator: " ").map({ try RecordID(String($0)) })
            else {
                throw CentralError(
                    .storage, "an addendum kept for \(authority) at \(opensAt) cannot be read: the database was damaged"
                )
            }
            return KeptPackage(
                authority: authority, opensAt: opensAt, builtAt: built, cases: cases,
                json: Array(json.readableBytesView), html: Array(html.readableBytesView))
        }
    }

    public func wasHandedOver(_ id: RecordID, to authority: String) async throws(CentralError) -> Bool {
        try await firstHandedOver(id, to: authority) != nil
    }

    public func firstHandedOver(_ id: RecordID, to authority: String) async throws(CentralError) -> Instant? {
        let text = id.rawValue
        let seconds = try await withConnection { connection in
            try await connection.query(
                """
                SELECT MIN(opens_at) FROM handover_package_cases WHERE case_id = \(text) AND authority = \(authority)
                """, logger: self.logger
            ).collect().first?.decode(Int64?.self)
        }
        return seconds.flatMap { $0 }.map { Instant(secondsSinceEpoch: $0) }
    }

    public func handedOverUnaccepted(
        to authority: String, before opensAt: Instant
    ) async throws(CentralError) -> [RecordID] {
        let seconds = opensAt.secondsSinceEpoch
        return try caseIDs(
            try await strings(
                """
                SELECT DISTINCT p.case_id FROM handover_package_cases p JOIN cases c ON c.id = p.case_id
                WHERE p.authority = \(authority) AND p.opens_at < \(seconds)
                AND (NOT c.accepted OR c.awaiting_home = \(authority))
                ORDER BY p.case_id
                """))
    }

    public func unacceptedCases<Reading: Sendable>(
        of authority: String, reading: @escaping @Sendable ([Replication.Record]) -> Reading
    ) async throws(CentralError) -> [Reading] {
        try await withConnection { connection in
            // Each batch of rows is decoded and read on another core while the next ones arrive.
            let decoding = StoredCases.Decoding(reading)
            for try await (id, body) in try await connection.query(
                """
                SELECT cases.id, cases.body FROM case_authorities JOIN cases ON cases.id = case_authorities.case_id
                WHERE case_authorities.authority = \(authority) AND case_authorities.left_at IS NULL
                AND (NOT cases.accepted OR cases.awaiting_home = \(authority))
                ORDER BY case_authorities.case_id
                """, logger: self.logger
            ).decode((String, ByteBuffer).self) {
                await decoding.adding(id: id, body: Array(body.readableBytesView))
            }
            return try await decoding.results()
        }
    }

    public func authoritiesWithCases() async throws(CentralError) -> [String] {
        try await strings(
            "SELECT DISTINCT authority FROM case_authorities WHERE left_at IS NULL ORDER BY authority")
    }

    public func departedCases(
        authorities: Set<String>, after sequence: Int64, upTo: Int64, limit: Int
    ) async throws(CentralError) -> [DepartedCase] {
        let codes = authorities.sorted()
        guard !codes.isEmpty, upTo > sequence, limit > 0 else { return [] }
        return try await caseIDsAndNumbers(
            """
            SELECT a.case_id, MIN(a.left_at) AS departed FROM case_authorities a
            WHERE a.authority = ANY(\(codes)) AND a.left_at > \(sequence) AND a.left_at <= \(upTo)
            AND NOT EXISTS (
                SELECT 1 FROM case_authorities b
                WHERE b.case_id = a.case_id AND b.authority = ANY(\(codes)) AND b.left_at IS NULL)
            GROUP BY a.case_id
            ORDER BY departed, a.case_id
            LIMIT \(Int64(limit))
            """
        ).map { DepartedCase(id: $0.id, sequence: $0.number) }
    }

    public func casesDueForEscalation(by instant: Instant) async throws(CentralError) -> [(id: RecordID, at: Instant)] {
        let seconds = instant.secondsSinceEpoch
        return try await caseIDsAndNumbers(
            """
            SELECT id, escalates_at FROM cases WHERE escalates_at IS NOT NULL AND escalates_at <= \(seconds)
            ORDER BY escalates_at, id
            """
        ).map { (id: $0.id, at: Instant(secondsSinceEpoch: $0.number)) }
    }

    public func nextEscalation() async throws(CentralError) -> Instant? {
        let seconds = try await withConnection { connection in
            try await connection.query(
                "SELECT MIN(escalates_at) FROM cases WHERE escalates_at IS NOT NULL", logger: self.logger
            ).collect().first?.decode(Int64?.self)
        }
        return seconds.flatMap { $0 }.map { Instant(secondsSinceEpoch: $0) }
    }

    // MARK: - Helpers

    /// The first column of every row of `query`, as text.
    func strings(_ query: PostgresQuery) async throws(CentralError) -> [String] {
        try await withConnection { connection in
            var values: [String] = []
            for try await value in try await connection.query(query, logger: self.logger).decode(String.self) {
                values.append(value)
            }
            return values
        }
    }

    /// `ids` as case ids (``Replication/RecordID/init(storedCaseID:)``).
    func caseIDs(_ ids: [String]) throws(CentralError) -> [RecordID] {
        try ids.map { id throws(CentralError) in try RecordID(storedCaseID: id) }
    }

    /// The rows of `query`, whose first column is a case id and second a number, in order.
    func caseIDsAndNumbers(_ query: PostgresQuery) async throws(CentralError) -> [(id: RecordID, number: Int64)] {
        let rows = try await withConnection { connection in
            var rows: [(String, Int64)] = []
            for try await row in try await connection.query(query, logger: self.logger).decode((String, Int64).self) {
                rows.append(row)
            }
            return rows
        }
        return try rows.map { row throws(CentralError) in (try RecordID(storedCaseID: row.0), row.1) }
    }
}
