import Crypto
public import Foundation
import GRDB
public import LineProtocol
public import Replication

#if canImport(Glibc)
import Glibc
#endif

/// The laptop's durable, encrypted replica: SQLite (WAL, full sync) holding every record sealed
/// with AES-GCM under a key derived from the passphrase.
///
/// - A change is made with ``commit(_:)``: it runs on the replica in place, and the changed
///   records are written and made durable in one transaction before it returns. If anything
///   fails, nothing is written and the replica in memory is read back from the file.
/// - The schema changes through ``StoreSchema``'s migrations (GRDB's `DatabaseMigrator`).
/// - Opening after a crash needs nobody: SQLite replays or discards its write-ahead log.
/// - Every row is covered by the store's integrity seal (``StoreIntegrity``), kept in the same
///   transaction as every change: a store changed outside edt (a record put back from an older
///   copy, a row deleted, the version vector or a sync cursor edited) is refused when opened.
/// - No personal value is stored in the clear in any file (database, WAL, journal): only record
///   ids, the device id, authority codes and version vectors are.
public final class ReplicaStore {
    /// The database file inside the store directory.
    public static let fileName = "replica.sqlite"
    /// The store's format, in the `meta` row `format` and sealed in the row `check`. Format 2
    /// has the integrity seal; an older edt refuses it rather than write rows the seal misses.
    static let formatTag = "edt-store-2"
    /// The format before the integrity seal: sealed at its first opening (``sealUnsealedStore``).
    static let unsealedFormatTag = "edt-store-1"
    /// How long opening waits for another process using the store, unless told otherwise.
    public static let defaultLockWaitSeconds = 120.0

    public let directory: URL
    public let device: DeviceID
    /// The authorities (GSS codes) this device serves.
    public let authorities: [String]
    /// The device's Ed25519 public key (raw 32 bytes), for enrolment with the central endpoint.
    public let publicKey: [UInt8]
    /// The replica as last committed.
    public internal(set) var replica: Replica

    let database: DatabaseQueue
    let cipher: StoreCipher
    /// The integrity tallies of the rows as last committed (``writeSealed(_:)`` keeps them).
    var integrity: StoreIntegrity
    private let signingKey: Curve25519.Signing.PrivateKey
    /// Held while this store is open: one process at a time changes a replica.
    private let lock: StoreLock

    private init(
        directory: URL, device: DeviceID, authorities: [String], database: DatabaseQueue, cipher: StoreCipher,
        integrity: StoreIntegrity, signingKey: Curve25519.Signing.PrivateKey, replica: Replica, lock: StoreLock
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
        self.replica = replica
    }

    // MARK: - Creating and opening

