import Hummingbird
public import Logging
import NIOCore

/// The central endpoint over HTTP (Hummingbird): ``CentralRoutes`` (sync and health) on the
/// configured address.
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

    let routes: CentralRoutes
    let configuration: Configuration
    let logger: Logger

    public init(storage: any CentralStorage, configuration: Configuration, logger: Logger) {
        self.routes = CentralRoutes(
            service: SyncService(storage: storage, configuration: configuration.sync),
            authenticator: DeviceAuthenticator(storage: storage), logger: logger)
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until SIGTERM or SIGINT. `onListening` gets the bound port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) -> Void) async throws {
        let router = Router()
        routes.register(on: router)
        let app = Application(
            router: router,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "edt-central"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        try await app.runService()  // graceful shutdown on SIGTERM and SIGINT
    }
}
