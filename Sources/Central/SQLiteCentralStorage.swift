public import Crypto
import Foundation
import GRDB
import Handover
import LineProtocol
public import Referrals
public import Replication
import Synchronization

/// The embedded central store: one SQLite file (WAL, `synchronous=FULL`, so a transaction that
/// returned is on disk).
///
/// Tables: `devices` (enrolment, last request counter), `cases` (each case's merged record in
/// canonical EDTLP JSON, with the sequence number of its last change and whether a day team has
/// accepted it), `case_authorities` (which authorities may see a case, for pulls),
/// `handover_packages` and `handover_package_cases` (the handover packages kept, and the cases
/// each handed over), `meta` (the identity, the signing key, the counter of the centre's entries),
/// `incarnation` (which life of the database this is, ``DatabaseIncarnation``).
///
/// Checkpoints (copying the log into the database file) run beside the writer, on a connection
/// of their own, once ``checkpointBytes`` have been stored since the last: a commit never waits
/// for one. Durability does not depend on them: a commit is on disk once the log is synced.
public final class SQLiteCentralStorage: CentralStorage {
    private let pool: DatabasePool
    public let path: String
    public let identity: String
    public let incarnation: UInt64
    public let signingKey: Curve25519.Signing.PrivateKey
    /// `signingKey`'s public half, raw: what a genuine acceptance verifies with.
    private let centreKey: [UInt8]
    /// Bytes of cases stored after which a checkpoint starts.
    public let checkpointBytes: Int
    /// The connection checkpoints run on, and whether one is running or due.
    private let checkpointer: DatabaseQueue
    private let checkpointState = CheckpointState()

    private final class CheckpointState: Sendable {
        struct Counts {
            var bytesSinceCheckpoint = 0
            var running = false
        }
        let counts = Mutex(Counts())
    }

