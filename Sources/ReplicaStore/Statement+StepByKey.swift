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
    func step<Value>(
        key: String, _ what: @autoclosure () -> String, row: (OpaquePointer) throws -> Value
    ) throws -> Value? {
        try setArguments([key])
        let handle = sqliteStatement
        defer { sqlite3_reset(handle) }
        let code = sqlite3_step(handle)
        if code == SQLITE_DONE { return nil }
        guard code == SQLITE_ROW else { throw StoreError(.io, "cannot \(what()): SQLite error \(code)") }
        return try row(handle)
    }
}
