public import Central
public import Crypto
import Foundation
public import Logging
import NIOCore
import PostgresNIO
import Referrals
public import Replication
import Synchronization

/// The centre's storage on PostgreSQL, for several `edt central serve` processes sharing one
/// database: the same ``Central/CentralStorage`` as the embedded SQLite backend, passing the same
/// storage tests.
///
/// Writers of cases take one transaction-scoped advisory lock, so change numbers are given and
/// committed in order whichever server stores: a reader never sees a number before a lower one
/// commits, and a cursor is good at every server. A push is stored in a handful of round trips
/// whatever its size (the stored cases read with one query, written with one). Every other
/// write is a single statement or a short transaction; PostgreSQL's own durability
/// (`synchronous_commit`, on by default) makes a returned commit durable.
///
/// ``open(_:logger:)`` connects, applies the schema's migrations (``PostgresSchema``) and reads
/// the identity and signing key; ``close()`` ends the connections.
public final class PostgresCentralStorage: CentralStorage {
    let client: PostgresClient
    private let runner: Task<Void, Never>
    let logger: Logger
    public let address: PostgresAddress
    public let identity: String
    public let incarnation: UInt64
    public let signingKey: Curve25519.Signing.PrivateKey
    /// `signingKey`'s public half, raw: what a genuine acceptance verifies with.
    let centreKey: [UInt8]

    /// The advisory lock key that orders the writers of cases (any constant unique to them).
    static let casesLock: Int64 = 0x6564_7402

    private init(
        client: PostgresClient, runner: Task<Void, Never>, logger: Logger, address: PostgresAddress,
        identity: String, incarnation: UInt64, signingKey: Curve25519.Signing.PrivateKey, leaseTimeout: Duration
    ) {
        self.leaseTimeout = leaseTimeout
        self.client = client
        self.runner = runner
        self.logger = logger
        self.address = address
        self.identity = identity
        self.incarnation = incarnation
        self.signingKey = signingKey
        self.centreKey = Array(signingKey.publicKey.rawRepresentation)
    }

    deinit { runner.cancel() }

