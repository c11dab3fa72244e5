import ArgumentParser
import Central
import CentralPostgres
import Foundation
import Handover
import Logging
import PeerForwarding
import Referrals
import Replication
import Uploader

#if canImport(Glibc)
import Glibc
#endif

/// `edt central`: run and administer the central endpoint.
struct CentralCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "central",
        abstract: "Run and administer the central endpoint that laptops sync with.",
        subcommands: [
            Serve.self, Enroll.self, Revoke.self, Identity.self, Devices.self, HandoverPackageCommand.self, Case.self,
            Peer.self, BackupCommand.self, Audit.self,
        ]
    )

    /// The `--db` option shared by the central commands.
    struct DatabaseOptions: ParsableArguments {
        @Option(
            help: ArgumentHelp(
                "The central database: a SQLite file path, or postgres://USER@HOST:PORT/DATABASE (password from PGPASSWORD or the URL).",
                valueName: "PATH|URL"))
        var db: String

        /// Opens the database `--db` names: PostgreSQL for a `postgres://` URL, else a SQLite file.
        func open() async throws -> any CentralStorage {
            if PostgresAddress.isPostgresURL(db) {
                let address: PostgresAddress
                do {
                    address = try PostgresAddress(db)
                } catch {
                    throw Failure.refused("--db: \(error.description)")
                }
                do {
                    return try await PostgresCentralStorage.open(address)
                } catch {
                    throw Failure.inputOutput(error.message)
                }
            }
            do {
                return try SQLiteCentralStorage(path: db)
            } catch {
                throw Failure.inputOutput(error.message)
            }
        }
    }

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Serve the sync endpoint until SIGTERM or SIGINT.",
            discussion: """
                POST /v1/sync takes a device's signed EDTLP push and answers with a reply stream; \
                GET /health answers `ok`. Prints `listening on http://HOST:PORT` once ready \
                (PORT 0 picks a free port), or `listening on https://HOST:PORT` when it serves \
                HTTPS itself (--tls-cert and --tls-key, both PEM). On SIGTERM or SIGINT it stops \
                accepting, lets requests in flight finish, and exits 0. A connection that misses \
                a deadline (headers, idle, a stalled body) is closed, and so is one accepted \
                beyond --max-connections, so stalled connections cannot crowd out /health or a \
                laptop's sync. Forwarding to peer centres over https:// trusts the system's CAs, \
                or --peer-ca-file, and checks --peer-pin. With --metrics-listen it also serves \
                GET /metrics (the Prometheus text format) there, and only there, printing \
                `metrics on http://HOST:PORT/metrics` once ready. Every request is logged under \
                its X-Request-Id (request-id), echoed in the answer. --db takes a SQLite file or a \
                postgres:// URL; several servers may share one PostgreSQL database.
                """
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var authorities: AuthorityOptions
        @Option(help: ArgumentHelp("Address to listen on.", valueName: "HOST:PORT"))
        var listen = "127.0.0.1:8080"
        @Option(
            help: ArgumentHelp(
                "The most cases one reply carries, and the most cases it tells a device are gone (it syncs again for the rest).",
                valueName: "N"))
        var page = SyncService.Configuration().pullPageRecords
        @Option(
            name: .customLong("page-bytes"),
            help: ArgumentHelp(
                "The most bytes of cases one reply carries, past its first case (a device syncs again for the rest).",
                valueName: "N"))
        var pageBytes = SyncService.Configuration().pullPageBytes
        @Option(
            name: .customLong("push-bytes-held"),
            help: ArgumentHelp(
                "The most bytes of pushes held at once across all requests (at least 64 MiB); a push that would go over is refused as busy and sent again by its laptop shortly.",
                valueName: "N"))
        var pushBytesHeld = SyncService.Configuration().pushBytesHeld

        @Option(
            help: ArgumentHelp(
                "Close a new connection that has not sent its first request's headers within this.",
                valueName: "SECONDS"))
        var headerTimeout = ConnectionLimits().headerDeadline.inSeconds
        @Option(
            help: ArgumentHelp(
                "Close a kept-alive connection that sends no next request's headers within this after an answer.",
                valueName: "SECONDS"))
        var idleTimeout = ConnectionLimits().idleDeadline.inSeconds
        @Option(
            help: ArgumentHelp(
                "Close a connection whose request body moves no byte for this long (likewise a client that takes no byte of the answer).",
                valueName: "SECONDS"))
        var stallTimeout = ConnectionLimits().stallDeadline.inSeconds
        @Option(
            help: ArgumentHelp(
                "The most connections open at once; one accepted beyond it is closed at once.", valueName: "N"))
        var maxConnections = ConnectionLimits().maximumConnections
        @Option(
            name: .customLong("forward-interval"),
            help: ArgumentHelp(
                "How often to forward to the peer centres (edt central peer) whose next try is due.",
                valueName: "SECONDS"))
        var forwardInterval = 5.0
        @Option(
            name: .customLong("metrics-listen"),
            help: ArgumentHelp(
                "Also serve GET /metrics (Prometheus text format) on this address, and only there; keep it on loopback or a management network.",
                valueName: "HOST:PORT"))
        var metricsListen: String?
        @Option(
            name: .customLong("audit-anchor-interval"),
            help: ArgumentHelp(
                "How often to sign the audit log's head (an anchor, printed in the log) while it grows.",
                valueName: "SECONDS"))
        var auditAnchorInterval = 3_600.0
        @Option(
            name: .customLong("tls-cert"),
            help: ArgumentHelp(
                "Serve HTTPS with this certificate chain (PEM, the centre's certificate first); needs --tls-key.",
                valueName: "FILE"))
        var tlsCert: String?
        @Option(
            name: .customLong("tls-key"),
            help: ArgumentHelp(
                "The private key (PEM, unencrypted) of the --tls-cert certificate; needs --tls-cert.",
                valueName: "FILE"))
        var tlsKey: String?
        @OptionGroup var peerTLS: PeerTLSOptions

        /// The TLS files, when both are given.
        var tls: TLSFiles? {
            guard let tlsCert, let tlsKey else { return nil }
            return TLSFiles(certificateChain: tlsCert, privateKey: tlsKey)
        }

        func validate() throws {
            guard page >= 1 else { throw ValidationError("--page must be at least 1") }
            guard pageBytes >= 1, pageBytes <= SyncService.Configuration.largestPullPageBytes else {
                throw ValidationError(
                    "--page-bytes must be from 1 to \(SyncService.Configuration.largestPullPageBytes) (32 MiB: a laptop takes no reply over 64 MiB)"
                )
            }
            guard pushBytesHeld >= SyncService.Configuration().maximumRequestBytes else {
                throw ValidationError(
                    "--push-bytes-held must be at least \(SyncService.Configuration().maximumRequestBytes) (64 MiB: one request at its largest)"
                )
            }
            for (name, seconds) in [
                ("--header-timeout", headerTimeout), ("--idle-timeout", idleTimeout), ("--stall-timeout", stallTimeout),
            ] where !(seconds > 0 && seconds <= 86_400) {
                throw ValidationError("\(name) must be more than 0 and at most 86400 seconds")
            }
            guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
            guard forwardInterval > 0 && forwardInterval <= 3_600 else {
                throw ValidationError("--forward-interval must be more than 0 and at most 3600 seconds")
            }
            guard auditAnchorInterval >= 1 && auditAnchorInterval <= 86_400 else {
                throw ValidationError("--audit-anchor-interval must be from 1 to 86400 seconds")
            }
            switch (tlsCert, tlsKey) {
            case (.some, nil):
                throw ValidationError(
                    "--tls-cert needs --tls-key: give the certificate's private key too (PEM) to serve HTTPS, or neither for plain HTTP"
                )
            case (nil, .some):
                throw ValidationError(
                    "--tls-key needs --tls-cert: give the certificate chain too (PEM) to serve HTTPS, or neither for plain HTTP"
                )
            default: break
            }
            guard Self.address(listen) != nil else { throw ValidationError("--listen \"\(listen)\" must be HOST:PORT") }
            if let metricsListen, Self.address(metricsListen) == nil {
                throw ValidationError("--metrics-listen \"\(metricsListen)\" must be HOST:PORT")
            }
        }

        /// Reads and checks the TLS files before anything starts: unreadable, exit 3; not a
        /// certificate chain and its key, exit 1. Warns when the certificate has expired.
        func checkTLS() throws(Failure) {
            guard let tls else { return }
            let expiry: Date
            do {
                expiry = try tls.check()
            } catch {
                let option = error.path == tls.certificateChain ? "--tls-cert" : "--tls-key"
                switch error.kind {
                case .unreadable: throw .inputOutput("\(option): \(error.message)")
                case .invalid: throw .refused("\(option): \(error.message)")
                }
            }
            if expiry < Date() {
                FileHandleOutput.standardError(
                    "warning: the certificate \(tls.certificateChain) expired at \(Instant(expiry)): clients will refuse it; renew it and restart the centre"
                )
            }
        }

        /// The host and port of a `HOST:PORT` option; nil when it is not one.
        static func address(_ text: String) -> (host: String, port: Int)? {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                (0...65535).contains(port), colon > text.startIndex
            else { return nil }
            return (String(text[..<colon]), port)
        }

        /// Whether `host` names this machine only (the loopback).
        static func isLoopback(_ host: String) -> Bool {
            host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
        }

        func run() async throws {
            guard let (host, port) = Self.address(listen) else {
                throw ValidationError("--listen \"\(listen)\" must be HOST:PORT")
            }
            let metricsAddress = metricsListen.flatMap(Self.address)
            try checkTLS()
            let transfer = try peerTLS.applied(to: TransferOptions())
            let known = try authorities.load()
            FileSizeLimit.failWritesPastIt()
            let storage = try await database.open()
            AllocatorTuning.forServer()
            LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
            var configuration = CentralServer.Configuration(host: host, port: port)
            configuration.sync.pullPageRecords = page
            configuration.sync.pullPageBytes = pageBytes
            configuration.sync.pushBytesHeld = pushBytesHeld
            configuration.sync.knownAuthorities = known
            configuration.connections.headerDeadline = .seconds(headerTimeout)
            configuration.connections.idleDeadline = .seconds(idleTimeout)
            configuration.connections.stallDeadline = .seconds(stallTimeout)
            configuration.auditAnchorInterval = .milliseconds(Int64(auditAnchorInterval * 1_000))
            configuration.tls = tls
            configuration.metricsAddress = metricsAddress
            let logger = Logger(label: "edt-central")
            if let metricsAddress, !Self.isLoopback(metricsAddress.host) {
                FileHandleOutput.standardError(
                    "warning: GET /metrics on \(metricsAddress.host) is reachable beyond this machine, without authentication: it shows no case data, but lets whoever reaches it watch the centre's activity; keep it on a management network or behind a firewall"
                )
            }
            // Every connection is an open file: the cap must leave room for the centre's own, or
            // a full table of stalled connections would stop `accept` for everyone.
            let fitting = OpenFileLimit.raise().map { $0 - OpenFileLimit.reserve } ?? maxConnections
            if fitting < maxConnections {
                logger.warning(
                    "--max-connections lowered to fit the open-file limit",
                    metadata: ["maxConnections": "\(maxConnections)", "lowered": "\(max(1, fitting))"])
            }
            configuration.connections.maximumConnections = max(1, min(maxConnections, fitting))
            let server = CentralServer(
                storage: storage, configuration: configuration, logger: logger)
            // Forwarding to the peer centres runs beside the endpoint, and stops with it; its
            // database time is the server's too.
            var forwarder = PeerForwarder(storage: server.storage, logger: logger)
            forwarder.transfer = transfer
            // The first line says where laptops reach the centre (scripts read it); the second,
            // with --metrics-listen, where /metrics is: each once its listener is ready.
            let ready = ReadyLines(metrics: metricsAddress != nil)
            let interval = Duration.milliseconds(Int64(forwardInterval * 1_000))
            let scheme = tls == nil ? "http" : "https"
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { [forwarder] in await forwarder.run(interval: interval) }
                    try await server.run { port in
                        ready.listening("listening on \(scheme)://\(host):\(port)")
                    } onMetricsListening: { port in
                        ready.metrics(
                            "metrics on http://\(metricsAddress?.host ?? host):\(port)\(MetricsEndpoint.path)")
                    }
                    group.cancelAll()
                }
            } catch {
                throw Failure.inputOutput("the central endpoint stopped: \(error)")
            }
        }
    }

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enroll",
            abstract:
                "Enrol a device (or change its key and authorities): it may then sync the cases of those authorities."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var known: AuthorityOptions
        @Option(help: ArgumentHelp("The device's id, as given to `edt init`.", valueName: "ID")) var device: String
        @Option(
            help: ArgumentHelp("The device's public key (base64), as `edt init --json` printed it.", valueName: "KEY"))
        var publicKey: String
        @Option(
            name: .customLong("authority"),
            help: ArgumentHelp("An authority the device serves (GSS code); repeat for several.", valueName: "CODE"))
        var authorities: [String]
        @Flag(help: "Print one JSON object: {\"device\", \"authorities\"}.") var json = false

        func validate() throws {
            guard (try? DeviceID(device)) != nil else {
                throw ValidationError("--device \"\(device)\" is not a device id")
            }
            guard let key = Data(base64Encoded: publicKey), key.count == 32 else {
                throw ValidationError(
                    "--public-key must be the 32-byte Ed25519 key in base64 that `edt init --json` printed")
            }
            guard !authorities.isEmpty else { throw ValidationError("give at least one --authority CODE") }
            for code in authorities where !Identifiers.isAuthorityCode(code) {
                throw ValidationError("--authority \"\(code)\" is not a GSS code (e.g. E06000038)")
            }
        }

        func run() async throws {
            let directory = try known.load()
            for code in authorities {
                if let refusal = directory.refusal(of: code, on: nil) {
                    throw Failure.refused("--authority: \(refusal)")
                }
                if let ended = directory.authority(code)?.validTo {
                    throw Failure.refused("--authority: \(code) ceased on \(ended); enrol the device for its successor")
                }
            }
            let storage = try await database.open()
            let id = try DeviceID(device)
            let enrolled = EnrolledDevice(
                id: id, publicKey: Array(Data(base64Encoded: publicKey) ?? Data()), authorities: Set(authorities))
            do {
                try await storage.enroll(enrolled)
            } catch {
                throw error.code == .refused ? Failure.refused(error.message) : Failure.inputOutput("\(error)")
            }
            if json {
                JSONOutput.print(
                    .object([
                        "device": .string(device),
                        "authorities": .array(enrolled.authorities.sorted().map { .string($0) }),
                    ]))
            } else {
                print("Enrolled \(device) for \(enrolled.authorities.sorted().joined(separator: ", "))")
            }
        }
    }

    struct Identity: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "identity",
            abstract: "Print the centre's public signing key, which laptops record to trust its replies.",
            discussion: """
                The key is made with the database. Give it to each laptop: `edt init --centre-key \
                KEY`, or `edt store centre-key --store DIR KEY`. A laptop applies nothing from a \
                reply not signed by it.
                """
        )

        @OptionGroup var database: DatabaseOptions
        @Flag(
            help:
                "Print one JSON object: {\"publicKey\": BASE64, \"device\": \"central.<identity>\"} (the device is what a peer centre enrols it as)."
        ) var json = false

        func run() async throws {
            let storage = try await database.open()
            let key = Data(storage.publicKey).base64EncodedString()
            if json {
                JSONOutput.print(
                    .object(["publicKey": .string(key), "device": .string(try storage.centreDevice.rawValue)]))
            } else {
                print(key)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke",
            abstract: "Revoke a device: its sync requests are refused from now on; what it synced stays."
        )

        @OptionGroup var database: DatabaseOptions
        @Option(help: ArgumentHelp("The device's id.", valueName: "ID")) var device: String
        @Flag(help: "Print one JSON object: {\"device\", \"revoked\": true}.") var json = false

        func run() async throws {
            guard let id = try? DeviceID(device) else {
                throw ValidationError("--device \"\(device)\" is not a device id")
            }
            let storage = try await database.open()
            let found: Bool
            do {
                found = try await storage.revoke(id)
            } catch {
                throw Failure.inputOutput("\(error)")
            }
            guard found else { throw Failure.refused("no device \(device) is enrolled") }
            if json {
                JSONOutput.print(.object(["device": .string(device), "revoked": .bool(true)]))
            } else {
                print("Revoked \(device)")
            }
        }
    }
}

extension CentralCommand.Serve: ChoosesAllocatorProfile {
    /// The endpoint sets its allocator once its storage is open (``AllocatorTuning/forServer()``).
    static var allocatorProfile: AllocatorProfile { .setByTheCommand }
}
