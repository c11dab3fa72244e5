public import Foundation
public import LineProtocol
public import Replication

/// One sync of a laptop's replica with the central endpoint, over libcurl (`Protocol/PROTOCOL.md` §4).
///
/// Each request is signed (``SyncAuthorization``), streams its body from the replica record by
/// record (`CURLOPT_READFUNCTION`: the push is never whole in memory) and streams the reply to
/// a staging file (in ``Options/stagingDirectory``) through the protocol decoder, which
/// verifies it on the way. Nothing from a reply is read back, let alone applied, until the
/// whole reply is verified;
/// then, in one durable transaction, acknowledged records stop being pending, refused ones are
/// flagged, pulled ones are merged, and the pull cursor moves. The decisions (batches,
/// retries, backoff, when to stop) are ``StateMachine``'s.
///
/// ``run()`` is async: the transfers and backoffs block, so they run on a thread of their own,
/// never on Swift's cooperative pool, and the caller awaits the outcome.
public final class SyncSession {
    public struct Options: Sendable {
        /// The central endpoint's base URL (`https://central.example/`); the sync path is added.
        public var server: String
        public var transfer = TransferOptions()
        public var machine = StateMachine.Configuration()
        /// Records between signed checkpoints (`SIG part`) in a request: the centre verifies and
        /// stores each segment while the next one is still arriving. What the centre has left to
        /// do once the last byte is in (read, check and store the last segments) grows with
        /// this, and the laptop waits for it: at 250 a push of 10,000 referrals is answered
        /// about 40 ms after its last byte, at 1,000 about 100 ms (`Docs/performance.md`).
        public var checkpointRecords = Options.defaultCheckpointRecords
        /// ``checkpointRecords`` unless told otherwise.
        public static let defaultCheckpointRecords = 250
        /// Where replies are staged on disk while they arrive and are verified (the store's
        /// directory); nil: the system's temporary directory.
        public var stagingDirectory: URL?
        /// Checks the records a verified reply pulled, before anything of the reply is applied:
        /// says why the reply is refused (then nothing of it is applied and the sync fails), or
        /// nil. `centreKey` gives the key the entries at a centre entry device's dot
        /// (`central.<identity>`) must verify with: the one the centre vouches for that very
        /// device when it is a peer centre's (this reply's `peers=` and every earlier one's),
        /// else the centre's own key; nil for a device that is not a centre's
        /// (``SyncContract/centreKeyLookup(centreKey:peerCentres:)``). The laptop checks here
        /// that entries written in a centre's name are signed with that centre's key.
        public var checkPulled:
            (@Sendable (_ pulled: [Record], _ centreKey: @Sendable (DeviceID) -> [UInt8]?) -> String?)?

        public init(server: String) {
            self.server = server
        }

        /// The URL requests go to.
        public var syncURL: String {
            if server.hasSuffix(SyncContract.syncPath) { return server }
            return base + SyncContract.syncPath
        }

        /// The URL colleagues' bundles are relayed to.
        public var relayURL: String { base + SyncContract.relayPath }

        private var base: String {
            var base =
                server.hasSuffix(SyncContract.syncPath) ? String(server.dropLast(SyncContract.syncPath.count)) : server
            if base.hasSuffix("/") { base.removeLast() }
            return base
        }
    }

    /// What a sync did.
    public struct Summary: Sendable, Hashable {
        /// Records the centre acknowledged.
        public var pushed = 0
        /// Records received from the centre.
        public var pulled = 0
        /// Records the centre refused in this sync (they stay here, flagged).
        public var rejected = 0
        /// Fields in conflict in the replica after the sync.
        public var conflicts = 0
        /// Requests whose replies were applied.
        public var requests = 0
        /// Requests sent, failed ones included.
        public var attempts = 0
        /// The centre's reasons for what it refused in this sync.
        public var rejections: [Rejection] = []
        /// Colleagues' bundles relayed to the centre (``SyncSession/relayBundles(into:)``).
        public var relayed = 0
        /// Why the centre refused a relayed bundle outright (it was then forgotten).
        public var relayRefusals: [String] = []
        /// Records dropped from the laptop after the sync (the laptop layer's purge: held by
        /// the centre and accepted).
        public var purged = 0
        /// Cases the centre said this device's authorities no longer see (forwarded anew to
        /// another home): the laptop layer drops them when nothing of them is pending.
        public var gone: [RecordID] = []
        /// Why dropping accepted cases after the sync failed, when it did (the sync itself
        /// stands: nothing was dropped, and the next sync tries again).
        public var purgeProblem: String?
    }

