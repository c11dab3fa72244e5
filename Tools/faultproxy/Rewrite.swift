// The attacker's faults: `rewrite` alters a response's EDTLP stream, `rewrite-request` a request's,
// and each fixes every checksum (+SUM, END) so that only the signatures (SIG) can tell.
import CXXHash
import Dispatch

#if canImport(Glibc)
import Glibc
#endif

extension Connection {
    // MARK: - rewrite (the response)

    /// Reads the whole response body; if it is an EDTLP stream, alters one byte of its first
    /// `ACK` or `REC` line and fixes its checksums (``EDTLPRewrite``); sends it with a
    /// Content-Length (the same one when the upstream gave one).
    func rewriteResponse(_ response: HTTPHead, framing: BodyFraming, from reader: inout SocketReader) {
        switch framing {
        case .length, .chunked:
            rewriteAndSend(response, framing: framing, from: &reader, side: "response", verbs: ["ACK", "REC"])
        case .none, .untilClose:
            log("rewrite: the response has \(framing); relayed unchanged")
            if Socket.write(client, response.bytes) { _ = relayBody(from: &reader, to: client, framing: framing) }
        }
    }

    /// Reads the body, rewrites it and sends head and body to the client.
    private func rewriteAndSend(
        _ head: HTTPHead, framing: BodyFraming, from reader: inout SocketReader, side: String, verbs: [String]
    ) {
        guard let body = WholeBody.read(framing, from: &reader) else {
            log("rewrite: the \(side) body ended early; nothing sent")
            return
        }
        let (bytes, note) = rewritten(body, side: side, verbs: verbs)
        let out = bytes ?? body
        if bytes == nil { log(note) }
        Socket.write(client, head.withContentLength(out.count, replacing: framing) + out)
    }

    /// The rewritten body and the log line, or nil (and why) when it is not an EDTLP stream with
    /// such a line.
    private func rewritten(_ body: [UInt8], side: String, verbs: [String]) -> ([UInt8]?, String) {
        switch EDTLPRewrite.rewrite(body, verbs: verbs) {
        case .success(let result):
            let message = "rewrite: \(side) body (\(body.count) bytes) \(result.description)"
            log(message)
            return (result.bytes, message)
        case .failure(let reason):
            return (nil, "rewrite: \(side) body (\(body.count) bytes) \(reason.text); passed on unchanged")
        }
    }

    // MARK: - rewrite-request

    /// Reads the whole request body (de-chunking it), alters one byte of its first `REC` line's
    /// JSON and fixes its checksums, forwards it with a Content-Length, and relays the response.
    func rewriteRequest() {
        var clientReader = SocketReader(fd: client)
        guard let request = requestHead(&clientReader) else { return }
        let framing = request.requestFraming
        guard let body = WholeBody.read(framing, from: &clientReader) else {
            log("rewrite-request: the request body ended early; closing")
            close(client)
            return
        }
        var out = body
        switch EDTLPRewrite.rewrite(body, verbs: ["REC"]) {
        case .success(let result):
            out = result.bytes
            log("rewrite-request: request body (\(body.count) bytes, \(framing)) \(result.description)")
        case .failure(let reason):
            log("rewrite-request: request body (\(body.count) bytes, \(framing)) \(reason.text); forwarded unchanged")
        }
        guard let server = connectUpstream() else {
            close(client)
            return
        }
        let head = framing.isEmpty ? request.bytes : request.withContentLength(out.count, replacing: framing)
        var serverReader = SocketReader(fd: server)
        if Socket.write(server, head + out), let response = readFinalResponseHead(from: &serverReader) {
            if Socket.write(client, response.bytes) {
                _ = relayBody(
                    from: &serverReader, to: client, framing: response.responseFraming(requestMethod: request.method))
            }
        } else {
            log("the upstream closed without a response")
        }
        let done = DispatchGroup()
        finish(server: server, requestDone: done)
    }
}