    /// Connects to the database at `address` (up to `maximumConnections` at once), brings its
    /// schema up to date, and reads the centre's identity and key. Fails with a message naming
    /// the database (never its password) when it cannot be reached or is not a centre's. A
    /// request waits at most `leaseTimeout` for a connection, the opening three times as long
    /// (at least 15 s). (In-process tests, whose threads other tests may hold, give longer.)
    public static func open(
        _ address: PostgresAddress, maximumConnections: Int = 20, leaseTimeout: Duration = defaultLeaseTimeout,
        logger: Logger = Logger(label: "edt.central.postgres")
    ) async throws(CentralError) -> PostgresCentralStorage {
        var configuration = PostgresClient.Configuration(
            host: address.host, port: address.port, username: address.user, password: address.password,
            database: address.database, tls: address.requiresTLS ? .require(.makeClientConfiguration()) : .disable)
        configuration.options.maximumConnections = max(2, maximumConnections)
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = .seconds(10)
        // The pool's own chatter (a connection refused while the database is away, retried)
        // only at error level: what a request met is logged with the request.
        var background = logger
        background.logLevel = .error
        let client = PostgresClient(configuration: configuration, backgroundLogger: background)
        let runner = Task { await client.run() }
        do {
            // A database that cannot be reached fails the opening rather than hanging it.
            try await leased(within: max(.seconds(15), leaseTimeout * 3)) { leased in
                try await migrate(client, logger: logger)
                leased()
            }
            let (identity, keyText, incarnation) = try await client.withConnection { connection in
                var identity: String?
                var key: String?
                let rows = try await connection.query(
                    "SELECT key, value FROM meta WHERE key IN ('identity', 'signing-key')", logger: logger)
                for try await (name, value) in rows.decode((String, String).self) {
                    if name == "identity" { identity = value } else { key = value }
                }
                return (identity, key, try await Self.incarnation(on: connection, logger: logger))
            }
            guard let identity, let keyText, let keyData = Data(base64Encoded: keyText),
                let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: keyData)
            else {
                throw CentralError(
                    .storage,
                    "the centre's identity or signing key in \(address) is unreadable: the database was damaged")
            }
            return PostgresCentralStorage(
                client: client, runner: runner, logger: logger, address: address, identity: identity,
                incarnation: incarnation, signingKey: key, leaseTimeout: leaseTimeout)
        } catch {
            runner.cancel()
            if let error = error as? CentralError { throw error }
            throw CentralError(.storage, "cannot open the central database \(address): \(Self.describe(error))")
        }
    }

    /// Ends the connections to the database. The storage must not be used afterwards.
    public func close() async {
        runner.cancel()
        _ = await runner.value
    }

    /// Applies the migrations not yet applied, under an advisory lock (servers starting at once).
    private static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query(
                "SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """, logger: logger)
            var applied: Set<String> = []
            for try await name in try await connection.query("SELECT name FROM schema_migrations", logger: logger)
                .decode(String.self)
            {
                applied.insert(name)
            }
            for migration in PostgresSchema.migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (name) VALUES (\(migration.name))", logger: logger)
            }
        }
    }

    public func newestSequence() async throws(CentralError) -> Int64 {
        try await withConnection { connection in
            try await Self.newest(on: connection, logger: self.logger)
        }
    }

    /// The newest change number, on `connection` (0 when no case is stored).
    static func newest(on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        try await connection.query("SELECT COALESCE(MAX(sequence), 0)::BIGINT FROM cases", logger: logger)
            .collect().first?.decode(Int64.self) ?? 0
    }

    // MARK: - Devices

    public func enroll(_ device: EnrolledDevice) async throws(CentralError) {
        guard !HandoverAcceptance.isCentreDevice(device.id) else {
            throw CentralError(
                .refused,
                "\(device.id): a device id starting \"\(HandoverAcceptance.centreDevicePrefix)\" is the centre's own; enrol the laptop under another id"
            )
        }
        try await upsertDevice(device, peerURL: nil)
    }

    /// Adds or replaces `device` (un-revoking it; its counter starts over with a new key).
    func upsertDevice(_ device: EnrolledDevice, peerURL: String?) async throws(CentralError) {
        let id = device.id.rawValue
        let key = ByteBuffer(bytes: device.publicKey)
        let authorities = device.authorities.sorted().joined(separator: " ")
        try await withConnection { connection in
            try await connection.query(
                """
                INSERT INTO devices (id, public_key, authorities, revoked, peer_url)
                VALUES (\(id), \(key), \(authorities), FALSE, \(peerURL))
                ON CONFLICT (id) DO UPDATE SET public_key = excluded.public_key, authorities = excluded.authorities,
                    revoked = FALSE, peer_url = excluded.peer_url,
                    last_counter = CASE WHEN devices.public_key = excluded.public_key THEN devices.last_counter ELSE 0 END
                """, logger: self.logger)
        }
    }

    public func revoke(_ device: DeviceID) async throws(CentralError) -> Bool {
        let id = device.rawValue
        return try await withConnection { connection in
            try await connection.query(
                "UPDATE devices SET revoked = TRUE WHERE id = \(id) RETURNING id", logger: self.logger
            ).collect().count > 0
        }
    }

    public func device(_ id: DeviceID) async throws(CentralError) -> EnrolledDevice? {
        let text = id.rawValue
        return try await withConnection { connection in
            let rows = try await connection.query(
                "SELECT public_key, authorities, revoked, peer_url FROM devices WHERE id = \(text)",
                logger: self.logger
            ).collect()
            guard let row = rows.first else { return nil }
            return try Self.enrolledDevice(id: id, row)
        }
    }

    /// A device as its row holds it (`public_key`, `authorities`, `revoked`, `peer_url`).
    static func enrolledDevice(id: DeviceID, _ row: PostgresRow) throws -> EnrolledDevice {
        let (key, authorities, revoked, url) = try row.decode((ByteBuffer, String, Bool, String?).self)
        return EnrolledDevice(
            id: id, publicKey: Array(key.readableBytesView),
            authorities: Set(authorities.split(separator: " ").map(String.init)), revoked: revoked, peerURL: url)
    }

    public func consumeCounter(_ counter: UInt64, for device: DeviceID) async throws(CentralError) -> Bool {
        guard counter <= UInt64(Int64.max) else { return false }
        let value = Int64(counter)
        let id = device.rawValue
        return try await withConnection { connection in
            try await connection.query(
                "UPDATE devices SET last_counter = \(value) WHERE id = \(id) AND last_counter < \(value) RETURNING id",
                logger: self.logger
            ).collect().count > 0
        }
    }

    // MARK: - Counters

    public func nextEntryCounter() async throws(CentralError) -> UInt64 {
        try await nextCounter("entry-counter", what: "entry counter")
    }

    public func nextRequestCounter() async throws(CentralError) -> UInt64 {
        try await nextCounter("request-counter", what: "request counter")
    }

    /// Raises the counter kept in `meta` under `key` by one, durably, and returns it: never the
    /// same number twice, whichever server asks.
    func nextCounter(_ key: String, what: String) async throws(CentralError) -> UInt64 {
        let counter = try await withConnection { connection in
            try await connection.query(
                "UPDATE meta SET value = (value::BIGINT + 1)::TEXT WHERE key = \(key) RETURNING value::BIGINT",
                logger: self.logger
            ).collect().first?.decode(Int64.self)
        }
        guard let counter, counter > 0 else {
            throw CentralError(.storage, "the centre's \(what) is missing: the database was damaged")
        }
        return UInt64(counter)
    }

    // MARK: - Access

    /// How long a request waits, by default, for a connection to the database before it is
    /// answered that the database is unavailable (HTTP 503, try again): while the database is
    /// away, the pool keeps trying to reconnect, and requests must not hang on it.
    public static let defaultLeaseTimeout: Duration = .seconds(5)
    /// How long this storage's requests wait for a connection (``defaultLeaseTimeout`` unless
    /// opened with another).
    public let leaseTimeout: Duration

    /// Runs `body` on a pooled connection; any failure becomes a ``CentralError``.
    @discardableResult
    func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(CentralError) -> T {
        let client = self.client
        do {
            return try await Self.leased(within: leaseTimeout) { leased in
                try await client.withConnection { connection in
                    leased()
                    return try await body(connection)
                }
            }
        } catch {
            throw mapped(error)
        }
    }

    /// Runs `body` in a transaction on a pooled connection (committed when it returns, rolled
    /// back when it throws); any failure becomes a ``CentralError``.
    @discardableResult
    func withTransaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(CentralError) -> T {
        let client = self.client
        let logger = self.logger
        do {
            return try await Self.leased(within: leaseTimeout) { leased in
                try await client.withTransaction(logger: logger) { connection in
                    leased()
                    return try await body(connection)
                }
            }
        } catch {
            throw mapped(error)
        }
    }

    /// Runs `operation`, which calls `leased` once it holds a connection; fails with
    /// ``LeaseTimedOut`` (and cancels it) when that has not happened within `timeout`. Once
    /// leased, the operation runs to its end, however long.
    static func leased<T: Sendable>(
        within timeout: Duration,
        _ operation: @escaping @Sendable (_ leased: @escaping @Sendable () -> Void) async throws -> T
    ) async throws -> T {
        let state = LeaseState()
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation { state.leased.withLock { $0 = true } } }
            group.addTask {
                try await Task.sleep(for: timeout)
                if state.leased.withLock({ $0 }) { return nil }
                throw LeaseTimedOut(timeout: timeout)
            }
            while let result = try await group.next() {
                if let result {
                    group.cancelAll()
                    return result
                }
            }
            throw CancellationError()
        }
    }

    /// Whether an operation holds its connection yet.
    final class LeaseState: Sendable {
        let leased = Mutex(false)
    }

    /// No connection to the database could be had in time.
    struct LeaseTimedOut: Error, CustomStringConvertible {
        let timeout: Duration
        var description: String {
            "no connection to it within \(timeout.components.seconds) s (it is down or unreachable; the centre keeps trying)"
        }
    }
}
