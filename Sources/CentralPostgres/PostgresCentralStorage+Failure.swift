import Central
import PostgresNIO

/// What the centre says when its PostgreSQL database fails: a write the database server had no
/// room for (its disk full, or a file of its grown past the size its system allows) is said as
/// such, with what to do, so that the laptop whose sync it stopped and the administrator reading
/// the log both learn it; any other failure is named as PostgreSQL named it. Either is a storage
/// failure (HTTP 503, try again): the transaction that failed was rolled back whole, and the
/// centre carries on by itself once the database can write again.
extension PostgresCentralStorage {
    /// A failure as the centre reports it: its own refusals as they are, the database's as a
    /// storage failure (HTTP 503, try again) naming what the server said.
    func mapped(_ error: any Error) -> CentralError {
        if let error = error as? CentralError { return error }
        if let error = error as? PostgresTransactionError {
            if let closure = error.closureError { return mapped(closure) }
            if let rollback = error.rollbackError { return mapped(rollback) }
            if let commit = error.commitError { return mapped(commit) }
            if let begin = error.beginError { return mapped(begin) }
        }
        if let error = error as? PSQLError, let cause = Self.roomlessWrite(error) {
            return CentralError(
                .storage,
                "the central database \(address) could not be written (\(cause); PostgreSQL: \(Self.describe(error))): what was being stored was rolled back whole; free disk space on the database server (or raise the limit on the size of its files), and sync again: the centre carries on by itself"
            )
        }
        return CentralError(.storage, "the central database \(address) failed: \(Self.describe(error))")
    }

    /// What went wrong, in words: PostgreSQL's own message where it sent one.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] {
            let code = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            return message + code
        }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }

    /// What kept `error`'s write from the database server's disk, when it was room: PostgreSQL's
    /// full disk (SQLSTATE 53100, which it gives for ENOSPC), or a write or the growing of a file
    /// its system refused for want of room or for the file's size (EFBIG, which PostgreSQL gives
    /// as an internal error, XX000, naming only the system's message). Nil for any other failure.
    static func roomlessWrite(_ error: PSQLError) -> String? {
        guard let info = error.serverInfo else { return nil }
        if info[.sqlState] == "53100" { return "the database server's disk is full" }
        let message = info[.message] ?? ""
        guard ["could not extend file", "could not write"].contains(where: { message.hasPrefix($0) }) else {
            return nil
        }
        if message.contains("No space left on device") { return "the database server's disk is full" }
        if message.contains("File too large") {
            return
                "the database server refused a write for want of room: its disk is full, or a file of its over the size its system allows"
        }
        return nil
    }
}
