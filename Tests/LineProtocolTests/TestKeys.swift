import Crypto
import Foundation
import LineProtocol

/// The protocol's test key (`Protocol/PROTOCOL.md`: the Ed25519 key whose seed is the bytes 0 to
/// 31), which signs the golden vectors and the streams these tests write.
enum TestKeys {
    static let key: Curve25519.Signing.PrivateKey = {
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: Data(0..<32)) else {
            preconditionFailure("32 bytes are an Ed25519 seed")
        }
        return key
    }()
    static let signer = StreamSigner(key: key)
    static let verifier = StreamVerifier.key(key.publicKey)
}
