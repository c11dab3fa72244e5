import Crypto

/// The HTTP side of a sync (`Protocol/PROTOCOL.md` §4): what a device and the central endpoint
/// agree on besides the streams themselves. Both sides use these constants; neither writes the
/// values out.
///
/// - A device `POST`s a `push` stream to ``syncPath`` with `Content-Type: ` ``mediaType`` and an
///   `Authorization` header of the ``SyncAuthorization`` scheme (``SyncAuthorization/scheme``);
///   a `200` answer's body is a `reply` stream of the same media type.
/// - A `409` answer's body starts with ``startOverPrefix``: the device starts over (§4.2).
/// - `GET` ``healthPath`` answers `200` while the centre runs and its database answers.
public enum SyncContract {
    /// The path of the sync resource, after the centre's base URL: `/v1/sync`.
    public static let syncPath = "/v1/sync"

    /// The path a device forwards a colleague's bundle to, after the centre's base URL:
    /// `/v1/relay`. The body is the bundle as its author signed it; the reply is a `reply`
    /// stream answering each of its records (`Protocol/PROTOCOL.md` §4.6).
    public static let relayPath = "/v1/relay"

    /// The most bytes of reply a device takes for each byte of a bundle it relays, past the
    /// 64 MiB any reply may hold: the reply answers each record of the bundle (a line of at least
    /// a few dozen bytes), and a centre's answers, refusals with their reasons included, stay well
    /// within it.
    public static let relayReplyBytesPerBundleByte = 16

    /// The path of the health check, after the centre's base URL: `/health`.
    public static let healthPath = "/health"

    /// The media type of push and reply bodies, as the `Content-Type` value:
    /// `text/x-edtlp; charset=utf-8`.
    public static let mediaType = "text/x-edtlp; charset=utf-8"

    /// How the body of a `409` answer starts: `start-over:`, then a space and the reason for
    /// people. The centre's database no longer matches the device's cursor (it was replaced, or
    /// restored from a backup), so the device marks every record pending, forgets its cursor and
    /// syncs from the start. A device acts on the status; the prefix names it for people and
    /// scripts reading the body.
    public static let startOverPrefix = "start-over:"

    /// How a centre is named on the wire: its Ed25519 public key in lowercase hex (64 digits).
    /// A device's request names the centre it is meant for; the centre's reply names itself.
    public static func centreIdentity(publicKey: [UInt8]) -> String { Hex.encode(publicKey) }

    /// The bytes a centre signs to vouch that `key` (raw 32 bytes) is the enrolled key of
    /// `device`: `edt-device-2 <centre identity> <device> <key as 64 lowercase hex>`. The
    /// signature is the device's **certificate**: the centre sends it in the header of every reply
    /// (`cert=`), the device puts it in the header of its bundles, and another laptop of the same
    /// centre checks it with the centre's key before it trusts the bundle's key as that device's.
    public static func deviceCertificateMessage(centre: String, device: String, key: [UInt8]) -> [UInt8] {
        Array("edt-device-2 \(centre) \(device) \(Hex.encode(key))".utf8)
    }

    /// Whether `certificate` is the signature, by the centre whose public key is `centreKey`
    /// (raw 32 bytes), of ``deviceCertificateMessage(centre:device:key:)`` for `device` and `key`.
    public static func isValidCertificate(
        _ certificate: [UInt8], centreKey: [UInt8], device: String, key: [UInt8]
    ) -> Bool {
        guard let centre = try? Curve25519.Signing.PublicKey(rawRepresentation: centreKey) else { return false }
        return centre.isValidSignature(
            certificate,
            for: deviceCertificateMessage(centre: centreIdentity(publicKey: centreKey), device: device, key: key))
    }

    /// The public key a centre identity names; nil when it is not 64 hex digits.
    public static func centreKey(identity: String) -> [UInt8]? {
        Hex.decode(identity).flatMap { $0.count == 32 ? $0 : nil }
    }
}
