public import LineProtocol
public import Replication

/// What a sync needs of the laptop's store, and nothing more: the uploader depends on this, not
/// on the store's implementation (SQLite, encryption), so a sync can be tested against any store.
///
/// Every method that changes something makes it durable before it returns.
public protocol SyncStore: AnyObject {
    /// The device whose replica this is (it signs the requests).
    var device: DeviceID { get }
    /// The device's Ed25519 public key (raw 32 bytes), the one enrolled with the centre.
    var publicKey: [UInt8] { get }
    /// The replica's version vector.
    var knowledge: VersionVector { get }
    /// Fields in conflict over all records.
    func conflictCount() throws -> Int
    /// The records of `ids` the store holds, as they are now and as stored (their canonical
    /// encoding), in the order of `ids`: a push reads its records a few dozen at a time and sends
    /// them without decoding them.
    func encodedRecords(_ ids: [RecordID]) throws -> [EncodedRecord]
    /// Told before a push reads `ids` with ``encodedRecords(_:)``, a few dozen at a time: a store
    /// may check at once what reading them all needs checked (cheaper than piece by piece), and
    /// refuse the push before a byte of it is sent.
    func prepareToRead(_ ids: [RecordID]) throws
    /// The records with changes the centre has not acknowledged, in id order.
    func pendingRecords() throws -> [RecordID]
    /// ``pendingRecords()``, then ``prepareToRead(_:)`` of them: a store may do the two side by
    /// side, and refuse the push before a byte of it is sent.
    func pendingRecordsReadyToRead() throws -> [RecordID]
    /// The cursor last acknowledged by the centre `peer` names (``SyncSession/cursorKey(centre:)``),
    /// failing that the one kept for any other (an older version kept it under the server's URL;
    /// a laptop told a new centre's key still holds the old one's), if any. Whose it is, the centre
    /// judges: one it did not issue means starting over, so nothing acknowledged elsewhere is lost.
    func checkpoint(for peer: String) throws -> String?
    /// The next request counter, durable before it is returned (never used twice).
    func nextRequestCounter() throws -> UInt64
    /// Signs `message` with the device's key.
    func sign(_ message: [UInt8]) throws -> [UInt8]
    /// Signs the device's streams (its push bodies) with the device's key.
    var streamSigner: StreamSigner { get }
    /// The centre's public key (raw 32 bytes) this device trusts: replies must be signed by it.
    /// Nil until it is recorded; a sync is refused without it.
    func centreKey() throws -> [UInt8]?
    /// The peer centres this device's centre vouched for in its verified replies (`peers=`,
    /// ``LineProtocol/Header/peersParameter``): the raw 32-byte Ed25519 public key each peer's
    /// entry device (`central.<identity>`) signs with. Empty until a reply vouched for one.
    func peerCentres() throws -> [DeviceID: [UInt8]]
    /// Adds the peer centres a verified reply vouched for to those kept, durably: a union. A
    /// device not known is added; one known keeps the key it was first vouched for with; none
    /// is ever forgotten (entries of a peer this device holds must stay verifiable).
    func trustPeerCentres(_ keys: [DeviceID: [UInt8]]) throws
    /// Colleagues' bundles kept to be relayed to the centre as their authors signed them
    /// (`Protocol/PROTOCOL.md` §4.6), by name.
    func bundlesToRelay() throws -> [(name: String, bytes: [UInt8])]
    /// Forgets the kept bundle `name`: the centre took it, or refused it for good.
    func forgetRelay(_ name: String) throws
    /// The centre's certificate of this device's key, once a reply brought one.
    func deviceCertificate() throws -> [UInt8]?
    /// Makes every record pending and forgets every cursor (the centre lost what it had).
    func startSyncOver() throws
    /// Takes in one verified reply, in one durable transaction: acknowledged records stop being
    /// pending (unless changed since), refused ones are flagged and stay pending, pulled records
    /// are merged as parts, the cursor for `peer` moves to `cursor` (the only one kept), and
    /// `certificate` (the centre's certificate of this device's key, already checked) is kept
    /// when there is one. Returns how many records the pulled ones changed.
    @discardableResult
    func applySync(
        acknowledgements: [PushAcknowledgement], pulled: [Record], cursor: String?, peer: String,
        certificate: [UInt8]?
    ) throws -> Int
}

extension SyncStore {
    /// Nothing to check ahead: each batch read is checked as it is read.
    public func prepareToRead(_ ids: [RecordID]) throws {}

    /// The one, then the other.
    public func pendingRecordsReadyToRead() throws -> [RecordID] {
        let ids = try pendingRecords()
        try prepareToRead(ids)
        return ids
    }
}