    /// Where a running sync is, for a progress display.
    public struct Progress: Sendable, Hashable {
        public var pushed: Int
        /// Records pending when the sync started.
        public var toPush: Int
        public var pulled: Int
        public var requests: Int
        /// Set while waiting to retry: why, and for how long.
        public var retrying: Retry?

        /// A backoff under way.
        public struct Retry: Sendable, Hashable {
            public let reason: String
            public let seconds: Double
        }

        init(pushed: Int, toPush: Int, pulled: Int, requests: Int) {
            self.pushed = pushed
            self.toPush = toPush
            self.pulled = pulled
            self.requests = requests
        }
    }

    let store: any SyncStore
    let options: Options
    /// What this session's requests are named (``SyncContract/requestIDHeader``): `<prefix>-<n>`
    /// for its n-th request (relays and retries included), so the centre's log lines for every
    /// request of one sync can be found by the prefix, and for one by its whole id.
    public let requestIDPrefix = SyncContract.randomRequestID()
    /// Requests sent so far (the number of the last one's id).
    private var requestsSent = 0
    /// The id of the last request sent, if any: the one a failure is reported with.
    public private(set) var lastRequestID: String?
    /// The key the cursor is kept under: the centre's identity, not the URL it was reached by,
    /// so a pull goes on from where it was whichever of the centre's servers answers (several
    /// serve one database) and whatever name reaches it.
    public static func cursorKey(centre: String) -> String { "centre:" + centre }
    private let progress: (@Sendable (Progress) -> Void)?

    /// - Parameter progress: told where the sync is after each request and before each backoff
    ///   (on the sync's own thread).
    public init(store: any SyncStore, options: Options, progress: (@Sendable (Progress) -> Void)? = nil) {
        self.store = store
        self.options = options
        self.progress = progress
    }