/// Reading a whole body, whatever its framing, as its payload bytes (chunks joined).
enum WholeBody {
    /// The body's payload, or nil if the stream ended first. A body delimited by the close is
    /// read to the close; none is empty.
    static func read(_ framing: BodyFraming, from reader: inout SocketReader) -> [UInt8]? {
        switch framing {
        case .none:
            return []
        case .length(let count):
            reader.fill(toAtLeast: count)
            guard reader.buffer.count >= count else { return nil }
            return reader.take(count)
        case .untilClose:
            while reader.fill() {}
            return reader.take(reader.buffer.count)
        case .chunked:
            var body: [UInt8] = []
            while true {
                guard let sizeLine = readLine(from: &reader) else { return nil }
                var size = 0
                for byte in sizeLine {
                    guard let digit = BodyTracker.hexDigit(byte) else { break }
                    size = min(size * 16 + digit, 1 << 40)
                }
                if size == 0 {
                    // Trailer lines, up to the empty one.
                    while true {
                        guard let line = readLine(from: &reader) else { return nil }
                        if line.isEmpty { return body }
                    }
                }
                reader.fill(toAtLeast: size + 2)
                guard reader.buffer.count >= size + 2 else { return nil }
                body += reader.take(size)
                _ = reader.take(2)  // CRLF
            }
        }
    }

    /// One line (without its CRLF or LF), or nil if the stream ended first.
    private static func readLine(from reader: inout SocketReader) -> [UInt8]? {
        while true {
            if let newline = reader.buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = reader.take(newline + 1).dropLast()
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                return Array(line)
            }
            guard reader.buffer.count < 65_536, reader.fill() else { return nil }
        }
    }
}

extension HTTPHead {
    /// The head's bytes with its body framing fields (`Content-Length`, `Transfer-Encoding`)
    /// replaced by `Content-Length: length`; the same bytes when they already say so.
    func withContentLength(_ length: Int, replacing framing: BodyFraming) -> [UInt8] {
        if case .length(let count) = framing, count == length { return bytes }
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\r\n").map(String.init)
        lines.removeAll { line in
            let name = line.prefix { $0 != ":" }.lowercased()
            return name == "content-length" || name == "transfer-encoding"
        }
        lines.append("Content-Length: \(length)")
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }
}

/// An attacker's edit of an EDTLP stream: one byte of the first line of the given verbs changed
/// so that the line stays valid UTF-8 and valid EDTLP, then every `+SUM` and `END` checksum
/// recomputed over the altered bytes. `SIG` lines are left as they were (no key to sign with).
enum EDTLPRewrite {
    struct Result {
        let bytes: [UInt8]
        let description: String
    }

    struct Refusal: Error {
        let text: String
    }

    static func rewrite(_ stream: [UInt8], verbs: [String]) -> Swift.Result<Result, Refusal> {
        guard stream.starts(with: Array("EDTLP ".utf8)) else { return .failure(Refusal(text: "is not EDTLP")) }
        var bytes = stream
        let lines = lineRanges(bytes)
        let prefixes = verbs.map { Array(($0 + " ").utf8) }
        guard let index = lines.firstIndex(where: { line in prefixes.contains { bytes[line].starts(with: $0) } }) else {
            return .failure(Refusal(text: "has no \(verbs.joined(separator: " or ")) line"))
        }
        let number = index + 1
        let range = lines[index]
        guard let found = target(in: bytes, line: range) else {
            return .failure(Refusal(text: "line \(number): nothing to change"))
        }
        let (offset, what) = found
        let old = bytes[offset]
        let new = replacement(for: old)
        bytes[offset] = new
        let verb = String(decoding: bytes[range].prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self)
        var fixed: [String] = []
        for (index, line) in lines.enumerated() {
            let isEnd = bytes[line].starts(with: Array("END ".utf8))
            guard isEnd || bytes[line].starts(with: Array("+SUM ".utf8)) else { continue }
            let marker = Array("xxh3-64:".utf8)
            guard let at = firstIndex(of: marker, in: bytes, within: line), at + marker.count + 16 <= line.upperBound
            else { continue }
            let hex = Array(checksum(bytes[..<line.lowerBound]).utf8)
            let start = at + marker.count
            let before = String(decoding: bytes[start..<(start + 16)], as: UTF8.self)
            bytes.replaceSubrange(start..<(start + 16), with: hex)
            fixed.append(
                "\(isEnd ? "END" : "+SUM") (line \(index + 1)) \(before) -> \(String(decoding: hex, as: UTF8.self))")
        }
        let sigCount = lines.filter { bytes[$0].starts(with: Array("SIG ".utf8)) }.count
        let description =
            "line \(number) (\(verb)): \(what) byte \(offset) '\(character(old))' -> '\(character(new))'; "
            + "xxh3-64 rewritten: \(fixed.isEmpty ? "none" : fixed.joined(separator: ", ")); "
            + "\(sigCount) SIG line\(sigCount == 1 ? "" : "s") left as they were"
        return .success(Result(bytes: bytes, description: description))
    }

