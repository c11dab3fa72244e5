public import Replication

/// A laptop the central endpoint knows: its signing key and the authorities it serves.
public struct EnrolledDevice: Sendable, Hashable {
    public let id: DeviceID
    /// The device's Ed25519 public key (raw 32 bytes), as `edt init --json` printed it.
    public let publicKey: [UInt8]
    /// The authorities (GSS codes) the device serves: it may write and see their cases only.
    public let authorities: Set<String>
    /// A revoked device is refused; what it had synced stays.
    public let revoked: Bool

    public init(id: DeviceID, publicKey: [UInt8], authorities: Set<String>, revoked: Bool = false) {
        self.id = id
        self.publicKey = publicKey
        self.authorities = authorities
        self.revoked = revoked
    }
}
