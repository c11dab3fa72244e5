internal import CXXHash

/// The running XXH3-64 checksum of a stream's bytes before its `END` line.
///
/// XXH3 is a fast non-cryptographic hash with a public specification; it detects truncation and
/// corruption on the wire (authenticity is the transport's job: TLS). Written on `END` lines as
/// `xxh3-64:` and 16 lowercase hex digits of the 64-bit value.
final class StreamChecksum {
    private let state: OpaquePointer

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
    }

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
