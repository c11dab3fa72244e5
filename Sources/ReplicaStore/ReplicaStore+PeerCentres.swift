import LineProtocol
public import Replication

/// The peer centres this laptop's centre vouches for in its sync replies (`peers=`,
/// `Protocol/PROTOCOL.md` §1.1): other centres (a home authority's own central) whose entries,
/// written at their own entry device `central.<identity>` and signed with their own key, reach
/// this laptop through its centre. Kept sealed, like the centre's key, so none can be added or
/// swapped in the file without the passphrase; and never forgotten, so the entries of a peer
/// this laptop holds stay verifiable.
extension ReplicaStore {
    private static let peerCentresName = "peerCentres"
    private static let peerCentresContext = "peer-centres"
    private static let peerCentresWhat = "the peer centres' keys"

    /// Every peer centre's key (raw 32 bytes) by its entry device; empty until a reply vouched
    /// for one.
    public func peerCentres() throws(StoreError) -> [DeviceID: [UInt8]] {
        guard
            let plain = try sealedMeta(
                Self.peerCentresName, context: Self.peerCentresContext, what: Self.peerCentresWhat)
        else { return [:] }
        var keys: [DeviceID: [UInt8]] = [:]
        for line in String(decoding: plain, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let device = try? DeviceID(String(parts[0])),
                let key = Hex.decode(String(parts[1])), key.count == 32
            else {
                throw StoreError(
                    .corrupt, "the peer centres' keys in the store cannot be read: the store was damaged or altered")
            }
            keys[device] = key
        }
        return keys
    }

    /// Adds `keys` (raw 32 bytes each, by entry device) to the peer centres kept, durably: a
    /// device not known is added, one known keeps the key it was first given; none is
    /// forgotten. Nothing is written when nothing is new.
    public func trustPeerCentres(_ keys: [DeviceID: [UInt8]]) throws(StoreError) {
        if let wrong = keys.first(where: { $0.value.count != 32 }) {
            throw StoreError(.corrupt, "a peer centre's key is 32 bytes, not \(wrong.value.count) (\(wrong.key))")
        }
        var known = try peerCentres()
        let new = keys.filter { known[$0.key] == nil }
        guard !new.isEmpty else { return }
        known.merge(new) { kept, _ in kept }
        let text = known.keys.sorted().map { "\($0.rawValue) \(Hex.encode(known[$0, default: []]))" }
            .joined(separator: "\n")
        try setSealedMeta(
            Array(text.utf8), name: Self.peerCentresName, context: Self.peerCentresContext,
            what: Self.peerCentresWhat)
    }
}
