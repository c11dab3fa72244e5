internal import CXXHash
import Crypto

/// The running digests of a stream's bytes: XXH3-64, the checksum on `END` and `+SUM` lines
/// (fast, non-cryptographic: it detects truncation and corruption), and SHA-256, what `SIG`
/// frames sign (``StreamSignature``). Written on `END` lines as `xxh3-64:` and 16 lowercase hex
/// digits of the 64-bit value.
final class StreamChecksum {
    private let state: OpaquePointer
    private var sha256 = SHA256()

    init() {
        // XXH3_createState only fails when malloc does.
        guard let state = XXH3_createState() else { preconditionFailure("out of memory") }
        self.state = state
        XXH3_64bits_reset(state)
    }

    deinit { XXH3_freeState(state) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        _ = XXH3_64bits_update_dispatch(state, base, bytes.count)
        sha256.update(bufferPointer: bytes)
    }

    /// The SHA-256 digest of the bytes so far (the running state goes on).
    var sha256Digest: SHA256.Digest { sha256.finalize() }

    func update(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The checksum so far, as written on an `END` line.
    var text: String {
        let value = XXH3_64bits_digest(state)
        let hex = String(value, radix: 16)
        return EDTLP.checksumAlgorithm + ":" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
