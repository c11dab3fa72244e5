import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore
public import Prometheus

/// The central endpoint over HTTP, or HTTPS with ``Configuration/tls`` (Hummingbird):
/// ``CentralRoutes`` (sync and health) on the configured address, with the
/// ``HandoverScheduler`` keeping each authority's handover package at its opening, the audit
/// log's head anchored every ``Configuration/auditAnchorInterval`` (``AuditAnchoring``), and,
/// when ``Configuration/metricsAddress`` is given, `GET /metrics` (``MetricsEndpoint``) on a
/// listener of its own.
///
/// ``run(onListening:onMetricsListening:)`` serves until SIGTERM or SIGINT, then stops
/// accepting, lets requests in flight finish, and returns. Every connection is held to the
/// deadlines of ``Configuration/connections``, and at most its `maximumConnections` are open at
/// once, so connections that stall cannot crowd out `GET /health` or a laptop's sync. Under TLS
/// the cap is applied before the handshake, and the first request's head must arrive, handshake
/// included, within the header deadline.
///
/// The server owns its figures (``registry``): its storage is timed (``TimedCentralStorage``)
/// and its routes counted (``CentralMetrics``) into it, never into the process's global metrics
/// system, so several servers in one process (tests) keep theirs apart.
public struct CentralServer: Sendable {
    /// Where the centre listens and how it serves.
    public struct Configuration: Sendable {
        /// The address to listen on (a host name or address).
        public var host: String
        /// The port to listen on; 0 picks a free one (``run(onListening:onMetricsListening:)`` reports it).
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
        /// Where to serve `GET /metrics` (host, port; port 0 picks a free one); nil: not served.
        /// Never the main listener: laptops' port need not reveal the centre's figures.
        public var metricsAddress: (host: String, port: Int)?

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
    let endpoint: MetricsEndpoint

    /// The storage the server uses, every call timed into its figures: give it to whatever else
    /// works on the centre beside the server (the peer forwarder), so its database time is counted too.
    public let storage: any CentralStorage
    /// The registry of the server's figures (`GET /metrics`).
    public var registry: PrometheusCollectorRegistry { endpoint.registry }
    /// The server's figures, for what records beside it.
    public var metrics: CentralMetrics { endpoint.metrics }

    /// A centre serving `storage`, logging to `logger`, with figures of its own.
    public init(storage: any CentralStorage, configuration: Configuration, logger: Logger) {
        let endpoint = MetricsEndpoint()
        let timed = TimedCentralStorage(storage, metrics: endpoint.metrics)
        self.endpoint = endpoint
        self.storage = timed
        self.routes = CentralRoutes(
            service: SyncService(storage: timed, configuration: configuration.sync),
            authenticator: DeviceAuthenticator(storage: timed), logger: logger, metrics: endpoint.metrics)
        self.configuration = configuration
        self.logger = logger
        scheduler =
            configuration.keepsHandoverPackages
            ? HandoverScheduler(
                desk: HandoverDesk(storage: timed, directory: configuration.sync.knownAuthorities), logger: logger)
            : nil
    }

    /// Serves until SIGTERM or SIGINT. `onListening` gets the bound port (useful with port 0);
    /// `onMetricsListening` the port `GET /metrics` is served on, when it is. Throws
    /// ``TLSFiles/Problem`` before listening when ``Configuration/tls``'s files cannot be read or
    /// used.
    public func run(
        onListening: @escaping @Sendable (Int) -> Void, onMetricsListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) async throws {
        let router = Router()
        routes.register(on: router)
        let limits = configuration.connections
        let cap = ConnectionCap(maximum: limits.maximumConnections, logger: logger)
        let logger = self.logger
        let tls = try configuration.tls?.serverConfiguration()
        var app = Application(
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
        if let address = configuration.metricsAddress {
            let router = Router()
            endpoint.register(on: router)
            // A scraper or two: a small cap of its own, under the same deadlines.
            let cap = ConnectionCap(maximum: Self.metricsConnections, logger: logger)
            // A service of the main one: it starts with it, and stops with it on SIGTERM or SIGINT
            // (a listener that cannot listen stops the other).
            app.addServices(
                Application(
                    router: router,
                    server: HTTPServerBuilder { responder in
                        CappedChannel(
                            base: HTTP1Channel.withDeadlines(responder: responder, limits: limits, logger: logger),
                            cap: cap)
                    },
                    configuration: .init(
                        address: .hostname(address.host, port: address.port), serverName: "edt-central"),
                    onServerRunning: { channel in onMetricsListening(channel.localAddress?.port ?? 0) },
                    logger: logger))
        }
        try await withThrowingDiscardingTaskGroup { group in
            if let scheduler { group.addTask { await scheduler.run() } }
            let storage = self.storage
            let interval = configuration.auditAnchorInterval
            group.addTask { await AuditAnchoring.run(storage, every: interval, logger: logger) }
            try await app.runService()  // graceful shutdown on SIGTERM and SIGINT
            group.cancelAll()  // the scheduler stops with the server
        }
    }

    /// The most connections open at once to the `/metrics` listener.
    static let metricsConnections = 16
}
