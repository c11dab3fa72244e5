public import Central
import Foundation
import PostgresNIO

/// A backup of the PostgreSQL centre with `pg_dump`: one consistent snapshot, taken while the
/// servers go on, in `pg_dump`'s custom format (restored with `pg_restore`), without the
/// database's incarnation (``Central/DatabaseIncarnation``).
extension PostgresCentralStorage {
    /// What a backup copied.
    public struct Backup: Sendable, Hashable {
        public let path: String
        public let bytes: Int64
        /// The cases the database held and its newest change number when the copy began (the
        /// copy holds at least these).
        public let cases: Int
        public let newestSequence: Int64
    }

    /// Dumps the database to a new file at `path` with `pg_dump --format=custom`, written beside
    /// it first and moved into place once whole. Refused when `path` exists (a backup never
    /// overwrites); a failed dump leaves no file behind.
    public func backup(to path: String) async throws(CentralError) -> Backup {
        let target = URL(fileURLWithPath: path).standardizedFileURL
        guard !FileManager.default.fileExists(atPath: target.path) else {
            throw CentralError(.refused, "\(path) exists already: a backup never overwrites a file; give a new one")
        }
        let counts: (Int64, Int64) = try await withConnection { connection in
            let row = try await connection.query(
                "SELECT COUNT(*)::BIGINT, COALESCE(MAX(sequence), 0)::BIGINT FROM cases", logger: self.logger
            ).collect().first
            guard let row else { return (0, 0) }
            return try row.decode((Int64, Int64).self)
        }
        let (cases, newest) = counts
        let partial = target.path + ".partial"
        defer { try? FileManager.default.removeItem(atPath: partial) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "pg_dump", "--format=custom", "--no-owner", "--exclude-table-data=\(Self.incarnationTable)",
            "--file=\(partial)", "--host=\(address.host)",
            "--port=\(address.port)", "--username=\(address.user)", "--dbname=\(address.database)",
        ]
        var environment = ProcessInfo.processInfo.environment
        if let password = address.password { environment["PGPASSWORD"] = password }
        if address.requiresTLS { environment["PGSSLMODE"] = "require" }
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw CentralError(
                .storage, "cannot run pg_dump (install PostgreSQL's client, postgresql-client): \(error)")
        }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: message, as: UTF8.self).split(whereSeparator: \.isNewline).joined(
                separator: " ")
            throw CentralError(.storage, "pg_dump of \(address) failed, and nothing was left at \(path): \(text)")
        }
        do {
            try FileManager.default.moveItem(atPath: partial, toPath: target.path)
        } catch {
            throw CentralError(.storage, "the backup could not be put at \(path): \(error)")
        }
        let bytes =
            (try? FileManager.default.attributesOfItem(atPath: target.path)[.size] as? NSNumber)?.int64Value ?? 0
        return Backup(path: target.path, bytes: bytes, cases: Int(cases), newestSequence: newest)
    }
}
