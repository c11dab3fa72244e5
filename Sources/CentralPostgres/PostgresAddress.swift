public import Foundation

/// Where a PostgreSQL centre database is, from its URL:
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|require]`.
///
/// The password may instead come from the environment (`PGPASSWORD`), so it need not appear in
/// a command line. `sslmode=require` encrypts the connection and checks the server's certificate
/// against the system's CAs; the default, `disable`, is for a server on loopback.
public struct PostgresAddress: Sendable, Hashable, CustomStringConvertible {
    public let host: String
    public let port: Int
    public let user: String
    public let password: String?
    public let database: String
    public let requiresTLS: Bool

    /// Whether `text` names a PostgreSQL database rather than a SQLite file.
    public static func isPostgresURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Parses `text`; the error says what is wrong with it. `environment` gives `PGPASSWORD`
    /// when the URL carries no password.
    public init(
        _ text: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(PostgresAddressError) {
        guard Self.isPostgresURL(text), let components = URLComponents(string: text) else {
            throw PostgresAddressError("\"\(Self.redacted(text))\" is not a postgres:// URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresAddressError("\(Self.redacted(text)) names no host (postgres://USER@HOST:PORT/DATABASE)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresAddressError("\(Self.redacted(text)) names no database (postgres://USER@HOST:PORT/DATABASE)")
        }
        guard let user = components.user, !user.isEmpty else {
            throw PostgresAddressError("\(Self.redacted(text)) names no user (postgres://USER@HOST:PORT/DATABASE)")
        }
        var requiresTLS = false
        for item in components.queryItems ?? [] {
            switch (item.name, item.value) {
            case ("sslmode", "disable"): requiresTLS = false
            case ("sslmode", "require"), ("sslmode", "verify-full"): requiresTLS = true
            default:
                throw PostgresAddressError(
                    "\(Self.redacted(text)): \(item.name)=\(item.value ?? "") is not understood; only sslmode=disable or sslmode=require is"
                )
            }
        }
        self.host = host
        self.port = components.port ?? 5432
        self.user = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 } ?? environment["PGPASSWORD"]
        self.database = database.removingPercentEncoding ?? database
        self.requiresTLS = requiresTLS
    }

    /// The URL without its password: what messages and logs show.
    public var description: String {
        "postgres://\(user)@\(host):\(port)/\(database)\(requiresTLS ? "?sslmode=require" : "")"
    }

    /// `text` with any password in it replaced by `***`, for messages about a URL that did not parse.
    static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let scheme = text.range(of: "://") else { return text }
        let credentials = text[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return text[..<colon] + ":***" + text[at...]
    }
}

/// A PostgreSQL URL that cannot be used, with what is wrong with it.
public struct PostgresAddressError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
