import Crypto
public import Foundation
public import Handover
import LineProtocol
import ReplicaStore
public import Replication

/// The laptop's application layer on one open replica store: the device's policies, a clock,
/// and every operation a worker runs (in the extensions beside this file: referrals, reading,
/// bundles, sync). Each change is one durable commit, or nothing.
///
/// One process at a time opens a store (it waits up to `lockWaitSeconds` for another).
public final class Workspace {
    let store: ReplicaStore
    /// What this device may do.
    public let policy: DevicePolicy
    let clock: any InstantSource
    /// The authorities known (the shipped defaults, with the operator's file when there is one):
    /// host and home authorities must be among them, and deadlines use their calendars.
    public let directory: AuthorityDirectory

    /// How long opening waits for another process using the store, unless told otherwise.
    public static let defaultLockWaitSeconds = ReplicaStore.defaultLockWaitSeconds

    init(store: ReplicaStore, clock: any InstantSource, directory: AuthorityDirectory) throws(LaptopError) {
        self.store = store
        self.policy = try DevicePolicy(authorities: store.authorities)
        self.clock = clock
        self.directory = directory
    }

    /// Creates an encrypted store for `device` serving `authorities` in `directory`.
    public static func create(
        at directory: URL, device: DeviceID, authorities: [String], passphrase: String,
        lockWaitSeconds: Double = defaultLockWaitSeconds, clock: any InstantSource = SystemClock(),
        knownAuthorities known: AuthorityDirectory = .shipped
    ) throws(LaptopError) -> Workspace {
        let policy = try DevicePolicy(authorities: authorities)
        let today = LondonTime.day(of: clock.now())
        for code in policy.authorities {
            if let refusal = known.refusal(of: code, on: today) { throw .refused("--authority: " + refusal) }
        }
        return try Workspace(clock: clock, directory: known) {
            try ReplicaStore.create(
                at: directory, device: device, authorities: policy.authorities, passphrase: passphrase,
                lockWaitSeconds: lockWaitSeconds, describe: ReferralCatalog.describe,
                acceptance: ReferralCatalog.accepted)
        }
    }

    /// Opens the store in `directory`, refusing a wrong passphrase.
    public static func open(
        at directory: URL, passphrase: String, lockWaitSeconds: Double = defaultLockWaitSeconds,
        clock: any InstantSource = SystemClock(), knownAuthorities known: AuthorityDirectory = .shipped
    ) throws(LaptopError) -> Workspace {
        try Workspace(clock: clock, directory: known) {
            try ReplicaStore.open(
                at: directory, passphrase: passphrase, lockWaitSeconds: lockWaitSeconds,
                describe: ReferralCatalog.describe, acceptance: ReferralCatalog.accepted)
        }
    }

    /// This device's identity.
    public var device: DeviceID { store.device }
    /// The device's Ed25519 public key (raw 32 bytes), for enrolment with the central endpoint.
    public var publicKey: [UInt8] { store.publicKey }
    /// The replica's version vector, in the line protocol's notation (`edt-laptop-a:12,...`).
    public var versionVector: String { Notation.text(store.knowledge) }
    /// The digest (SHA-256) of the replica's canonical content: replicas that have seen the same
    /// updates have the same digest. Reads every record.
    public func digest() throws(LaptopError) -> String {
        try Self.translatingFailures { try store.digest() }
    }

    /// Checks the whole store against its integrity seal and opens every record; returns how
    /// many records it holds. A store altered outside edt is refused (``LaptopError``, I/O).
    public func verifyStore() throws(LaptopError) -> Int {
        try Self.translatingFailures { try store.verifyWhole() }
    }

    /// Runs `change` as one durable commit, on a replica holding the records `ids` names.
    @discardableResult
    func commit<Result>(
        loading ids: [RecordID] = [], _ change: (inout Replica) throws -> Result
    ) throws(LaptopError) -> Result {
        try Self.translatingFailures { try store.commit(loading: ids, change) }
    }

    /// Runs `body`, turning the store's failures into ``LaptopError``s.
    func storeAccess<Result>(_ body: () throws -> Result) throws(LaptopError) -> Result {
        try Self.translatingFailures(body)
    }

    /// A workspace on the store `open` opens (or creates).
    private convenience init(
        clock: any InstantSource, directory: AuthorityDirectory, _ open: () throws -> ReplicaStore
    ) throws(LaptopError) {
        try self.init(store: Self.translatingFailures(open), clock: clock, directory: directory)
    }

    /// Runs `body`, turning the store's and replication's failures into ``LaptopError``s.
    private static func translatingFailures<Result>(_ body: () throws -> Result) throws(LaptopError) -> Result {
        do {
            return try body()
        } catch let error as StoreError {
            throw LaptopError(error)
        } catch let error as LaptopError {
            throw error
        } catch let error as ReplicationError {
            throw .refused(error.description)
        } catch {
            throw .inputOutput("\(error)")
        }
    }
}

extension LaptopError {
    /// A store failure: the environment's (disk, damage, a busy store) or the input's.
    init(_ error: StoreError) {
        self.init(error.isInputOrOutput ? .inputOutput : .refused, error.message)
    }
}

/// The centre this laptop trusts.
extension Workspace {
    /// The centre's public key (raw 32 bytes), once recorded: every sync reply must be signed by it.
    public func centreKey() throws(LaptopError) -> [UInt8]? {
        do {
            return try store.centreKey()
        } catch {
            throw LaptopError(error)
        }
    }

    /// The peer centres this laptop's centre vouched for in its sync replies: the key (raw 32
    /// bytes) each peer's entry device (`central.<identity>`) signs with. Kept for good: a peer
    /// once vouched for is never forgotten.
    public func peerCentres() throws(LaptopError) -> [DeviceID: [UInt8]] {
        do {
            return try store.peerCentres()
        } catch {
            throw LaptopError(error)
        }
    }

    /// The key the entries at each centre entry device's dot (`central.<identity>`) must verify
    /// with, read from the store once: the key this laptop's centre vouched for that very device
    /// when it is a peer centre's (``peerCentres()``), else the centre's own key
    /// (``centreKey()``); nil for a device that is not a centre's, and for a centre's other
    /// than a peer's while this laptop knows no centre key. A sync checks pulled entries with
    /// the same rule, its reply's own vouching included.
    public func centreKeys() throws(LaptopError) -> @Sendable (DeviceID) -> [UInt8]? {
        let centreKey = try centreKey()
        return SyncContract.centreKeyLookup(centreKey: centreKey, peerCentres: try peerCentres())
    }

    /// The raw key `text` names (base64 of a 32-byte Ed25519 public key, as `edt central identity`
    /// prints it), or a refusal: so a command can check it before it changes anything.
    public static func centreKey(base64 text: String) throws(LaptopError) -> [UInt8] {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32,
            (try? Curve25519.Signing.PublicKey(rawRepresentation: data)) != nil
        else {
            throw .refused(
                "\"\(text)\" is not a centre's key: give the 32-byte Ed25519 key in base64 that `edt central identity` prints"
            )
        }
        return Array(data)
    }

    /// Records the centre's public key, given as `edt central identity` prints it (base64 of the
    /// raw 32-byte Ed25519 key).
    public func setCentreKey(base64 text: String) throws(LaptopError) {
        let key = try Self.centreKey(base64: text)
        do {
            try store.setCentreKey(key)
        } catch {
            throw LaptopError(error)
        }
    }
}
