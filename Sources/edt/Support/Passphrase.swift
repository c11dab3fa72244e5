import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The store passphrase: `EDT_PASSPHRASE`, or asked for (without echo) when stdin is a terminal.
enum Passphrase {
    static func obtain(confirming: Bool = false) throws -> String {
        if let fromEnvironment = ProcessInfo.processInfo.environment["EDT_PASSPHRASE"] {
            guard !fromEnvironment.isEmpty else { throw Failure.refused("EDT_PASSPHRASE is empty") }
            return fromEnvironment
        }
        guard FileHandleOutput.standardInputIsTerminal else {
            throw Failure.refused("the store is encrypted: set EDT_PASSPHRASE, or run on a terminal to be asked")
        }
        let first = try prompt("Passphrase: ")
        if confirming {
            guard try prompt("Passphrase again: ") == first else {
                throw Failure.refused("the passphrases differ; nothing was created")
            }
        }
        guard !first.isEmpty else { throw Failure.refused("the passphrase must not be empty") }
        return first
    }

    private static func prompt(_ text: String) throws -> String {
        FileHandle.standardError.write(Data(text.utf8))
        var original = termios()
        tcgetattr(0, &original)
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(0, TCSAFLUSH, &silent)
        defer {
            tcsetattr(0, TCSAFLUSH, &original)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = readLine(strippingNewline: true) else { throw Failure.refused("no passphrase given") }
        return line
    }
}
