public import LineProtocol
public import Replication

/// The reply to one sync request, ready to be written (`Protocol/PROTOCOL.md` §4.4): its
/// `ACK`/`NAK` frames and, when the device asked for a pull, the page of changes it sends,
/// listed but not yet read.
///
/// ``write(to:)`` writes the signed stream a piece at a time: the answers, the `DELTA`, then
/// the pulled cases read from storage a few at a time (``readBytes`` of payload per read, at
/// least one case), each written out before the next are read, then `+MORE` when more remain,
/// the `SIG final` and `END`. The signature and checksum are computed as the bytes go out
/// (``LineProtocol/StreamEncoder``), so the centre holds about one case per reply being
/// written, not the page, whatever the cases' sizes.
public struct SyncReply: Sendable {
    /// The answers to the push, in push order.
    public let answers: [RecordAnswer]
    /// The pull, when the device asked for one: the `DELTA`'s base and knowledge, and the
    /// changes it sends.
    public let pull: Pull?

    /// What a reply's pull sends.
    public struct Pull: Sendable {
        public let base: VersionVector
        public let knowledge: VersionVector
        public let listing: ChangeListing
        /// Cases the device's authorities no longer see (forwarded anew to another home): sent
        /// as `+GONE` frames, so a device that held one drops it (`Protocol/PROTOCOL.md` §4.4).
        public var gone: [RecordID] = []

        public init(base: VersionVector, knowledge: VersionVector, listing: ChangeListing, gone: [RecordID] = []) {
            self.base = base
            self.knowledge = knowledge
            self.listing = listing
            self.gone = gone
        }
    }

    /// The verb of the frame naming a case the device's authorities no longer see.
    public static let goneVerb = "+GONE"

    /// About how many bytes of stored payload one read of pulled cases takes (at least one case).
    public static let readBytes = 1 << 20
    /// About how many bytes of answers go out in one piece.
    static let pieceBytes = 64 << 10

    let header: Header
    let signer: StreamSigner
    let storage: any CentralStorage
    /// Who the pulled cases are sent to: each is recorded in the audit log as read by them
    /// before any byte of it is sent.
    let reader: AuditActor

    init(
        header: Header, signer: StreamSigner, storage: any CentralStorage, answers: [RecordAnswer], pull: Pull?,
        reader: AuditActor
    ) {
        self.header = header
        self.signer = signer
        self.storage = storage
        self.reader = reader
        self.answers = answers
        self.pull = pull
    }

    /// How many cases the pull lists (some may be left out if they change before they are read).
    public var pulledCases: Int { pull?.listing.changes.count ?? 0 }
    /// The bytes of stored payload the pull lists.
    public var pulledBytes: Int { pull?.listing.changes.reduce(0) { $0 + $1.bytes } ?? 0 }

    /// Writes the reply stream to `sink`, a piece at a time, each piece once the one before has
    /// been taken, and returns how many cases it sent (those that changed after the listing are
    /// left out). A failure to read a pulled case (or of `sink`) stops the stream where it is:
    /// the device, finding no `SIG final`, applies nothing and asks again.
    @discardableResult
    public func write(to sink: (_ piece: [UInt8]) async throws -> Void) async throws -> Int {
        var sent = 0
        let encoder = StreamEncoder(header: header, signer: signer)
        for answer in answers {
            encoder.append(.answer(answer))
            if encoder.pendingBytes >= Self.pieceBytes { try await sink(encoder.takeBytes()) }
        }
        if let pull {
            encoder.append(.delta(base: pull.base, knowledge: pull.knowledge))
            var listed = pull.listing.changes[...]
            while !listed.isEmpty {
                // The next cases to read: up to `readBytes` of payload, at least one.
                var end = listed.startIndex + 1
                var bytes = listed[listed.startIndex].bytes
                while end < listed.endIndex, bytes + listed[end].bytes <= Self.readBytes {
                    bytes += listed[end].bytes
                    end += 1
                }
                let read = try await storage.read(listed[..<end])
                listed = listed[end...]
                try await storage.audit(read.map(\.id), by: reader)
                for stored in read {
                    encoder.appendRecord(id: stored.id, encodedPayload: stored.body)
                    sent += 1
                    if encoder.pendingBytes >= Self.pieceBytes { try await sink(encoder.takeBytes()) }
                }
            }
            for id in pull.gone {
                encoder.append(.ignorable(verb: Self.goneVerb, arguments: id.rawValue))
                if encoder.pendingBytes >= Self.pieceBytes { try await sink(encoder.takeBytes()) }
            }
            if pull.listing.more { encoder.append(.more) }
        }
        try await sink(encoder.finish())
        return sent
    }

    /// The whole reply stream in one array (for tests and tools: a server writes it with
    /// ``write(to:)``).
    public func bytes() async throws(CentralError) -> [UInt8] {
        var bytes: [UInt8] = []
        do {
            try await write { bytes += $0 }
        } catch let error as CentralError {
            throw error
        } catch {
            throw CentralError(.storage, "the reply could not be written: \(error)")
        }
        return bytes
    }
}
