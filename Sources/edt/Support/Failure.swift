#if canImport(Glibc)
import Glibc
#endif

/// A command that did not do its job: refused (exit 1) or failed on I/O (exit 3), always with a
/// one-line `error:` reason on stderr. A failed command changes nothing.
struct Failure: Error {
    enum Kind {
        case refused
        case inputOutput
    }

    let kind: Kind
    let message: String

    static func refused(_ message: String) -> Failure { Failure(kind: .refused, message: message) }
    static func inputOutput(_ message: String) -> Failure { Failure(kind: .inputOutput, message: message) }

    func exit() -> Never {
        let oneLine = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        FileHandleOutput.standardError("error: " + oneLine)
        Glibc.exit(kind == .refused ? 1 : 3)
    }
}

/// Writing to the standard streams without Foundation's buffering surprises.
enum FileHandleOutput {
    static func standardError(_ line: String) {
        var text = line + "\n"
        text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    /// Writes `bytes` whole to the standard output. When it cannot (a full disk, the reader
    /// gone), the command ends there with exit 3 and says so: a script never takes a cut or
    /// missing document for a whole one. What the command changed before it printed stands.
    static func standardOutput(_ bytes: [UInt8]) {
        do {
            try bytes.withUnsafeBytes { try writeStandardOutput($0) }
        } catch {
            Failure.inputOutput("\(error); anything the command changed before printing stands").exit()
        }
    }

    /// Writes `bytes` whole to the standard output; throws when it cannot (the disk full, the
    /// reader gone), with the system's reason.
    static func writeStandardOutput(_ bytes: UnsafeRawBufferPointer) throws(OutputFailure) {
        var offset = 0
        while offset < bytes.count {
            let written = write(1, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0, errno == EINTR { continue }
            guard written > 0 else {
                throw OutputFailure(reason: written == 0 ? "nothing was written" : String(cString: strerror(errno)))
            }
            offset += written
        }
    }

    /// Why the standard output could not be written.
    struct OutputFailure: Error, CustomStringConvertible {
        let reason: String
        var description: String { "the standard output cannot be written (\(reason))" }
    }

    static var standardInputIsTerminal: Bool { isatty(0) == 1 }
}
