import Foundation
import GRDB
import GRDBSQLite

/// A statement run straight through SQLite's C API, for the writer's per-case loop.
///
/// GRDB's statements are the right tool everywhere else; in a loop storing thousands of cases
/// per transaction, their per-run conveniences (arguments as arrays of existentials, observation
/// hooks, copying a case's body into `Data` to bind it) cost as much CPU as SQLite's own work,
/// on the one thread every push waits for. This runs the same SQL on the same connection,
/// inside the transaction GRDB opened, with nothing in between. It lives only as long as that
/// transaction's closure; failures are GRDB's `DatabaseError`, so GRDB rolls back as usual.
final class HotStatement {
    private let statement: OpaquePointer
    private let connection: OpaquePointer
    private let sql: String

    /// Prepares `sql` on `db`'s connection.
    init(_ db: Database, _ sql: String) throws {
        guard let connection = db.sqliteConnection else {
            throw DatabaseError(message: "the database connection is closed", sql: sql)
        }
        var prepared: OpaquePointer?
        let code = sqlite3_prepare_v2(connection, sql, -1, &prepared, nil)
        guard code == SQLITE_OK, let prepared else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)), sql: sql)
        }
        self.statement = prepared
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(statement) }

    /// Binds text (SQLite copies it) to the 1-based parameter `index`.
    func bind(_ text: String, at index: Int32) {
        var text = text
        text.withUTF8 { bytes in
            _ = sqlite3_bind_text(
                statement, index, bytes.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) },
                Int32(bytes.count), Self.transient)
        }
    }

    func bind(_ number: Int64, at index: Int32) {
        _ = sqlite3_bind_int64(statement, index, number)
    }

    func bindNull(at index: Int32) {
        _ = sqlite3_bind_null(statement, index)
    }

    /// Binds bytes without copying them: they must stay as they are until ``reset()``.
    func bindWithoutCopying(text bytes: UnsafeRawBufferPointer, at index: Int32) {
        _ = sqlite3_bind_text(
            statement, index, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil)
    }

    /// Binds bytes without copying them: they must stay as they are until ``reset()``.
    func bindWithoutCopying(blob bytes: UnsafeRawBufferPointer, at index: Int32) {
        // A zero-length blob needs a non-null pointer to be a blob rather than NULL.
        _ = sqlite3_bind_blob(
            statement, index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), nil)
    }

    /// Runs the statement to its next row: true when there is one to read, false when done.
    func step() throws -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code:
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)), sql: sql)
        }
    }

    /// Runs a statement that returns no rows.
    func execute() throws {
        _ = try step()
        reset()
    }

    func int64(at column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    func bytes(at column: Int32) -> [UInt8] {
        // The blob first, then its size (SQLite's order: the size is of the form just read).
        guard let base = sqlite3_column_blob(statement, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: base, count: Int(sqlite3_column_bytes(statement, column))))
    }

    /// True when the blob in `column` holds exactly `bytes`, compared where SQLite holds it,
    /// without copying it (the sizes first).
    func blobEquals(_ bytes: ArraySlice<UInt8>, at column: Int32) -> Bool {
        guard Int(sqlite3_column_bytes(statement, column)) == bytes.count else { return false }
        guard !bytes.isEmpty else { return true }
        guard let base = sqlite3_column_blob(statement, column) else { return false }
        return bytes.withUnsafeBytes { raw in
            guard let other = raw.baseAddress else { return false }
            return memcmp(base, other, raw.count) == 0
        }
    }

    /// Makes the statement ready to run again, forgetting its parameters.
    func reset() {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    /// SQLite's `SQLITE_TRANSIENT`: copy what is bound.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
