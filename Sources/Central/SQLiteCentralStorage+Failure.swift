import GRDB

/// What the centre says when its SQLite database fails: a write the disk had no room for (a
/// full disk, or a file grown past the size the system allows the centre's files) is said as
/// such, with what to do, so that the laptop whose sync it stopped and the administrator reading
/// the log both learn it; any other failure is named as SQLite named it. Either is a storage
/// failure (HTTP 503, try again): the transaction that failed was rolled back whole, and the
/// centre carries on by itself once it can write again.
extension SQLiteCentralStorage {
    /// `error`, met on the database, as the centre reports it.
    static func failure(_ error: any Error) -> CentralError {
        if let error = error as? CentralError { return error }
        guard let error = error as? DatabaseError, let cause = roomlessWrite(error) else {
            return CentralError(.storage, "the central database failed: \(error)")
        }
        return CentralError(
            .storage,
            "the central database could not be written (\(cause); SQLite: \(error.message ?? "\(error.resultCode)")): what was being stored was rolled back whole; free disk space on the centre (or raise the limit on the size of its files), and sync again: the centre carries on by itself"
        )
    }

    /// What kept `error`'s write from the disk, when it was room: SQLite's full disk, or a write
    /// (or sync, or the growing of a file) the system refused, as it refuses one past the size
    /// it allows a file. Nil for any other failure (a read, a lock, damage).
    private static func roomlessWrite(_ error: DatabaseError) -> String? {
        if error.resultCode == .SQLITE_FULL { return "the disk is full" }
        let refusedWrites: [ResultCode] = [
            .SQLITE_IOERR_WRITE, .SQLITE_IOERR_FSYNC, .SQLITE_IOERR_DIR_FSYNC, .SQLITE_IOERR_TRUNCATE,
            .SQLITE_IOERR_SHMSIZE,
        ]
        guard refusedWrites.contains(error.extendedResultCode) else { return nil }
        return "the system refused a write: the disk may be full, or the file over the size allowed"
    }
}
