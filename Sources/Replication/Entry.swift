/// An immutable entry of a record: a conversation, a decision, a note, a state transition or a
/// correction. Identified by its dot and merged by union; never changed once written. A
/// correction is a new entry whose payload points at the dot it corrects.
public struct Entry: Hashable, Sendable {
    /// The write that created the entry; its identity.
    public let dot: Dot
    /// What kind of entry this is (`conversation`, `decision`, `note`, ...): a lowercase token.
    public let kind: String
    /// The entry's content, interpreted by the domain layer.
    public let payload: FieldValue

    /// An entry as read from the wire; `kind` must be a lowercase token of `a-z 0-9 -`.
    public init(dot: Dot, kind: String, payload: FieldValue) throws(ReplicationError) {
        try Self.validate(kind: kind)
        guard payload.isFinite else { throw .nonFiniteNumber }
        self.dot = dot
        self.kind = kind
        self.payload = payload
    }

    static func validate(kind: String) throws(ReplicationError) {
        let bytes = kind.utf8
        let plain = bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"):
                true
            default: false
            }
        }
        guard plain, !bytes.isEmpty, bytes.count <= 64 else { throw .invalidEntryKind(kind) }
    }
}
