/// One line of a stream after the header: a verb, its frame number, and the rest of the line.
///
/// The frame decoder checks only what every frame shares (verb, number); ``MessageDecoder``
/// reads the arguments. ``arguments`` is a view into the decoder's input, not a copy.
public struct Frame: Sendable, Hashable {
    /// The verbs of EDTLP 2.
    public enum Verb: Sendable, Hashable {
        /// `DELTA n base=VECTOR knowledge=VECTOR`: the records that follow form one delta.
        case delta
        /// `REC n RECORD-ID JSON`: one record's part of the current delta.
        case record
        /// `PULL n since=CURSOR`: asks for what changed since the cursor.
        case pull
        /// `ACK n RECORD-ID CURSOR`: the record is durably stored; the receiver's new cursor.
        case ack
        /// `NAK n RECORD-ID REASON JSON-STRING`: the record is refused, with a reason code.
        case nak
        /// `+SUM n xxh3-64:HEX`: a checkpoint, the checksum of every byte before its line.
        case checkpoint
        /// `SIG n part|final ed25519:HEX`: the sender's signature of every byte before its line
        /// (``StreamSignature``).
        case signature
        /// `+MORE n`: the reply's pull stopped short of a page.
        case more
        /// `+NAME n ...`: an ignorable frame a later minor version added (not `+SUM` or `+MORE`).
        case ignorable(String)

        init?(_ token: ArraySlice<UInt8>) {
            switch token.count {
            case 3:
                if token.elementsEqual("SIG".utf8) {
                    self = .signature
                    return
                }
                if token.elementsEqual("REC".utf8) {
                    self = .record
                    return
                }
                if token.elementsEqual("ACK".utf8) {
                    self = .ack
                    return
                }
                if token.elementsEqual("NAK".utf8) {
                    self = .nak
                    return
                }
            case 4:
                if token.elementsEqual("PULL".utf8) {
                    self = .pull
                    return
                }
                if token.elementsEqual("+SUM".utf8) {
                    self = .checkpoint
                    return
                }
            case 5:
                if token.elementsEqual("DELTA".utf8) {
                    self = .delta
                    return
                }
                if token.elementsEqual("+MORE".utf8) {
                    self = .more
                    return
                }
            default:
                break
            }
            if token.first == UInt8(ascii: "+"), token.count > 1, token.count <= 32,
                token.dropFirst().allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D })
            {
                self = .ignorable(String(decoding: token, as: UTF8.self))
                return
            }
            return nil
        }

        /// The verb as written.
        public var text: String {
            switch self {
            case .delta: "DELTA"
            case .record: "REC"
            case .pull: "PULL"
            case .ack: "ACK"
            case .nak: "NAK"
            case .checkpoint: "+SUM"
            case .signature: "SIG"
            case .more: "+MORE"
            case .ignorable(let name): name
            }
        }
    }

    public let verb: Verb
    /// The frame number: 1 for the first frame after the header, then consecutive.
    public let number: Int
    /// The bytes after `VERB n `, possibly empty.
    public let arguments: ArraySlice<UInt8>
    /// The 1-based line of the stream this frame was on.
    public let line: Int
}
