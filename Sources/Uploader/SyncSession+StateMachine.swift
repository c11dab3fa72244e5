public import Replication

extension SyncSession {
    /// The decisions of a sync session, with no I/O: what to send next, when to back off and
    /// retry, when to stop. The session (``SyncSession``) performs each ``Action`` and reports
    /// back what happened; the machine is unit-tested on its own.
    ///
    /// A session sends requests until every record that was pending at its start (or became
    /// pending during it) has been pushed once, and the centre has no more to pull. Each request
    /// carries a batch of records and a pull. A failed request is sent again after a backoff
    /// (exponential, with jitter, at least the server's Retry-After); after
    /// ``Configuration/maximumAttempts`` failures in a row the session fails. Because the laptop
    /// moves nothing until a reply is verified, and the centre stores a record twice as once,
    /// resending is always safe, and a session that failed resumes where the next one starts.
    public struct StateMachine: Sendable {
        public struct Configuration: Sendable, Hashable {
            /// Records per request (a smaller batch if the centre finds a request too large).
            public var batchSize = 10_000
            /// Attempts of one request before the session gives up.
            public var maximumAttempts = 6
            /// The first backoff, doubled at each further attempt, up to ``maximumBackoffSeconds``.
            public var baseBackoffSeconds = 1.0
            public var maximumBackoffSeconds = 60.0

            public init() {}
        }

        /// One request: the records to push (maybe none) and a pull.
        public struct Request: Sendable, Hashable {
            public let records: [RecordID]
            public init(records: [RecordID]) { self.records = records }
        }

        /// What the session does next.
        public enum Action: Sendable, Hashable {
            /// Send this request (and report its outcome with ``replied(_:pending:)`` or ``failed(_:jitter:)``).
            case send(Request)
            /// Wait this long, then call ``waited()``.
            case wait(seconds: Double)
            /// Done; nothing remains to push or pull.
            case finish
            /// Give up: the failure persisted or cannot be retried.
            case fail(Failure)
            /// The centre does not know this device's cursor (its database was replaced or
            /// restored): mark every record pending, forget the cursor, then call
            /// ``startedOver(pending:)``.
            case startOver
        }

        /// How a request went wrong.
        public enum Failure: Error, Sendable, Hashable {
            /// Worth trying again (network trouble, a damaged reply, 5xx, 429); `retryAfter` is
            /// the server's Retry-After in seconds, when it gave one.
            case transient(String, retryAfter: Double?)
            /// The request was too large for the centre: send fewer records at once.
            case tooLarge(String)
            /// Trying again cannot help (not enrolled, revoked, TLS).
            case permanent(String)
            /// The centre does not know the cursor: sync everything from the start.
            case startOver(String)
            /// The laptop's own store failed.
            case local(String)
        }

        /// What a verified reply said, once applied to the store.
        public struct Reply: Sendable, Hashable {
            /// The centre has more changes to pull than this reply held (`+MORE`).
            public var more: Bool
            public init(more: Bool) { self.more = more }
        }

        private enum State: Sendable, Hashable {
            case idle
            case sending(Request, attempt: Int)
            case waiting(Request, attempt: Int)
            case done
        }

        public let configuration: Configuration
        private var state = State.idle
        /// Records to push, in order; those before `next` have been sent.
        private var queue: [RecordID] = []
        private var nextInQueue = 0
        /// Every record queued in this session (each is pushed once per session).
        private var known: Set<RecordID> = []
        private var batchSize: Int
        private var startedOverOnce = false
        /// Requests whose reply was applied.
        public private(set) var completedRequests = 0

        public init(configuration: Configuration = Configuration()) {
            self.configuration = configuration
            self.batchSize = max(1, configuration.batchSize)
        }

        /// Begins the session with the records now pending.
        public mutating func start(pending: [RecordID]) -> Action {
            precondition(state == .idle, "start called twice")
            enqueue(pending)
            return next(more: true)
        }

        /// The request's reply was verified and applied. `pending` may name records that became
        /// pending since (records already queued in this session are not pushed twice).
        public mutating func replied(_ reply: Reply, pending: [RecordID]) -> Action {
            guard case .sending = state else { preconditionFailure("replied without a request in flight") }
            completedRequests += 1
            enqueue(pending)
            return next(more: reply.more)
        }

        /// The request failed. `jitter` is a random number in 0..<1 (passed in, so tests are exact).
        public mutating func failed(_ failure: Failure, jitter: Double) -> Action {
            guard case .sending(let request, let attempt) = state else {
                preconditionFailure("failed without a request in flight")
            }
            switch failure {
            case .permanent, .local:
                state = .done
                return .fail(failure)
            case .startOver:
                guard !startedOverOnce else {
                    state = .done
                    return .fail(failure)
                }
                startedOverOnce = true
                state = .waiting(request, attempt: attempt)
                return .startOver
            case .tooLarge(let reason):
                guard request.records.count > 1 else {
                    state = .done
                    return .fail(.permanent("a single record is too large for the centre: \(reason)"))
                }
                batchSize = max(1, request.records.count / 2)
                let smaller = Request(records: Array(request.records.prefix(batchSize)))
                nextInQueue -= request.records.count - batchSize  // the rest go in a later request
                state = .sending(smaller, attempt: attempt)
                return .send(smaller)
            case .transient(_, let retryAfter):
                guard attempt < configuration.maximumAttempts else {
                    state = .done
                    return .fail(failure)
                }
                state = .waiting(request, attempt: attempt)
                return .wait(seconds: backoff(attempt: attempt, jitter: jitter, retryAfter: retryAfter))
            }
        }

        /// The laptop marked everything pending and forgot its cursor: the session begins again
        /// with `pending` (all of it is pushed again, even what was pushed earlier in this session).
        public mutating func startedOver(pending: [RecordID]) -> Action {
            guard case .waiting = state else { preconditionFailure("startedOver without a start-over") }
            queue = []
            nextInQueue = 0
            known = []
            enqueue(pending)
            return next(more: true)
        }

        /// The backoff is over: send the same request again.
        public mutating func waited() -> Action {
            guard case .waiting(let request, let attempt) = state else {
                preconditionFailure("waited without a backoff")
            }
            state = .sending(request, attempt: attempt + 1)
            return .send(request)
        }

        /// Equal jitter: half the exponential delay for sure, the other half at random; never
        /// less than the server's Retry-After.
        func backoff(attempt: Int, jitter: Double, retryAfter: Double?) -> Double {
            let exponential = min(
                configuration.maximumBackoffSeconds,
                configuration.baseBackoffSeconds * Double(1 << min(attempt - 1, 30)))
            let delay = exponential / 2 + exponential / 2 * min(max(jitter, 0), 1)
            return max(delay, min(retryAfter ?? 0, configuration.maximumBackoffSeconds))
        }

        private mutating func enqueue(_ pending: [RecordID]) {
            for id in pending where known.insert(id).inserted { queue.append(id) }
        }

        private mutating func next(more: Bool) -> Action {
            let end = min(queue.count, nextInQueue + batchSize)
            let batch = Array(queue[nextInQueue..<end])
            nextInQueue = end
            // Done when nothing new is pending and the last reply left nothing to pull (a
            // session's first request always goes: the pull is how a laptop learns of changes).
            if batch.isEmpty, !more {
                state = .done
                return .finish
            }
            let request = Request(records: batch)
            state = .sending(request, attempt: 1)
            return .send(request)
        }
    }
}
