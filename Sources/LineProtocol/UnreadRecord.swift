public import Replication

/// A `REC` frame whose JSON payload is not read yet: its id and line are checked, its payload
/// kept as bytes.
///
/// Reading payloads is most of the cost of decoding a stream. A consumer that would rather do
/// it elsewhere (the central endpoint reads each verified segment of a push on another core
/// while the next arrives) asks ``MessageDecoder/decode(_:unreadRecords:_:)`` for these and reads
/// them with a ``Reader`` where it likes.
public struct UnreadRecord: Sendable {
    /// The record's id, already checked.
    public let id: RecordID
    /// The 1-based line of the stream the frame was on.
    public let line: Int
    /// The payload, still in the bytes it arrived in (not copied out of them).
    let payload: ArraySlice<UInt8>
    let maximumDepth: Int

    /// Reads unread records one after another, refusing a payload as the decoder would have.
    ///
    /// Records of one stream mostly name the same device and field paths: each read lends the
    /// next the ones it named, which are then reused instead of validated and copied again. Use
    /// one reader through a stream's records (or a segment of them).
    public struct Reader: Sendable {
        private var memo = RecordReadingMemo()

        public init() {}

        /// Reads `unread`'s payload into a record part, noting whether the payload is exactly the
        /// record's canonical encoding (``Contents/canonicalPayload``).
        public mutating func read(_ unread: UnreadRecord) throws(LineProtocolError) -> Contents {
            do throws(JSONPayload.ReadError) {
                let (record, isCanonical) = try RecordPayload.readNotingForm(
                    unread.payload, id: unread.id, maximumDepth: unread.maximumDepth, memo: &memo)
                return Contents(record: record, canonicalPayload: isCanonical ? unread.payload : nil)
            } catch {
                throw MessageDecoder.payloadError(error, line: unread.line, what: "record \(unread.id)")
            }
        }
    }

    /// A record part read from its payload, and its canonical encoding.
    ///
    /// Whether pushed bytes are kept as they came or the record is encoded again is decided here,
    /// and only here (``encoding``).
    public struct Contents: Sendable {
        public let record: Record
        /// The payload as it came, when it is exactly the record's canonical encoding
        /// (``RecordCoding/encode(_:)``), as a device's own encoder writes it; nil when the sender
        /// wrote it any other way (another key order, escape or number form...).
        public let canonicalPayload: ArraySlice<UInt8>?

        /// The record's canonical encoding, to store: ``canonicalPayload`` when there is one (the
        /// bytes kept as they came, not encoded again), else the record encoded anew.
        public var encoding: ArraySlice<UInt8> { canonicalPayload ?? RecordCoding.encode(record)[...] }
    }
}
