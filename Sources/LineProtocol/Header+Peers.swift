public import Replication

/// The peer centres a centre vouches for in its replies (`peers=`, `Protocol/PROTOCOL.md` §1.1):
/// the other centres (a home authority's own central) whose entries reach this centre and then
/// its laptops, each written at that centre's own entry device, `central.<identity>`, and
/// signed with that centre's key. The reply's signature covers its header, so a laptop that
/// verified the reply can verify those entries with the keys it names.
///
/// ```swift
/// parameters.append((Header.peersParameter, Header.peersValue([(device: "central.h1", key: key)])))
/// let peers = header[Header.peersParameter].flatMap(Header.parsePeers)  // nil: malformed
/// ```
extension Header {
    /// `peers=<device>:<64 hex>,...`: on a reply, the peer centres its centre vouches for, each
    /// a centre entry device (``centreDevicePrefix``) with the raw 32-byte Ed25519 public key
    /// its entries verify with, in lowercase hex; sorted by device. Absent when the centre has
    /// no peers.
    public static let peersParameter = "peers"

    /// The prefix of the device id a centre writes its entries as: `central.<identity>`.
    public static let centreDevicePrefix = "central."

    /// The ``peersParameter`` value naming `peers`: `<device>:<key as 64 lowercase hex>` pairs,
    /// sorted by device, separated by commas. Each device must be a centre entry device
    /// (``centreDevicePrefix``) and each key 32 bytes, or the value will not parse
    /// (``parsePeers(_:)``); an empty list makes an empty value, which is not written (the
    /// parameter is left out).
    public static func peersValue(_ peers: [(device: String, key: [UInt8])]) -> String {
        peers.sorted { $0.device < $1.device }.map { "\($0.device):\(Hex.encode($0.key))" }.joined(separator: ",")
    }

    /// The peers a ``peersParameter`` value names, in its order; nil when it is malformed: a pair
    /// without `:`, a device that is not a centre entry device (`central.` and a plain device id
    /// of `A-Z a-z 0-9 . _ -` after it), a key that is not 64 lowercase hex digits, or one device
    /// named twice with different keys (named twice with the same key, it is listed once).
    public static func parsePeers(_ value: String) -> [(device: String, key: [UInt8])]? {
        var peers: [(device: String, key: [UInt8])] = []
        var keys: [String: [UInt8]] = [:]
        for pair in value.split(separator: ",", omittingEmptySubsequences: false) {
            guard let colon = pair.firstIndex(of: ":") else { return nil }
            let device = String(pair[..<colon])
            let hex = String(pair[pair.index(after: colon)...])
            guard device.hasPrefix(centreDevicePrefix), device.utf8.count > centreDevicePrefix.utf8.count,
                (try? DeviceID(device)) != nil, hex.utf8.count == 64, let key = Hex.decode(hex)
            else { return nil }
            if let known = keys[device] {
                guard known == key else { return nil }
                continue
            }
            keys[device] = key
            peers.append((device, key))
        }
        return peers
    }
}

extension SyncContract {
    /// The key an entry at a centre entry device's dot (`central.<identity>`) must verify with,
    /// for a laptop whose centre's key is `centreKey` and whose centre vouched for
    /// `peerCentres`: the key vouched for that very device when it is a peer's, else the
    /// centre's own key for any other centre entry device; nil for a device that is not a
    /// centre's (and for every centre device but the peers' while the centre's key is unknown).
    public static func centreKeyLookup(
        centreKey: [UInt8]?, peerCentres: [DeviceID: [UInt8]]
    ) -> @Sendable (DeviceID) -> [UInt8]? {
        { device in
            guard device.rawValue.hasPrefix(Header.centreDevicePrefix) else { return nil }
            return peerCentres[device] ?? centreKey
        }
    }
}
