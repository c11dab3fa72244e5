import Foundation
import GRDB

/// Taking a store of the format before the integrity seal (`edt-store-1`)
/// to the sealed format (`edt-store-2`), at its first opening.
extension ReplicaStore {
    /// Seals the unsealed store `database` (its records already read and opened with
    /// `unsealed`), in one transaction: a new store key is derived from the passphrase with a
    /// new salt, every sealed value (records, refusals, the signing key, the centre's key, the
    /// check) is sealed again under it, the format becomes `edt-store-2`, and the integrity seal
    /// is computed over every row.
    ///
    /// The new key is what makes the seal hold for a store that lived unsealed: a copy of the
    /// file from before the upgrade holds rows sealed under the old key, so none of them can be
    /// mixed into the sealed store (nor its old `check` put back to make the store pass for an
    /// unsealed one). Costs one pass over the records, once.
    /// - Returns: the new cipher, and the tallies of the sealed rows.
    static func sealUnsealedStore(
        _ database: DatabaseQueue, in directory: URL, passphrase: String, unsealedWith old: StoreCipher
    ) throws -> (StoreCipher, StoreIntegrity) {
        let cipher = try StoreCipher.derive(passphrase: passphrase, parameters: StoreCipher.newParameters())
        let parametersJSON: Data
        do {
            parametersJSON = try JSONEncoder().encode(cipher.parameters)
        } catch {
            throw StoreError(.io, "cannot write the store's new key settings: \(error)")
        }
        func unreadable(_ what: String) -> StoreError {
            StoreError(
                .corrupt, "\(what) in the store in \(directory.path) cannot be read: the store was damaged or altered")
        }
        do {
            let integrity = try database.write { db throws -> StoreIntegrity in
                /// Seals every value of `table` again, under the context `prefix` + its key.
                func reseal(_ table: String, _ keyColumn: String, _ valueColumn: String, prefix: String) throws {
                    let update = try db.makeStatement(
                        sql: "UPDATE \(table) SET \(valueColumn) = ? WHERE \(keyColumn) = ?")
                    for row in try Row.fetchAll(db, sql: "SELECT \(keyColumn), \(valueColumn) FROM \(table)") {
                        guard let key = String.fromDatabaseValue(row[0]), let sealed = Data.fromDatabaseValue(row[1]),
                            let plain = old.open(sealed, context: prefix + key)
                        else { throw unreadable("a row of \(table)") }
                        try update.execute(arguments: [try cipher.seal(plain, context: prefix + key), key])
                    }
                }
                try reseal("records", "id", "sealed", prefix: "record:")
                try reseal("rejections", "id", "sealed", prefix: "rejection:")
                let update = try db.makeStatement(sql: "UPDATE meta SET value = ? WHERE key = ?")
                for (key, context) in [("signingKey", "signing-key"), (centreKeyName, centreKeyContext)] {
                    guard
                        let sealed = try Data.fetchOne(
                            db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key])
                    else { continue }  // no centre key recorded yet
                    guard let plain = old.open(sealed, context: context) else { throw unreadable("the \(key)") }
                    try update.execute(arguments: [try cipher.seal(plain, context: context), key])
                }
                try update.execute(arguments: [try cipher.seal(Array(formatTag.utf8), context: "check"), "check"])
                try update.execute(arguments: [parametersJSON, "kdf"])
                try update.execute(arguments: [formatTag, "format"])
                var integrity = StoreIntegrity(storeKey: cipher.key)
                try integrity.tallyAll(in: db)
                try integrity.storeSeal(in: db, cipher: cipher)
                return integrity
            }
            return (cipher, integrity)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot seal the store in \(directory.path) (nothing was changed): \(error)")
        }
    }
}
