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
/// ``register(on:)`` adds them to a Hummingbird router; ``CentralServer`` serves that router,
/// and tests can drive it in process.
public struct CentralRoutes: Sendable {
    let service: SyncService
    let authenticator: DeviceAuthenticator
    let logger: Logger
    /// Relayed bundles are read whole: at most two at once (``RelayGate``).
    let relayGate = RelayGate(capacity: 2)

    public init(service: SyncService, authenticator: DeviceAuthenticator, logger: Logger) {
        self.service = service
        self.authenticator = authenticator
        self.logger = logger
    }

    /// Adds `GET /health` and `POST` ``SyncContract/syncPath`` to `router`.
    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.get(RouterPath(stringLiteral: SyncContract.healthPath)) { _, _ -> Response in
            await health()
        }
        router.post(RouterPath(stringLiteral: SyncContract.syncPath)) { request, _ -> Response in
            await sync(request)
        }
        router.post(RouterPath(stringLiteral: SyncContract.relayPath)) { request, _ -> Response in
            await relay(request)
        }
    }

    /// The relay route: a device forwards a colleague's bundle as the colleague signed it
    /// (``SyncService/relay(_:from:counter:)``); the reply answers each of its records.
    func relay(_ request: Request) async -> Response {
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
                let reply = try await service.relay(
                    body, from: authenticated.device, counter: authenticated.counter)
                return (reply, body.count)
            }
            logger.info("relay", metadata: ["device": "\(authenticated.device.id)", "bytes": "\(bytes)"])
            var headers = HTTPFields()
            headers[.contentType] = SyncContract.mediaType
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply)))
        } catch let error as CentralError {
            logger.notice("relay refused", metadata: ["code": "\(error.code.rawValue)", "reason": "\(error.message)"])
            return Self.response(for: error)
        } catch {
            logger.notice("relay request failed", metadata: ["reason": "\(error)"])
            return Self.text(.badRequest, "the request body could not be read: \(error)\n")
        }
    }

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
    /// rest arrives (``PushPipeline``), and replies with the acknowledgements and the pull.
    func sync(_ request: Request) async -> Response {
        do {
            let clock = ContinuousClock()
            let started = clock.now
            let authenticated = try await authenticator.authenticate(request.headers[.authorization])
            let device = authenticated.device
            let reader = try service.reader(for: device, counter: authenticated.counter)
            var read = started
            // Segments verified by a checkpoint are read and stored while the rest arrives. When
            // the body breaks off or is refused, what was verified is stored, then the rest refused.
            let (pull, stored) = try await PushPipeline(service: service, device: device).run { submit in
                for try await buffer in request.body {
                    let consumed = Result {
                        try buffer.withUnsafeReadableBytes { raw throws(CentralError) in
                            try reader.consume(Array(raw)[...])
                        }
                    }
                    // What a checkpoint verified before damage in the same piece is stored all the same.
                    for segment in reader.takeVerified() { try await submit(segment) }
                    try consumed.get()
                }
                let push = try reader.finish()
                read = clock.now
                if !push.parts.isEmpty { try await submit(push.parts) }
                return push.pull
            }
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
            let logger = self.logger
            let body = ResponseBody { writer in
                do {
                    try await reply.write { piece in try await writer.write(ByteBuffer(bytes: piece)) }
                } catch {
                    // The status has gone out: the stream is cut short, and the device, finding
                    // no final signature, applies nothing and asks again.
                    logger.notice(
                        "sync reply cut short", metadata: ["device": "\(device.id)", "reason": "\(error)"])
                    throw error
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: headers, body: body)
        } catch let error as CentralError {
            logger.notice("sync refused", metadata: ["code": "\(error.code.rawValue)", "reason": "\(error.message)"])
            return Self.response(for: error)
        } catch {
            // The request body broke off (the connection failed): only what a checkpoint had
            // verified was stored, and nothing is acknowledged.
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
        }
    }

    static func text(_ status: HTTPResponse.Status, _ body: String, retryAfter: Int? = nil) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
