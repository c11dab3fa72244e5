import Central
import CentralPostgres
import Foundation
import TestSupport

/// The centre's storage backends, each test written against ``CentralStorage`` runs on: the
/// embedded SQLite file and, when a server is configured (`EDT_TEST_POSTGRES_URL`, which
/// `Tools/test` and CI set), PostgreSQL.
enum StorageBackend: String, CustomStringConvertible, Sendable {
    case sqlite
    case postgres

    /// The backends to test here: PostgreSQL only when a server is configured.
    static let available: [StorageBackend] = TestPostgres.serverURL == nil ? [.sqlite] : [.sqlite, .postgres]

    var description: String { rawValue }

    /// Runs `body` on a new, empty storage of this backend, removed afterwards.
    func withStorage(_ body: (any CentralStorage) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            let directory = temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            try await body(try SQLiteCentralStorage(path: directory.appendingPathComponent("central.sqlite").path))
        case .postgres:
            let url = try TestPostgres.createDatabase()
            defer { TestPostgres.dropDatabase(url) }
            // The tests run side by side on few threads, some held by others waiting on
            // processes: a connection's wait is judged generously here, not as in production.
            let storage = try await PostgresCentralStorage.open(try PostgresAddress(url), leaseTimeout: .seconds(300))
            do {
                try await body(storage)
            } catch {
                await storage.close()
                throw error
            }
            await storage.close()
        }
    }
}