    /// The byte to change on a line: a letter of the first JSON string value (`"value":"...`)
    /// of a `REC`, else a hexadecimal digit of the line's record id (its first argument after
    /// the frame number). With what it is, for the log.
    private static func target(in bytes: [UInt8], line: Range<Int>) -> (Int, String)? {
        if bytes[line].starts(with: Array("REC ".utf8)),
            let value = firstIndex(of: Array("\"value\":\"".utf8), in: bytes, within: line)
        {
            var index = value + 9
            while index < line.upperBound, bytes[index] != UInt8(ascii: "\"") {
                if bytes[index] == UInt8(ascii: "\\") {  // an escape: \uXXXX or \n, \", ...
                    index += index + 1 < line.upperBound && bytes[index + 1] == UInt8(ascii: "u") ? 6 : 2
                    continue
                }
                if isLetter(bytes[index]) { return (index, "a letter of the first JSON string value,") }
                index += 1
            }
        }
        // The record id: the third token.
        var spaces = 0
        var index = line.lowerBound
        while index < line.upperBound, spaces < 2 {
            if bytes[index] == UInt8(ascii: " ") { spaces += 1 }
            index += 1
        }
        while index < line.upperBound, bytes[index] != UInt8(ascii: " ") {
            if BodyTracker.hexDigit(bytes[index]) != nil { return (index, "a hex digit of the record id,") }
            index += 1
        }
        return nil
    }

    /// Another byte of the same class: a letter's other case, a digit's neighbour (0<->1, ...),
    /// a-f to its neighbour in a-f: ASCII stays ASCII, JSON stays JSON, an identifier an identifier.
    private static func replacement(for byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte ^ 1
        case UInt8(ascii: "a")...UInt8(ascii: "f"): (byte - UInt8(ascii: "a")) & 1 == 0 ? byte + 1 : byte - 1
        default: byte ^ 0x20  // a letter's other case
        }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func character(_ byte: UInt8) -> String { String(Character(Unicode.Scalar(byte))) }

    /// XXH3-64 (seed 0) as an `END` line writes it: 16 lowercase hex digits.
    static func checksum(_ bytes: ArraySlice<UInt8>) -> String {
        let value = bytes.withUnsafeBytes { XXH3_64bits($0.baseAddress, $0.count) }
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The ranges of the stream's lines, without their LFs (a last line without LF included).
    private static func lineRanges(_ bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            ranges.append(start..<index)
            start = index + 1
        }
        if start < bytes.count { ranges.append(start..<bytes.count) }
        return ranges
    }

    private static func firstIndex(of needle: [UInt8], in bytes: [UInt8], within range: Range<Int>) -> Int? {
        guard range.count >= needle.count else { return nil }
        var index = range.lowerBound
        while index + needle.count <= range.upperBound {
            if bytes[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
