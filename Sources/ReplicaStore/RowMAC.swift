import Crypto

/// HMAC-SHA256 (RFC 2104) of one store row under the row key, made for hashing many short rows:
/// the key's two padded blocks are hashed once, when the key is set, and each row's MAC starts
/// from copies of those two states. `HMAC<SHA256>` hashes the outer block again for every row
/// and runs as unspecialised generic code outside its module; a store's integrity check
/// digests every row of its catalog and pending list, so that cost is paid 10,000 times
/// before a push of 10,000 referrals. The MAC is the same, byte for byte
/// (`RowMACTests` checks it against `HMAC<SHA256>`).
struct RowMAC {
    /// SHA-256 after the inner padded key block, and after the outer one.
    private var inner: SHA256
    private let outer: SHA256

    /// A MAC under `key`, nothing hashed yet. Keys longer than a block are hashed first, as
    /// RFC 2104 says (the row key is 32 bytes, so it never is).
    init(key: SymmetricKey) {
        let blockBytes = SHA256.blockByteCount
        var block = key.withUnsafeBytes { Array($0) }
        if block.count > blockBytes { block = Array(SHA256.hash(data: block)) }
        block += Array(repeating: 0, count: blockBytes - block.count)
        var inner = SHA256()
        inner.update(data: block.map { $0 ^ 0x36 })
        var outer = SHA256()
        outer.update(data: block.map { $0 ^ 0x5C })
        self.inner = inner
        self.outer = outer
    }

    /// Hashes `bytes` into the MAC.
    mutating func update(data bytes: UnsafeRawBufferPointer) {
        inner.update(bufferPointer: bytes)
    }

    /// The MAC of everything hashed, as a row digest.
    func finalize() -> StoreIntegrity.RowDigest {
        var outer = self.outer
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize().withUnsafeBytes { raw in
            StoreIntegrity.RowDigest(
                words: (
                    UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                    UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                    UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                    UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
                ))
        }
    }
}