    /// Creates a new store in `directory` (made if missing; must not hold a store already).
    /// - Parameter lockWaitSeconds: how long to wait for another process holding the directory.
    public static func create(
        at directory: URL, device: DeviceID, authorities: [String], passphrase: String,
        lockWaitSeconds: Double = defaultLockWaitSeconds
    ) throws(StoreError) -> ReplicaStore {
        guard !passphrase.isEmpty else { throw StoreError(.refused, "the passphrase must not be empty") }
        let file = directory.appendingPathComponent(fileName)
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
            cipher: cipher, integrity: integrity, signingKey: signingKey, replica: Replica(device: device), lock: lock)
    }

    /// Opens the store in `directory`, refusing a wrong passphrase. A store written by an
    /// earlier version is migrated to the present schema first (``StoreSchema``), nothing lost.
    ///
    /// Every row is checked against the store's integrity seal first (``StoreIntegrity``): a store
    /// changed outside edt is refused with ``StoreError/Code/altered`` and left as it was. A store
    /// of the format before the seal is sealed at its first opening (``sealUnsealedStore``).
    /// - Parameter lockWaitSeconds: how long to wait for another process using the store.
    public static func open(
        at directory: URL, passphrase: String, lockWaitSeconds: Double = defaultLockWaitSeconds
    ) throws(StoreError) -> ReplicaStore {
        let file = directory.appendingPathComponent(fileName)
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
            try StoreSchema.migrator.migrate(database)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot upgrade the store in \(directory.path) to this version's schema: \(error)")
        }
        /// What opening read: everything but the lock and the database.
        struct Contents {
            var cipher: StoreCipher
            /// Nil for a store of the format before the seal.
            var integrity: StoreIntegrity?
            let device: DeviceID
            let authorities: [String]
            let signingKey: Curve25519.Signing.PrivateKey
            let replica: Replica
        }
        do {
            var contents = try database.read { db throws -> Contents in
                func meta(_ key: String) throws -> DatabaseValue {
                    guard
                        let value = try DatabaseValue.fetchOne(
                            db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key])
                    else {
                        throw StoreError(
                            .corrupt,
                            "the store in \(directory.path) lacks its \(key): it is not an edt store, or was damaged")
                    }
                    return value
                }
                guard let format = String.fromDatabaseValue(try meta("format")),
                    format == formatTag || format == unsealedFormatTag
                else {
                    throw StoreError(.corrupt, "\(file.path) is not an edt store of a version this program reads")
                }
                guard let parametersData = Data.fromDatabaseValue(try meta("kdf")),
                    let parameters = try? JSONDecoder().decode(StoreCipher.Parameters.self, from: parametersData)
                else { throw StoreError(.corrupt, "the store's key settings are unreadable") }
                let cipher = try StoreCipher.derive(passphrase: passphrase, parameters: parameters)
                guard let check = Data.fromDatabaseValue(try meta("check")),
                    let checked = cipher.open(check, context: "check")
                else { throw StoreError(.wrongPassphrase, "wrong passphrase for the store in \(directory.path)") }
                // The format is sealed too: a sealed store cannot pass for one from before the seal.
                guard checked == Array(format.utf8) else {
                    throw StoreIntegrity.altered(directory, "its format does not match the one sealed in it")
                }
                // Every row is checked against the seal before anything in it is believed.
                var integrity = format == formatTag ? StoreIntegrity(storeKey: cipher.key) : nil
                let records = try loadRecords(db, cipher: cipher, integrity: &integrity)
                if var counted = integrity {
                    try counted.tallyAll(in: db, except: [.records])
                    let seal = try Data.fetchOne(
                        db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [StoreIntegrity.metaKey])
                    try counted.verify(against: seal, cipher: cipher, directory: directory)
                    integrity = counted
                }
                guard let deviceText = String.fromDatabaseValue(try meta("device")),
                    let device = try? DeviceID(deviceText),
                    let authoritiesText = String.fromDatabaseValue(try meta("authorities")),
                    let authorities = try? JSONDecoder().decode([String].self, from: Data(authoritiesText.utf8)),
                    let sealedKey = Data.fromDatabaseValue(try meta("signingKey")),
                    let rawKey = cipher.open(sealedKey, context: "signing-key"),
                    let signingKey = try? Curve25519.Signing.PrivateKey(rawRepresentation: rawKey),
                    let knowledgeText = String.fromDatabaseValue(try meta("knowledge")),
                    let knowledge = Notation.vector(Substring(knowledgeText))
                else { throw StoreError(.corrupt, "the store's identity is unreadable: it was damaged") }
                return Contents(
                    cipher: cipher, integrity: integrity, device: device, authorities: authorities,
                    signingKey: signingKey, replica: Replica(device: device, knowledge: knowledge, records: records))
            }
            if contents.integrity == nil {
                (contents.cipher, contents.integrity) = try sealUnsealedStore(
                    database, in: directory, passphrase: passphrase, unsealedWith: contents.cipher)
            }
            guard let integrity = contents.integrity else { preconditionFailure("the store was sealed above") }
            return ReplicaStore(
                directory: directory, device: contents.device, authorities: contents.authorities, database: database,
                cipher: contents.cipher, integrity: integrity, signingKey: contents.signingKey,
                replica: contents.replica, lock: lock)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot read the store in \(directory.path): \(error)")
        }
    }

    /// Reads and opens every sealed record, counting each in `integrity` (when there is one).
    /// Each is opened, so its AES-GCM tag is checked: the seal's digest of a record, which takes
    /// its nonce and tag for the whole of it, relies on that (``StoreIntegrity``).
    private static func loadRecords(
        _ db: Database, cipher: StoreCipher, integrity: inout StoreIntegrity?
    ) throws -> [Replication.Record] {
        var records: [Replication.Record] = []
        let rows = try Row.fetchCursor(db, sql: "SELECT id, sealed FROM records")
        while let row = try rows.next() {
            let idValue: DatabaseValue = row[0]
            let sealedValue: DatabaseValue = row[1]
            integrity?.add(.records, key: idValue, value: sealedValue)
            let idText = String.fromDatabaseValue(idValue) ?? "\(idValue)"
            guard let sealed = Data.fromDatabaseValue(sealedValue), let id = try? RecordID(idText),
                let plain = cipher.open(sealed, context: "record:" + idText),
                let record = try? RecordCoding.decode(plain, id: id)
            else { throw StoreError(.corrupt, "record \(idText) cannot be read: the store was damaged or altered") }
            records.append(record)
        }
        return records
    }

    /// Puts the replica in memory back to what the database holds (after a failed change).
    func reload() throws {
        replica = try database.read { db in
            guard let text = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'knowledge'"),
                let knowledge = Notation.vector(Substring(text))
            else { throw StoreError(.corrupt, "the store's version vector is unreadable") }
            var uncounted: StoreIntegrity? = nil
            let records = try Self.loadRecords(db, cipher: cipher, integrity: &uncounted)
            return Replica(device: device, knowledge: knowledge, records: records)
        }
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
            // FULL in WAL mode syncs the log on every commit: a commit that returned is durable.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            return try DatabaseQueue(path: file.path, configuration: configuration)
        } catch {
            throw StoreError(.io, "cannot open \(file.path): \(error)")
        }
    }

    // MARK: - Reading

    /// The record `id`, as last committed.
    public func record(_ id: RecordID) -> Replication.Record? { replica[id] }

    /// The replica's version vector: every write it has incorporated.
    public var knowledge: VersionVector { replica.knowledge }

    /// Fields in conflict over all records.
    public var conflictCount: Int { replica.conflictCount }

    // MARK: - Changing

    /// Runs `change` on the replica, then writes every record it changed, and the new version
    /// vector, in one durable transaction; changed records are marked for the next sync. Returns `change`'s result once durable.
    /// Nothing changes, on disk or in memory, when `change` throws or the write fails: the replica
    /// in memory is then read back from the database. (The change runs in place, not on a copy,
    /// so a capture costs the same in a store of ten cases or of a hundred thousand.)
    @discardableResult
    public func commit<Result>(_ change: (inout Replica) throws -> Result) throws -> Result {
        let before = replica.knowledge
        do {
            replica.clearChangeLog()
            let result = try change(&replica)
            // The records this change touched (not every record holding dots the version vector
            // does not cover: records pulled from the centre hold such dots for good).
            let changed = replica.changeLog.sorted()
            guard !changed.isEmpty || replica.knowledge != before else { return result }
            var rows: [(String, Data)] = []
            for id in changed {
                guard let record = replica[id] else { continue }
                rows.append(
                    (id.rawValue, try cipher.seal(RecordCoding.encode(record), context: "record:" + id.rawValue)))
            }
            let knowledge = Notation.text(replica.knowledge)
            do {
                try writeSealed { write in
                    for (id, sealed) in rows {
                        try write.put(.records, id, sealed)
                        try write.markPending(id)
                    }
                    try write.put(.meta, "knowledge", knowledge)
                }
            } catch {
                throw StoreError(.io, "could not save the change (nothing was saved): \(error)")
            }
            return result
        } catch {
            try? reload()
            throw error
        }
    }

    /// Runs `body` in one write transaction, with the store's integrity seal brought up to date
    /// in the same transaction; the tallies in memory follow only once it is committed. Every
    /// change to the store's rows goes through here.
    func writeSealed<Result>(_ body: (inout SealedWrite) throws -> Result) throws -> Result {
        let (result, committed) = try database.write { db in
            var write = SealedWrite(db: db, integrity: integrity)
            let result = try body(&write)
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

    /// The cursor last acknowledged by `peer` (the central endpoint's URL).
    public func checkpoint(for peer: String) throws(StoreError) -> String? {
        do {
            return try database.read { db in
                try String.fetchOne(db, sql: "SELECT cursor FROM checkpoints WHERE peer = ?", arguments: [peer])
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
