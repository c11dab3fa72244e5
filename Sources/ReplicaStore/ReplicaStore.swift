import Crypto
public import Foundation
import GRDB
public import LineProtocol
public import Replication

#if canImport(Glibc)
import Glibc
#endif

/// The laptop's durable, encrypted replica: SQLite (WAL, full sync) holding every record sealed
/// with AES-GCM under a key derived from the passphrase, worked on from disk.
///
/// - Opening reads the store's identity, key settings and version vector, never its records: a
///   command costs the same in a store of a hundred referrals or of a hundred thousand.
/// - A record is read when a command asks for it (``record(_:)``); a list reads the catalog
///   (``RecordCatalog``) kept beside each record, not the records.
/// - A change is made with ``commit(loading:_:)``: it runs on a replica holding the records it
///   names, and the changed records are written and made durable in one transaction with the new
///   version vector before it returns. If anything fails, nothing is written.
/// - The schema changes through ``StoreSchema``'s migrations (GRDB's `DatabaseMigrator`).
/// - Opening after a crash needs nobody: SQLite replays or discards its write-ahead log.
/// - Every row is covered by the store's integrity seal (``StoreIntegrity``), kept in the same
///   transaction as every change: a store changed outside edt (a record put back from an older
///   copy, a row deleted, the version vector or a sync cursor edited) is refused when the changed
///   part is read.
/// - No personal value is stored in the clear in any file (database, WAL, journal): only record
///   ids, the device id, authority codes, version vectors and each record's catalog (when it was
///   received, its status, its number of conflicts) are.
public final class ReplicaStore {
    /// The database file inside the store directory.
    public static let fileName = "replica.sqlite"

    /// The database file of the store in `directory`.
    static func databaseFile(in directory: URL) -> URL { directory.appendingPathComponent(fileName) }
    /// The store's format, in the `meta` row `format` and sealed in the row `check`. Format 4
    /// keeps when each record was accepted in its catalog row (format 3 kept the catalog and
    /// tallied records by bucket); an older edt refuses it rather than write rows the seal misses.
    static let formatTag = "edt-store-4"
    /// The format before the catalog's `accepted`: upgraded at its first opening.
    static let catalogFormatTag = "edt-store-3"
    /// The format with the integrity seal checked whole at opening: upgraded at its first opening.
    static let wholeSealFormatTag = "edt-store-2"
    /// The format before the integrity seal: sealed and upgraded at its first opening.
    static let unsealedFormatTag = "edt-store-1"
    /// How long opening waits for another process using the store, unless told otherwise.
    public static let defaultLockWaitSeconds = 120.0

    public let directory: URL
    public let device: DeviceID
    /// The authorities (GSS codes) this device serves.
    public let authorities: [String]
    /// The device's Ed25519 public key (raw 32 bytes), for enrolment with the central endpoint.
    public let publicKey: [UInt8]
    /// The replica's version vector: every write it has incorporated.
    public internal(set) var knowledge: VersionVector

    let database: DatabaseQueue
    let cipher: StoreCipher
    /// Says what the catalog keeps of each record (the application's summary).
    let describe: RecordDescriber
    /// Says when a record was accepted (the catalog's `accepted`).
    let acceptance: AcceptanceReader
    /// The integrity tallies of the rows as last committed (``writeSealed(_:)`` keeps them).
    var integrity: StoreIntegrity
    /// The buckets whose records were checked against their tallies by this process, and
    /// whether the bucket tallies themselves were (``StoreIntegrity``).
    var checkedBuckets: Set<Int> = []
    var bucketTalliesChecked = false
    private let signingKey: Curve25519.Signing.PrivateKey
    /// Held while this store is open: one process at a time changes a replica.
    private let lock: StoreLock

    private init(
        directory: URL, device: DeviceID, authorities: [String], database: DatabaseQueue, cipher: StoreCipher,
        integrity: StoreIntegrity, signingKey: Curve25519.Signing.PrivateKey, knowledge: VersionVector,
        describe: @escaping RecordDescriber, acceptance: @escaping AcceptanceReader, lock: StoreLock
    ) {
        self.lock = lock
        self.integrity = integrity
        self.directory = directory
        self.device = device
        self.authorities = authorities
        self.database = database
        self.cipher = cipher
        self.signingKey = signingKey
        self.publicKey = Array(signingKey.publicKey.rawRepresentation)
        self.knowledge = knowledge
        self.describe = describe
        self.acceptance = acceptance
    }

