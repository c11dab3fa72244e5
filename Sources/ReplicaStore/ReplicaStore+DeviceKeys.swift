import Foundation
import GRDB
import LineProtocol

/// The keys of other devices this laptop has had bundles from: the first bundle from a device
/// pins its key, and a later bundle naming that device under another key is refused, so a
/// colleague's device name cannot be borrowed by someone else's laptop. Kept sealed, like the
/// centre's key.
extension ReplicaStore {
    private static let deviceKeysName = "deviceKeys"
    private static let deviceKeysContext = "device-keys"

    /// Every pinned key (raw 32 bytes) by device id.
    public func pinnedDeviceKeys() throws(StoreError) -> [String: [UInt8]] {
        let sealed: Data?
        do {
            sealed = try database.read { db in
                try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [Self.deviceKeysName])
            }
        } catch {
            throw StoreError(.io, "cannot read the devices' keys: \(error)")
        }
        guard let sealed else { return [:] }
        guard let plain = cipher.open(sealed, context: Self.deviceKeysContext) else {
            throw StoreError(
                .corrupt, "the devices' keys in the store cannot be read: the store was damaged or altered")
        }
        var keys: [String: [UInt8]] = [:]
        for line in String(decoding: plain, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let key = Hex.decode(String(parts[1])), key.count == 32 else {
                throw StoreError(
                    .corrupt, "the devices' keys in the store cannot be read: the store was damaged or altered")
            }
            keys[String(parts[0])] = key
        }
        return keys
    }

    /// Pins `key` (raw 32 bytes) as `device`'s, durably, replacing any before.
    public func pinDeviceKey(_ key: [UInt8], for device: String) throws(StoreError) {
        guard key.count == 32 else { throw StoreError(.corrupt, "a device key is 32 bytes, not \(key.count)") }
        var keys = try pinnedDeviceKeys()
        keys[device] = key
        let text = keys.keys.sorted().map { "\($0) \(Hex.encode(keys[$0, default: []]))" }
        do {
            let sealed = try cipher.seal(Array(text.joined(separator: "\n").utf8), context: Self.deviceKeysContext)
            try database.write { db in
                try db.execute(
                    sql:
                        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    arguments: [Self.deviceKeysName, sealed])
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot save the devices' keys: \(error)")
        }
    }
}
