import Crypto
import GRDB
import GRDBSQLite

/// Digesting rows as SQLite holds them: the hot path of every record read (a bucket's check),
/// of a sync's push, which checks the bucket of every record it sends, and of reading the
/// pending list whole.
extension StoreIntegrity {
    /// The tallies, per bucket, of the catalog rows `statement` selects (its columns: `id`, then
    /// ``RecordCatalog/columns``, so `bucket` second). Each row is digested exactly as
    /// ``catalogDigest(_:)`` digests it.
    func catalogTallies(of statement: Statement) throws -> [Int: Tally] {
        var tallies: [Int: Tally] = [:]
        try forEachDigest(of: statement, table: .catalog, hasValue: false) { handle, digest in
            tallies[Int(sqlite3_column_int64(handle, 1)), default: Tally()].add(digest)
        }
        return tallies
    }

    /// The tally of the rows of `table` that `statement` selects (its key, then its value when
    /// it has one), each digested exactly as ``digest(_:key:value:extra:legacyRecord:)`` does.
    func tally(of statement: Statement, table: Table) throws -> Tally {
        var tally = Tally()
        try forEachDigest(of: statement, table: table, hasValue: table.valueColumn != nil) { _, digest in
            tally.add(digest)
        }
        return tally
    }

    /// Steps `statement` to its end, handing `body` each row (the statement's handle, on it) and
    /// its digest: column 0 is the key, column 1 the value when `hasValue`, every later column an
    /// extra value. The values are read from SQLite as it holds them, nothing copied out.
    private func forEachDigest(
        of statement: Statement, table: Table, hasValue: Bool, _ body: (OpaquePointer, RowDigest) -> Void
    ) throws {
        let handle = statement.sqliteStatement
        defer { sqlite3_reset(handle) }
        let columns = sqlite3_column_count(handle)
        var head: [UInt8] = []
        head.reserveCapacity(512)
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else {
                throw StoreError(.io, "cannot read the store's \(table.name): SQLite error \(code)")
            }
            var mac = keyedMAC
            head.removeAll(keepingCapacity: true)
            head.append(table.rawValue)
            Self.appendColumn(handle, 0, to: &head, mac: &mac)
            if !hasValue { head.append(contentsOf: [0, 0, 0, 0, 0]) }  // no value; any columns follow as extra
            if columns > 1 {
                for column in 1..<columns { Self.appendColumn(handle, column, to: &head, mac: &mac) }
            }
            if !head.isEmpty { head.withUnsafeBytes { mac.update(data: $0) } }
            body(handle, mac.finalize())
        }
    }

    /// Appends column `column` of the current row as ``append(_:to:mac:)`` appends its value:
    /// storage class, length, bytes.
    private static func appendColumn(
        _ handle: OpaquePointer, _ column: Int32, to head: inout [UInt8], mac: inout RowMAC
    ) {
        func header(_ storage: UInt8, _ count: Int) {
            let length = UInt32(truncatingIfNeeded: count)
            head.append(storage)
            head.append(UInt8(length >> 24))
            head.append(UInt8(length >> 16 & 0xFF))
            head.append(UInt8(length >> 8 & 0xFF))
            head.append(UInt8(length & 0xFF))
        }
        func bytes(_ pointer: UnsafeRawPointer?, _ count: Int) {
            guard let pointer, count > 0 else { return }
            let buffer = UnsafeRawBufferPointer(start: pointer, count: count)
            if count <= 256 {
                head.append(contentsOf: buffer)
            } else {
                head.withUnsafeBytes { mac.update(data: $0) }
                head.removeAll(keepingCapacity: true)
                mac.update(data: buffer)
            }
        }
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER:
            header(2, 8)
            withUnsafeBytes(of: sqlite3_column_int64(handle, column).bigEndian) { bytes($0.baseAddress, 8) }
        case SQLITE_FLOAT:
            header(3, 8)
            withUnsafeBytes(of: sqlite3_column_double(handle, column).bitPattern.bigEndian) {
                bytes($0.baseAddress, 8)
            }
        case SQLITE_TEXT:
            let text = sqlite3_column_text(handle, column)
            let count = Int(sqlite3_column_bytes(handle, column))
            header(4, count)
            bytes(UnsafeRawPointer(text), count)
        case SQLITE_BLOB:
            let blob = sqlite3_column_blob(handle, column)
            let count = Int(sqlite3_column_bytes(handle, column))
            header(5, count)
            bytes(blob, count)
        default:
            header(1, 0)
        }
    }
}
