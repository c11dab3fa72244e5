import GRDB
import GRDBSQLite

/// Stepping one prepared statement once per key: the store's hot paths over many records (a
/// push's reads, its acknowledgements) look each record up by its id this way, the values read
/// from SQLite as it holds them.
extension Statement {
    /// Binds `key` to the statement's one parameter, steps it once and resets it after. When it
    /// gives a row, hands `row` the statement's handle (its columns readable only inside `row`)
    /// and returns what `row` returns; nil when it gives none (a lookup that found nothing, or a
    /// change). A SQLite error is thrown as a ``StoreError`` saying it could not do `what`.
    ///
    /// The key is bound through SQLite's C API (SQLite copies it): GRDB's arguments, an array of
    /// existentials checked and converted per call, cost more than the lookup itself, 10,000
    /// times per push and again per acknowledgement. The statement is left reset with no
    /// binding; GRDB binds its own afresh whenever it runs it with arguments.
    func step<Value>(
        key: String, _ what: @autoclosure () -> String, row: (OpaquePointer) throws -> Value
    ) throws -> Value? {
        let handle = sqliteStatement
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        var key = key
        let bound = key.withUTF8 { bytes in
            sqlite3_bind_text(
                handle, 1, bytes.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) },
                Int32(bytes.count), Self.copiedBySQLite)
        }
        guard bound == SQLITE_OK else { throw StoreError(.io, "cannot \(what()): SQLite error \(bound)") }
        let code = sqlite3_step(handle)
        if code == SQLITE_DONE { return nil }
        guard code == SQLITE_ROW else { throw StoreError(.io, "cannot \(what()): SQLite error \(code)") }
        return try row(handle)
    }

    /// SQLite's `SQLITE_TRANSIENT`: SQLite copies what is bound before the call returns.
    private static let copiedBySQLite = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
