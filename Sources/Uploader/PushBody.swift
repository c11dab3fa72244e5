import LineProtocol
import Replication

/// The body of one sync request, produced a piece at a time as curl asks for it: the header,
/// a `DELTA` line, one `REC` frame per record with a signed checkpoint every so many, the `PULL`
/// line, the final signature and `END`.
final class PushBody {
    /// About how many bytes each piece holds.
    static let pieceBytes = 64 << 10

    private let store: any SyncStore
    private var records: ArraySlice<RecordID>
    private let since: Cursor
    private let encoder: StreamEncoder
    private let checkpointRecords: Int
    private var stage = Stage.start
    /// Records read from the store and not yet encoded.
    private var batch: ArraySlice<EncodedRecord> = []
    /// The most records read from the store at a time.
    static let batchRecords = 64
    /// About how many bytes of records one read from the store holds: a push of large cases
    /// (up to a megabyte each; a peer centre forwarding cases is a push too) reads a few at a
    /// time, not ``batchRecords``.
    static let batchBytes = 4 << 20
    /// The records the next read asks for: a few at first, then as many as held about
    /// ``batchBytes`` in the read before, never more than ``batchRecords``.
    private var batchSize = 8
    /// Why the body stopped early: the store could not be read. The body then ends without its
    /// pull and final signature (the centre keeps at most the segments signed before, which a
    /// later push sends again harmlessly, and answers nothing the laptop applies), and the session
    /// reports this as the store's failure.
    private(set) var failure: String?
    private var sinceCheckpoint = 0
    private var bytesSinceCheckpoint = 0
    /// About how many bytes of records a segment holds at most, whatever `checkpointRecords`
    /// says: the centre holds a segment whole until its signature arrives, so large cases (up to
    /// a megabyte each) are signed a few at a time, not a thousand.
    static let checkpointBytes = 4 << 20
    /// The version of each record as it was pushed, to match acknowledgements against.
    private(set) var pushedVersions: [RecordID: VersionVector] = [:]
    /// Records left out because their line would be over the protocol's limit (with their version).
    private(set) var oversized: [(id: RecordID, version: VersionVector, bytes: Int)] = []
    /// The largest record payload sent: its `REC` line must stay within the 1 MiB line limit.
    static let maximumPayloadBytes = Limits.standard.maximumLineBytes - 512

    private enum Stage { case start, records, end, done }

    /// - Parameters:
    ///   - checkpointRecords: records between signed checkpoints (`SIG part`: the centre stores
    ///     each verified segment while the next one is still on its way), or fewer when they
    ///     reach ``checkpointBytes``.
    ///   - counter: the request's counter and `centre` the centre's identity, which the stream's
    ///     header names (and its signatures so bind to this request).
    ///   - pending: the records the device holds unacknowledged as it sends the request, those it
    ///     carries included (the header's `pending=`, which the centre keeps for its
    ///     administrators); nil: not reported.
    init(
        store: any SyncStore, records: [RecordID], since: Cursor, checkpointRecords: Int, counter: UInt64,
        centre: String, pending: Int? = nil
    ) {
        self.checkpointRecords = max(1, checkpointRecords)
        self.store = store
        self.records = records[...]
        self.since = since
        var parameters: [(key: String, value: String)] = [
            (Header.deviceParameter, store.device.rawValue), (Header.centreParameter, centre),
            (Header.counterParameter, String(counter)),
        ]
        if let pending { parameters.append((Header.pendingParameter, String(max(0, pending)))) }
        let header = Header(kind: .push, parameters: parameters)
        self.encoder = StreamEncoder(header: header, signer: store.streamSigner)
        pushedVersions.reserveCapacity(records.count)
    }

    /// The next piece of the body; nil at the end.
    func next() -> [UInt8]? {
        switch stage {
        case .start:
            if !records.isEmpty {
                encoder.append(.delta(base: since.vector ?? VersionVector(), knowledge: store.knowledge))
            }
            stage = .records
            return encoder.takeBytes()
        case .records:
            var produced = 0
            while produced < Self.pieceBytes, let record = nextRecord() {
                let id = record.id
                let payload = record.payload
                guard payload.count <= Self.maximumPayloadBytes else {
                    oversized.append((id, record.version, payload.count))
                    continue
                }
                encoder.appendRecord(id: id, encodedPayload: payload)
                pushedVersions[id] = record.version
                produced += payload.count
                sinceCheckpoint += 1
                bytesSinceCheckpoint += payload.count
                if sinceCheckpoint == checkpointRecords || bytesSinceCheckpoint >= Self.checkpointBytes,
                    !records.isEmpty || !batch.isEmpty
                {
                    encoder.appendSignature()
                    sinceCheckpoint = 0
                    bytesSinceCheckpoint = 0
                }
            }
            if failure != nil {
                stage = .done
                return nil
            }
            if records.isEmpty, batch.isEmpty {
                encoder.append(.pull(since: since))
                stage = .end
            }
            return encoder.takeBytes()
        case .end:
            stage = .done
            return encoder.finish()
        case .done:
            return nil
        }
    }

    /// The next record to send, read from the store a batch at a time; nil at the end, or when
    /// the store failed (``failure``).
    private func nextRecord() -> EncodedRecord? {
        while batch.isEmpty {
            guard !records.isEmpty, failure == nil else { return nil }
            let ids = Array(records.prefix(batchSize))
            records = records.dropFirst(ids.count)
            do {
                batch = try store.encodedRecords(ids)[...]
            } catch {
                failure = "\(error)"
                return nil
            }
            // Sized on what the store returned (it leaves out records it does not hold).
            let bytes = batch.reduce(0) { $0 + $1.payload.count }
            if !batch.isEmpty {
                batchSize = min(Self.batchRecords, max(1, batch.count * Self.batchBytes / max(1, bytes)))
            }
        }
        return batch.popFirst()
    }
}
