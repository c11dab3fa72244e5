public import Central
import Foundation
import LineProtocol
public import Logging
public import Referrals
public import Replication
import Synchronization
public import Uploader

/// Forwarding between centrals (`Docs/CLI.md`, "Peer centres"): for each peer centre, a sync
/// over the line protocol, through the uploader, as the centre's own device: the cases the
/// peer's authorities see are pushed to it (a case forwarded to a home authority it serves, and
/// only that case), and what the peer holds for this centre's authorities comes back (its acts:
/// acceptance, dispute, agreement). Retries within a sync are the uploader's; a sync that fails
/// is tried again with a growing backoff, its reason kept and shown, and nothing is dropped: a
/// case stays to forward until the peer acknowledged it as it is now.
///
/// ```swift
/// let forwarder = PeerForwarder(storage: storage, logger: logger)
/// let states = await forwarder.forwardDue()  // one round, each peer whose retry is due
/// ```
public struct PeerForwarder: Sendable {
    public let storage: any CentralStorage
    let logger: Logger
    let now: @Sendable () -> Instant
    /// The transfer's options (timeouts; for peers at https:// URLs, a CA file trusted instead of
    /// the system's CAs and pinned keys, for every peer) and the uploader's retry settings.
    public var transfer = TransferOptions()
    public var retries = SyncSession.StateMachine.Configuration()
    /// The longest wait before a peer that keeps failing is tried again.
    public var longestBackoffSeconds: Int64 = 15 * 60
    /// The most cases one sync with a peer pushes (the oldest changes first): a backlog of
    /// any size is forwarded a round at a time, never listed whole, one sync after another,
    /// each from where the one before it ended, until one lists fewer (the cases a peer
    /// refuses stay to forward, and do not hold up those after them).
    public var casesPerRound = 5_000

    public init(storage: any CentralStorage, logger: Logger, now: (@Sendable () -> Instant)? = nil) {
        self.storage = storage
        self.logger = logger
        self.now = now ?? { Instant(Date()) }
        retries.maximumAttempts = 3
    }

    /// What one forwarding to a peer did.
    public struct Outcome: Sendable {
        public let peer: DeviceID
        /// Cases the peer acknowledged, and cases it sent back.
        public let pushed: Int
        public let pulled: Int
        /// The state after it: its problem and next try when it failed.
        public let state: ForwardingState
        /// Cases the peer sent back that this centre refused, with the reason.
        public let refusedPulls: [String]
    }

    /// Forwards to every peer whose next try is due (all of them when `force`).
    public func forwardDue(force: Bool = false) async -> [Outcome] {
        let peers: [PeerCentre]
        do {
            peers = try await storage.peers(includingRemoved: false)
        } catch {
            logger.error("cannot read the peer centres", metadata: ["reason": "\(error.message)"])
            return []
        }
        var outcomes: [Outcome] = []
        for peer in peers {
            let state = (try? await storage.forwardingState(of: peer.device.id)) ?? ForwardingState()
            if !force, let retryAt = state.retryAt, retryAt > now() { continue }
            outcomes.append(await forward(to: peer))
        }
        return outcomes
    }

    /// One sync with `peer`; its outcome kept as the peer's forwarding state.
    public func forward(to peer: PeerCentre) async -> Outcome {
        let id = peer.device.id
        var state = (try? await storage.forwardingState(of: id)) ?? ForwardingState()
        var pushed = 0
        var pulled = 0
        var refused: [String] = []
        do {
            var rejections: [Rejection] = []
            var after: Int64 = 0
            // A round at a time, each from the change the one before it ended at.
            while true {
                let store = try PeerSyncStore(
                    storage: storage, peer: peer, service: SyncService(storage: storage), round: casesPerRound,
                    after: after)
                var options = SyncSession.Options(server: peer.url)
                options.transfer = transfer
                options.machine = retries
                let summary = try await SyncSession(store: store, options: options).run()
                pushed += summary.pushed
                pulled += summary.pulled
                refused += store.refusedPulls.withLock { $0 }
                rejections += summary.rejections
                guard let ended = store.roundEndedAt.withLock({ $0 }), ended > after else { break }
                after = ended
            }
            state = (try? await storage.forwardingState(of: id)) ?? state
            let rejected = rejections.map { "\($0.record): \($0.message)" }
            if rejected.isEmpty {
                state.problem = nil
                state.retryAt = nil
                state.failures = 0
            } else {
                // The peer refused cases: they stay to forward, tried again after a backoff.
                state.problem = "the peer refused \(rejected.count) case(s): " + rejected.joined(separator: "; ")
                state.failures += 1
                state.retryAt = retry(after: state.failures)
            }
            state.lastSuccess = now()
        } catch let error as SyncError {
            failed(error.message, &state)
        } catch let error as CentralError {
            failed(error.message, &state)
        } catch {
            failed("\(error)", &state)
        }
        do {
            try await storage.setForwardingState(state, of: id)
        } catch {
            logger.error(
                "cannot record forwarding to a peer", metadata: ["peer": "\(id)", "reason": "\(error.message)"])
        }
        if let problem = state.problem {
            logger.warning(
                "forwarding to a peer centre is pending",
                metadata: [
                    "peer": "\(id)", "reason": "\(problem)", "retryAt": "\(state.retryAt.map(\.description) ?? "-")",
                ])
        } else if pushed + pulled > 0 {
            logger.info(
                "forwarded to a peer centre", metadata: ["peer": "\(id)", "pushed": "\(pushed)", "pulled": "\(pulled)"])
        }
        return Outcome(peer: id, pushed: pushed, pulled: pulled, state: state, refusedPulls: refused)
    }

    private func failed(_ message: String, _ state: inout ForwardingState) {
        state.problem = message
        state.failures += 1
        state.retryAt = retry(after: state.failures)
    }

    /// When to try again after `failures` failures in a row: 5 s doubling, at most ``longestBackoffSeconds``.
    func retry(after failures: Int) -> Instant {
        let seconds = min(longestBackoffSeconds, Int64(5) << Int64(min(max(failures - 1, 0), 20)))
        return Instant(secondsSinceEpoch: now().secondsSinceEpoch + seconds)
    }

    /// Forwards to each peer whose try is due, then waits, until cancelled: looking again after
    /// `interval`, or sooner when the centre stored a change.
    public func run(interval: Duration = .seconds(5)) async {
        while !Task.isCancelled {
            _ = await forwardDue()
            try? await Task.sleep(for: interval)
        }
    }
}
