import Foundation
import GRDB
public import Replication

/// Dropping the records the laptop no longer needs (`Docs/domain.md`, "Data protection"): a
/// record the centre durably holds (nothing of it pending here) and that was accepted
/// (``AcceptanceReader``, the catalog's `accepted`) long enough ago is deleted from the file:
/// its sealed content, its catalog row and its place in the integrity tallies, with deleted
/// content overwritten (`secure_delete`) and the write-ahead log emptied afterwards, so none of
/// its bytes is left in any file of the store. The version vector is kept: the centre does not
/// send the record again unless it changes again.
extension ReplicaStore {
    static let keepAcceptedName = "keepAcceptedDays"
    private static let keepAcceptedContext = "keep-accepted-days"
    private static let keepAcceptedWhat = "how long accepted cases are kept"
    /// The most days a store keeps accepted records (ten years).
    public static let maximumKeepAcceptedDays = 3_650

    /// How many days after its acceptance an accepted record is kept (0, unless set: dropped at
    /// the next sync).
    public func keepAcceptedDays() throws(StoreError) -> Int {
        guard
            let bytes = try sealedMeta(
                Self.keepAcceptedName, context: Self.keepAcceptedContext, what: Self.keepAcceptedWhat)
        else { return 0 }
        guard let days = Int(String(decoding: bytes, as: UTF8.self)), (0...Self.maximumKeepAcceptedDays).contains(days)
        else {
            throw StoreError(
                .corrupt, "\(Self.keepAcceptedWhat) in the store cannot be read: the store was damaged or altered")
        }
        return days
    }

    /// Keeps accepted records `days` days after their acceptance, durably (sealed in `meta`).
    public func setKeepAcceptedDays(_ days: Int) throws(StoreError) {
        guard (0...Self.maximumKeepAcceptedDays).contains(days) else {
            throw StoreError(.refused, "keep accepted cases 0 to \(Self.maximumKeepAcceptedDays) days, not \(days)")
        }
        try setSealedMeta(
            Array(String(days).utf8), name: Self.keepAcceptedName, context: Self.keepAcceptedContext,
            what: Self.keepAcceptedWhat)
    }

    /// How many records are dropped in one transaction: a purge of many records holds the
    /// store's write lock a little at a time, and reads its records one at a time.
    static let purgeBatch = 256

    /// Drops every record accepted at or before `cutoff` (seconds since 1970, as the catalog's
    /// `accepted`) with nothing pending here, and that `confirm` confirms once read (the
    /// application checks the record itself: the catalog only finds the candidates). Found
    /// through the catalog's index on `accepted`; each record read alone, checked against its
    /// bucket and seal before it is believed. Returns the ids dropped, in id order.
    ///
    /// After dropping anything, the write-ahead log is checkpointed and emptied
    /// (`wal_checkpoint(TRUNCATE)`): no byte of a dropped record is left in the database file
    /// (deleted content is overwritten, `secure_delete`), its log or its shared memory.
    public func purgeAccepted(
        acceptedBy cutoff: Int64, confirm: (Replication.Record) -> Bool
    ) throws(StoreError) -> [RecordID] {
        let candidates = try reading("the accepted records") { db in
            // What is pending is believed once checked: a row deleted outside edt must not let a
            // record the centre lacks be dropped.
            try integrity.check(.pending, in: db, directory: directory)
            return try String.fetchAll(
                db,
                sql: """
                    SELECT id FROM catalog WHERE accepted IS NOT NULL AND accepted <= ? \
                    AND id NOT IN (SELECT id FROM pending) ORDER BY id
                    """, arguments: [cutoff]
            ).compactMap { try? RecordID($0) }
        }
        return try drop(candidates, confirm: confirm, what: "the accepted records")
    }

    /// Drops every record whose host (as the catalog holds it) is none of `served`, with nothing
    /// pending here, and that `confirm` confirms once read (the application checks that no
    /// authority this device serves sees the record any longer: a case forwarded anew to
    /// another home authority, on a laptop that served only the one it left). Dropped as
    /// ``purgeAccepted(acceptedBy:confirm:)`` drops, gone from every file of the store.
    public func purgeUnserved(
        served: Set<String>, confirm: (Replication.Record) -> Bool
    ) throws(StoreError) -> [RecordID] {
        let codes = served.sorted()
        let candidates = try reading("the records of authorities this device does not serve") { db in
            try integrity.check(.pending, in: db, directory: directory)
            let marks = codes.map { _ in "?" }.joined(separator: ", ")
            let hostNotServed = codes.isEmpty ? "1" : "(host IS NULL OR host NOT IN (\(marks)))"
            return try String.fetchAll(
                db,
                sql: "SELECT id FROM catalog WHERE \(hostNotServed) AND id NOT IN (SELECT id FROM pending) ORDER BY id",
                arguments: StatementArguments(codes)
            ).compactMap { try? RecordID($0) }
        }
        return try drop(candidates, confirm: confirm, what: "the records no longer served")
    }

    /// Drops the records `ids` with nothing pending here: the centre said this device's
    /// authorities no longer see them (a case forwarded anew to another home). Dropped as
    /// ``purgeAccepted(acceptedBy:confirm:)`` drops, gone from every file of the store.
    public func purgeGone(_ ids: [RecordID]) throws(StoreError) -> [RecordID] {
        guard !ids.isEmpty else { return [] }
        try reading("the records the centre says are gone") { db in
            try integrity.check(.pending, in: db, directory: directory)
        }
        return try drop(
            Array(Set(ids)).sorted { $0.rawValue < $1.rawValue }, confirm: { _ in true }, what: "the records gone")
    }

    /// Drops `candidates` that `confirm` confirms and have nothing pending, a batch at a time,
    /// then empties the write-ahead log.
    private func drop(
        _ candidates: [RecordID], confirm: (Replication.Record) -> Bool, what: String
    ) throws(StoreError) -> [RecordID] {
        var dropped: [RecordID] = []
        do {
            var start = 0
            while start < candidates.count {
                let batch = candidates[start..<min(start + Self.purgeBatch, candidates.count)]
                start += Self.purgeBatch
                dropped += try writeSealed { write in
                    var done: [RecordID] = []
                    let pending = try write.db.cachedStatement(sql: "SELECT 1 FROM pending WHERE id = ?")
                    for id in batch {
                        // Read and checked (bucket, seal) before it is believed, and confirmed.
                        guard let record = try loadRecord(id, in: write.db), confirm(record),
                            try Int.fetchOne(pending, arguments: [id.rawValue]) == nil
                        else { continue }
                        if try write.deleteRecord(id.rawValue) { done.append(id) }
                    }
                    return done
                }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "could not drop \(what) (the rest are kept): \(error)")
        }
        guard !dropped.isEmpty else { return [] }
        try emptyWriteAheadLog()
        return dropped
    }

    /// Copies every page of the write-ahead log into the database file and truncates the log to
    /// nothing, so no page written before (a dropped record's included) is left in it.
    func emptyWriteAheadLog() throws(StoreError) {
        do {
            let busy = try database.writeWithoutTransaction { db in
                try Int.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") ?? 0
            }
            guard busy == 0 else {
                throw StoreError(
                    .io, "the store's write-ahead log could not be emptied (the store is in use): sync again")
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot empty the store's write-ahead log: \(error)")
        }
    }
}
