import Crypto
import Foundation
import GRDB
import LineProtocol

/// Colleagues' bundles kept to be relayed: a bundle imported from another device is kept, sealed,
/// exactly as its author signed it, until the centre has taken it (``SyncStore``'s relaying).
/// The writes it carried are already merged here; relaying it gives the centre their author's
/// proof, which this laptop cannot give for them.
extension ReplicaStore {
    private static let relayPrefix = "relay."
    private static let relayContext = "relay"

    /// Keeps `bundle` (a verified bundle of another device) to be relayed; keeping the same
    /// bundle twice keeps it once.
    public func keepForRelay(_ bundle: [UInt8]) throws(StoreError) {
        let name = Self.relayPrefix + Hex.encode(Array(SHA256.hash(data: bundle)))
        try setSealedMeta(bundle, name: name, context: Self.relayContext, what: "the bundle to relay")
    }

    /// The bundles waiting to be relayed, by name (`relay.` and the SHA-256 of the bytes, in hex).
    public func bundlesToRelay() throws(StoreError) -> [(name: String, bytes: [UInt8])] {
        let rows: [(String, Data)]
        do {
            rows = try database.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT key, value FROM meta WHERE key LIKE ? ORDER BY key",
                    arguments: [Self.relayPrefix + "%"]
                ).map { ($0["key"], $0["value"]) }
            }
        } catch {
            throw StoreError(.io, "cannot read the bundles to relay: \(error)")
        }
        var bundles: [(name: String, bytes: [UInt8])] = []
        for (name, sealed) in rows {
            guard let bytes = cipher.open(sealed, context: Self.relayContext) else {
                throw StoreError(.corrupt, "a bundle kept to relay cannot be read: the store was damaged or altered")
            }
            bundles.append((name, bytes))
        }
        return bundles
    }

    /// Forgets the bundle `name`: the centre has taken it (or refused it for good).
    public func forgetRelay(_ name: String) throws(StoreError) {
        do {
            try writeSealed { write in try write.delete(.meta, name) }
        } catch {
            throw StoreError(.io, "cannot forget a relayed bundle: \(error)")
        }
    }
}
