public import Replication

/// A typed frame of an EDTLP stream: one case per frame `Protocol/PROTOCOL.md` §3 defines, and
/// ``ignorable(verb:arguments:)`` for a `+NAME` frame of a later minor version.
public enum Message: Sendable, Equatable {
    /// `DELTA`: the `record` messages that follow form one delta, computed against `base` by a
    /// sender whose version vector was `knowledge`.
    case delta(base: VersionVector, knowledge: VersionVector)
    /// `REC`: one record's part of the current delta.
    case record(Record)
    /// `PULL`: send what changed since this cursor.
    case pull(since: Cursor)
    /// `ACK` (``RecordAnswer/stored(_:cursor:)``) or `NAK` (``RecordAnswer/refused(_:_:message:)``):
    /// what the receiver did with one record pushed to it. Replies only.
    case answer(RecordAnswer)
    /// `+SUM`: a checkpoint; `checksum` (`xxh3-64:` and 16 lowercase hex digits) is the checksum
    /// of every byte of the stream before its line, so what came before can be trusted without
    /// waiting for `END`. The decoder hands it on only once it has checked it; the encoder
    /// computes it afresh from the bytes it wrote (``StreamEncoder/appendChecksum()``), whatever
    /// this one says.
    case checkpoint(checksum: String)
    /// `SIG`: the sender's signature of every byte before it, already verified by the decoder
    /// (which refuses a stream whose signature fails). After a `part` signature the frames before
    /// it may be acted on; the `final` one is the stream's last frame. The encoder writes these
    /// itself (``StreamEncoder/appendSignature()`` and ``StreamEncoder/finish()``).
    case signature(StreamSignature.Role)
    /// `+MORE`: the reply's pull stopped short of a page; sync again for the rest. Replies only,
    /// no arguments.
    case more
    /// `+NAME`: a frame a later minor version added, which this version skips. Its arguments
    /// are kept as written (printable ASCII), so a relay can pass it on unchanged. Never `+SUM`
    /// or `+MORE`, which have cases of their own.
    case ignorable(verb: String, arguments: String)
}

/// What a receiver did with one record pushed to it: the `ACK` or `NAK` frame its reply holds
/// for it (`Protocol/PROTOCOL.md` §3, §4.4). The central endpoint writes these; a device reads
/// them and settles or flags its records by them.
public enum RecordAnswer: Sendable, Hashable {
    /// `ACK <id> <cursor>`: the record is durably stored; `cursor` is the receiver's cursor
    /// after storing it.
    case stored(RecordID, cursor: Cursor)
    /// `NAK <id> <reason> <json-string>`: the record is refused, with a reason code and a
    /// message for people. It stays with the sender, flagged, never dropped.
    case refused(RecordID, RejectionReason, message: String)

    /// The record answered.
    public var record: RecordID {
        switch self {
        case .stored(let id, _), .refused(let id, _, _): id
        }
    }
}

/// A position in a peer's history, opaque to everyone but the peer that issued it.
///
/// Printable ASCII without spaces, 1 to 1,024 bytes. edt's central endpoint issues its version
/// vector in ``Notation`` form.
public struct Cursor: Sendable, Hashable, CustomStringConvertible {
    public static let maximumLength = 1024
    public let text: String

    /// Nil when `text` is empty, too long, or holds a space or a non-printable byte.
    public init?(_ text: String) {
        guard !text.isEmpty, text.utf8.count <= Self.maximumLength, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else {
            return nil
        }
        self.text = text
    }

    /// The cursor of a version vector, in ``Notation`` form.
    public init(_ vector: VersionVector) { text = Notation.text(vector) }

    /// The version vector this cursor spells, when it is one.
    public var vector: VersionVector? { Notation.vector(Substring(text)) }

    public var description: String { text }
}

/// Why a receiver refused a record. Stable codes; a later minor version may add more, which an
/// older peer reads as ``other(_:)``.
public enum RejectionReason: Sendable, Hashable, CustomStringConvertible {
    /// The record fails validation (a required field, an NHS number check digit...).
    case invalid
    /// The device may not write records for that authority.
    case forbidden
    /// The device has been revoked.
    case revoked
    /// The record asks for a transition its current state does not allow.
    case conflictOfState
    /// The record exceeds a size limit.
    case tooLarge
    /// The receiver failed; send again later.
    case `internal`
    /// The record carries a write stamped with another device's dot that the receiver has not
    /// had from that device: only its author can bring it (a relayed write is refused until its
    /// author has synced).
    case unprovenWrite
    /// A field's context claims writes of another device that the receiver has not seen.
    case unseenWrites
    /// A reason this version does not know.
    case other(String)

    public init?(code: String) {
        switch code {
        case "invalid": self = .invalid
        case "forbidden": self = .forbidden
        case "revoked": self = .revoked
        case "conflict-of-state": self = .conflictOfState
        case "too-large": self = .tooLarge
        case "internal": self = .internal
        case "unproven-write": self = .unprovenWrite
        case "unseen-writes": self = .unseenWrites
        default:
            guard !code.isEmpty, code.utf8.count <= 64,
                code.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D })
            else { return nil }
            self = .other(code)
        }
    }

    /// The code as written on the wire.
    public var code: String {
        switch self {
        case .invalid: "invalid"
        case .forbidden: "forbidden"
        case .revoked: "revoked"
        case .conflictOfState: "conflict-of-state"
        case .tooLarge: "too-large"
        case .internal: "internal"
        case .unprovenWrite: "unproven-write"
        case .unseenWrites: "unseen-writes"
        case .other(let code): code
        }
    }

    public var description: String { code }
}
