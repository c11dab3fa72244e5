public import Replication

/// Turns the bytes of an EDTLP stream into typed messages, checking every token and payload,
/// and which frames the stream's kind allows where.
///
/// ```swift
/// let decoder = MessageDecoder(verifier: .key(senderKey))
/// try decoder.decode(chunk) { message, line in ... }
/// let summary = try decoder.finish()   // verifies END's count and checksum
/// ```
/// Messages are handed over as they are read; a consumer that must be all-or-nothing (a bundle
/// import) keeps them until ``finish()`` succeeds.
public final class MessageDecoder {
    private let frames: FrameDecoder
    private var inDelta = false
    private var memo = RecordReadingMemo()
    private var sawPull = false

    /// A decoder whose stream must be signed by the key `verifier` names.
    public init(limits: Limits = .standard, verifier: StreamVerifier) {
        frames = FrameDecoder(limits: limits, verifier: verifier)
    }

    /// The stream's header, once read.
    public var header: Header? { frames.header }

    /// Reads the next chunk and calls `onMessage` with each message and the line it was on.
    public func decode(
        _ chunk: ArraySlice<UInt8>, _ onMessage: (Message, Int) throws(LineProtocolError) -> Void
    ) throws(LineProtocolError) {
        try frames.decode(chunk) { (frame: Frame) throws(LineProtocolError) in
            try onMessage(try self.message(from: frame), frame.line)
        }
    }

    /// Reads the next chunk and calls `onMessage` with each message and the line it was on.
    public func decode(
        _ chunk: [UInt8], _ onMessage: (Message, Int) throws(LineProtocolError) -> Void
    ) throws(LineProtocolError) {
        try decode(chunk[...], onMessage)
    }

    /// Reads the next chunk like ``decode(_:_:)-(ArraySlice<UInt8>,_)``, but hands each `REC`
    /// frame to `onRecord` unread (its id checked, its payload copied as bytes) instead of
    /// reading it into a ``Message/record(_:)``; every other frame goes to `onMessage`.
    public func decode(
        _ chunk: ArraySlice<UInt8>,
        unreadRecords onRecord: (UnreadRecord) throws(LineProtocolError) -> Void,
        _ onMessage: (Message, Int) throws(LineProtocolError) -> Void
    ) throws(LineProtocolError) {
        try frames.decode(chunk) { (frame: Frame) throws(LineProtocolError) in
            if case .record = frame.verb {
                let (id, payload) = try self.recordFrame(frame)
                try onRecord(
                    UnreadRecord(
                        id: id, line: frame.line, payload: payload, maximumDepth: self.frames.limits.maximumJSONDepth))
            } else {
                try onMessage(try self.message(from: frame), frame.line)
            }
        }
    }

    /// Declares the end of input; throws unless the stream was complete and verified.
    @discardableResult
    public func finish() throws(LineProtocolError) -> FrameDecoder.Summary {
        try frames.finish()
    }

    // MARK: - Frames to messages

