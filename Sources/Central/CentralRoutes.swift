public import Hummingbird
import LineProtocol
public import Logging
import NIOCore
import Replication

/// The central endpoint's HTTP routes:
/// - `POST /v1/sync`: a `push` stream in, a `reply` stream out (`Protocol/PROTOCOL.md` §4);
/// - `POST /v1/relay`: a colleague's bundle in, as its author signed it, a `reply` stream out (§4.6);
/// - `GET /health`: `ok` while the server runs and its database answers.
///
/// Every request is named by ``RequestIDMiddleware`` (`X-Request-Id`, echoed in the answer), and
/// every line logged while handling it carries that id as `request-id`. Syncs and relays are
/// counted and timed in ``CentralMetrics``, and each successful sync is recorded as the device's
/// last (``SyncService/recordSync(of:reported:acknowledged:at:)``).
///
/// ``register(on:)`` adds them to a Hummingbird router; ``CentralServer`` serves that router,
/// and tests can drive it in process.
public struct CentralRoutes: Sendable {
    let service: SyncService
    let authenticator: DeviceAuthenticator
    /// What the routes log to; each request's lines carry its `request-id` too (``requestLogger()``).
    let logger: Logger
    /// The logger metadata key a request's id is logged under: `request-id` (``RequestIDMiddleware``).
    public static let requestIDMetadataKey = "request-id"
    /// The id of the request being handled, which ``RequestIDMiddleware`` sets for its handling.
    @TaskLocal public static var requestID: String?
    let metrics: CentralMetrics
    /// Relayed bundles are read whole: at most two at once (``RelayGate``).
    let relayGate = RelayGate(capacity: 2)
    /// The push bytes all sync requests hold at once (``PushBudget``).
    public let pushBudget: PushBudget

    /// Routes answering with `service`, authenticating with `authenticator`, counting into
    /// `metrics` (``CentralMetrics/disabled``: nothing counted).
    public init(
        service: SyncService, authenticator: DeviceAuthenticator, logger: Logger,
        metrics: CentralMetrics = .disabled
    ) {
        self.service = service
        self.authenticator = authenticator
        self.logger = logger
        self.metrics = metrics
        pushBudget = PushBudget(
            capacity: service.configuration.pushBytesHeld, largestRequest: service.configuration.maximumRequestBytes)
    }