    /// The catalog of a store opened with no describer: no receipt, status or authorities.
    public static let plainDescriber: RecordDescriber = { _ in RecordSummary() }
    /// The acceptance of a store opened with no reader: no record is ever accepted.
    public static let neverAccepted: AcceptanceReader = { _, _ in nil }

    // MARK: - Creating and opening

    /// Creates a new store in `directory` (made if missing; must not hold a store already).
    /// - Parameters:
    ///   - lockWaitSeconds: how long to wait for another process holding the directory.
    ///   - describe: what the catalog keeps of each record (``RecordCatalog``).
    ///   - acceptance: when a record was accepted (``AcceptanceReader``).
    public static func create(
        at directory: URL, device: DeviceID, authorities: [String], passphrase: String,
        lockWaitSeconds: Double = defaultLockWaitSeconds, describe: @escaping RecordDescriber = plainDescriber,
        acceptance: @escaping AcceptanceReader = neverAccepted
    ) throws(StoreError) -> ReplicaStore {
        guard !passphrase.isEmpty else { throw StoreError(.refused, "the passphrase must not be empty") }
        let file = databaseFile(in: directory)
        guard !FileManager.default.fileExists(atPath: file.path) else {
            throw StoreError(.alreadyExists, "\(directory.path) already holds an edt store; use another directory")
        }
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            // A directory that existed keeps the mode it had: the store's is its owner's alone.
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
        } catch {
            throw StoreError(.io, "cannot create \(directory.path): \(error.localizedDescription)")
        }
        let lock = try StoreLock.acquire(in: directory, waitingUpTo: lockWaitSeconds)
        let parameters = StoreCipher.newParameters()
        let cipher = try StoreCipher.derive(passphrase: passphrase, parameters: parameters)
        let signingKey = Curve25519.Signing.PrivateKey()
        let authoritiesJSON = String(
            decoding: (try? JSONEncoder().encode(authorities)) ?? Data("[]".utf8), as: UTF8.self)
        let parametersJSON = (try? JSONEncoder().encode(parameters)) ?? Data()
        let check = try cipher.seal(Array(formatTag.utf8), context: "check")
        let sealedKey = try cipher.seal(Array(signingKey.rawRepresentation), context: "signing-key")
        // The store is made whole under another name and then renamed: an `edt init` cut short
        // leaves only that file, which the next one replaces, never a half-made store.
        let staging = directory.appendingPathComponent(fileName + ".creating")
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: staging.path + suffix) }
        let integrity: StoreIntegrity
        do {
            // 16 KiB pages: a referral's sealed content (a few KiB) fits in one page, so reading
            // one costs one page, not a page and its overflow pages. The size is fixed when the
            // file is made, before the write-ahead log is turned on.
            let blank = try DatabaseQueue(path: staging.path)
            try blank.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL")
            }
            try blank.close()
            let database = try openDatabase(staging)
            try StoreSchema.migrator.migrate(database)
            integrity = try database.write { db in
                let rows: [(String, any DatabaseValueConvertible)] = [
                    ("format", formatTag), ("kdf", parametersJSON), ("check", check), ("device", device.rawValue),
                    ("authorities", authoritiesJSON), ("signingKey", sealedKey),
                    ("publicKey", Data(signingKey.publicKey.rawRepresentation)),
                    ("knowledge", Notation.text(VersionVector())),
                ]
                for (key, value) in rows {
                    try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?)", arguments: [key, value])
                }
                var integrity = StoreIntegrity(storeKey: cipher.key)
                try integrity.tallyAll(in: db)
                try integrity.storeSeal(in: db, cipher: cipher)
                return integrity
            }
            try database.close()  // folds the write-ahead log into the file before it is renamed
            try FileManager.default.moveItem(at: staging, to: file)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot write the new store: \(error)")
        }
        let database = try openDatabase(file)
        return ReplicaStore(
            directory: directory, device: device, authorities: authorities, database: database,
            cipher: cipher, integrity: integrity, signingKey: signingKey, knowledge: VersionVector(),
            describe: describe, acceptance: acceptance, lock: lock)
    }

    /// Opens the store in `directory`, refusing a wrong passphrase. A store written by an
    /// earlier version is migrated to the present schema first (``StoreSchema``), nothing lost.
    ///
    /// Opening reads the store's settings, never its records. The rows it reads (`meta`, the
    /// refusals and the sync cursors) are checked against the store's integrity seal first
    /// (``StoreIntegrity``): a store changed outside edt is refused with
    /// ``StoreError/Code/altered`` and left as it was. A store of an earlier format is upgraded
    /// at its first opening (``upgrade(_:in:format:passphrase:cipher:describe:)``), which reads
    /// and checks every record once.
    /// - Parameters:
    ///   - lockWaitSeconds: how long to wait for another process using the store.
    ///   - describe: what the catalog keeps of each record (``RecordCatalog``).
    ///   - acceptance: when a record was accepted (``AcceptanceReader``).
    public static func open(
        at directory: URL, passphrase: String, lockWaitSeconds: Double = defaultLockWaitSeconds,
        describe: @escaping RecordDescriber = plainDescriber, acceptance: @escaping AcceptanceReader = neverAccepted
    ) throws(StoreError) -> ReplicaStore {
        let file = databaseFile(in: directory)
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw StoreError(
                .notFound, "no edt store in \(directory.path); create one with `edt init --store \(directory.path) ...`"
            )
        }
        let lock = try StoreLock.acquire(in: directory, waitingUpTo: lockWaitSeconds)
        let database = try openDatabase(file)
        do {
            guard try database.read({ db in try db.tableExists("meta") }) else {
                throw StoreError(.corrupt, "\(file.path) is not an edt store: it has no store settings")
            }
            // The schema of the formats before the catalog; the catalog's columns are added once
            // the store is known to be intact (a refused store is left as it was).
            let migrator = StoreSchema.migrator
            if try database.read({ db in try migrator.appliedIdentifiers(db) }).isDisjoint(
                with: StoreSchema.catalogMigrations)
            {
                try migrator.migrate(database, upTo: StoreSchema.lastMigrationBeforeCatalog)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot upgrade the store in \(directory.path) to this version's schema: \(error)")
        }
        /// What opening read: everything but the lock and the database.
        struct Contents {
            var cipher: StoreCipher
            var integrity: StoreIntegrity
            let device: DeviceID
            let authorities: [String]
            let signingKey: Curve25519.Signing.PrivateKey
            let knowledge: VersionVector
        }
        do {
            let (format, formatCipher) = try database.read { db throws -> (String, StoreCipher) in
                guard let format = String.fromDatabaseValue(try meta("format", db, directory)),
                    [formatTag, catalogFormatTag, wholeSealFormatTag, unsealedFormatTag].contains(format)
                else {
                    throw StoreError(.corrupt, "\(file.path) is not an edt store of a version this program reads")
                }
                guard let parametersData = Data.fromDatabaseValue(try meta("kdf", db, directory)),
                    let parameters = try? JSONDecoder().decode(StoreCipher.Parameters.self, from: parametersData)
                else { throw StoreError(.corrupt, "the store's key settings are unreadable") }
                let cipher = try StoreCipher.derive(passphrase: passphrase, parameters: parameters)
                guard let check = Data.fromDatabaseValue(try meta("check", db, directory)),
                    let checked = cipher.open(check, context: "check")
                else { throw StoreError(.wrongPassphrase, "wrong passphrase for the store in \(directory.path)") }
                // The format is sealed too: a sealed store cannot pass for one of an earlier format.
                guard checked == Array(format.utf8) else {
                    throw StoreIntegrity.altered(directory, "its format does not match the one sealed in it")
                }
                if format == wholeSealFormatTag {  // checked whole, as that format was at every opening
                    try StoreIntegrity(storeKey: cipher.key).verifyLegacy(
                        sealed: try Data.fetchOne(
                            db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [StoreIntegrity.metaKey]),
                        in: db, cipher: cipher, directory: directory)
                }
                if format == catalogFormatTag {  // checked whole, by the columns that format digested
                    var integrity = StoreIntegrity(storeKey: cipher.key)
                    integrity.catalogColumns = RecordCatalog.formatThreeColumns
                    try integrity.load(
                        sealed: try Data.fetchOne(
                            db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [StoreIntegrity.metaKey]),
                        cipher: cipher, directory: directory)
                    try integrity.check(
                        .meta, .catalog, .pending, .rejections, .checkpoints, .buckets, in: db, directory: directory)
                }
                return (format, cipher)
            }
            do {
                try StoreSchema.migrator.migrate(database)
            } catch {
                throw StoreError(
                    .io, "cannot upgrade the store in \(directory.path) to this version's schema: \(error)")
            }
            // A store of an earlier format is upgraded, and may get a key of its own (format 1).
            let cipher =
                format == formatTag
                ? formatCipher
                : try upgrade(
                    database, in: directory, format: format, passphrase: passphrase, cipher: formatCipher,
                    describe: describe, acceptance: acceptance)
            let contents = try database.read { db throws -> Contents in
                // The rows opening reads are checked against the seal before anything in them is believed.
                var integrity = StoreIntegrity(storeKey: cipher.key)
                try integrity.load(
                    sealed: try Data.fetchOne(
                        db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [StoreIntegrity.metaKey]),
                    cipher: cipher, directory: directory)
                try integrity.check(.meta, .rejections, .checkpoints, in: db, directory: directory)
                guard let deviceText = String.fromDatabaseValue(try meta("device", db, directory)),
                    let device = try? DeviceID(deviceText),
                    let authoritiesText = String.fromDatabaseValue(try meta("authorities", db, directory)),
                    let authorities = try? JSONDecoder().decode([String].self, from: Data(authoritiesText.utf8)),
                    let sealedKey = Data.fromDatabaseValue(try meta("signingKey", db, directory)),
                    let rawKey = cipher.open(sealedKey, context: "signing-key"),
                    let signingKey = try? Curve25519.Signing.PrivateKey(rawRepresentation: rawKey),
                    let knowledgeText = String.fromDatabaseValue(try meta("knowledge", db, directory)),
                    let knowledge = Notation.vector(Substring(knowledgeText))
                else { throw StoreError(.corrupt, "the store's identity is unreadable: it was damaged") }
                return Contents(
                    cipher: cipher, integrity: integrity, device: device, authorities: authorities,
                    signingKey: signingKey, knowledge: knowledge)
            }
            return ReplicaStore(
                directory: directory, device: contents.device, authorities: contents.authorities, database: database,
                cipher: contents.cipher, integrity: contents.integrity, signingKey: contents.signingKey,
                knowledge: contents.knowledge, describe: describe, acceptance: acceptance, lock: lock)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot read the store in \(directory.path): \(error)")
        }
    }

    /// The `meta` value under `key`, or a refusal of the store in `directory` that lacks it.
    static func meta(_ key: String, _ db: Database, _ directory: URL) throws -> DatabaseValue {
        guard let value = try DatabaseValue.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key])
        else {
            throw StoreError(
                .corrupt, "the store in \(directory.path) lacks its \(key): it is not an edt store, or was damaged")
        }
        return value
    }

    private static func openDatabase(_ file: URL) throws(StoreError) -> DatabaseQueue {
        // The database file is made (or kept) readable by its owner alone, whatever the umask;
        // SQLite gives its write-ahead log and shared-memory files the database file's mode.
        let descriptor = Glibc.open(file.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError(.io, "cannot open \(file.path): \(String(cString: strerror(errno)))")
        }
        fchmod(descriptor, 0o600)
        close(descriptor)
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: file.path + suffix) {
            chmod(file.path + suffix, 0o600)
        }
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // Deleted content is overwritten with zeros, so a record dropped from the laptop
            // (``purgeAccepted(acceptedBy:confirm:)``) leaves none of its bytes in free space.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        do {
            let database = try DatabaseQueue(path: file.path, configuration: configuration)
            // FULL in WAL mode syncs the log on every commit: a commit that returned is durable.
            // Set here, not in `prepareDatabase`: GRDB turns the write-ahead log on after that,
            // and sets `synchronous = NORMAL` as it does (under which a power cut could lose a
            // capture already reported saved).
            try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            return database
        } catch {
            throw StoreError(.io, "cannot open \(file.path): \(error)")
        }
    }

    // MARK: - Changing

    /// Runs `change` on a replica holding the records `ids` names (those this store has) and
    /// the version vector, then writes every record it changed, and the new version vector, in
    /// one durable transaction; changed records are marked for the next sync. Returns `change`'s
    /// result once durable. Nothing changes when `change` throws or the write fails.
    ///
    /// A change may create records, but may change only the records it loaded: one that writes
    /// to a stored record it did not load is refused (it would overwrite what it never read).
    @discardableResult
    public func commit<Result>(
        loading ids: some Sequence<RecordID> = [RecordID](), _ change: (inout Replica) throws -> Result
    ) throws -> Result {
        let loadedIDs = Set(ids)
        let loadedKeys = Set(loadedIDs.map(\.rawValue))
        let loaded = try records(Array(loadedIDs))
        var replica = Replica(device: device, knowledge: knowledge, records: loaded)
        let result = try change(&replica)
        let changed = replica.changeLog.sorted()
        guard !changed.isEmpty || replica.knowledge != knowledge else { return result }
        var rows: [CatalogRow] = []
        rows.reserveCapacity(changed.count)
        let centreKey = try self.centreKey()
        for id in changed {
            guard let record = replica[id] else { continue }
            rows.append(try catalogRow(record, centreKey: centreKey))
        }
        let after = replica.knowledge
        do {
            try writeSealed { write in
                let exists = try write.db.cachedStatement(sql: "SELECT 1 FROM catalog WHERE id = ?")
                for row in rows where !loadedKeys.contains(row.id) {
                    guard try Int.fetchOne(exists, arguments: [row.id]) == nil else {
                        throw StoreError(
                            .refused, "a change wrote to record \(row.id) without reading it first; nothing was saved")
                    }
                }
                for row in rows {
                    try write.putRecord(row)
                    try write.markPending(row.id)
                }
                try write.put(.meta, "knowledge", Notation.text(after))
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "could not save the change (nothing was saved): \(error)")
        }
        knowledge = after
        return result
    }

    /// The catalog row of `record` as this store writes it: described, and accepted as the
    /// centre whose key is `centreKey` (nil: none recorded, so nothing is accepted) signed it.
    func catalogRow(_ record: Replication.Record, centreKey: [UInt8]?) throws(StoreError) -> CatalogRow {
        try CatalogRow(
            record, cipher: cipher, describe: describe, accepted: centreKey.flatMap { acceptance(record, $0) })
    }

    /// Runs `body` in one write transaction, with the store's integrity seal brought up to date
    /// in the same transaction; the tallies in memory follow only once it is committed. Every
    /// change to the store's rows goes through here.
    func writeSealed<Result>(_ body: (inout SealedWrite) throws -> Result) throws -> Result {
        let (result, committed) = try database.write { db in
            var write = SealedWrite(db: db, integrity: integrity)
            let result = try body(&write)
            try write.finish()
            try write.integrity.storeSeal(in: db, cipher: cipher)
            return (result, write.integrity)
        }
        integrity = committed
        return result
    }

    /// Signs this device's streams (sync requests, bundles) with its Ed25519 key.
    public var streamSigner: StreamSigner { StreamSigner(key: signingKey) }

    /// Signs `message` with the device's Ed25519 key.
    public func sign(_ message: [UInt8]) throws(StoreError) -> [UInt8] {
        do {
            return Array(try signingKey.signature(for: message))
        } catch {
            throw StoreError(.io, "could not sign: \(error)")
        }
    }

    // MARK: - Checkpoints

    /// The cursor last acknowledged by `peer` (a centre's identity); failing that, the one kept
    /// for another (an older version kept it under the server's URL, and a laptop told a new
    /// centre's key still holds the old one's, which the new centre will refuse: start over).
    public func checkpoint(for peer: String) throws(StoreError) -> String? {
        do {
            return try database.read { db in
                try String.fetchOne(
                    db, sql: "SELECT cursor FROM checkpoints ORDER BY peer = ? DESC, peer LIMIT 1", arguments: [peer])
            }
        } catch {
            throw StoreError(.io, "cannot read the sync checkpoint: \(error)")
        }
    }

    /// Records `cursor` for `peer`, durably. Call only once the peer acknowledged it.
    public func setCheckpoint(_ cursor: String, for peer: String) throws(StoreError) {
        do {
            try writeSealed { write in try write.put(.checkpoints, peer, cursor) }
        } catch {
            throw StoreError(.io, "cannot save the sync checkpoint: \(error)")
        }
    }
}
