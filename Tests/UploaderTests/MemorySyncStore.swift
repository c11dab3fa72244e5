import Crypto
import LineProtocol
import Replication
import Uploader

/// A ``SyncStore`` held in memory: the uploader works on any store that keeps this contract,
/// and these tests need no database. Not durable, so only for tests.
final class MemorySyncStore: SyncStore {
    var replica: Replica
    var pending: Set<RecordID>
    var rejections: [RecordID: Rejection] = [:]
    var cursors: [String: String] = [:]
    var counter: UInt64 = 0
    /// Colleagues' bundles kept to relay, by name.
    var relays: [(name: String, bytes: [UInt8])] = []
    let key = Curve25519.Signing.PrivateKey()
    /// The centre this store trusts (its replies must be signed by this key's public half).
    var centre: Curve25519.Signing.PrivateKey? = Curve25519.Signing.PrivateKey()

    init(replica: Replica) {
        self.replica = replica
        pending = Set(replica.records.keys)
    }

    var device: DeviceID { replica.device }
    var publicKey: [UInt8] { Array(key.publicKey.rawRepresentation) }
    var knowledge: VersionVector { replica.knowledge }
    func conflictCount() -> Int { replica.conflictCount }
    /// Reading fails once this many records were read (a store found damaged mid-push).
    var failReadingAfter: Int?
    private var read = 0
    /// How many records each read asked for, in order.
    private(set) var reads: [Int] = []

    /// Why reading failed, in tests.
    struct ReadFailure: Error, CustomStringConvertible {
        var description: String { "record damaged" }
    }

    func encodedRecords(_ ids: [RecordID]) throws -> [EncodedRecord] {
        if let limit = failReadingAfter, read + ids.count > limit { throw ReadFailure() }
        read += ids.count
        reads.append(ids.count)
        return ids.compactMap { id in
            replica[id].map { EncodedRecord(id: id, version: $0.version, payload: RecordCoding.encode($0)) }
        }
    }
    func pendingRecords() -> [RecordID] { pending.sorted() }
    func checkpoint(for peer: String) -> String? { cursors[peer] ?? cursors.values.first }

    func nextRequestCounter() -> UInt64 {
        counter += 1
        return counter
    }

    func sign(_ message: [UInt8]) throws -> [UInt8] { Array(try key.signature(for: message)) }
    var streamSigner: StreamSigner { StreamSigner(key: key) }
    func centreKey() -> [UInt8]? { centre.map { Array($0.publicKey.rawRepresentation) } }

    func startSyncOver() {
        pending = Set(replica.records.keys)
        cursors = [:]
    }

    func applySync(
        acknowledgements: [PushAcknowledgement], pulled: [Record], cursor: String?, peer: String,
        certificate: [UInt8]?
    ) -> Int {
        if let certificate { self.certificate = certificate }
        for acknowledgement in acknowledgements {
            switch acknowledgement {
            case .stored(let id, let pushed) where replica[id]?.version == pushed:
                pending.remove(id)
                rejections[id] = nil
            case .refused(let rejection, let pushed) where replica[rejection.record]?.version == pushed:
                rejections[rejection.record] = rejection
            default: break
            }
        }
        let changed = replica.merge(parts: pulled)
        if let cursor { cursors = [peer: cursor] }
        return changed
    }

    func bundlesToRelay() -> [(name: String, bytes: [UInt8])] { relays }

    func forgetRelay(_ name: String) { relays.removeAll { $0.name == name } }

    var certificate: [UInt8]?

    func deviceCertificate() -> [UInt8]? { certificate }

    /// The peer centres kept: a union, the first key vouched for a device kept.
    var peers: [DeviceID: [UInt8]] = [:]

    func peerCentres() -> [DeviceID: [UInt8]] { peers }

    func trustPeerCentres(_ keys: [DeviceID: [UInt8]]) { peers.merge(keys) { kept, _ in kept } }
}
