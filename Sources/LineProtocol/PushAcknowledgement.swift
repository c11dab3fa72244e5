public import Replication

/// A record the receiver refused (`NAK`), as the sender keeps it: the record stays with the
/// sender, flagged with the reason, and is offered again at each sync.
public struct Rejection: Sendable, Hashable {
    public let record: RecordID
    /// The reason code (``RejectionReason/code``: `invalid`, `forbidden`, ...).
    public let reason: String
    /// The receiver's explanation, for people.
    public let message: String

    public init(record: RecordID, reason: String, message: String) {
        self.record = record
        self.reason = reason
        self.message = message
    }
}

/// What the receiver said about one pushed record, paired with the version the sender pushed
/// (an answer settles the record only if it has not changed since).
public enum PushAcknowledgement: Sendable, Hashable {
    /// Durably stored (`ACK`): the record stops being pending, unless it changed since.
    case stored(RecordID, pushed: VersionVector)
    /// Refused (`NAK`): the record stays pending and is flagged with the reason.
    case refused(Rejection, pushed: VersionVector)
}
