import Central
import Logging
import PostgresNIO

/// The PostgreSQL database's incarnation (``Central/DatabaseIncarnation``): one row of the table
/// `incarnation`, made by a migration as the database's first life (``PostgresSchema``), left out of every backup
/// (`pg_dump --exclude-table-data`, ``backup(to:)``), and made anew, random, when a database
/// without it (a backup restored with `pg_restore`) is opened.
extension PostgresCentralStorage {
    /// The table whose rows a backup leaves out.
    static let incarnationTable = "incarnation"

    /// The database's incarnation, made when it has none: it was restored from a backup. (Several
    /// servers opening it at once agree on the first one made.)
    static func incarnation(on connection: PostgresConnection, logger: Logger) async throws -> UInt64 {
        func kept() async throws -> Int64? {
            try await connection.query("SELECT number FROM incarnation WHERE id = 1", logger: logger).collect().first?
                .decode(Int64.self)
        }
        if let number = try await kept() { return UInt64(number) }
        let made = Int64(DatabaseIncarnation.new())
        try await connection.query(
            "INSERT INTO incarnation (id, number) VALUES (1, \(made)) ON CONFLICT (id) DO NOTHING", logger: logger)
        return UInt64(try await kept() ?? 0)
    }
}
