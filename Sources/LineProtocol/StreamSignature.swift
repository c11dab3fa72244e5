public import Crypto

/// The signatures that make an EDTLP 2 stream the sender's (`Protocol/PROTOCOL.md` §1.4): a
/// `SIG` frame carries the sender's Ed25519 signature over the SHA-256 digest of every byte of
/// the stream before its line.
///
/// ```
/// SIG <n> part ed25519:<128 hex>     a signed checkpoint: what came before may be acted on
/// SIG <n> final ed25519:<128 hex>    the last frame of every stream, right before END
/// ```
///
/// The bytes signed are the ASCII text `edt-stream-2 <kind> <part|final> sha256:<64 hex>`: the
/// kind binds a signature to the kind of stream (a bundle's cannot pass as a push), the role stops
/// a stream cut after a signed checkpoint from passing as whole.
public enum StreamSignature {
    /// Where a `SIG` frame stands in its stream.
    public enum Role: String, Sendable, Hashable {
        /// A checkpoint: the frames before it may be acted on before the stream ends.
        case part
        /// The stream's last frame: it covers the whole stream.
        case final
    }

    /// The bytes signed for a stream of `kind` whose bytes before the `SIG` line hash to `digest`.
    public static func message(kind: Header.Kind, role: Role, digest: SHA256.Digest) -> [UInt8] {
        Array("edt-stream-2 \(kind.rawValue) \(role.rawValue) sha256:\(Hex.encode(Array(digest)))".utf8)
    }

    /// The arguments of a `SIG` frame: `part|final ed25519:<hex>`.
    static func arguments(role: Role, signature: [UInt8]) -> String {
        "\(role.rawValue) ed25519:\(Hex.encode(signature))"
    }

    /// Reads a `SIG` frame's arguments; nil when they are not `part|final ed25519:<128 hex>`.
    static func parse(_ arguments: ArraySlice<UInt8>) -> (role: Role, signature: [UInt8])? {
        let parts = arguments.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 2, let role = Role(rawValue: String(decoding: parts[0], as: UTF8.self)),
            parts[1].starts(with: "ed25519:".utf8),
            let signature = Hex.decode(String(decoding: parts[1].dropFirst(8), as: UTF8.self)),
            signature.count == 64
        else { return nil }
        return (role, signature)
    }
}

/// Signs the streams a sender writes: its Ed25519 key, or a function that signs with a key kept
/// elsewhere (a laptop's sealed key).
public struct StreamSigner: Sendable {
    private let signing: @Sendable ([UInt8]) -> [UInt8]
    /// The signer's public key (raw 32 bytes).
    public let publicKey: [UInt8]

    /// Signs with a function; `publicKey` is the key its signatures verify against.
    public init(publicKey: [UInt8], sign: @escaping @Sendable ([UInt8]) -> [UInt8]) {
        self.publicKey = publicKey
        self.signing = sign
    }

    /// Signs with `key`.
    public init(key: Curve25519.Signing.PrivateKey) {
        self.init(publicKey: Array(key.publicKey.rawRepresentation)) { message in
            // Signing with a valid key only fails when the system's random source does.
            (try? Array(key.signature(for: message))) ?? []
        }
    }

    /// The signature of `message`.
    public func sign(_ message: [UInt8]) -> [UInt8] { signing(message) }
}

/// Whose signatures a reader accepts on a stream.
public enum StreamVerifier: Sendable {
    /// The signatures must verify against this key (the enrolled device's, the centre's).
    case key(Curve25519.Signing.PublicKey)
    /// The key is found from the header (a bundle names its device and key): the function returns
    /// it, or refuses the stream (``LineProtocolError/Code/badSignature``).
    case fromHeader(@Sendable (Header) throws(LineProtocolError) -> Curve25519.Signing.PublicKey)

    /// A verifier for a raw 32-byte public key; nil when the bytes are not one.
    public static func rawKey(_ bytes: [UInt8]) -> StreamVerifier? {
        (try? Curve25519.Signing.PublicKey(rawRepresentation: bytes)).map(StreamVerifier.key)
    }
}
