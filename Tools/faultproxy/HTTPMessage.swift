// Just enough HTTP/1.1 to find a message's parts in a byte stream: where the head ends, how the
// body is framed (Content-Length, chunked, until close) and where it ends. No validation beyond that.

/// A buffered reader over one socket.
struct SocketReader: Sendable {
    let fd: Int32
    /// Bytes read but not yet taken.
    private(set) var buffer: [UInt8] = []
    /// True once the stream has ended (end of stream, error or receive timeout).
    private(set) var ended = false

    init(fd: Int32) {
        self.fd = fd
    }

    /// Reads once more into the buffer. False (and nothing read) once the stream has ended.
    @discardableResult
    mutating func fill() -> Bool {
        guard !ended, let bytes = Socket.read(fd), !bytes.isEmpty else {
            ended = true
            return false
        }
        buffer += bytes
        return true
    }

    /// Reads until the buffer holds at least `count` bytes or the stream ends.
    mutating func fill(toAtLeast count: Int) {
        while buffer.count < count, fill() {}
    }

    /// Removes and returns the first `count` buffered bytes (fewer if fewer are buffered).
    mutating func take(_ count: Int) -> [UInt8] {
        let piece = Array(buffer.prefix(count))
        buffer.removeFirst(piece.count)
        return piece
    }

    /// Reads and removes one message head (through the blank line). Nil if the stream ends first
    /// or the head is longer than `limit` bytes.
    mutating func readHead(limit: Int = 65_536) -> HTTPHead? {
        var searched = 0
        while true {
            if let end = HTTPHead.endOfHead(in: buffer, from: max(0, searched - 3)) {
                return HTTPHead(bytes: take(end))
            }
            searched = buffer.count
            guard buffer.count <= limit, fill() else { return nil }
        }
    }
}

/// An HTTP/1.1 request or response head: start line and header fields, and its bytes as received.
struct HTTPHead: Sendable {
    /// One header field; the name is lowercased.
    struct Field: Sendable {
        let name: String
        let value: String
    }

    /// The head exactly as received, through the blank line that ends it.
    let bytes: [UInt8]
    let startLine: String
    let fields: [Field]

    init(bytes: [UInt8]) {
        self.bytes = bytes
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: true)
        startLine = lines.first.map(String.init) ?? ""
        fields = lines.dropFirst().compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return Field(
                name: line[..<colon].lowercased(),
                value: line[line.index(after: colon)...].trimmingWhitespace()
            )
        }
    }

    /// The offset just past the first `\r\n\r\n` at or after `start`, if any.
    static func endOfHead(in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var index = start
        while index + 3 < bytes.count {
            if bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 {
                return index + 4
            }
            index += 1
        }
        return nil
    }

    /// The value of the first field called `name` (case-insensitive).
    func field(_ name: String) -> String? {
        let name = name.lowercased()
        return fields.first { $0.name == name }?.value
    }

    /// The request method (first word of a request line).
    var method: String {
        String(startLine.prefix { $0 != " " })
    }

    /// The status code of a response (second word of a status line), if this is one.
    var statusCode: Int? {
        guard startLine.hasPrefix("HTTP/") else { return nil }
        return startLine.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }

    /// How the body of this request is framed (a request without either header has no body).
    var requestFraming: BodyFraming {
        if let coding = field("transfer-encoding"), coding.lowercased().contains("chunked") { return .chunked }
        if let length = field("content-length").flatMap({ Int($0) }), length >= 0 { return .length(length) }
        return .none
    }

    /// How the body of this response is framed, given the request it answers.
    func responseFraming(requestMethod: String) -> BodyFraming {
        let status = statusCode ?? 200
        if requestMethod == "HEAD" || (100..<200).contains(status) && status != 101 || status == 204 || status == 304 {
            return .none
        }
        if let coding = field("transfer-encoding"), coding.lowercased().contains("chunked") { return .chunked }
        if status != 101, let length = field("content-length").flatMap({ Int($0) }), length >= 0 {
            return .length(length)
        }
        return .untilClose
    }
}

extension Substring {
    /// The text without leading and trailing spaces and tabs.
    fileprivate func trimmingWhitespace() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// How a message body is delimited.
enum BodyFraming: Sendable, CustomStringConvertible {
    /// No body.
    case none
    /// Exactly this many bytes (Content-Length).
    case length(Int)
    /// Transfer-Encoding: chunked.
    case chunked
    /// Everything until the sender closes (a response with neither header).
    case untilClose

