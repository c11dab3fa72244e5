/// The central endpoint's public signing key this laptop trusts: every reply it applies must be
/// signed by it (`Protocol/PROTOCOL.md` §1.4). Kept sealed, so it cannot be swapped in the file
/// without the passphrase.
extension ReplicaStore {
    static let centreKeyName = "centreKey"
    /// The sealed key's authenticated context (also used when a store is re-keyed).
    static let centreKeyContext = "centre-key"
    private static let centreKeyWhat = "the centre's key"

    /// The centre's public key (raw 32 bytes), once recorded (``setCentreKey(_:)``).
    public func centreKey() throws(StoreError) -> [UInt8]? {
        guard let key = try sealedMeta(Self.centreKeyName, context: Self.centreKeyContext, what: Self.centreKeyWhat)
        else { return nil }
        guard key.count == 32 else {
            throw StoreError(.corrupt, "the centre's key in the store cannot be read: the store was damaged or altered")
        }
        return key
    }

    /// Records the centre's public key (raw 32 bytes), durably, replacing any before.
    public func setCentreKey(_ key: [UInt8]) throws(StoreError) {
        guard key.count == 32 else { throw StoreError(.corrupt, "a centre key is 32 bytes, not \(key.count)") }
        try setSealedMeta(key, name: Self.centreKeyName, context: Self.centreKeyContext, what: Self.centreKeyWhat)
    }
}
