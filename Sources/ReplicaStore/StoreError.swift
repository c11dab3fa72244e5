/// Why the laptop store refused or failed, with what to do next.
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Stable codes, for scripts and tests.
    public enum Code: String, Sendable, Hashable {
        /// `edt init` on a directory that already holds a store.
        case alreadyExists = "already-exists"
        /// No store in that directory.
        case notFound = "not-found"
        /// The passphrase does not unlock the store.
        case wrongPassphrase = "wrong-passphrase"
        /// The store's files are not an edt store, or were damaged.
        case corrupt = "corrupt"
        /// The store was changed outside edt: its contents do not match its integrity seal (a
        /// record put back from an older copy, a row deleted, a version vector or sync cursor
        /// edited). It was not opened, and nothing in it was changed.
        case altered = "altered"
        /// SQLite or the file system failed.
        case io = "io"
        /// The change was refused (validation); nothing was written.
        case refused = "refused"
        /// Another edt process kept the store busy for longer than we wait.
        case busy = "busy"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// True when the failure was the environment's (disk, database), not the input's.
    public var isInputOrOutput: Bool { code == .io || code == .corrupt || code == .altered || code == .busy }
}