    var description: String {
        switch self {
        case .none: "no body"
        case .length(let count): "content-length \(count)"
        case .chunked: "chunked"
        case .untilClose: "until close"
        }
    }
}

/// Follows a body as its bytes go past, to find where it ends.
struct BodyTracker {
    private enum State {
        case remaining(Int)  // Content-Length bytes still to come
        case untilClose
        case chunkSize(value: Int, inExtension: Bool)  // reading a chunk-size line
        case chunkData(Int)  // chunk data bytes still to come
        case chunkDataEnd(Int)  // bytes of the CRLF after chunk data still to come
        case trailer(lineLength: Int)  // reading trailer lines after the last chunk
        case complete
    }

    private var state: State

    init(_ framing: BodyFraming) {
        switch framing {
        case .none: state = .complete
        case .length(let count): state = count > 0 ? .remaining(count) : .complete
        case .chunked: state = .chunkSize(value: 0, inExtension: false)
        case .untilClose: state = .untilClose
        }
    }

    var isComplete: Bool {
        if case .complete = state { true } else { false }
    }

    /// Counts `bytes` into the body and returns how many of them belong to it; any others follow
    /// the end of the message.
    mutating func consume(_ bytes: ArraySlice<UInt8>) -> Int {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            switch state {
            case .complete:
                return index - bytes.startIndex
            case .untilClose:
                return bytes.count
            case .remaining(let count):
                let step = min(count, bytes.endIndex - index)
                index += step
                state = count - step > 0 ? .remaining(count - step) : .complete
            case .chunkData(let count):
                let step = min(count, bytes.endIndex - index)
                index += step
                state = count - step > 0 ? .chunkData(count - step) : .chunkDataEnd(2)
            case .chunkDataEnd(let count):
                index += 1
                state = count > 1 ? .chunkDataEnd(count - 1) : .chunkSize(value: 0, inExtension: false)
            case .chunkSize(let value, let inExtension):
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\n") {
                    state = value > 0 ? .chunkData(value) : .trailer(lineLength: 0)
                } else if !inExtension, let digit = Self.hexDigit(byte) {
                    state = .chunkSize(value: min(value &* 16 &+ digit, 1 << 48), inExtension: false)
                } else if byte != UInt8(ascii: "\r") {
                    state = .chunkSize(value: value, inExtension: true)  // ";extension" or junk
                }
            case .trailer(let lineLength):
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\n") {
                    state = lineLength == 0 ? .complete : .trailer(lineLength: 0)
                } else if byte != UInt8(ascii: "\r") {
                    state = .trailer(lineLength: lineLength + 1)
                }
            }
        }
        return index - bytes.startIndex
    }

    static func hexDigit(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }
}

/// What is known about a body's first bytes before relaying it: where it may be cut and where
/// its payload (not chunk framing) lies. Offsets count from the first byte after the head.
struct BodySample {
    /// Cutting after any of `0..<safeLength` bytes stops strictly before the end of the body.
    let safeLength: Int
    /// Offsets of payload bytes known to exist (a prefix of the data of the first chunk, for chunked).
    let payload: Range<Int>
    /// The total body length when it is known (Content-Length, or a body that ended early).
    let total: Int?

    /// Looks at the start of the body waiting in `reader`, reading more if needed: up to the end of
    /// the first chunk-size line for chunked, up to `prefetch` bytes or the end for an until-close body.
    static func take(_ framing: BodyFraming, from reader: inout SocketReader, prefetch: Int = 65_536) -> BodySample {
        switch framing {
        case .none:
            return BodySample(safeLength: 0, payload: 0..<0, total: 0)
        case .length(let count):
            return BodySample(safeLength: count, payload: 0..<count, total: count)
        case .untilClose:
            reader.fill(toAtLeast: prefetch)
            let count = reader.buffer.count
            return BodySample(safeLength: count, payload: 0..<count, total: reader.ended ? count : nil)
        case .chunked:
            while reader.buffer.firstIndex(of: UInt8(ascii: "\n")) == nil, reader.buffer.count < 4_096, reader.fill() {}
            guard let newline = reader.buffer.firstIndex(of: UInt8(ascii: "\n")) else {
                return BodySample(safeLength: reader.buffer.count, payload: 0..<0, total: nil)
            }
            var size = 0
            for byte in reader.buffer[..<newline] {
                guard let digit = BodyTracker.hexDigit(byte) else { break }
                size = min(size * 16 + digit, 1 << 48)
            }
            let dataStart = newline + 1
            return BodySample(safeLength: dataStart + size, payload: dataStart..<(dataStart + size), total: nil)
        }
    }
}
