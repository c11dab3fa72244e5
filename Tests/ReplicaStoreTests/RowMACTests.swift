import Crypto
import Foundation
import Testing

@testable import ReplicaStore

/// The store's own HMAC-SHA256 of rows gives exactly what `HMAC<SHA256>` gives: every digest a
/// store holds was made by one or the other.
@Suite("Row MAC")
struct RowMACTests {
    static func bytes(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    /// Its words as a row digest holds them.
    static func words(_ code: HashedAuthenticationCode<SHA256>) -> [UInt64] {
        code.withUnsafeBytes { raw in
            (0..<4).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
        }
    }

    @Test(arguments: [32, 1, 64, 65, 200])
    func itIsHMACSHA256ForEveryKeyAndMessageLength(keyBytes: Int) {
        let key = SymmetricKey(data: Self.bytes(keyBytes, seed: 7))
        let keyed = RowMAC(key: key)
        for length in [0, 1, 31, 55, 56, 63, 64, 65, 119, 120, 128, 300, 4_097] {
            let message = Self.bytes(length, seed: UInt8(length % 251))
            var mac = keyed
            // In two pieces, as a row with a long value is hashed.
            message.withUnsafeBytes { raw in
                mac.update(data: UnsafeRawBufferPointer(rebasing: raw[..<(length / 3)]))
                mac.update(data: UnsafeRawBufferPointer(rebasing: raw[(length / 3)...]))
            }
            let digest = mac.finalize().words
            let expected = Self.words(HMAC<SHA256>.authenticationCode(for: message, using: key))
            #expect([digest.0, digest.1, digest.2, digest.3] == expected, "key \(keyBytes) bytes, message \(length)")
        }
    }

    @Test func eachRowStartsFromTheKeyAlone() {
        let key = SymmetricKey(data: Self.bytes(32, seed: 1))
        let keyed = RowMAC(key: key)
        var first = keyed
        Array("first row".utf8).withUnsafeBytes { first.update(data: $0) }
        _ = first.finalize()
        var second = keyed
        Array("second row".utf8).withUnsafeBytes { second.update(data: $0) }
        let digest = second.finalize().words
        let expected = Self.words(HMAC<SHA256>.authenticationCode(for: Array("second row".utf8), using: key))
        #expect([digest.0, digest.1, digest.2, digest.3] == expected)
        // A different key gives a different MAC.
        var other = RowMAC(key: SymmetricKey(data: Self.bytes(32, seed: 2)))
        Array("second row".utf8).withUnsafeBytes { other.update(data: $0) }
        let otherDigest = other.finalize().words
        #expect([otherDigest.0, otherDigest.1, otherDigest.2, otherDigest.3] != expected)
    }
}
