import Hummingbird
public import Logging
import LineProtocol
import NIOCore
import Replication

/// The central endpoint over HTTP (Hummingbird):
/// - `POST /v1/sync`: a `push` stream in, a `reply` stream out (`Protocol/PROTOCOL.md` §4);
/// - `GET /health`: `ok` while the server runs and its database answers.
///
/// ``run(onListening:)`` serves until SIGTERM or SIGINT, then stops accepting, lets requests
/// in flight finish, and returns.
public struct CentralServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var sync = SyncService.Configuration()

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    /// The path of the sync endpoint.
    public static let syncPath = SyncContract.syncPath

    let service: SyncService
    let authenticator: DeviceAuthenticator
    let configuration: Configuration
    let logger: Logger

    public init(storage: any CentralStorage, configuration: Configuration, logger: Logger) {
        self.service = SyncService(storage: storage, configuration: configuration.sync)
        self.authenticator = DeviceAuthenticator(storage: storage)
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until SIGTERM or SIGINT. `onListening` gets the bound port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) -> Void) async throws {
        let router = Router()
        let service = self.service
        let authenticator = self.authenticator
        let logger = self.logger
        router.get(RouterPath(stringLiteral: SyncContract.healthPath)) { _, _ -> Response in
            do {
                _ = try await service.storage.newestSequence()
                return Self.text(.ok, "ok\n")
            } catch {
                return Self.text(.serviceUnavailable, "unhealthy: \(error)\n")
            }
        }
        router.post(RouterPath(stringLiteral: Self.syncPath)) { request, _ -> Response in
            do {
                let clock = ContinuousClock()
                let started = clock.now
                let device = try await authenticator.authenticate(request.headers[.authorization])
                let reader = service.reader(for: device)
                // Segments verified by a checkpoint are read and stored while the rest arrives.
                let pipeline = PushPipeline(service: service, device: device)
                let push: PushReader.Push
                do {
                    for try await buffer in request.body {
                        try buffer.withUnsafeReadableBytes { raw throws(CentralError) in
                            try reader.consume(Array(raw)[...])
                        }
                        for segment in reader.takeVerified() { pipeline.submit(segment) }
                    }
                    push = try reader.finish()
                } catch {
                    await pipeline.abandon()  // what was verified is stored; then refuse the rest
                    throw error
                }
                let read = clock.now
                if !push.parts.isEmpty { pipeline.submit(push.parts) }
                let stored = try await pipeline.finish()
                let reply = try await service.reply(
                    pushedVersions: stored.pushedVersions, outcomes: stored.outcomes, pull: push.pull, to: device)
                logger.info("sync", metadata: [
                    "device": "\(device.id)", "records": "\(stored.outcomes.count)", "transactions": "\(stored.transactions)",
                    "storeMs": "\(Self.milliseconds(stored.storing))", "replyBytes": "\(reply.count)",
                    "readMs": "\(Self.milliseconds(read - started))", "answerMs": "\(Self.milliseconds(clock.now - read))",
                ])
                var headers = HTTPFields()
                headers[.contentType] = SyncContract.mediaType
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply)))
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
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "edt-central"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        try await app.runService()  // graceful shutdown on SIGTERM and SIGINT
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
