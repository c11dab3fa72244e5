import Crypto
import LineProtocol
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

    /// The device and counter the header proves, or a refusal (`unauthenticated`, `revoked`).
    public func authenticate(_ header: String?) async throws(CentralError) -> Authenticated {
        guard let header, let authorization = SyncAuthorization(headerValue: header) else {
            throw CentralError(
                .unauthenticated, "the request has no valid \(SyncAuthorization.scheme) Authorization header")
        }
        guard let id = try? DeviceID(authorization.device), let device = try await storage.device(id) else {
            throw CentralError(
                .unauthenticated,
                "device \(authorization.device) is not enrolled; an administrator must run `edt central enroll`")
        }
        guard !device.revoked else {
            throw CentralError(
                .revoked,
                "device \(id) has been revoked; it must not sync. Keep the laptop's data and contact an administrator")
        }
        let message = SyncAuthorization.message(
            centre: centre, device: authorization.device, counter: authorization.counter)
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: device.publicKey),
            key.isValidSignature(authorization.signature, for: message)
        else {
            throw CentralError(
                .unauthenticated,
                "the signature of device \(id) does not match its enrolled key, or the request was meant for another centre (the laptop must record this centre's key: `edt central identity`, `edt store centre-key`)"
            )
        }
        guard try await storage.consumeCounter(authorization.counter, for: id) else {
            throw CentralError(
                .unauthenticated,
                "device \(id) reused request counter \(authorization.counter): a replayed request is refused")
        }
        return Authenticated(device: device, counter: authorization.counter)
    }
}
