import Central
import Crypto
import Dispatch
import LineProtocol
import Replication
import Synchronization
import Uploader

/// The centre's side of a sync with a peer centre, as the uploader's ``Uploader/SyncStore``: the
/// centre pushes the cases the peer's authorities see (or left) that the peer has not
/// acknowledged as they are now, and merges what the peer sends back (its acts on them) through
/// the same checks as any push, the peer vouching for its own laptops' writes.
///
/// ``SyncSession`` runs on a thread of its own and calls its store synchronously; each call
/// here waits on that thread for the centre's (async) storage. Never call it on Swift's
/// cooperative pool.
final class PeerSyncStore: SyncStore {
    let storage: any CentralStorage
    let peer: PeerCentre
    let service: SyncService
    /// The change number each case was read at when pushed: what an acknowledgement covers.
    private let sent = Mutex<[RecordID: Int64]>([:])
    /// The cases the peer sent back that this centre refused, with the reason (reported, not fatal).
    let refusedPulls = Mutex<[String]>([])
    /// The most cases one sync with the peer pushes: the oldest changes after ``after`` first,
    /// the rest in the syncs after it (``PeerForwarder/forward(to:)`` goes on while there are more).
    let round: Int
    /// The change after which this sync lists cases to forward (0: from the first).
    let after: Int64
    /// The last change the list of cases to forward reached, when it was cut at ``round``
    /// (more may be waiting after it); nil when it listed all there were.
    let roundEndedAt = Mutex<Int64?>(nil)

    init(storage: any CentralStorage, peer: PeerCentre, service: SyncService, round: Int, after: Int64 = 0) throws {
        self.storage = storage
        self.peer = peer
        self.service = service
        self.round = max(1, round)
        self.after = after
        // Read here, on the caller's task (never waiting on the pool from it).
        self.device = try storage.centreDevice
    }

    let device: DeviceID
    var publicKey: [UInt8] { storage.publicKey }
    var knowledge: VersionVector { VersionVector() }
    var streamSigner: StreamSigner { StreamSigner(key: storage.signingKey) }

    func conflictCount() throws -> Int { 0 }

    func encodedRecords(_ ids: [RecordID]) throws -> [EncodedRecord] {
        let storage = self.storage
        // Each case sent to the peer is recorded in the audit log as read by it, before it is sent.
        let reader = AuditActor(
            who: peer.device.id.rawValue, authorities: peer.device.authorities, action: "forward-to-peer")
        let cases = try Self.wait { () async throws(CentralError) in
            let cases = try await storage.encodedCases(ids)
            try await storage.audit(cases.map(\.id), by: reader)
            return cases
        }
        return try cases.map { found in
            sent.withLock { $0[found.id] = found.sequence }
            guard let record = try? RecordCoding.decode(found.body, id: found.id) else {
                throw CentralError(.storage, "case \(found.id) is stored in a form that cannot be read")
            }
            return EncodedRecord(id: found.id, version: record.version, payload: found.body)
        }
    }

    func pendingRecords() throws -> [RecordID] {
        let storage = self.storage
        let peer = self.peer
        let round = self.round
        let after = self.after
        let listed = try Self.wait { () async throws(CentralError) in
            try await storage.casesToForward(
                to: peer.device.id, authorities: peer.device.authorities, after: after, limit: round)
        }
        roundEndedAt.withLock { $0 = listed.count >= round ? listed.last?.sequence : nil }
        return listed.map(\.id).sorted { $0.rawValue < $1.rawValue }
    }

    func checkpoint(for peer: String) throws -> String? {
        let storage = self.storage
        let id = self.peer.device.id
        return try Self.wait { () async throws(CentralError) in try await storage.forwardingState(of: id) }.cursor
    }

    func nextRequestCounter() throws -> UInt64 {
        let storage = self.storage
        return try Self.wait { () async throws(CentralError) in try await storage.nextRequestCounter() }
    }

    func sign(_ message: [UInt8]) throws -> [UInt8] { Array(try storage.signingKey.signature(for: message)) }

    func centreKey() throws -> [UInt8]? { peer.device.publicKey }

    func bundlesToRelay() throws -> [(name: String, bytes: [UInt8])] { [] }
    func forgetRelay(_ name: String) throws {}
    /// A centre trusts the peers it enrolled itself, not those another centre vouches for.
    func peerCentres() throws -> [DeviceID: [UInt8]] { [:] }
    func trustPeerCentres(_ keys: [DeviceID: [UInt8]]) throws {}
    func deviceCertificate() throws -> [UInt8]? { nil }

    func startSyncOver() throws {
        let storage = self.storage
        let id = self.peer.device.id
        try Self.wait { () async throws(CentralError) in try await storage.startForwardingOver(to: id) }
    }

    /// A centre keeps no certificate of its own key from a peer: `certificate` is ignored.
    func applySync(
        acknowledgements: [PushAcknowledgement], pulled: [Record], cursor: String?, peer: String,
        certificate: [UInt8]?
    ) throws -> Int {
        let storage = self.storage
        let id = self.peer.device.id
        let sentNow = sent.withLock { $0 }
        var forwarded: [(id: RecordID, sequence: Int64)] = []
        for acknowledgement in acknowledgements {
            if case .stored(let record, _) = acknowledgement, let sequence = sentNow[record] {
                forwarded.append((record, sequence))
            }
        }
        let device = self.peer.device
        let service = self.service
        let taken = forwarded
        let outcomes = try Self.wait { () async throws(CentralError) in
            // What the peer sends back is merged first, then what it took is marked and the
            // cursor moved: a failure in between sends it all again, harmlessly.
            let outcomes = try await service.store(pulled, from: device)
            try await storage.markForwarded(to: id, taken)
            var state = try await storage.forwardingState(of: id)
            state.cursor = cursor
            try await storage.setForwardingState(state, of: id)
            return outcomes
        }
        var changed = 0
        for outcome in outcomes {
            switch outcome {
            case .stored: changed += 1
            case .rejected(let record, let rejection):
                refusedPulls.withLock { $0.append("\(record): \(rejection.message)") }
            }
        }
        return changed
    }

    /// Runs `body` on Swift's pool and waits for it on this (the sync's own) thread.
    static func wait<T: Sendable>(
        _ body: @escaping @Sendable () async throws(CentralError) -> T
    ) throws(CentralError) -> T {
        let result = Mutex<Result<T, CentralError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            do throws(CentralError) {
                let value = try await body()
                result.withLock { $0 = .success(value) }
            } catch {
                result.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        guard let outcome = result.withLock({ $0 }) else {
            throw CentralError(.storage, "the centre's storage did not answer")
        }
        return try outcome.get()
    }
}