    /// Runs the sync to its end on a thread of its own. Throws ``SyncError`` when a failure
    /// persisted or cannot be retried; what was applied before stays applied. The session and
    /// its store must not be used by anyone else until it returns.
    public func run() async throws(SyncError) -> Summary {
        let handOver = HandOver(session: self)
        let outcome = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<Summary, SyncError>, Never>) in
            let thread = Thread {
                do throws(SyncError) {
                    continuation.resume(returning: .success(try handOver.session.runBlocking()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            thread.name = "edt-sync"
            thread.start()
        }
        return try outcome.get()
    }

    /// Carries the session to its thread. The caller awaits the thread's outcome and touches
    /// neither the session nor its store meanwhile, so only one thread ever uses them.
    private final class HandOver: @unchecked Sendable {
        let session: SyncSession
        init(session: SyncSession) { self.session = session }
    }

    /// The sync loop (``syncBlocking()``); a failure after a request was sent names that
    /// request's id (``SyncError/requestID``), which the centre logs it under.
    private func runBlocking() throws(SyncError) -> Summary {
        do {
            return try syncBlocking()
        } catch {
            throw named(error)
        }
    }

    /// `error` with the id of the last request sent, and this sync's first, in its message.
    func named(_ error: SyncError) -> SyncError {
        guard let last = lastRequestID, error.requestID == nil else { return error }
        let span = requestsSent > 1 ? ", and this sync's requests are \(requestIDPrefix)-1 to \(last)" : ""
        return SyncError(
            error.code, error.message + " (request id \(last); the centre logs each request under its id\(span))",
            requestID: last)
    }

    /// The id of the next request: `<requestIDPrefix>-<n>`.
    func nextRequestID() -> String {
        requestsSent += 1
        let id = "\(requestIDPrefix)-\(requestsSent)"
        lastRequestID = id
        return id
    }

    /// The sync loop: blocking (transfers, backoffs).
    private func syncBlocking() throws(SyncError) -> Summary {
        var machine = StateMachine(configuration: options.machine)
        var summary = Summary()
        try relayBundles(into: &summary)
        let initial = try pending()
        // What this laptop holds unacknowledged as each request goes (reported in its header):
        // what was pending at the start, less what the centre has acknowledged since.
        var unacknowledged = initial.count
        var status = Progress(pushed: 0, toPush: initial.count, pulled: 0, requests: 0)
        var action = machine.start(pending: initial)
        var generator = SystemRandomNumberGenerator()
        while true {
            switch action {
            case .send(let request):
                summary.attempts += 1
                let outcome: RequestOutcome
                do {
                    outcome = try perform(request, pending: unacknowledged)
                } catch {
                    action = machine.failed(error, jitter: Double.random(in: 0..<1, using: &generator))
                    if case .wait(let seconds) = action {
                        status.retrying = Progress.Retry(reason: error.reason, seconds: seconds)
                        progress?(status)
                    }
                    continue
                }
                summary.pushed += outcome.stored
                unacknowledged = max(0, unacknowledged - outcome.stored)
                summary.pulled += outcome.pulled
                summary.gone += outcome.gone
                summary.rejected += outcome.rejections.count
                summary.rejections += outcome.rejections
                summary.requests += 1
                status = Progress(
                    pushed: summary.pushed + summary.rejected,
                    toPush: max(status.toPush, summary.pushed + summary.rejected),
                    pulled: summary.pulled, requests: summary.requests)
                progress?(status)
                if outcome.revoked {
                    throw SyncError(
                        .refused,
                        "the central endpoint says this device is revoked: stop syncing, keep the laptop's data, and contact an administrator"
                    )
                }
                // While this session holds the store, nothing else makes records pending (a pull
                // never does), so the queue taken at the start is complete.
                action = machine.replied(StateMachine.Reply(more: outcome.more), pending: [])
            case .wait(let seconds):
                Thread.sleep(forTimeInterval: seconds)
                action = machine.waited()
            case .startOver:
                do {
                    try store.startSyncOver()
                } catch {
                    throw SyncError(.store, "\(error)")
                }
                let all = try pending()
                unacknowledged = all.count
                status = Progress(
                    pushed: summary.pushed, toPush: summary.pushed + all.count, pulled: summary.pulled,
                    requests: summary.requests)
                action = machine.startedOver(pending: all)
            case .finish:
                do {
                    summary.conflicts = try store.conflictCount()
                } catch {
                    throw SyncError(.store, "\(error)")
                }
                return summary
            case .fail(let failure):
                switch failure {
                case .permanent(let reason), .startOver(let reason): throw SyncError(.refused, reason)
                case .tooLarge(let reason): throw SyncError(.refused, reason)
                case .local(let reason): throw SyncError(.store, reason)
                case .transient(let reason, _):
                    throw SyncError(
                        .network,
                        "\(reason) (gave up after \(options.machine.maximumAttempts) attempts; nothing acknowledged is lost: sync again later)"
                    )
                }
            }
        }
    }

    /// The records to push, those to read all checked (``SyncStore/pendingRecordsReadyToRead()``).
    private func pending() throws(SyncError) -> [RecordID] {
        do {
            return try store.pendingRecordsReadyToRead()
        } catch {
            throw SyncError(.store, "\(error)")
        }
    }

    // MARK: - One request

    /// What one applied reply did.
    struct RequestOutcome {
        var stored = 0
        var pulled = 0
        var rejections: [Rejection] = []
        var more = false
        var revoked = false
        var gone: [RecordID] = []
    }

    /// A request's credentials: its counter (durably taken), its `Authorization` header for
    /// `path`, the centre it is meant for and the key its reply must be signed with.
    struct SignedRequest {
        let counter: UInt64
        let authorization: SyncAuthorization
        let centre: String
        /// The centre's public key (raw 32 bytes) and its verifier.
        let centreKey: [UInt8]
        let verifier: StreamVerifier
    }

    /// The centre's certificate of this device's key from a verified reply, to be kept with what
    /// the reply brought: when it vouches for this very device and key and differs from the one kept.
    private func certificateToKeep(_ offered: [UInt8]?, centreKey: [UInt8]) throws(StateMachine.Failure) -> [UInt8]? {
        guard let certificate = offered,
            SyncContract.isValidCertificate(
                certificate, centreKey: centreKey, device: store.device.rawValue, key: store.publicKey)
        else { return nil }
        do {
            return try store.deviceCertificate() != certificate ? certificate : nil
        } catch {
            throw .local("\(error)")
        }
    }

    /// Keeps the peer centres a verified reply vouches for (`vouched`), durably, with those kept
    /// before (a union: none is ever forgotten, so the entries of a peer this laptop holds stay
    /// verifiable); returns the key each centre entry device's entries verify with
    /// (``SyncContract/centreKeyLookup(centreKey:peerCentres:)``). A reply vouching for another
    /// key than the one kept for a peer is refused: entries this laptop holds were verified
    /// with the one it kept.
    func trustPeerCentres(
        _ vouched: [DeviceID: [UInt8]], centreKey: [UInt8]
    ) throws(StateMachine.Failure) -> @Sendable (DeviceID) -> [UInt8]? {
        var known: [DeviceID: [UInt8]]
        do {
            known = try store.peerCentres()
        } catch {
            throw .local("\(error)")
        }
        if let changed = vouched.keys.sorted().first(where: { device in
            known[device].map { kept in kept != vouched[device] } ?? false
        }) {
            throw .permanent(
                "the centre's reply was refused and nothing of it was applied: it vouches for another key for the peer centre \(changed) than the one this laptop keeps for it, which entries it holds were verified with (an administrator must look into the centre's peers)"
            )
        }
        if !vouched.isEmpty {
            do {
                try store.trustPeerCentres(vouched)
                known = try store.peerCentres()
            } catch {
                throw .local("\(error)")
            }
        }
        return SyncContract.centreKeyLookup(centreKey: centreKey, peerCentres: known)
    }

    /// Takes the next request counter and signs a request to `path` with it.
    func signedRequest(path: String) throws(StateMachine.Failure) -> SignedRequest {
        let centreKey: [UInt8]?
        do {
            centreKey = try store.centreKey()
        } catch {
            throw .local("\(error)")
        }
        guard let centreKey, let verifier = StreamVerifier.rawKey(centreKey) else {
            throw .permanent(
                "this laptop does not know the centre's key, so it cannot tell a reply from the centre from a forged one: record it with `edt store centre-key --store DIR KEY` (an administrator prints it with `edt central identity`)"
            )
        }
        let centre = SyncContract.centreIdentity(publicKey: centreKey)
        do {
            let counter = try store.nextRequestCounter()
            let signature = try store.sign(
                SyncAuthorization.message(centre: centre, device: store.device.rawValue, counter: counter, path: path))
            return SignedRequest(
                counter: counter,
                authorization: SyncAuthorization(device: store.device.rawValue, counter: counter, signature: signature),
                centre: centre, centreKey: centreKey, verifier: verifier)
        } catch {
            throw .local("\(error)")
        }
    }

    /// Sends `request`, reporting `pending` records held unacknowledged (those it carries
    /// included), and applies its verified reply.
    private func perform(
        _ request: StateMachine.Request, pending: Int
    ) throws(StateMachine.Failure) -> RequestOutcome {
        let signed = try signedRequest(path: SyncContract.syncPath)
        let (authorization, counter, centre, verifier) = (
            signed.authorization, signed.counter, signed.centre, signed.verifier
        )
        let cursor: String
        do {
            cursor = try store.checkpoint(for: Self.cursorKey(centre: centre)) ?? "-"
        } catch {
            throw .local("\(error)")
        }
        guard let since = Cursor(cursor) else { throw .permanent("the stored sync cursor \"\(cursor)\" is damaged") }
        do {
            try store.prepareToRead(request.records)
        } catch {
            throw .local("\(error)")
        }
        let body = PushBody(
            store: store, records: request.records, since: since, checkpointRecords: options.checkpointRecords,
            counter: counter, centre: centre, pending: pending)
        let reply = ReplyReader(
            centreKey: verifier, centre: centre, counter: counter, pushed: request.records.count,
            stagingDirectory: options.stagingDirectory ?? FileManager.default.temporaryDirectory)
        var transfer = options.transfer
        transfer.headers += [
            "Authorization: \(authorization.headerValue)", "Content-Type: \(SyncContract.mediaType)", "Expect:",
            "\(SyncContract.requestIDHeader): \(nextRequestID())",
        ]
        do {
            _ = try CurlTransfer.perform(
                method: "POST", url: options.syncURL, options: transfer, body: body.next, onHead: reply.head,
                sink: reply.consume)
        } catch {
            if let failure = body.failure { throw .local(failure) }
            if error.code == .aborted, let failure = reply.stagingFailure { throw .local(failure) }
            if error.code == .aborted, let damage = reply.damage {
                throw .transient("the reply was damaged in transit (\(damage))", retryAfter: nil)
            }
            if error.isRetryable || error.code == .aborted {
                throw .transient("the network failed: \(error.message)", retryAfter: nil)
            }
            if error.code == .tls {
                throw .permanent(
                    "TLS with \(options.syncURL) failed: \(error.message). Trust the CA that issued the centre's certificate (a CA file, else the system's CAs) or check the pinned key"
                )
            }
            throw .permanent("cannot reach \(options.syncURL): \(error.message)")
        }
        if let failure = body.failure { throw .local(failure) }
        let stream = try reply.verified(url: options.syncURL)
        // The peers it vouches for are kept before its records are checked (they may hold a
        // peer's entries) and before anything of it is applied.
        let centreKeys = try trustPeerCentres(stream.peerCentres, centreKey: signed.centreKey)
        if let check = options.checkPulled, let problem = check(stream.pulled, centreKeys) {
            throw .permanent(
                "the centre's reply was refused and nothing of it was applied (sync again once the centre is mended): \(problem)"
            )
        }
        var outcome = RequestOutcome(more: stream.more)
        var acknowledgements: [PushAcknowledgement] = []
        for answer in stream.answers {
            guard let pushed = body.pushedVersions[answer.record] else { continue }  // not in this request
            switch answer {
            case .stored(let id, _):
                acknowledgements.append(.stored(id, pushed: pushed))
                outcome.stored += 1
            case .refused(let id, let reason, let message):
                let rejection = Rejection(record: id, reason: reason.code, message: message)
                acknowledgements.append(.refused(rejection, pushed: pushed))
                outcome.rejections.append(rejection)
                if reason == .revoked { outcome.revoked = true }
            }
        }
        for (id, version, bytes) in body.oversized {
            // Never sent: no device could read it back. It stays here, flagged, until it is smaller.
            let rejection = Rejection(
                record: id, reason: RejectionReason.tooLarge.code,
                message:
                    "this referral is \(bytes) bytes, over the \(PushBody.maximumPayloadBytes) one sync line carries; it was not sent"
            )
            acknowledgements.append(.refused(rejection, pushed: version))
            outcome.rejections.append(rejection)
        }
        outcome.pulled = stream.pulled.count
        outcome.gone = stream.gone
        let certificate = try certificateToKeep(stream.certificate, centreKey: signed.centreKey)
        do {
            try store.applySync(
                acknowledgements: acknowledgements, pulled: stream.pulled, cursor: stream.cursor?.text,
                peer: Self.cursorKey(centre: centre), certificate: certificate)
        } catch {
            throw .local("\(error)")
        }
        return outcome
    }
}

/// A sync that did not complete, with a stable code and what to do.
public struct SyncError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The network kept failing after every retry (exit 3).
        case network
        /// The centre refused (not enrolled, revoked, a bad address) or TLS failed (exit 1).
        case refused
        /// The laptop's store failed (exit 3).
        case store
    }

    public let code: Code
    public let message: String
    /// The id of the last request the sync sent (``SyncContract/requestIDHeader``), which the
    /// centre logged it under; nil when it failed before sending any. The message names it too.
    public let requestID: String?

    public init(_ code: Code, _ message: String, requestID: String? = nil) {
        self.code = code
        self.message = message
        self.requestID = requestID
    }

    public var description: String { message }
}

extension SyncSession.StateMachine.Failure {
    var reason: String {
        switch self {
        case .transient(let reason, _), .tooLarge(let reason), .permanent(let reason), .startOver(let reason),
            .local(let reason):
            reason
        }
    }
}
