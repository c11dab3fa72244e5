/// A referral refused, with the path of the problem and what to do about it.
public struct ReferralError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where in the document the problem is (`children[0].nhsNumber`, `referrer.anonymityRequested`).
    public let path: String
    /// What is wrong and how to put it right.
    public let message: String

    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}
