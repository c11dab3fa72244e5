import Crypto
import CryptoExtras
import Foundation

/// Encryption at rest: AES-256-GCM under a key derived from the passphrase with scrypt.
///
/// Every personal value lives inside a sealed record blob; each blob is bound to its record id
/// (as authenticated data), so blobs cannot be swapped between records unnoticed.
struct StoreCipher: Sendable {
    /// scrypt parameters: N = 2^15, r = 8, p = 1 (about 32 MiB and a tenth of a second): slow on
    /// purpose, so a lost laptop's passphrase cannot be guessed quickly.
    struct Parameters: Codable, Sendable, Hashable {
        var algorithm = "scrypt"
        var rounds = 1 << 15
        var blockSize = 8
        var parallelism = 1
        var salt: Data
    }

    let key: SymmetricKey
    let parameters: Parameters

    static func derive(passphrase: String, parameters: Parameters) throws(StoreError) -> StoreCipher {
        guard parameters.algorithm == "scrypt", parameters.rounds >= 1 << 14, parameters.rounds <= 1 << 22,
            parameters.blockSize > 0, parameters.blockSize <= 32, parameters.parallelism > 0,
            parameters.parallelism <= 16
        else {
            throw StoreError(
                .corrupt, "the store's key derivation settings are not ones edt writes: the store was damaged")
        }
        do {
            let key = try KDF.Scrypt.deriveKey(
                from: Array(passphrase.utf8), salt: parameters.salt, outputByteCount: 32,
                rounds: parameters.rounds, blockSize: parameters.blockSize, parallelism: parameters.parallelism)
            return StoreCipher(key: key, parameters: parameters)
        } catch {
            throw StoreError(.io, "could not derive the store key: \(error)")
        }
    }

    static func newParameters() -> Parameters {
        var salt = Data(count: 16)
        for index in salt.indices { salt[index] = UInt8.random(in: 0...255) }
        return Parameters(salt: salt)
    }

    func seal(_ plaintext: [UInt8], context: String) throws(StoreError) -> Data {
        do {
            guard let combined = try AES.GCM.seal(plaintext, using: key, authenticating: Array(context.utf8)).combined
            else {
                throw StoreError(.io, "encryption produced no output")
            }
            return combined
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "could not encrypt: \(error)")
        }
    }

    /// Opens a sealed blob; nil when the key is wrong or the blob was altered.
    func open(_ sealed: some DataProtocol, context: String) -> [UInt8]? {
        guard let box = try? AES.GCM.SealedBox(combined: sealed),
            let plain = try? AES.GCM.open(box, using: key, authenticating: Array(context.utf8))
        else { return nil }
        return Array(plain)
    }
}
