public import Replication

/// A laptop the central endpoint knows: its signing key and the authorities it serves. A peer
/// centre (another authority's central endpoint, ``PeerCentre``) is enrolled the same way, under
/// its entry device `central.<identity>`, with the URL it is reached at.
public struct EnrolledDevice: Sendable, Hashable {
    public let id: DeviceID
    /// The device's Ed25519 public key (raw 32 bytes), as `edt init --json` printed it; a peer
    /// centre's key as its `edt central identity` prints it.
    public let publicKey: [UInt8]
    /// The authorities (GSS codes) the device serves: it may write and see their cases only.
    public let authorities: Set<String>
    /// A revoked device is refused; what it had synced stays.
    public let revoked: Bool
    /// The URL a peer centre is reached at; nil for a laptop.
    public let peerURL: String?

    public init(
        id: DeviceID, publicKey: [UInt8], authorities: Set<String>, revoked: Bool = false, peerURL: String? = nil
    ) {
        self.id = id
        self.publicKey = publicKey
        self.authorities = authorities
        self.revoked = revoked
        self.peerURL = peerURL
    }

    /// Whether it is a peer centre rather than a laptop.
    public var isPeer: Bool { peerURL != nil }
}
