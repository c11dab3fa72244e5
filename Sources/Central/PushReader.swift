public import LineProtocol
public import Replication

/// Reads a device's `push` stream as it arrives and keeps what it asks: the record parts and
/// the pull cursor. Nothing is handed on until ``finish()`` has verified the whole stream, so
/// a truncated or corrupted request stores nothing.
public final class PushReader {
    private let decoder = MessageDecoder()
    private let device: DeviceID
    private let maximumBytes: Int
    private var bytes = 0
    private var parts: [Record] = []
    private var pull: Cursor?

    /// What a verified push asks for.
    public struct Push: Sendable {
        public let parts: [Record]
        /// The cursor to pull from; nil when the device asked for no pull.
        public let pull: Cursor?
    }

    public init(device: DeviceID, maximumBytes: Int) {
        self.device = device
        self.maximumBytes = maximumBytes
    }

    /// Reads the next chunk of the request body.
    public func consume(_ chunk: ArraySlice<UInt8>) throws(CentralError) {
        bytes += chunk.count
        guard bytes <= maximumBytes else {
            throw CentralError(.tooLarge, "the request is over \(maximumBytes) bytes; send fewer records per request")
        }
        do {
            try decoder.decode(chunk) { (message, line) throws(LineProtocolError) in
                if line == 2 { try self.checkHeader() }
                switch message {
                case .record(let record): self.parts.append(record)
                case .pull(let cursor): self.pull = cursor
                case .delta, .ignorable: break
                case .ack, .nak: break  // the decoder refuses these in a push
                }
            }
        } catch {
            throw CentralError(.badRequest, error.description)
        }
    }

    /// Verifies the end of the stream and returns what it asked.
    public func finish() throws(CentralError) -> Push {
        do {
            try decoder.finish()
            try checkHeader()
        } catch {
            throw CentralError(.badRequest, error.description)
        }
        return Push(parts: parts, pull: pull)
    }

    private func checkHeader() throws(LineProtocolError) {
        guard let header = decoder.header else { return }
        guard header.kind == .push else {
            throw LineProtocolError(.unexpectedFrame, line: 1, "a sync request must be a push stream, not \(header.kind.rawValue)")
        }
        if let named = header["device"], named != device.rawValue {
            throw LineProtocolError(.malformedFrame, line: 1, "the stream names device \(named) but the request is signed by \(device)")
        }
    }
}
