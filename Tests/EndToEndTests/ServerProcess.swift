import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A long-running program of ours (the central endpoint, the fault proxy) started for a test:
/// it prints a `... HOST:PORT` line on stdout once it listens; its stderr goes to a log file.
final class ServerProcess {
    let process: Process
    let port: Int
    let log: URL
    /// `https` when its first line announced `https://HOST:PORT` (a centre serving TLS), else `http`.
    let scheme: String
    /// The port `GET /metrics` is served on, when the centre was started with it.
    let metricsPort: Int?

    private init(process: Process, port: Int, log: URL, scheme: String = "http", metricsPort: Int? = nil) {
        self.process = process
        self.port = port
        self.log = log
        self.scheme = scheme
        self.metricsPort = metricsPort
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// `edt central serve` on a database, on a free loopback port unless `port` is given;
    /// `openFiles` (`SOFT:HARD`) starts it under those open-file limits, `fileSize` (bytes) under
    /// that soft limit on the size of any file it writes, which can be raised while it runs
    /// (prlimit(1); the hard limit is left unlimited); with `metrics`, it serves
    /// `GET /metrics` on another free loopback port (``metricsPort``).
    static func central(
        database: URL, port: Int = 0, log: URL, extra: [String] = [], openFiles: String? = nil,
        fileSize: Int? = nil, metrics: Bool = false
    ) throws -> ServerProcess {
        try central(
            db: database.path, port: port, log: log, extra: extra, openFiles: openFiles, fileSize: fileSize,
            metrics: metrics)
    }

    /// `edt central serve --db DB`: a SQLite file path or a `postgres://` URL.
    static func central(
        db: String, port: Int = 0, log: URL, extra: [String] = [], openFiles: String? = nil, fileSize: Int? = nil,
        metrics: Bool = false
    ) throws -> ServerProcess {
        let edt = productsDirectory().appendingPathComponent("edt")
        let arguments =
            ["central", "serve", "--db", db, "--listen", "127.0.0.1:\(port)"] + extra
            + (metrics ? ["--metrics-listen", "127.0.0.1:0"] : [])
        let limits = (openFiles.map { ["--nofile=\($0)"] } ?? []) + (fileSize.map { ["--fsize=\($0):unlimited"] } ?? [])
        guard !limits.isEmpty else { return try start(edt, arguments, log: log, lines: metrics ? 2 : 1) }
        return try start(prlimit, limits + [edt.path] + arguments, log: log, lines: metrics ? 2 : 1)
    }

    /// prlimit(1): runs a program under resource limits, or changes those of a running process.
    static let prlimit = URL(fileURLWithPath: "/usr/bin/prlimit")

    /// `edt-faultproxy` in front of `upstream`.
    static func faultProxy(upstream: Int, arguments: [String], log: URL) throws -> ServerProcess {
        try faultProxy(upstreams: [upstream], arguments: arguments, log: log)
    }

    /// `edt-faultproxy` in front of several servers, each connection to the next in turn: with
    /// `--rate 0`, a plain round-robin balancer.
    static func faultProxy(upstreams: [Int], arguments: [String], log: URL) throws -> ServerProcess {
        try start(
            productsDirectory().appendingPathComponent("edt-faultproxy"),
            upstreams.flatMap { ["--upstream", "127.0.0.1:\($0)"] } + arguments, log: log)
    }

    var url: String { "\(scheme)://127.0.0.1:\(port)" }

    /// The log written so far.
    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// SIGTERM, and the exit status once it has stopped.
    @discardableResult
    func terminate() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGKILL: no chance to finish anything.
    func killAbruptly() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Starts the program and reads its first `lines` lines: `... HOST:PORT`, then, for a centre
    /// serving /metrics, `metrics on http://HOST:PORT/metrics`.
    private static func start(
        _ executable: URL, _ arguments: [String], log: URL, lines: Int = 1
    ) throws -> ServerProcess {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        var line: [UInt8] = []
        while line.count(where: { $0 == 0x0A }) < lines {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty {
                process.waitUntilExit()
                throw ServerStartFailure(
                    message:
                        "\(executable.lastPathComponent) exited before listening: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")"
                )
            }
            line += data
        }
        let printed = String(decoding: line, as: UTF8.self).split(separator: "\n").map(String.init)
        let text = printed.first ?? ""
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
            throw ServerStartFailure(message: "unexpected first line: \(text)")
        }
        let scheme = text.contains("https://") ? "https" : "http"
        guard lines > 1 else { return ServerProcess(process: process, port: port, log: log, scheme: scheme) }
        let second = printed.count > 1 ? printed[1] : ""
        guard second.hasPrefix("metrics on http://"), second.hasSuffix("/metrics"),
            let colon = second.dropLast("/metrics".count).lastIndex(of: ":"),
            let metricsPort = Int(second.dropLast("/metrics".count)[second.index(after: colon)...])
        else { throw ServerStartFailure(message: "unexpected second line: \(second)") }
        return ServerProcess(process: process, port: port, log: log, scheme: scheme, metricsPort: metricsPort)
    }
}

struct ServerStartFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
