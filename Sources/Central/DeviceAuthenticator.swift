import Crypto
public import LineProtocol
import Replication

/// Checks a sync request's `Authorization` header (``SyncAuthorization``): an enrolled,
/// unrevoked device, a valid Ed25519 signature by its enrolled key over the method, path, this
/// centre's identity, the device and the counter, and a counter higher than any it used before
/// (so a captured request cannot be replayed).
public struct DeviceAuthenticator: Sendable {
    let storage: any CentralStorage
    /// This centre's identity, which a request must name.
    let centre: String

    public init(storage: any CentralStorage) {
        self.storage = storage
        centre = SyncContract.centreIdentity(publicKey: Array(storage.signingKey.publicKey.rawRepresentation))
    }

    /// A request whose header verified: the device, and the counter its body must name.
    public struct Authenticated: Sendable {
        public let device: EnrolledDevice
        public let counter: UInt64
    }

    /// The one answer to a request whose signature has not been verified, whatever the reason (no
    /// header, an unknown device, another key, another centre, a revoked device's forged request):
    /// before the signature verifies, nothing tells a stranger which devices exist or are revoked.
    public static let notAuthenticated =
        "the request is not authenticated: it must come from an enrolled device, signed with its key for this centre (an administrator enrols devices with `edt central enroll`; a laptop records this centre's key with `edt store centre-key`)"

    /// A key no device has, checked against when the device is unknown, so an unknown device
    /// takes as long to refuse as a wrong signature.
    private static let stranger = Curve25519.Signing.PrivateKey().publicKey

    /// Why a request was refused, as ``CentralError/reason`` carries it (for the centre's metrics
    /// and logs; the requester is told only `unauthenticated` or `revoked`).
    public enum Refusal: String, Sendable, CaseIterable {
        /// No `Authorization` header, or not one of the ``SyncAuthorization`` scheme.
        case noAuthorization = "no-authorization"
        /// The header names a device that is not enrolled.
        case unknownDevice = "unknown-device"
        /// The header's signature does not verify with the device's enrolled key (or that key
        /// is not an Ed25519 key).
        case badSignature = "bad-signature"
        /// The device's signed request uses a counter it used before (a replayed request).
        case replayedCounter = "replayed-counter"
        /// The device's signed request, but the device is revoked.
        case revoked
    }

    /// The device and counter the header proves for a request to `path`, or a refusal
    /// (`unauthenticated`, `revoked`), whose ``CentralError/reason`` is a ``Refusal``.
    public func authenticate(
        _ header: String?, path: String = SyncContract.syncPath
    ) async throws(CentralError) -> Authenticated {
        guard let header, let authorization = SyncAuthorization(headerValue: header) else {
            throw CentralError(.unauthenticated, Self.notAuthenticated, reason: Refusal.noAuthorization.rawValue)
        }
        let enrolled: EnrolledDevice? =
            if let id = try? DeviceID(authorization.device) { try await storage.device(id) } else { nil }
        let message = SyncAuthorization.message(
            centre: centre, device: authorization.device, counter: authorization.counter, path: path)
        let key = enrolled.flatMap { try? Curve25519.Signing.PublicKey(rawRepresentation: $0.publicKey) }
        let verified = (key ?? Self.stranger).isValidSignature(authorization.signature, for: message)
        guard let device = enrolled, key != nil, verified else {
            let refusal: Refusal = enrolled == nil ? .unknownDevice : .badSignature
            throw CentralError(.unauthenticated, Self.notAuthenticated, reason: refusal.rawValue)
        }
        let id = device.id
        // Only the device itself learns that it was revoked.
        guard !device.revoked else {
            throw CentralError(
                .revoked,
                "device \(id) has been revoked; it must not sync. Keep the laptop's data and contact an administrator",
                reason: Refusal.revoked.rawValue)
        }
        guard try await storage.consumeCounter(authorization.counter, for: id) else {
            throw CentralError(
                .unauthenticated,
                "device \(id) reused request counter \(authorization.counter): a replayed request is refused",
                reason: Refusal.replayedCounter.rawValue)
        }
        return Authenticated(device: device, counter: authorization.counter)
    }
}
