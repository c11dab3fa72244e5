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
        try? psql(serverURL, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// `serverURL` naming `database` instead of its own.
    public static func url(_ serverURL: String, database: String) -> String {
        guard let slash = serverURL.lastIndex(of: "/") else { return serverURL }
        return serverURL[..<slash] + "/" + database
    }

    /// Runs one SQL command with `psql` against `url`.
    public static func psql(_ url: String, _ command: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", command]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestPostgresError("psql \(command): \(String(decoding: message, as: UTF8.self))")
        }
    }
}

/// A failure to set up the tests' PostgreSQL database.
public struct TestPostgresError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
