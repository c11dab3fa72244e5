public import LineProtocol
public import Replication

/// Reads a device's `push` stream as it arrives and keeps what it asks: the record parts and
/// the pull cursor. Parts are handed on only once verified: those before a signed checkpoint
/// (`SIG part`) when its signature by the device's enrolled key verifies (``takeVerified()``, so
/// they can be stored while the rest still arrives), the rest when ``finish()`` has verified the
/// final signature and `END`. The stream's header must name the device, this request's counter
/// and this centre. A damaged or forged request stores nothing that was not verified.
///
/// Parts are handed on unread (``LineProtocol/UnreadRecord``): reading their payloads is the
/// costly part of a push, and whoever takes a segment reads it on its own core.
public final class PushReader {
    private let decoder: MessageDecoder
    private let device: DeviceID
    private let counter: UInt64
    private let centre: String
    private let maximumBytes: Int
    private var bytes = 0
    /// Parts since the last checkpoint.
    private var parts: [UnreadRecord] = []
    /// Segments a checkpoint verified, not yet taken.
    private var verified: [[UnreadRecord]] = []
    private var pull: Cursor?
    /// The cases named so far: a push names each case once (a laptop sends each pending record
    /// once), so one request can never make the single writer merge one case over and over.
    private var named: Set<RecordID> = []

    /// What a verified push asks for.
    public struct Push: Sendable {
        public let parts: [UnreadRecord]
        /// The cursor to pull from; nil when the device asked for no pull.
        public let pull: Cursor?
        /// The records the device reported it holds unacknowledged, those of this push included
        /// (its header's `pending=`, ``LineProtocol/Header/pending``); nil when it did not say.
        public var pending: Int? = nil
    }

    /// A reader for request `counter` from `device`, whose stream `verifier`'s key must sign and
    /// whose header must name `centre`.
    public init(device: DeviceID, verifier: StreamVerifier, counter: UInt64, centre: String, maximumBytes: Int) {
        self.device = device
        self.decoder = MessageDecoder(verifier: verifier)
        self.counter = counter
        self.centre = centre
        self.maximumBytes = maximumBytes
    }

    /// Reads the next chunk of the request body.
    public func consume(_ chunk: ArraySlice<UInt8>) throws(CentralError) {
        bytes += chunk.count
        guard bytes <= maximumBytes else {
            throw CentralError(.tooLarge, "the request is over \(maximumBytes) bytes; send fewer records per request")
        }
        do {
            try decoder.decode(chunk) { (part: UnreadRecord) throws(LineProtocolError) in
                if part.line == 2 { try self.checkHeader() }
                guard self.named.insert(part.id).inserted else {
                    throw LineProtocolError(
                        .unexpectedFrame, line: part.line,
                        "the push names case \(part.id) a second time: a push carries each case once")
                }
                self.parts.append(part)
            } _: { (message, line) throws(LineProtocolError) in
                if line == 2 { try self.checkHeader() }
                switch message {
                case .record: break  // handed over unread above
                case .pull(let cursor): self.pull = cursor
                case .signature(.part):
                    // The frame decoder has verified the device's signature of everything before.
                    if !self.parts.isEmpty {
                        self.verified.append(self.parts)
                        self.parts = []
                    }
                case .signature(.final), .checkpoint, .delta, .ignorable: break
                case .answer, .more: break  // the decoder refuses these in a push
                }
            }
        } catch {
            throw CentralError(.badRequest, error.description)
        }
    }

    /// The segments of parts verified by checkpoints since the last call, in stream order.
    public func takeVerified() -> [[UnreadRecord]] {
        defer { verified = [] }
        return verified
    }

    /// Verifies the end of the stream and returns what it asked: the parts not yet taken with
    /// ``takeVerified()``, and the pull cursor.
    public func finish() throws(CentralError) -> Push {
        do {
            try decoder.finish()
            try checkHeader()
        } catch {
            throw CentralError(.badRequest, error.description)
        }
        return Push(parts: verified.flatMap { $0 } + parts, pull: pull, pending: decoder.header?.pending)
    }

    private func checkHeader() throws(LineProtocolError) {
        guard let header = decoder.header else { return }
        guard header.kind == .push else {
            throw LineProtocolError(
                .unexpectedFrame, line: 1, "a sync request must be a push stream, not \(header.kind.rawValue)")
        }
        guard let named = header.device else {
            throw LineProtocolError(.malformedFrame, line: 1, "a push must name its device (device=\(device))")
        }
        guard named == device.rawValue else {
            throw LineProtocolError(
                .malformedFrame, line: 1, "the stream names device \(named) but the request is signed by \(device)")
        }
        guard header.counter == counter else {
            throw LineProtocolError(
                .badSignature, line: 1,
                "the stream is for request \(header.counter.map(String.init) ?? "(none)") but the request's header is \(counter): a body taken from another request"
            )
        }
        guard header.centre == centre else {
            throw LineProtocolError(
                .badSignature, line: 1, "the stream is meant for another centre (\(header.centre ?? "none"))")
        }
    }
}
