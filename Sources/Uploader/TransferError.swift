/// A transfer that failed, with a stable code and what to do about it.
public struct TransferError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Stable codes, safe for metrics and scripts.
    public enum Code: String, Sendable, Hashable {
        /// The server could not be reached (DNS, refused connection, no route).
        case couldNotConnect = "could-not-connect"
        /// Connecting, or the transfer, took too long or went too slowly.
        case timedOut = "timed-out"
        /// TLS failed: certificate, CA file, or a public key that does not match the pin.
        case tls = "tls"
        /// The connection broke during the transfer.
        case interrupted = "interrupted"
        /// The body source or the response sink stopped the transfer.
        case aborted = "aborted"
        /// A local file could not be read or written (file:// URLs).
        case file = "file"
        /// The request could not be set up (bad URL, unsupported option).
        case setup = "setup"
        /// Anything else libcurl reports.
        case other = "other"
    }

    public let code: Code
    /// libcurl's own error code, for diagnosis.
    public let curlCode: Int
    public let message: String

    /// True when trying again later may succeed (network trouble, not a local mistake).
    public var isRetryable: Bool {
        switch code {
        case .couldNotConnect, .timedOut, .interrupted: true
        case .tls, .aborted, .file, .setup, .other: false
        }
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
