/// A refusal or failure of the central endpoint, with a stable code and a message an
/// administrator can act on.
public struct CentralError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Stable codes, safe for metrics and scripts.
    public enum Code: String, Sendable, Hashable {
        /// The request names no enrolled device, or its signature or counter is refused (HTTP 401).
        case unauthenticated
        /// The device has been revoked (HTTP 403).
        case revoked
        /// The request was not a valid push stream (HTTP 400).
        case badRequest = "bad-request"
        /// The request was larger than the endpoint accepts (HTTP 413).
        case tooLarge = "too-large"
        /// The device's cursor was not issued by this database, or is ahead of it (a restored
        /// or new database): the device must sync everything again from the start (HTTP 409).
        case startOver = "start-over"
        /// A command's input was refused (enrolment of a bad key, an unknown device).
        case refused
        /// The database failed (HTTP 503: try again later).
        case storage
        /// The centre is holding as much as it may of other requests (HTTP 503: try again
        /// shortly, ``PushBudget``).
        case busy
    }

    public let code: Code
    public let message: String
    /// A finer reason than ``code``, stable, for the centre's own metrics and logs only, never
    /// sent to whoever made the request: `unknown-device` or `bad-signature` beside the one
    /// `unauthenticated` answer every stranger gets (``DeviceAuthenticator``). Nil when the code
    /// says it all.
    public let reason: String?

    public init(_ code: Code, _ message: String, reason: String? = nil) {
        self.code = code
        self.message = message
        self.reason = reason
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
