import Crypto
import Foundation
import LineProtocol

/// The test key of `Protocol/PROTOCOL.md` §9, which signs every golden vector: the Ed25519 key
/// whose 32-byte seed is the bytes 0x00, 0x01, ... 0x1f. It is public: tests and vectors only.
/// Ed25519 signatures are deterministic (RFC 8032), so a stream signed with it has one spelling.
enum TestKeys {
    /// The test key (seed 00 01 02 ... 1f).
    static let privateKey = key(seed: 0)
    /// Its public key.
    static var publicKey: Curve25519.Signing.PublicKey { privateKey.publicKey }
    /// Its public key in lowercase hex, as a bundle's `key=` and a centre identity write it.
    static let publicKeyHex = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
    /// Signs streams with the test key.
    static var signer: StreamSigner { StreamSigner(key: privateKey) }
    /// Accepts streams signed with the test key.
    static var verifier: StreamVerifier { .key(publicKey) }

    /// Another key (seed 20 21 ... 3f): a signer who is not the one expected.
    static let otherPrivateKey = key(seed: 32)
    /// Signs streams with ``otherPrivateKey``.
    static var otherSigner: StreamSigner { StreamSigner(key: otherPrivateKey) }

    /// The key whose seed is the 32 bytes `seed`, `seed + 1`, ... `seed + 31`.
    private static func key(seed: UInt8) -> Curve25519.Signing.PrivateKey {
        // 32 bytes are always a valid Ed25519 seed.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: Data(seed..<(seed + 32)))
    }
}