    private func message(from frame: Frame) throws(LineProtocolError) -> Message {
        guard let kind = frames.header?.kind else {
            throw LineProtocolError(.notEDTLP, line: frame.line, "a frame before the header")
        }
        let line = frame.line
        switch frame.verb {
        case .ignorable(let verb):
            guard frame.arguments.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
                throw LineProtocolError(.malformedFrame, line: line, "\(verb) arguments must be printable ASCII")
            }
            return .ignorable(verb: verb, arguments: String(decoding: frame.arguments, as: UTF8.self))
        case .checkpoint:
            // The frame decoder has checked it: the checksum of the bytes before this line.
            return .checkpoint(checksum: String(decoding: frame.arguments, as: UTF8.self))
        case .signature:
            // The frame decoder has verified it against the sender's key.
            return .signature(frame.arguments.starts(with: "final".utf8) ? .final : .part)
        case .more:
            guard kind == .reply else { throw unexpected(frame, kind) }
            guard frame.arguments.isEmpty else {
                throw LineProtocolError(.malformedFrame, line: line, "+MORE takes no arguments")
            }
            return .more
        case .delta:
            guard kind == .push || kind == .reply || kind == .bundle else { throw unexpected(frame, kind) }
            let tokens = try self.tokens(frame, count: 2, shape: "DELTA n base=VECTOR knowledge=VECTOR")
            var base: VersionVector?
            var knowledge: VersionVector?
            for token in tokens {
                guard let parameter = Header.parameter(token) else {
                    throw LineProtocolError(.malformedFrame, line: line, "DELTA takes key=value arguments")
                }
                guard let vector = Notation.vector(Substring(parameter.value)) else {
                    throw LineProtocolError(
                        .invalidIdentifier, line: line, "\"\(parameter.value)\" is not a version vector")
                }
                switch parameter.key {
                case "base": base = vector
                case "knowledge": knowledge = vector
                default: break  // a later minor version's parameter
                }
            }
            guard let base, let knowledge else {
                throw LineProtocolError(.malformedFrame, line: line, "DELTA needs base= and knowledge=")
            }
            inDelta = true
            return .delta(base: base, knowledge: knowledge)
        case .record:
            let (id, payload) = try recordFrame(frame)
            do throws(JSONPayload.ReadError) {
                return .record(
                    try RecordPayload.readNotingForm(
                        payload, id: id, maximumDepth: frames.limits.maximumJSONDepth, memo: &memo
                    ).record)
            } catch {
                throw Self.payloadError(error, line: line, what: "record \(id)")
            }
        case .pull:
            guard kind == .push else { throw unexpected(frame, kind) }
            guard !sawPull else { throw LineProtocolError(.unexpectedFrame, line: line, "a second PULL in one stream") }
            sawPull = true
            let tokens = try self.tokens(frame, count: 1, shape: "PULL n since=CURSOR")
            guard let parameter = Header.parameter(tokens[0]), parameter.key == "since",
                let cursor = Cursor(parameter.value)
            else {
                throw LineProtocolError(.malformedFrame, line: line, "PULL takes since=CURSOR")
            }
            return .pull(since: cursor)
        case .ack:
            guard kind == .reply else { throw unexpected(frame, kind) }
            let tokens = try byteTokens(frame, count: 2, shape: "ACK n RECORD-ID CURSOR")
            let id = try recordID(tokens[0], line: line)
            guard let cursor = Cursor(String(decoding: tokens[1], as: UTF8.self)) else {
                throw LineProtocolError(
                    .malformedFrame, line: line, "\"\(FrameDecoder.printable(tokens[1]))\" is not a cursor")
            }
            return .answer(.stored(id, cursor: cursor))
        case .nak:
            guard kind == .reply else { throw unexpected(frame, kind) }
            let parts = frame.arguments.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else {
                throw LineProtocolError(
                    .malformedFrame, line: line, "NAK needs a record id, a reason code and a JSON string")
            }
            let id = try recordID(parts[0], line: line)
            guard let reason = RejectionReason(code: String(decoding: parts[1], as: UTF8.self)) else {
                throw LineProtocolError(
                    .malformedFrame, line: line, "\"\(FrameDecoder.printable(parts[1]))\" is not a reason code")
            }
            let text: FieldValue
            do throws(JSONPayload.ReadError) {
                text = try JSONPayload.read(parts[2], maximumDepth: 1)
            } catch {
                throw Self.payloadError(error, line: line, what: "the NAK message")
            }
            guard case .string(let message) = text else {
                throw LineProtocolError(.invalidPayload, line: line, "the NAK message must be a JSON string")
            }
            return .answer(.refused(id, reason, message: message))
        }
    }

    /// A `REC` frame's checked record id and its payload bytes (not yet read).
    private func recordFrame(_ frame: Frame) throws(LineProtocolError) -> (RecordID, ArraySlice<UInt8>) {
        guard frames.header != nil else {
            throw LineProtocolError(.notEDTLP, line: frame.line, "a frame before the header")
        }
        guard inDelta else {
            throw LineProtocolError(
                .unexpectedFrame, line: frame.line, "REC outside a delta: a DELTA frame must come first")
        }
        guard let space = frame.arguments.firstIndex(of: 0x20) else {
            throw LineProtocolError(.malformedFrame, line: frame.line, "REC needs a record id and a JSON payload")
        }
        return (
            try recordID(frame.arguments[frame.arguments.startIndex..<space], line: frame.line),
            frame.arguments[(space + 1)...]
        )
    }

    static func payloadError(_ error: JSONPayload.ReadError, line: Int, what: String) -> LineProtocolError {
        switch error {
        case .invalidUTF8: LineProtocolError(.invalidUTF8, line: line, "a string in \(what) is not valid UTF-8")
        case .invalid(let why):
            LineProtocolError(.invalidPayload, line: line, "\(what) is not valid EDTLP JSON: \(why)")
        case .shape(let why): LineProtocolError(.invalidPayload, line: line, "\(what): \(why)")
        case .identifier(let why): LineProtocolError(.invalidIdentifier, line: line, "\(what): \(why)")
        }
    }

    private func unexpected(_ frame: Frame, _ kind: Header.Kind) -> LineProtocolError {
        LineProtocolError(
            .unexpectedFrame, line: frame.line, "\(frame.verb.text) is not allowed in a \(kind.rawValue) stream")
    }

    /// The space-separated ASCII tokens of a frame's arguments, exactly `count` of them.
    private func tokens(_ frame: Frame, count: Int, shape: String) throws(LineProtocolError) -> [Substring] {
        try byteTokens(frame, count: count, shape: shape).map { Substring(String(decoding: $0, as: UTF8.self)) }
    }

    /// ``tokens(_:count:shape:)`` as bytes (no strings made: an `ACK` per record pushed adds up).
    private func byteTokens(_ frame: Frame, count: Int, shape: String) throws(LineProtocolError) -> [ArraySlice<UInt8>]
    {
        let arguments = frame.arguments
        // One pass: every byte printable ASCII, cut at each space (the generic `split` cost more
        // than the rest of an `ACK`'s reading).
        var tokens: [ArraySlice<UInt8>] = []
        tokens.reserveCapacity(count)
        var start = arguments.startIndex
        var wellFormed = true
        for index in arguments.indices {
            let byte = arguments[index]
            guard byte >= 0x20, byte < 0x7F else {
                throw LineProtocolError(
                    .malformedFrame, line: frame.line, "\(frame.verb.text) arguments must be printable ASCII")
            }
            if byte == 0x20, wellFormed {
                // An empty token, or more than `count`: malformed, though every byte is still
                // checked (a byte that is not printable is the error reported first).
                if index == start || tokens.count == count - 1 { wellFormed = false }
                tokens.append(arguments[start..<index])
                start = index + 1
            }
        }
        if start == arguments.endIndex { wellFormed = false }  // nothing, or an empty last token
        if wellFormed { tokens.append(arguments[start...]) }
        guard wellFormed, tokens.count == count else {
            throw LineProtocolError(.malformedFrame, line: frame.line, "expected \(shape)")
        }
        return tokens
    }

    private func recordID(_ bytes: ArraySlice<UInt8>, line: Int) throws(LineProtocolError) -> RecordID {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let id = try? RecordID(text) else {
            throw LineProtocolError(
                .invalidIdentifier, line: line, "\"\(FrameDecoder.printable(bytes))\" is not a record id")
        }
        return id
    }
}

