import Foundation
import GRDB

/// Small values kept sealed in the store's `meta` table (the centre's key, devices' keys, this
/// device's certificate): each is encrypted and authenticated under the store's key with a
/// context of its own, so it can be neither read nor swapped in the file without the passphrase.
extension ReplicaStore {
    /// The value kept under `name`, opened; nil when none is kept. `what` names it in errors.
    func sealedMeta(_ name: String, context: String, what: String) throws(StoreError) -> [UInt8]? {
        let sealed: Data?
        do {
            sealed = try database.read { db in
                try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [name])
            }
        } catch {
            throw StoreError(.io, "cannot read \(what): \(error)")
        }
        guard let sealed else { return nil }
        guard let value = cipher.open(sealed, context: context) else {
            throw StoreError(.corrupt, "\(what) in the store cannot be read: the store was damaged or altered")
        }
        return value
    }

    /// Keeps `value` sealed under `name`, durably, replacing any before (through the store's
    /// integrity seal, ``SealedWrite``).
    func setSealedMeta(_ value: [UInt8], name: String, context: String, what: String) throws(StoreError) {
        do {
            let sealed = try cipher.seal(value, context: context)
            try writeSealed { write in try write.put(.meta, name, sealed) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot save \(what): \(error)")
        }
    }
}