    /// Opens (creating if needed) the database at `path`. A checkpoint starts once
    /// `checkpointBytes` of cases were stored since the last.
    public init(path: String, checkpointBytes: Int = 64 << 20) throws(CentralError) {
        self.path = path
        self.checkpointBytes = max(1, checkpointBytes)
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.prepareDatabase { db in
            // 16 KiB pages for a new database: cases are ~4 KB documents, four to a page rather
            // than one, so a push writes fewer pages (and log frames) per case. (An existing
            // database keeps its page size.)
            try db.execute(sql: "PRAGMA page_size = 16384")
            // FULL for the checkpointer's connection (GRDB leaves it as set here); the pool's
            // writer is set again once open, below.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // The writer keeps a page cache of 16 MiB (SQLite's default is 2 MiB): a group commit
            // of a few thousand cases keeps its pages in memory until it commits rather than
            // spilling them to the log along the way. A larger cache measured slower: it only
            // holds on to pages already committed, at the cost of fresh memory for each. Readers
            // scan: they keep the default.
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA cache_size = -16384") }
            // No checkpoint inside a commit: they run beside the writer (see checkpointIfDue).
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB turns the write-ahead log on after `prepareDatabase`, and with it sets
            // `synchronous = NORMAL`, under which a commit is not synced: a power cut could lose
            // cases already acknowledged. The writer is set back to FULL (the log synced on every
            // commit) before anything is written.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            checkpointer = try DatabaseQueue(path: path, configuration: configuration)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1") { db in
                try db.execute(
                    sql: """
                        CREATE TABLE devices (
                            id TEXT PRIMARY KEY NOT NULL,
                            public_key BLOB NOT NULL,
                            authorities TEXT NOT NULL,
                            revoked INTEGER NOT NULL DEFAULT 0,
                            last_counter INTEGER NOT NULL DEFAULT 0
                        );
                        CREATE TABLE cases (
                            id TEXT PRIMARY KEY NOT NULL,
                            sequence INTEGER NOT NULL UNIQUE,
                            version TEXT NOT NULL,
                            body BLOB NOT NULL
                        );
                        CREATE TABLE case_authorities (
                            authority TEXT NOT NULL,
                            case_id TEXT NOT NULL,
                            PRIMARY KEY (authority, case_id)
                        ) WITHOUT ROWID;
                        CREATE INDEX case_authorities_by_case ON case_authorities (case_id);
                        """)
            }
            migrator.registerMigration("identity") { db in
                try db.execute(sql: "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)")
                let identity = (0..<12).map { _ in String("0123456789abcdefghijklmnopqrstuvwxyz".randomElement() ?? "x")
                }.joined()
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('identity', ?)", arguments: [identity])
            }
            migrator.registerMigration("no case_authorities_by_case") { db in
                // A case's authorities are removed by (authority, case) now, which the primary
                // key finds: the index only cost every stored case one more insert.
                try db.execute(sql: "DROP INDEX IF EXISTS case_authorities_by_case")
            }
            migrator.registerMigration("signing key") { db in
                // The centre's own key, made once: replies are signed with it.
                let key = Curve25519.Signing.PrivateKey()
                try db.execute(
                    sql: "INSERT INTO meta (key, value) VALUES ('signing-key', ?)",
                    arguments: [key.rawRepresentation.base64EncodedString()])
            }
            migrator.registerMigration("handover") { db in
                // The counter of the centre's own entries (dots of `central.<identity>`).
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('entry-counter', '0')")
                // Whether a day team's acceptance, the centre's own, is among a case's entries:
                // a first pull leaves such cases out, through the index of the others.
                try db.execute(
                    sql: """
                        ALTER TABLE cases ADD COLUMN accepted INTEGER NOT NULL DEFAULT 0;
                        CREATE INDEX cases_unaccepted ON cases (sequence) WHERE accepted = 0;
                        CREATE TABLE handover_packages (
                            authority TEXT NOT NULL,
                            opens_at INTEGER NOT NULL,
                            opens_at_text TEXT NOT NULL,
                            built_at TEXT NOT NULL,
                            package BLOB NOT NULL,
                            PRIMARY KEY (authority, opens_at)
                        );
                        CREATE TABLE handover_package_cases (
                            authority TEXT NOT NULL,
                            opens_at INTEGER NOT NULL,
                            case_id TEXT NOT NULL,
                            PRIMARY KEY (authority, opens_at, case_id)
                        ) WITHOUT ROWID;
                        CREATE INDEX handover_package_cases_by_case ON handover_package_cases (case_id, authority);
                        """)
            }
            migrator.registerMigration("handover page") { db in
                // The printable page of a kept package, kept beside its JSON as it was built.
                try db.execute(sql: "ALTER TABLE handover_packages ADD COLUMN html BLOB NOT NULL DEFAULT x''")
            }
            migrator.registerMigration("handover addenda") { db in
                // Cases handed over for an opening after its package was kept, a document each time.
                try db.execute(
                    sql: """
                        CREATE TABLE handover_addenda (
                            authority TEXT NOT NULL,
                            opens_at INTEGER NOT NULL,
                            number INTEGER NOT NULL,
                            built_at TEXT NOT NULL,
                            cases TEXT NOT NULL,
                            package BLOB NOT NULL,
                            html BLOB NOT NULL,
                            PRIMARY KEY (authority, opens_at, number)
                        )
                        """)
            }
            migrator.registerMigration("cross authority") { db in
                // A case is seen by its host authorities and by the home authority it was
                // forwarded to by a recorded act, no longer by whatever its homeAuthority field
                // says: no case held before this version has such an act, so each keeps its
                // host authorities only. When a forwarded case is escalated to senior managers
                // unless accepted or agreed on first (the clock's event, HandoverScheduler). An
                // authority a case left (forwarded anew to another home) keeps its row with the
                // change that removed it (`left_at`): its laptops are told the case is gone
                // (``departedCases``), not sent it, so they drop their copy.
                try db.execute(
                    sql: """
                        ALTER TABLE cases ADD COLUMN escalates_at INTEGER;
                        CREATE INDEX cases_escalating ON cases (escalates_at) WHERE escalates_at IS NOT NULL;
                        ALTER TABLE case_authorities ADD COLUMN left_at INTEGER;
                        ALTER TABLE cases ADD COLUMN awaiting_home TEXT;
                        DELETE FROM case_authorities;
                        """)
                let rows = try Row.fetchCursor(db, sql: "SELECT id, body FROM cases")
                let insert = try db.makeStatement(
                    sql: "INSERT OR IGNORE INTO case_authorities (authority, case_id) VALUES (?, ?)")
                while let row = try rows.next() {
                    let id: String = row["id"]
                    let body: Data = row["body"]
                    let record = try RecordCoding.decode(Array(body), id: try RecordID(id))
                    for authority in ReferralCapture.hostAuthorities(of: record) {
                        try insert.execute(arguments: [authority, id])
                    }
                }
            }
            migrator.registerMigration("peer centres") { db in
                // Another authority's central endpoint, enrolled like a device under its entry
                // device (central.<identity>) with the URL it is reached at; what this centre
                // forwarded to it and it acknowledged (each case at its change number), and how
                // forwarding to it stands.
                try db.execute(
                    sql: """
                        ALTER TABLE devices ADD COLUMN peer_url TEXT;
                        CREATE TABLE peer_sent (
                            peer TEXT NOT NULL,
                            case_id TEXT NOT NULL,
                            sequence INTEGER NOT NULL,
                            PRIMARY KEY (peer, case_id)
                        ) WITHOUT ROWID;
                        CREATE TABLE peer_state (
                            peer TEXT PRIMARY KEY NOT NULL,
                            cursor TEXT,
                            last_success TEXT,
                            problem TEXT,
                            retry_at INTEGER,
                            failures INTEGER NOT NULL DEFAULT 0
                        );
                        INSERT INTO meta (key, value) VALUES ('request-counter', '0');
                        """)
            }
            migrator.registerMigration("audit") { db in
                // Who touched which case, chained by hash (AuditChain), and the chain's heads
                // signed at moments (AuditAnchor).
                try db.execute(
                    sql: """
                        CREATE TABLE audit_log (
                            number INTEGER PRIMARY KEY,
                            at TEXT NOT NULL,
                            who TEXT NOT NULL,
                            authorities TEXT NOT NULL,
                            case_id TEXT NOT NULL,
                            action TEXT NOT NULL,
                            hash TEXT NOT NULL
                        );
                        CREATE INDEX audit_log_by_case ON audit_log (case_id, number);
                        CREATE TABLE audit_anchors (number INTEGER PRIMARY KEY, line TEXT NOT NULL);
                        """)
            }
            migrator.registerMigration("device freshness") { db in try Self.migrateDeviceFreshness(db) }
            migrator.registerMigration("incarnation") { db in try Self.migrateIncarnation(db) }
            try migrator.migrate(pool)
            incarnation = try Self.incarnation(of: pool)
            identity =
                try pool.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'identity'") }
                ?? "unknown"
            let keyText = try pool.read { db in
                try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'signing-key'")
            }
            guard let keyText, let keyData = Data(base64Encoded: keyText),
                let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: keyData)
            else {
                throw CentralError(
                    .storage, "the centre's signing key in \(path) is unreadable: the database was damaged")
            }
            signingKey = key
            centreKey = Array(key.publicKey.rawRepresentation)
        } catch {
            throw CentralError(.storage, "cannot open the central database \(path): \(error)")
        }
    }

    public func newestSequence() async throws(CentralError) -> Int64 {
        try await read { db in try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM cases") ?? 0 }
    }

    // MARK: - Devices

    public func enroll(_ device: EnrolledDevice) async throws(CentralError) {
        guard !HandoverAcceptance.isCentreDevice(device.id) else {
            throw CentralError(
                .refused,
                "\(device.id): a device id starting \"\(HandoverAcceptance.centreDevicePrefix)\" is the centre's own; enrol the laptop under another id"
            )
        }
        let authorities = device.authorities.sorted().joined(separator: " ")
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO devices (id, public_key, authorities, revoked) VALUES (?, ?, ?, 0)
                    ON CONFLICT(id) DO UPDATE SET public_key = excluded.public_key, authorities = excluded.authorities, revoked = 0,
                        last_counter = CASE WHEN devices.public_key = excluded.public_key THEN devices.last_counter ELSE 0 END
                    """,
                arguments: [device.id.rawValue, Data(device.publicKey), authorities])
        }
    }

    public func revoke(_ device: DeviceID) async throws(CentralError) -> Bool {
        try await write { db in
            try db.execute(sql: "UPDATE devices SET revoked = 1 WHERE id = ?", arguments: [device.rawValue])
            return db.changesCount > 0
        }
    }

    public func device(_ id: DeviceID) async throws(CentralError) -> EnrolledDevice? {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT public_key, authorities, revoked, peer_url FROM devices WHERE id = ?",
                    arguments: [id.rawValue])
            else { return nil }
            return Self.enrolledDevice(id: id, row)
        }
    }

    /// A device as its row holds it (`public_key`, `authorities`, `revoked`, `peer_url`).
    static func enrolledDevice(id: DeviceID, _ row: Row) -> EnrolledDevice {
        let key: Data = row["public_key"]
        let authorities: String = row["authorities"]
        let revoked: Bool = row["revoked"]
        let url: String? = row["peer_url"]
        return EnrolledDevice(
            id: id, publicKey: Array(key), authorities: Set(authorities.split(separator: " ").map(String.init)),
            revoked: revoked, peerURL: url)
    }

    public func consumeCounter(_ counter: UInt64, for device: DeviceID) async throws(CentralError) -> Bool {
        guard counter <= UInt64(Int64.max) else { return false }
        return try await write { db in
            try db.execute(
                sql: "UPDATE devices SET last_counter = ? WHERE id = ? AND last_counter < ?",
                arguments: [Int64(counter), device.rawValue, Int64(counter)])
            return db.changesCount > 0
        }
    }

    // MARK: - Cases

    public func store(
        _ parts: [PreparedPart], by actor: AuditActor, check: @escaping PartCheck
    ) async throws(CentralError) -> [StoredOutcome] {
        let outcomes = try await storeInOneTransaction(parts, by: actor, check: check)
        checkpointIfDue(afterStoring: parts.reduce(0) { $0 + $1.encoded.count })
        return outcomes
    }

    /// Starts a checkpoint on its own connection when ``checkpointBytes`` were stored since the
    /// last one began, unless one is running. A checkpoint that fails is left to the next (or
    /// to the close of the database): nothing stored depends on it.
    private func checkpointIfDue(afterStoring bytes: Int) {
        let start = checkpointState.counts.withLock { state -> Bool in
            state.bytesSinceCheckpoint += bytes
            guard !state.running, state.bytesSinceCheckpoint >= checkpointBytes else { return false }
            state.running = true
            state.bytesSinceCheckpoint = 0
            return true
        }
        guard start else { return }
        let checkpointer = self.checkpointer
        let state = self.checkpointState
        Task.detached(priority: .utility) {
            defer { state.counts.withLock { $0.running = false } }
            _ = try? await checkpointer.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        }
    }

    /// Waits for a running checkpoint to end (for tests).
    public func waitForCheckpoint() async {
        while checkpointState.counts.withLock({ $0.running }) { try? await Task.sleep(for: .milliseconds(5)) }
    }

    private func storeInOneTransaction(
        _ parts: [PreparedPart], by actor: AuditActor, check: @escaping PartCheck
    ) async throws(CentralError) -> [StoredOutcome] {
        try await write { db in
            var written: [RecordID] = []
            var sequence = try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM cases") ?? 0
            let select = try HotStatement(db, "SELECT sequence, body FROM cases WHERE id = ?")
            let upsert = try HotStatement(
                db,
                """
                INSERT INTO cases (id, sequence, version, body, accepted, escalates_at, awaiting_home)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET sequence = excluded.sequence, version = excluded.version, body = excluded.body,
                    accepted = excluded.accepted, escalates_at = excluded.escalates_at,
                    awaiting_home = excluded.awaiting_home
                """)
            let centreKey = self.centreKey
            let centreDeviceName = HandoverAcceptance.centreDevicePrefix + self.identity
            // The centres whose acts count: this one and its peers, as enrolled now.
            var peerKeys: [String: [UInt8]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, public_key FROM devices WHERE peer_url IS NOT NULL") {
                let key: Data = row["public_key"]
                peerKeys[row["id"]] = Array(key)
            }
            let centreKeyOf: (DeviceID) -> [UInt8]? = { [peerKeys] device in
                device.rawValue == centreDeviceName ? centreKey : peerKeys[device.rawValue]
            }
            let removeAuthority = try HotStatement(
                db, "UPDATE case_authorities SET left_at = ? WHERE authority = ? AND case_id = ?")
            let addAuthority = try HotStatement(
                db,
                """
                INSERT INTO case_authorities (authority, case_id) VALUES (?, ?)
                ON CONFLICT(authority, case_id) DO UPDATE SET left_at = NULL
                """)
            var version: [UInt8] = []  // the notation of a version, reused
            var outcomes: [StoredOutcome] = []
            outcomes.reserveCapacity(parts.count)
            for prepared in parts {
                let part = prepared.part
                if let rejection = prepared.rejection {
                    outcomes.append(.rejected(part.id, rejection))
                    continue
                }
                let id = part.id.rawValue
                var merged = part
                var before: Replication.Record?
                var stored: (sequence: Int64, body: [UInt8], authorities: Set<String>)?
                select.bind(id, at: 1)
                if try select.step() {
                    if select.blobEquals(prepared.encoded, at: 1) {
                        // The part is the stored case, byte for byte (a re-sent case, or one
                        // pushed back as it was pulled): both are canonical encodings, so they
                        // are the same record, and a join with itself changes nothing. Merging
                        // would give the stored case back; only the check is left, on the part
                        // itself (before and after the merge both equal it), and nothing is
                        // written. The stored case is neither decoded nor encoded again.
                        let sequence = select.int64(at: 0)
                        select.reset()
                        if let rejection = check(prepared, part, part) {
                            outcomes.append(.rejected(part.id, rejection))
                        } else {
                            outcomes.append(.stored(part.id, sequence: sequence, version: part.version))
                        }
                        continue
                    }
                    let body = select.bytes(at: 1)
                    let existing = try RecordCoding.decode(body, id: part.id)
                    stored = (
                        select.int64(at: 0), body,
                        CaseIndex.authorities(of: existing, centreKeyOf: centreKeyOf)
                    )
                    before = existing
                    merged = existing
                    merged.formJoin(part)
                }
                select.reset()
                if let rejection = check(prepared, before, merged) {
                    outcomes.append(.rejected(part.id, rejection))
                    continue
                }
                let body = before == nil ? prepared.encoded : RecordCoding.encode(merged)[...]
                guard body.count <= Self.maximumCaseBytes else {
                    // Every device must be able to read the case back on one EDTLP line.
                    outcomes.append(
                        .rejected(
                            part.id,
                            .init(
                                .tooLarge,
                                message:
                                    "the case would be \(body.count) bytes, over the \(Self.maximumCaseBytes) a sync line carries"
                            )))
                    continue
                }
                if let stored, stored.body.elementsEqual(body) {
                    // Already there (a re-sent part): acknowledged again, nothing written.
                    outcomes.append(.stored(part.id, sequence: stored.sequence, version: merged.version))
                    continue
                }
                let index = CaseIndex(of: merged, centreKey: centreKey, centreKeyOf: centreKeyOf)
                if let counter = CaseIndex.highestCentreCounter(in: part, centreDevice: centreDeviceName) {
                    try db.execute(
                        sql: """
                            UPDATE meta SET value = CAST(? AS TEXT)
                            WHERE key = 'entry-counter' AND CAST(value AS INTEGER) < ?
                            """,
                        arguments: [Int64(clamping: counter), Int64(clamping: counter)])
                }
                sequence += 1
                version.removeAll(keepingCapacity: true)
                Notation.append(merged.version, to: &version)
                try version.withUnsafeBytes { version in
                    try body.withUnsafeBytes { body in
                        upsert.bind(id, at: 1)
                        upsert.bind(sequence, at: 2)
                        upsert.bindWithoutCopying(text: version, at: 3)
                        upsert.bindWithoutCopying(blob: body, at: 4)
                        upsert.bind(index.accepted ? 1 : 0, at: 5)
                        if let escalatesAt = index.escalatesAt {
                            upsert.bind(escalatesAt, at: 6)
                        } else {
                            upsert.bindNull(at: 6)
                        }
                        if let awaitingHome = index.awaitingHome {
                            upsert.bind(awaitingHome, at: 7)
                        } else {
                            upsert.bindNull(at: 7)
                        }
                        try upsert.execute()
                    }
                }
                let authorities = index.authorities
                if authorities != stored?.authorities {
                    for authority in stored?.authorities.subtracting(authorities) ?? [] {
                        removeAuthority.bind(sequence, at: 1)
                        removeAuthority.bind(authority, at: 2)
                        removeAuthority.bind(id, at: 3)
                        try removeAuthority.execute()
                    }
                    for authority in authorities {
                        addAuthority.bind(authority, at: 1)
                        addAuthority.bind(id, at: 2)
                        try addAuthority.execute()
                    }
                }
                outcomes.append(.stored(part.id, sequence: sequence, version: merged.version))
                written.append(part.id)
            }
            try Self.appendAudit(db, cases: written, by: actor)
            return outcomes
        }
    }

    public func storedCase(_ id: RecordID) async throws(CentralError) -> Replication.Record? {
        let body = try await read { db in
            try Data.fetchOne(db, sql: "SELECT body FROM cases WHERE id = ?", arguments: [id.rawValue])
        }
        guard let body else { return nil }
        do {
            return try RecordCoding.decode(Array(body), id: id)
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
        return try await read { db in
            let newest = try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM cases") ?? 0
            guard !codes.isEmpty, newest > sequence else {
                return ChangeListing(changes: [], upTo: max(newest, sequence), more: false)
            }
            guard limit > 0 else { return ChangeListing(changes: [], upTo: sequence, more: true) }
            let marks = Array(repeating: "?", count: codes.count).joined(separator: ",")
            // Only the gaps between left-out changes are read: a device's own push, just stored,
            // is skipped without reading it. `length(body)` is read from the row's header: the
            // payloads themselves are not read here.
            func select(unacceptedOnly: Bool) throws -> Statement {
                // Leaving out accepted cases, the index of the others is walked instead: accepted
                // cases are not even looked at.
                try db.cachedStatement(
                    sql: """
                        SELECT c.id, c.sequence, length(c.body)
                        FROM cases c \(unacceptedOnly ? "INDEXED BY cases_unaccepted" : "")
                        WHERE c.sequence > ? AND c.sequence <= ? \(unacceptedOnly ? "AND c.accepted = 0" : "")
                        AND EXISTS (
                            SELECT 1 FROM case_authorities a WHERE a.case_id = c.id AND a.authority IN (\(marks))
                            AND a.left_at IS NULL)
                        ORDER BY c.sequence
                        """)
            }
            // Each gap is read in stretches: up to `leavingOutAcceptedUpTo` without the accepted
            // cases, past it with them.
            let stretches = gaps.stretches(upTo: newest, acceptedUpTo: leavingOutAcceptedUpTo ?? 0)
            var changes: [ListedChange] = []
            var bytes = 0
            for stretch in stretches {
                var arguments: StatementArguments = [stretch.lower, stretch.upper]
                arguments += StatementArguments(codes)
                let rows = try Row.fetchCursor(try select(unacceptedOnly: stretch.unacceptedOnly), arguments: arguments)
                while let row = try rows.next() {
                    let size: Int = row[2]
                    if changes.count == limit || (!changes.isEmpty && size > byteBudget - bytes) {
                        return ChangeListing(changes: changes, upTo: changes.last?.sequence ?? sequence, more: true)
                    }
                    bytes += size
                    changes.append(ListedChange(id: try RecordID(row[0] as String), sequence: row[1], bytes: size))
                }
            }
            return ChangeListing(changes: changes, upTo: newest, more: false)
        }
    }

    public func read(_ listed: ArraySlice<ListedChange>) async throws(CentralError) -> [StoredCase] {
        guard !listed.isEmpty else { return [] }
        let listed = Array(listed)
        return try await read { db in
            // By the number of its last change (unique, never reused): a case changed since it
            // was listed is no longer there under that number.
            let select = try db.cachedStatement(sql: "SELECT id, version, body FROM cases WHERE sequence = ?")
            var cases: [StoredCase] = []
            cases.reserveCapacity(listed.count)
            for change in listed {
                guard let row = try Row.fetchOne(select, arguments: [change.sequence]),
                    (row[0] as String) == change.id.rawValue
                else { continue }
                let body: Data = row[2]
                cases.append(StoredCase(id: change.id, sequence: change.sequence, version: row[1], body: Array(body)))
            }
            return cases
        }
    }

    // MARK: - The centre's own entries

    public func nextEntryCounter() async throws(CentralError) -> UInt64 {
        try await nextCounter("entry-counter", what: "entry counter")
    }

    /// Raises the counter kept in `meta` under `key` by one, durably, and returns it: never the
    /// same number twice.
    func nextCounter(_ key: String, what: String) async throws(CentralError) -> UInt64 {
        try await write { db in
            try db.execute(sql: "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = ?", arguments: [key])
            guard
                let counter = try Int64.fetchOne(
                    db, sql: "SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?", arguments: [key]), counter > 0
            else { throw CentralError(.storage, "the centre's \(what) is missing: the database was damaged") }
            return UInt64(counter)
        }
    }

    // MARK: - Kept handover packages

    public func keep(_ package: KeptPackage) async throws(CentralError) -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO handover_packages (authority, opens_at, opens_at_text, built_at, package, html)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    package.authority, package.opensAt.secondsSinceEpoch, package.opensAt.written(offsetSeconds: 0),
                    package.builtAt.written(offsetSeconds: 0), Data(package.json), Data(package.html),
                ])
            // A package for that opening was kept already: the first one stands, whole.
            guard db.changesCount > 0 else { return false }
            let insert = try db.cachedStatement(
                sql: "INSERT INTO handover_package_cases (authority, opens_at, case_id) VALUES (?, ?, ?)")
            for id in package.cases {
                try insert.execute(arguments: [package.authority, package.opensAt.secondsSinceEpoch, id.rawValue])
            }
            return true
        }
    }

    public func keptPackage(authority: String, opensAt: Instant) async throws(CentralError) -> KeptPackage? {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT opens_at_text, built_at, package, html FROM handover_packages
                        WHERE authority = ? AND opens_at = ?
                        """,
                    arguments: [authority, opensAt.secondsSinceEpoch])
            else { return nil }
            let ids = try String.fetchAll(
                db,
                sql: "SELECT case_id FROM handover_package_cases WHERE authority = ? AND opens_at = ? ORDER BY case_id",
                arguments: [authority, opensAt.secondsSinceEpoch])
            guard let opens = Instant(iso8601: row["opens_at_text"]), let built = Instant(iso8601: row["built_at"])
            else {
                throw CentralError(
                    .storage, "the package kept for \(authority) at \(opensAt) cannot be read: the database was damaged"
                )
            }
            let json: Data = row["package"]
            let html: Data = row["html"]
            return KeptPackage(
                authority: authority, opensAt: opens, builtAt: built, cases: try ids.map { try RecordID($0) },
                json: Array(json), html: Array(html))
        }
    }

    public func keptOpenings(of authority: String) async throws(CentralError) -> [Instant] {
        try await read { db in
            try String.fetchAll(
                db, sql: "SELECT opens_at_text FROM handover_packages WHERE authority = ? ORDER BY opens_at",
                arguments: [authority]
            ).compactMap(Instant.init(iso8601:))
        }
    }

    public func unacceptedCases<Reading: Sendable>(
        of authority: String, reading: @escaping @Sendable ([Replication.Record]) -> Reading
    ) async throws(CentralError) -> [Reading] {
        try await read { db in
            // Each batch of rows is decoded and read on another core while the next is read.
            // (While the reader waits for batches to finish, its read transaction stays open:
            // checkpoints cannot pass it until the read is done, as before.)
            let decoding = StoredCases.Decoding(reading)
            // Ordered by the key of case_authorities (authority, case_id), which the query walks
            // anyway: the cases' id order, with nothing to sort. Ordered by cases.id, SQLite sorted
            // every row, bodies and all, in a temporary file before giving the first.
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT cases.id, cases.body FROM case_authorities JOIN cases ON cases.id = case_authorities.case_id
                    WHERE case_authorities.authority = ? AND case_authorities.left_at IS NULL
                    AND (cases.accepted = 0 OR cases.awaiting_home = ?)
                    ORDER BY case_authorities.case_id
                    """,
                arguments: [authority, authority])
            while let row = try rows.next() {
                // The body is copied once, straight out of SQLite's buffer.
                let body = try row.withUnsafeData(atIndex: 1) { data in data.map { Array($0) } ?? [] }
                decoding.add(id: row[0], body: body)
            }
            return try decoding.waitForResults()
        }
    }

    public func authoritiesWithCases() async throws(CentralError) -> [String] {
        try await read { db in
            try String.fetchAll(
                db, sql: "SELECT DISTINCT authority FROM case_authorities WHERE left_at IS NULL ORDER BY authority")
        }
    }

    public func departedCases(
        authorities: Set<String>, after sequence: Int64, upTo: Int64, limit: Int
    ) async throws(CentralError) -> [DepartedCase] {
        let codes = authorities.sorted()
        guard !codes.isEmpty, upTo > sequence, limit > 0 else { return [] }
        let marks = Array(repeating: "?", count: codes.count).joined(separator: ",")
        let rows = try await read { db in
            var arguments = StatementArguments(codes)
            arguments += [sequence, upTo]
            arguments += StatementArguments(codes)
            arguments += [limit]
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT a.case_id, MIN(a.left_at) AS departed FROM case_authorities a
                    WHERE a.authority IN (\(marks)) AND a.left_at > ? AND a.left_at <= ?
                    AND NOT EXISTS (
                        SELECT 1 FROM case_authorities b
                        WHERE b.case_id = a.case_id AND b.authority IN (\(marks)) AND b.left_at IS NULL)
                    GROUP BY a.case_id
                    ORDER BY departed, a.case_id
                    LIMIT ?
                    """, arguments: arguments
            ).map { row -> (String, Int64) in (row[0], row[1]) }
        }
        return try rows.map { row throws(CentralError) in
            DepartedCase(id: try RecordID(storedCaseID: row.0), sequence: row.1)
        }
    }

    public func casesDueForEscalation(by instant: Instant) async throws(CentralError) -> [(id: RecordID, at: Instant)] {
        let rows = try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, escalates_at FROM cases WHERE escalates_at IS NOT NULL AND escalates_at <= ?
                    ORDER BY escalates_at, id
                    """,
                arguments: [instant.secondsSinceEpoch]
            ).map { row -> (String, Int64) in (row["id"], row["escalates_at"]) }
        }
        return try rows.map { row throws(CentralError) in
            (try RecordID(storedCaseID: row.0), Instant(secondsSinceEpoch: row.1))
        }
    }

    public func nextEscalation() async throws(CentralError) -> Instant? {
        try await read { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(escalates_at) FROM cases WHERE escalates_at IS NOT NULL")
        }.map { Instant(secondsSinceEpoch: $0) }
    }

    public func keepAddendum(_ addendum: KeptPackage) async throws(CentralError) -> Int {
        try await write { db in
            let opensAt = addendum.opensAt.secondsSinceEpoch
            // Two looks at once may both find the same late cases: the first one's addendum stands.
            let already = Set(
                try String.fetchAll(
                    db, sql: "SELECT case_id FROM handover_package_cases WHERE authority = ? AND opens_at = ?",
                    arguments: [addendum.authority, opensAt]))
            guard addendum.cases.contains(where: { !already.contains($0.rawValue) }) else { return 0 }
            let number =
                (try Int.fetchOne(
                    db, sql: "SELECT MAX(number) FROM handover_addenda WHERE authority = ? AND opens_at = ?",
                    arguments: [addendum.authority, opensAt]) ?? 0) + 1
            try db.execute(
                sql: """
                    INSERT INTO handover_addenda (authority, opens_at, number, built_at, cases, package, html)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    addendum.authority, opensAt, number, addendum.builtAt.written(offsetSeconds: 0),
                    addendum.cases.map(\.rawValue).joined(separator: " "), Data(addendum.json), Data(addendum.html),
                ])
            let insert = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO handover_package_cases (authority, opens_at, case_id) VALUES (?, ?, ?)")
            for id in addendum.cases { try insert.execute(arguments: [addendum.authority, opensAt, id.rawValue]) }
            return number
        }
    }

    public func addenda(authority: String, opensAt: Instant) async throws(CentralError) -> [KeptPackage] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT built_at, cases, package, html FROM handover_addenda
                    WHERE authority = ? AND opens_at = ? ORDER BY number
                    """,
                arguments: [authority, opensAt.secondsSinceEpoch]
            ).map { row in
                let cases: String = row["cases"]
                guard let built = Instant(iso8601: row["built_at"]) else {
                    throw CentralError(
                        .storage,
                        "an addendum kept for \(authority) at \(opensAt) cannot be read: the database was damaged")
                }
                let json: Data = row["package"]
                let html: Data = row["html"]
                return KeptPackage(
                    authority: authority, opensAt: opensAt, builtAt: built,
                    cases: try cases.split(separator: " ").map { try RecordID(String($0)) }, json: Array(json),
                    html: Array(html))
            }
        }
    }

    public func firstHandedOver(_ id: RecordID, to authority: String) async throws(CentralError) -> Instant? {
        let seconds = try await read { db in
            try Int64.fetchOne(
                db, sql: "SELECT MIN(opens_at) FROM handover_package_cases WHERE case_id = ? AND authority = ?",
                arguments: [id.rawValue, authority])
        }
        return seconds.map { Instant(secondsSinceEpoch: $0) }
    }

    public func wasHandedOver(_ id: RecordID, to authority: String) async throws(CentralError) -> Bool {
        try await read { db in
            try Bool.fetchOne(
                db,
                sql: "SELECT EXISTS (SELECT 1 FROM handover_package_cases WHERE case_id = ? AND authority = ?)",
                arguments: [id.rawValue, authority]) ?? false
        }
    }

    public func handedOverUnaccepted(
        to authority: String, before opensAt: Instant
    ) async throws(CentralError) -> [RecordID] {
        try await read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT p.case_id FROM handover_package_cases p JOIN cases c ON c.id = p.case_id
                    WHERE p.authority = ? AND p.opens_at < ? AND (c.accepted = 0 OR c.awaiting_home = ?)
                    ORDER BY p.case_id
                    """,
                arguments: [authority, opensAt.secondsSinceEpoch, authority]
            ).map { try RecordID($0) }
        }
    }

    // MARK: - Access

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(CentralError) -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw Self.failure(error)
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(CentralError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw Self.failure(error)
        }
    }
}
