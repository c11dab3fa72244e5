public import Replication

/// A `REC` frame whose JSON payload is not read yet: its id and line are checked, its payload
/// kept as bytes.
///
/// Reading payloads is most of the cost of decoding a stream. A consumer that would rather do
/// it elsewhere (the central endpoint reads each verified segment of a push on another core
/// while the next arrives) asks ``MessageDecoder/decode(_:unreadRecords:_:)`` for these and calls
/// ``read()`` where it likes.
public struct UnreadRecord: Sendable {
    /// The record's id, already checked.
    public let id: RecordID
    /// The 1-based line of the stream the frame was on.
    public let line: Int
    /// The payload, still in the bytes it arrived in (not copied out of them).
    let payload: ArraySlice<UInt8>
    let maximumDepth: Int

    /// Reads the payload into a record part, refusing it as the decoder would have.
    public func read() throws(LineProtocolError) -> Record {
        var memo = RecordReadingMemo()
        return try readKeepingCanonicalPayload(memo: &memo).record
    }

    /// ``read()``, also handing back the payload when it is exactly the record's canonical
    /// encoding (``RecordCoding/encode(_:)``), as a device's own encoder writes it: then the
    /// bytes can be stored as they came, without encoding the record again. Nil otherwise.
    /// `memo` carries what one read lends the next: pass the same one through a stream's records.
    public func readKeepingCanonicalPayload(
        memo: inout RecordReadingMemo
    ) throws(LineProtocolError) -> (record: Record, canonicalPayload: ArraySlice<UInt8>?) {
        do throws(JSONPayload.ReadError) {
            let (record, isCanonical) = try RecordPayload.readNotingForm(payload, id: id, maximumDepth: maximumDepth, memo: &memo)
            return (record, isCanonical ? payload : nil)
        } catch {
            throw MessageDecoder.payloadError(error, line: line, what: "record \(id)")
        }
    }
}
