import Foundation
import GRDB
import LineProtocol
import Replication

/// Taking a store of an earlier format to the present one (`edt-store-4`), at its first opening:
/// - `edt-store-1` had no integrity seal: every sealed value is sealed again under a new key;
/// - `edt-store-2` had a seal checked whole at every opening: ``open(at:passphrase:lockWaitSeconds:describe:acceptance:)``
///   checks it whole one last time, before anything is changed;
/// - `edt-store-3` had the catalog without `accepted`: opening checks it whole against its seal
///   (by the columns it digested), and each record's content against its catalog row's seal here;
/// - then every record's catalog (``RecordCatalog``) is filled in and the seal computed anew, and
///   the file is rewritten (`VACUUM`) so that no byte freed before deleted content was
///   overwritten (`secure_delete`) is left in it.
extension ReplicaStore {
    /// Upgrades the store `database` of `format`, whose values open with `old`, in one
    /// transaction (all of it, or nothing). Costs one pass over the records, once.
    ///
    /// A store from before the seal gets a new store key (derived from the passphrase with a new
    /// salt): a copy of the file from before the upgrade holds rows sealed under the old key, so
    /// none of them can be mixed into the sealed store (nor its old `check` put back to make the
    /// store pass for an unsealed one).
    /// - Returns: the cipher of the upgraded store.
    static func upgrade(
        _ database: DatabaseQueue, in directory: URL, format: String, passphrase: String, cipher old: StoreCipher,
        describe: RecordDescriber, acceptance: AcceptanceReader
    ) throws -> StoreCipher {
        let cipher =
            format == unsealedFormatTag
            ? try StoreCipher.derive(passphrase: passphrase, parameters: StoreCipher.newParameters()) : old
        let parametersJSON: Data
        do {
            parametersJSON = try JSONEncoder().encode(cipher.parameters)
        } catch {
            throw StoreError(.io, "cannot write the store's key settings: \(error)")
        }
        func unreadable(_ what: String) -> StoreError {
            StoreError(
                .corrupt, "\(what) in the store in \(directory.path) cannot be read: the store was damaged or altered")
        }
        do {
            try database.write { db in
                // The centre's key, if recorded, says which records its acceptances make accepted.
                let centreKey = try Data.fetchOne(
                    db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [centreKeyName]
                ).map { sealed in
                    guard let key = old.open(sealed, context: centreKeyContext) else {
                        throw unreadable("the centre's key")
                    }
                    return key
                }
                if format == unsealedFormatTag {
                    try reseal(db, from: old, to: cipher, unreadable: unreadable)
                }
                // Every record opened (its tag checked) with the key it was sealed under, sealed
                // again under the store's key, and its catalog row written.
                let content = try db.makeStatement(sql: "UPDATE records SET sealed = ? WHERE id = ?")
                let columns = RecordCatalog.columns
                let catalog = try db.makeStatement(
                    sql: "INSERT OR REPLACE INTO catalog (id, \(columns.joined(separator: ", "))) VALUES ("
                        + Array(repeating: "?", count: columns.count + 1).joined(separator: ", ") + ")")
                var integrity = StoreIntegrity(storeKey: cipher.key)
                var buckets: [Int: StoreIntegrity.Tally] = [:]
                let hasCatalog = format == catalogFormatTag  // checked whole by opening
                if hasCatalog {
                    // Each record's content must be the one its checked catalog row pins.
                    let orphans =
                        try Int.fetchOne(
                            db,
                            sql: "SELECT (SELECT count(*) FROM records WHERE id NOT IN (SELECT id FROM catalog)) "
                                + "+ (SELECT count(*) FROM catalog WHERE id NOT IN (SELECT id FROM records))") ?? 0
                    guard orphans == 0 else {
                        throw StoreIntegrity.altered(directory, "records: \(orphans) row(s) added or deleted")
                    }
                } else {
                    try db.execute(sql: "DELETE FROM catalog")
                }
                try db.execute(sql: "DELETE FROM buckets")
                let pinned = try db.makeStatement(sql: "SELECT seal FROM catalog WHERE id = ?")
                for idText in try String.fetchAll(db, sql: "SELECT id FROM records ORDER BY id") {
                    guard let id = try? RecordID(idText),
                        let sealed = try Data.fetchOne(
                            db, sql: "SELECT sealed FROM records WHERE id = ?", arguments: [idText])
                    else { throw unreadable("record \(idText)") }
                    if hasCatalog {
                        guard let seal = try Data.fetchOne(pinned, arguments: [idText]),
                            RecordCatalog.sealMatches(sealed, seal)
                        else {
                            throw StoreIntegrity.altered(
                                directory, "records: changed (record \(idText) does not match its catalog)")
                        }
                    }
                    guard let plain = old.open(sealed, context: "record:" + idText),
                        let record = try? RecordCoding.decode(plain, id: id)
                    else { throw unreadable("record \(idText)") }
                    let row = try CatalogRow(
                        record, cipher: cipher, describe: describe,
                        accepted: centreKey.flatMap { acceptance(record, $0) })
                    try content.execute(arguments: [row.sealed, idText])
                    try catalog.execute(arguments: StatementArguments([idText.databaseValue] + row.columns))
                    buckets[row.bucket, default: StoreIntegrity.Tally()].add(
                        integrity.digest(.catalog, key: idText.databaseValue, value: nil, extra: row.columns))
                }
                let insert = try db.makeStatement(sql: "INSERT INTO buckets (bucket, tally) VALUES (?, ?)")
                for (bucket, tally) in buckets {
                    try insert.execute(arguments: [Int64(bucket), StoreIntegrity.encode(tally)])
                }
                let meta = try db.makeStatement(sql: "UPDATE meta SET value = ? WHERE key = ?")
                try meta.execute(arguments: [try cipher.seal(Array(formatTag.utf8), context: "check"), "check"])
                try meta.execute(arguments: [parametersJSON, "kdf"])
                try meta.execute(arguments: [formatTag, "format"])
                try integrity.tallyAll(in: db)
                try integrity.storeSeal(in: db, cipher: cipher)
            }
            try database.vacuum()
            try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            return cipher
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot upgrade the store in \(directory.path) (nothing was changed): \(error)")
        }
    }

    /// Seals the refusals and sealed settings of an unsealed store again under `cipher` (the
    /// records are sealed again with their catalog rows, by the caller).
    private static func reseal(
        _ db: Database, from old: StoreCipher, to cipher: StoreCipher, unreadable: (String) -> StoreError
    ) throws {
        for row in try Row.fetchAll(db, sql: "SELECT id, sealed FROM rejections") {
            guard let key = String.fromDatabaseValue(row[0]), let sealed = Data.fromDatabaseValue(row[1]),
                let plain = old.open(sealed, context: "rejection:" + key)
            else { throw unreadable("a refusal") }
            try db.execute(
                sql: "UPDATE rejections SET sealed = ? WHERE id = ?",
                arguments: [try cipher.seal(plain, context: "rejection:" + key), key])
        }
        let update = try db.makeStatement(sql: "UPDATE meta SET value = ? WHERE key = ?")
        for (key, context) in [("signingKey", "signing-key"), (centreKeyName, centreKeyContext)] {
            guard let sealed = try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key])
            else { continue }  // no centre key recorded yet
            guard let plain = old.open(sealed, context: context) else { throw unreadable("the \(key)") }
            try update.execute(arguments: [try cipher.seal(plain, context: context), key])
        }
    }
}