/// A whole stream, decoded and verified.
public struct DecodedStream: Sendable, Equatable {
    public let header: Header
    public let messages: [Message]
    public let checksum: String

    /// Decodes and verifies `bytes` (signed by the key `verifier` names), feeding them in chunks
    /// of `chunkSize` (to exercise streaming).
    public init(
        _ bytes: [UInt8], verifier: StreamVerifier, chunkSize: Int = 1 << 16, limits: Limits = .standard
    ) throws(LineProtocolError) {
        let decoder = MessageDecoder(limits: limits, verifier: verifier)
        var messages: [Message] = []
        var start = 0
        let step = max(1, chunkSize)
        while start < bytes.count {
            let end = min(bytes.count, start + step)
            try decoder.decode(bytes[start..<end]) { message, _ in messages.append(message) }
            start = end
        }
        let summary = try decoder.finish()
        header = summary.header
        self.messages = messages
        checksum = summary.checksum
    }

    /// The messages without the stream's final signature, which every stream ends with (and an
    /// encoder writes by itself): what its sender appended.
    public var content: [Message] { messages.filter { $0 != .signature(.final) } }

    /// The deltas the stream carries, each with its records.
    public var deltas: [Delta] {
        var result: [Delta] = []
        var current: (base: VersionVector, knowledge: VersionVector, records: [Record])?
        for message in messages {
            switch message {
            case .delta(let base, let knowledge):
                if let current {
                    result.append(Delta(base: current.base, knowledge: current.knowledge, records: current.records))
                }
                current = (base, knowledge, [])
            case .record(let record):
                current?.records.append(record)
            default:
                break
            }
        }
        if let current {
            result.append(Delta(base: current.base, knowledge: current.knowledge, records: current.records))
        }
        return result
    }
}
