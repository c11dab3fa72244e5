public import Replication

/// A record as the JSON of a `REC` payload, for storing records outside a stream (the laptop's
/// encrypted store keeps each record this way).
public enum RecordCoding {
    /// The canonical JSON of `record` (PROTOCOL.md §3.1).
    public static func encode(_ record: Record) -> [UInt8] { RecordPayload.encode(record) }

    /// Reads a record back; throws ``LineProtocolError`` (`invalid-payload`, `invalid-utf8`,
    /// `invalid-identifier`) naming line 1.
    public static func decode(_ bytes: [UInt8], id: RecordID) throws(LineProtocolError) -> Record {
        var reader = Reader()
        return try reader.decode(bytes, id: id)
    }

    /// Reads records one after another, each lending the next the device id and the field paths
    /// it named: the records of one store mostly name the same ones, which are then reused rather
    /// than validated and copied again. What reads many stored records in a row uses one.
    public struct Reader: Sendable {
        private var memo = RecordReadingMemo()

        public init() {}

        /// Reads a record back, as ``RecordCoding/decode(_:id:)`` does.
        public mutating func decode(_ bytes: [UInt8], id: RecordID) throws(LineProtocolError) -> Record {
            do throws(JSONPayload.ReadError) {
                return try RecordPayload.readNotingForm(
                    bytes[...], id: id, maximumDepth: Limits.standard.maximumJSONDepth, memo: &memo
                ).record
            } catch {
                switch error {
                case .invalidUTF8:
                    throw LineProtocolError(.invalidUTF8, line: 1, "record \(id) holds text that is not UTF-8")
                case .invalid(let why), .shape(let why):
                    throw LineProtocolError(.invalidPayload, line: 1, "record \(id): \(why)")
                case .identifier(let why):
                    throw LineProtocolError(.invalidIdentifier, line: 1, "record \(id): \(why)")
                }
            }
        }
    }
}

/// A record as a store keeps it: its id, its version and its canonical encoding
/// (``RecordCoding/encode(_:)``), so a push sends it as stored, without decoding it.
public struct EncodedRecord: Sendable, Hashable {
    public let id: RecordID
    public let version: VersionVector
    public let payload: [UInt8]

    public init(id: RecordID, version: VersionVector, payload: [UInt8]) {
        self.id = id
        self.version = version
        self.payload = payload
    }
}