    /// Adds ``RequestIDMiddleware``, then `GET /health`, `POST` ``SyncContract/syncPath`` and
    /// `POST` ``SyncContract/relayPath``, to `router`.
    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.add(middleware: RequestIDMiddleware<Context>())
        router.get(RouterPath(stringLiteral: SyncContract.healthPath)) { _, _ -> Response in
            await health()
        }
        router.post(RouterPath(stringLiteral: SyncContract.syncPath)) { request, context -> Response in
            await sync(request, logger: requestLogger())
        }
        router.post(RouterPath(stringLiteral: SyncContract.relayPath)) { request, context -> Response in
            await relay(request, logger: requestLogger())
        }
    }

    /// ``logger`` with the `request-id` of the request being handled (``requestID``), if any.
    func requestLogger() -> Logger {
        var logger = self.logger
        if let id = Self.requestID { logger[metadataKey: Self.requestIDMetadataKey] = .string(id) }
        return logger
    }

    /// The relay route: a device forwards a colleague's bundle as the colleague signed it
    /// (``SyncService/relay(_:from:counter:)``); the reply answers each of its records.
    func relay(_ request: Request, logger: Logger) async -> Response {
        do {
            let authenticated = try await authenticator.authenticate(
                request.headers[.authorization], path: SyncContract.relayPath)
            let service = self.service
            let (reply, bytes) = try await relayGate.withPlace { () async throws -> ([UInt8], Int) in
                var body: [UInt8] = []
                let limit = service.configuration.maximumRequestBytes
                for try await buffer in request.body {
                    guard body.count + buffer.readableBytes <= limit else {
                        throw CentralError(.tooLarge, "the bundle is over \(limit) bytes; it cannot be relayed")
                    }
                    body += buffer.readableBytesView
                }
                let relayed = try await service.relayAnswering(
                    body, from: authenticated.device, counter: authenticated.counter)
                metrics.countOutcomes(relayed.outcomes)
                return (relayed.reply, body.count)
            }
            metrics.countRelay(.ok)
            logger.info("relay", metadata: ["device": "\(authenticated.device.id)", "bytes": "\(bytes)"])
            var headers = HTTPFields()
            headers[.contentType] = SyncContract.mediaType
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply)))
        } catch let error as CentralError {
            metrics.countRelay(count(error))
            logger.notice(
                "relay refused",
                metadata: [
                    "code": "\(error.code.rawValue)", "refusal": "\(Self.refusal(error))", "reason": "\(error.message)",
                ])
            return Self.response(for: error)
        } catch {
            metrics.countRelay(.failed)
            logger.notice("relay request failed", metadata: ["reason": "\(error)"])
            return Self.text(.badRequest, "the request body could not be read: \(error)\n")
        }
    }

    /// How a request that ended with `error` counts: failed when the centre failed (its
    /// database), else refused, counted under its reason (``refusal(_:)``).
    private func count(_ error: CentralError) -> CentralMetrics.Result {
        guard error.code != .storage else { return .failed }
        metrics.countRefusal(.request, reason: Self.refusal(error))
        return .refused
    }

    /// The reason a request refused with `error` is counted and logged under: its finer
    /// ``CentralError/reason`` when it has one, else its code.
    static func refusal(_ error: CentralError) -> String { error.reason ?? error.code.rawValue }

    /// `GET /health`: `ok` when the database answers.
    func health() async -> Response {
        do {
            _ = try await service.storage.newestSequence()
            return Self.text(.ok, "ok\n")
        } catch {
            return Self.text(.serviceUnavailable, "unhealthy: \(error)\n")
        }
    }

    /// The sync route: authenticates the request, stores the push's verified segments while the
    /// rest arrives (``PushPipeline``), and replies with the acknowledgements and the pull. Once
    /// the reply is written out whole, the sync is the device's last successful one.
    func sync(_ request: Request, logger: Logger) async -> Response {
        let clock = ContinuousClock()
        let started = clock.now
        let metrics = self.metrics
        do {
            let authenticated = try await authenticator.authenticate(request.headers[.authorization])
            let device = authenticated.device
            let reader = try service.reader(for: device, counter: authenticated.counter)
            var read = started
            // The push's body is counted against the budget all requests share as it is read,
            // and given back once the push is done with (stored, or refused).
            let claim = pushBudget.claim()
            defer { claim.release() }
            // Segments verified by a checkpoint are read and stored while the rest arrives. When
            // the body breaks off or is refused, what was verified is stored, then the rest refused.
            let ((pull, reported), stored) = try await PushPipeline(service: service, device: device).run { submit in
                for try await buffer in request.body {
                    let consumed = Result {
                        // Read first: a body over the request limit is refused as too large (and
                        // sent again in smaller requests), whatever the budget.
                        try buffer.withUnsafeReadableBytes { raw throws(CentralError) in
                            try reader.consume(Array(raw)[...])
                        }
                        try claim.take(buffer.readableBytes)
                    }
                    // What a checkpoint verified before damage in the same piece is stored all the same.
                    for segment in reader.takeVerified() { try await submit(segment) }
                    try consumed.get()
                }
                let push = try reader.finish()
                read = clock.now
                if !push.parts.isEmpty { try await submit(push.parts) }
                return (push.pull, push.pending)
            }
            metrics.countOutcomes(stored.outcomes)
            let acknowledged = stored.outcomes.count { if case .stored = $0 { true } else { false } }
            let reply = try await service.prepareReply(
                pushedVersions: stored.pushedVersions, outcomes: stored.outcomes, pull: pull, to: device,
                counter: authenticated.counter)
            logger.info(
                "sync",
                metadata: [
                    "device": "\(device.id)", "records": "\(stored.outcomes.count)",
                    "transactions": "\(stored.transactions)",
                    "storeMs": "\(Self.milliseconds(stored.storing))", "pulled": "\(reply.pulledCases)",
                    "pulledBytes": "\(reply.pulledBytes)", "readMs": "\(Self.milliseconds(read - started))",
                    "answerMs": "\(Self.milliseconds(clock.now - read))",
                ])
            var headers = HTTPFields()
            headers[.contentType] = SyncContract.mediaType
            // The reply is written as it is read from storage, a case or so at a time (the
            // writer waits while the connection is full): the centre never holds the page whole.
            let service = self.service
            let body = ResponseBody { writer in
                let sent: Int
                do {
                    sent = try await reply.write { piece in try await writer.write(ByteBuffer(bytes: piece)) }
                } catch {
                    // The status has gone out: the stream is cut short, and the device, finding
                    // no final signature, applies nothing and asks again.
                    metrics.countSync(.failed)
                    metrics.timeSync(clock.now - started)
                    logger.notice(
                        "sync reply cut short", metadata: ["device": "\(device.id)", "reason": "\(error)"])
                    throw error
                }
                // The reply is written whole: the sync succeeded. It is counted and recorded before
                // the answer ends, so a device that has its answer finds it recorded.
                metrics.countRecordsOut(sent)
                metrics.countSync(.ok)
                metrics.timeSync(clock.now - started)
                do throws(CentralError) {
                    try await service.recordSync(of: device, reported: reported, acknowledged: acknowledged)
                } catch {
                    // The sync stands: only `edt central devices` misses it.
                    logger.notice(
                        "the device's sync could not be recorded",
                        metadata: ["device": "\(device.id)", "reason": "\(error)"])
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: headers, body: body)
        } catch let error as CentralError {
            metrics.countSync(count(error))
            metrics.timeSync(clock.now - started)
            logger.notice(
                "sync refused",
                metadata: [
                    "code": "\(error.code.rawValue)", "refusal": "\(Self.refusal(error))", "reason": "\(error.message)",
                ])
            return Self.response(for: error)
        } catch {
            // The request body broke off (the connection failed): only what a checkpoint had
            // verified was stored, and nothing is acknowledged.
            metrics.countSync(.failed)
            metrics.timeSync(clock.now - started)
            logger.notice("sync request failed", metadata: ["reason": "\(error)"])
            return Self.text(.badRequest, "the request body could not be read: \(error)\n")
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    static func response(for error: CentralError) -> Response {
        switch error.code {
        case .unauthenticated: text(.unauthorized, error.message + "\n")
        case .revoked: text(.forbidden, error.message + "\n")
        case .badRequest, .refused: text(.badRequest, error.message + "\n")
        case .tooLarge: text(.contentTooLarge, error.message + "\n")
        case .startOver: text(.conflict, SyncContract.startOverPrefix + " " + error.message + "\n")
        case .storage: text(.serviceUnavailable, error.message + "\n", retryAfter: 1)
        case .busy: text(.serviceUnavailable, error.message + "\n", retryAfter: 2)
        }
    }

    static func text(_ status: HTTPResponse.Status, _ body: String, retryAfter: Int? = nil) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
