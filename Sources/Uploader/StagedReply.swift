import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A reply body kept on disk while it arrives, so the laptop never holds a whole reply in
/// memory and applies nothing from it until it has been verified (``ReplyReader``).
///
/// The file is made in the directory given (the store's, so a reply is kept where the store's
/// data is), readable and writable by its owner only, and its name is removed at once: only
/// this object's descriptor reaches it, and the system frees it when the descriptor is closed,
/// however the program ends (a crash leaves nothing behind).
final class StagedReply {
    private let descriptor: Int32
    /// Bytes written so far.
    private(set) var count = 0

    /// Why a reply could not be staged.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// A new, empty staging file in `directory`.
    init(in directory: URL) throws(Failure) {
        let template = directory.appendingPathComponent(".sync-reply-XXXXXX").path
        var path = Array(template.utf8CString)
        let descriptor = path.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return mkstemp(base)  // O_RDWR | O_CREAT | O_EXCL, mode 0600
        }
        guard descriptor >= 0 else {
            throw Failure(description: "cannot stage the reply in \(directory.path): \(Self.lastError)")
        }
        unlink(String(decoding: path.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        _ = fchmod(descriptor, 0o600)
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Appends `bytes` to the file.
    func append(_ bytes: ArraySlice<UInt8>) throws(Failure) {
        var failure: Failure?
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, base + offset, raw.count - offset)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else {
                    failure = Failure(description: "cannot stage the reply on disk: \(Self.lastError)")
                    return
                }
                offset += written
            }
        }
        if let failure { throw failure }
        count += bytes.count
    }

    /// Reads the file from its start, handing `body` one piece of at most `pieceBytes` at a
    /// time; throws what `body` throws, or a ``Failure`` when the file cannot be read.
    func read(pieceBytes: Int = 256 << 10, _ body: (ArraySlice<UInt8>) throws -> Void) throws {
        var buffer = [UInt8](repeating: 0, count: max(1, pieceBytes))
        var offset = 0
        while offset < count {
            let wanted = min(buffer.count, count - offset)
            let read = buffer.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return pread(descriptor, base, wanted, off_t(offset))
            }
            if read < 0, errno == EINTR { continue }
            guard read > 0 else { throw Failure(description: "cannot read the staged reply back: \(Self.lastError)") }
            try body(buffer[..<read])
            offset += read
        }
    }

    private static var lastError: String { String(cString: strerror(errno)) }
}
