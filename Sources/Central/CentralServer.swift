import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore

/// The central endpoint over HTTP, or HTTPS with ``Configuration/tls`` (Hummingbird):
/// ``CentralRoutes`` (sync and health) on the configured address, with the
/// ``HandoverScheduler`` keeping each authority's handover package at its opening.
///
/// ``run(onListening:)`` serves until SIGTERM or SIGINT, then stops accepting, lets requests
/// in flight finish, and returns. Every connection is held to the deadlines of
/// ``Configuration/connections``, and at most its `maximumConnections` are open at once, so
/// connections that stall cannot crowd out `GET /health` or a laptop's sync. Under TLS the cap
/// is applied before the handshake, and the first request's head must arrive, handshake
/// included, within the header deadline.
public struct CentralServer: Sendable {
    /// Where the centre listens and how it serves.
    public struct Configuration: Sendable {
        /// The address to listen on (a host name or address).
        public var host: String
        /// The port to listen on; 0 picks a free one (``run(onListening:)`` reports it).
        public var port: Int
        /// The sync service's settings (pages, known authorities).
        public var sync = SyncService.Configuration()
        /// The connections' deadlines and cap.
        public var connections = ConnectionLimits()
        /// The certificate chain and key to serve HTTPS with; `nil` serves plain HTTP (behind a
        /// TLS terminator, or on one machine). A connection that does not speak TLS to an HTTPS
        /// centre (a plain-HTTP request) is closed without an answer.
        public var tls: TLSFiles?
        /// Whether to keep each authority's handover package at its opening while serving
        /// (``HandoverScheduler``), with ``sync``'s authorities.
        public var keepsHandoverPackages = true
        /// How often the audit log's head is anchored while it grows (``AuditAnchoring``).
        public var auditAnchorInterval: Duration = .seconds(3_600)

        /// Listens on `host`:`port`, with the default settings.
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    let routes: CentralRoutes
    let configuration: Configuration
    let logger: Logger
    let scheduler: HandoverScheduler?
    let storage: any CentralStorage

    /// A centre serving `storage`, logging to `logger`.
    public init(storage: any CentralStorage, configuration: Configuration, logger: Logger) {
        self.routes = CentralRoutes(
            service: SyncService(storage: storage, configuration: configuration.sync),
            authenticator: DeviceAuthenticator(storage: storage), logger: logger)
        self.configuration = configuration
        self.logger = logger
        self.storage = storage
        scheduler =
            configuration.keepsHandoverPackages
            ? HandoverScheduler(
                desk: HandoverDesk(storage: storage, directory: configuration.sync.knownAuthorities), logger: logger)
            : nil
    }

    /// Serves until SIGTERM or SIGINT. `onListening` gets the bound port (useful with port 0).
    /// Throws ``TLSFiles/Problem`` before listening when ``Configuration/tls``'s files cannot be
    /// read or used.
    public func run(onListening: @escaping @Sendable (Int) -> Void) async throws {
        let router = Router()
        routes.register(on: router)
        let limits = configuration.connections
        let cap = ConnectionCap(maximum: limits.maximumConnections, logger: logger)
        let logger = self.logger
        let tls = try configuration.tls?.serverConfiguration()
        let app = Application(
            router: router,
            server: HTTPServerBuilder { responder in
                let http1 = HTTP1Channel.withDeadlines(responder: responder, limits: limits, logger: logger)
                guard let tls else { return CappedChannel(base: http1, cap: cap) }
                return CappedChannel(base: try TLSChannel(http1, tlsConfiguration: tls), cap: cap)
            },
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "edt-central"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        try await withThrowingDiscardingTaskGroup { group in
            if let scheduler { group.addTask { await scheduler.run() } }
            let storage = self.storage
            let interval = configuration.auditAnchorInterval
            group.addTask { await AuditAnchoring.run(storage, every: interval, logger: logger) }
            try await app.runService()  // graceful shutdown on SIGTERM and SIGINT
            group.cancelAll()  // the scheduler stops with the server
        }
    }
}
