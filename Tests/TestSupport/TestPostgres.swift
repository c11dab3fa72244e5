import Foundation

/// The PostgreSQL server the tests of the PostgreSQL backend use: the URL in
/// `EDT_TEST_POSTGRES_URL` (`Tools/test` starts a throwaway server on loopback and sets it). Each
/// test gets a database of its own, made fresh and dropped afterwards.
public enum TestPostgres {
    /// The server's URL (its `edt` database), when one is configured.
    public static let serverURL: String? = {
        let url = ProcessInfo.processInfo.environment["EDT_TEST_POSTGRES_URL"] ?? ""
        return url.isEmpty ? nil : url
    }()

    /// Makes a new, empty database on the server and returns its URL.
    public static func createDatabase() throws -> String {
        guard let serverURL else { throw TestPostgresError("EDT_TEST_POSTGRES_URL is not set: run Tools/test") }
        let name = "edt_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try psql(serverURL, "CREATE DATABASE \(name)")
        return url(serverURL, database: name)
    }

    /// Drops the database at `url`, even with connections still open to it.
    public static func dropDatabase(_ url: String) {
        guard let serverURL, let name = url.split(separator: "/").last.map(String.init) else { return }
        _ = try? psql(serverURL, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// `serverURL` naming `database` instead of its own.
    public static func url(_ serverURL: String, database: String) -> String {
        guard let slash = serverURL.lastIndex(of: "/") else { return serverURL }
        return serverURL[..<slash] + "/" + database
    }

    /// The result of one SQL query run with `psql` against `url`, unaligned, without headers.
    public static func query(_ url: String, _ sql: String) throws -> String {
        try psql(url, sql, output: true)
    }

    /// Runs one SQL command with `psql` against `url`; its output when `output`.
    @discardableResult
    public static func psql(_ url: String, _ command: String, output: Bool = false) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", command]
        let errors = Pipe()
        let results = Pipe()
        process.standardError = errors
        process.standardOutput = output ? results : FileHandle.nullDevice
        try process.run()
        let printed = output ? results.fileHandleForReading.readDataToEndOfFile() : Data()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestPostgresError("psql \(command): \(String(decoding: message, as: UTF8.self))")
        }
        return String(decoding: printed, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A failure to set up the tests' PostgreSQL database.
public struct TestPostgresError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
