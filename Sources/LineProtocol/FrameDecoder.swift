import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns the bytes of an EDTLP stream, in chunks of any size, into frames.
///
/// Checks what every stream shares: the header (name and major version), line length (while
/// reading, so a line with no end cannot grow memory), CR LF endings, verbs, consecutive frame
/// numbers, the sender's signatures (`SIG` frames, against the key ``StreamVerifier`` names:
/// a stream is trusted up to its last verified signature, and must end with its `SIG final`),
/// and the `END` line's frame count and checksum; then that nothing follows `END`. It
/// buffers at most one partial line. Arguments are not interpreted here: ``MessageDecoder`` does
/// that, and checks their UTF-8 as it reads them.
///
/// ```swift
/// let decoder = FrameDecoder(verifier: .key(senderKey))
/// for chunk in chunks { try decoder.decode(chunk) { frame in print(frame.verb) } }
/// let summary = try decoder.finish()
/// ```
///
/// A reference type, since its running checksum lives in C memory; use one per stream.
public final class FrameDecoder {
    /// What a complete, verified stream held.
    public struct Summary: Sendable, Hashable {
        public let header: Header
        public let frames: Int
        public let checksum: String
    }

    public let limits: Limits
    /// The stream's header, once its first line has been read.
    public private(set) var header: Header?

    private var carry: [UInt8] = []
    private var linesRead = 0
    private var framesRead = 0
    private var sawInput = false
    private var finishedChecksum: String?
    private let checksum = StreamChecksum()
    private let verifier: StreamVerifier
    /// The key the stream's signatures must verify against, once the header named the signer.
    private var signerKey: Curve25519.Signing.PublicKey?
    /// The frame number of the stream's `SIG final`, once verified.
    private var finalSignature: Int?

    /// A decoder whose stream must be signed by the key `verifier` names.
    public init(limits: Limits = .standard, verifier: StreamVerifier) {
        self.limits = limits
        self.verifier = verifier
    }

    /// Reads the next chunk of the stream and calls `onFrame` for each complete frame in it.
    public func decode(
        _ chunk: [UInt8], _ onFrame: (Frame) throws(LineProtocolError) -> Void
    ) throws(LineProtocolError) {
        try decode(chunk[...], onFrame)
    }

    /// Reads the next chunk of the stream and calls `onFrame` for each complete frame in it.
    public func decode(
        _ chunk: ArraySlice<UInt8>, _ onFrame: (Frame) throws(LineProtocolError) -> Void
    ) throws(LineProtocolError) {
        guard !chunk.isEmpty else { return }
        sawInput = true
        guard finishedChecksum == nil else {
            throw LineProtocolError(.trailingData, line: linesRead + 1, "bytes follow the END line")
        }
        var position = chunk.startIndex
        var hashedUpTo = position

        if !carry.isEmpty {
            guard let newline = Self.newline(in: chunk, from: position) else {
                try keepPartialLine(chunk)
                return
            }
            try checkLength(carry.count + (newline - position))
            carry.append(contentsOf: chunk[position..<newline])
            let line = carry[...]
            carry = []
            position = newline + 1
            hashedUpTo = position
            if try processLine(line, onFrame) {
                try expectNothingAfterEnd(chunk[position...])
                return
            }
            checksum.update(line)
            checksum.update(Self.lineFeed)
        }

        var ended = false
        var failure: LineProtocolError?
        chunk.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let base = raw.baseAddress else { return }
            do throws(LineProtocolError) {
                let origin = chunk.startIndex  // raw offset 0 is chunk index `origin`
                while position < chunk.endIndex,
                    let found = memchr(base + (position - origin), 0x0A, chunk.endIndex - position)
                {
                    let newline = origin + (UnsafeRawPointer(found) - base)
                    try checkLength(newline - position)
                    if let frame = fastFrame(base, origin: origin, from: position, to: newline) {
                        // The common case, read straight from memory: a known verb, the next number.
                        linesRead += 1
                        framesRead += 1
                        try onFrame(
                            Frame(
                                verb: frame.verb, number: frame.number, arguments: chunk[frame.arguments..<newline],
                                line: linesRead))
                    } else {
                        let line = chunk[position..<newline]
                        if Self.isEndLine(line) || Self.isChecksumLine(line) || Self.isSignatureLine(line) {
                            // The checksum covers every byte before the END (or +SUM) line.
                            checksum.update(chunk[hashedUpTo..<position])
                            hashedUpTo = position
                        }
                        if try processLine(line, onFrame) {
                            position = newline + 1
                            ended = true
                            return
                        }
                    }
                    position = newline + 1
                    if position - hashedUpTo >= Self.hashBatch {
                        // Hash while the bytes memchr just read are still in the nearest cache.
                        checksum.update(
                            UnsafeRawBufferPointer(start: base + (hashedUpTo - origin), count: position - hashedUpTo))
                        hashedUpTo = position
                    }
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        if ended {
            try expectNothingAfterEnd(chunk[position...])
            return
        }
        checksum.update(chunk[hashedUpTo..<position])
        try keepPartialLine(chunk[position...])
    }

    /// Declares the end of input; throws unless the stream was complete and verified.
    @discardableResult
    public func finish() throws(LineProtocolError) -> Summary {
        guard sawInput else { throw LineProtocolError(.emptyInput, line: 1, "the stream is empty") }
        guard carry.isEmpty else {
            throw LineProtocolError(
                .truncated, line: linesRead + 1, "the input ends inside a line (no LF): it was cut short")
        }
        guard let finishedChecksum, let header else {
            throw LineProtocolError(
                .missingEnd, line: linesRead + 1, "the input ends without an END line: it was cut short")
        }
        return Summary(header: header, frames: framesRead, checksum: finishedChecksum)
    }

    // MARK: - Lines

    private static let lineFeed: ArraySlice<UInt8> = [0x0A]
    /// Bytes of complete lines hashed at a time: small enough to still be in L1/L2 after memchr.
    private static let hashBatch = 8 * 1024

    private static func newline(in chunk: ArraySlice<UInt8>, from position: Int) -> Int? {
        guard position < chunk.endIndex else { return nil }
        return chunk.withUnsafeBytes { raw -> Int? in
            guard let base = raw.baseAddress else { return nil }
            let offset = position - chunk.startIndex
            guard let found = memchr(base + offset, 0x0A, raw.count - offset) else { return nil }
            return position + (UnsafeRawPointer(found) - (base + offset))
        }
    }

    /// Reads a frame line on the happy path only: a header already read, a known verb, the next
    /// frame number, no CR before the LF. Anything else returns nil and takes ``processLine``,
    /// which reports the precise error.
    @inline(__always)
    private func fastFrame(
        _ base: UnsafeRawPointer, origin: Int, from start: Int, to end: Int
    ) -> (verb: Frame.Verb, number: Int, arguments: Int)? {
        // After the final signature no frame may follow: the slow path refuses it.
        guard header != nil, finalSignature == nil, end - start >= 5 else { return nil }
        let bytes = base.assumingMemoryBound(to: UInt8.self) + (start - origin)
        let length = end - start
        guard bytes[length - 1] != 0x0D else { return nil }
        let verb: Frame.Verb
        let verbLength: Int
        switch (bytes[0], bytes[1], bytes[2], bytes[3]) {
        case (0x52, 0x45, 0x43, 0x20): (verb, verbLength) = (.record, 3)  // "REC "
        case (0x41, 0x43, 0x4B, 0x20): (verb, verbLength) = (.ack, 3)  // "ACK "
        case (0x4E, 0x41, 0x4B, 0x20): (verb, verbLength) = (.nak, 3)  // "NAK "
        case (0x50, 0x55, 0x4C, 0x4C): (verb, verbLength) = (.pull, 4)  // "PULL"
        case (0x44, 0x45, 0x4C, 0x54): (verb, verbLength) = (.delta, 5)  // "DELT"
        default: return nil
        }
        guard verbLength + 1 < length, bytes[verbLength] == 0x20 else { return nil }
        if verbLength == 5, bytes[4] != 0x41 { return nil }  // "DELTA"
        var index = verbLength + 1
        guard bytes[index] != 0x30 else { return nil }  // no leading zero
        var number = 0
        let digitsStart = index
        while index < length, bytes[index] >= 0x30, bytes[index] <= 0x39, index - digitsStart < 18 {
            number = number * 10 + Int(bytes[index] - 0x30)
            index += 1
        }
        guard index > digitsStart, number == framesRead + 1 else { return nil }
        if index == length { return (verb, number, end) }
        guard bytes[index] == 0x20 else { return nil }
        return (verb, number, start + index + 1)
    }

    private static func isEndLine(_ line: ArraySlice<UInt8>) -> Bool {
        line.count >= 3 && line.prefix(4).elementsEqual(line.count == 3 ? "END".utf8 : "END ".utf8)
    }

    /// Whether `line` is a checkpoint: `+SUM <n> xxh3-64:<hex>` carries the checksum of every
    /// byte before its line, so a receiver can trust (and act on) what came before it.
    private static func isChecksumLine(_ line: ArraySlice<UInt8>) -> Bool {
        line.prefix(5).elementsEqual("+SUM ".utf8)
    }

    /// Whether `line` is a signature: `SIG <n> part|final ed25519:<hex>` signs every byte
    /// before its line.
    private static func isSignatureLine(_ line: ArraySlice<UInt8>) -> Bool {
        line.prefix(4).elementsEqual("SIG ".utf8)
    }

    private func checkLength(_ count: Int) throws(LineProtocolError) {
        guard count <= limits.maximumLineBytes else {
            throw LineProtocolError(
                .lineTooLong, line: linesRead + 1,
                "a line is longer than \(limits.maximumLineBytes) bytes")
        }
    }

    private func keepPartialLine(_ bytes: ArraySlice<UInt8>) throws(LineProtocolError) {
        guard !bytes.isEmpty else { return }
        try checkLength(carry.count + bytes.count)
        carry.append(contentsOf: bytes)
    }

    private func expectNothingAfterEnd(_ rest: ArraySlice<UInt8>) throws(LineProtocolError) {
        guard rest.isEmpty else {
            throw LineProtocolError(.trailingData, line: linesRead + 1, "bytes follow the END line")
        }
    }

    /// Handles one complete line (without its LF); returns true when it was the END line.
    private func processLine(
        _ line: ArraySlice<UInt8>, _ onFrame: (Frame) throws(LineProtocolError) -> Void
    ) throws(LineProtocolError) -> Bool {
        linesRead += 1
        let number = linesRead
        if line.last == 0x0D {
            throw LineProtocolError(.crlf, line: number, "the line ends in CR LF; EDTLP lines end in LF alone")
        }
        guard let header else {
            let header = try Header.parse(line, lineNumber: number)
            switch verifier {
            case .key(let key): signerKey = key
            case .fromHeader(let find): signerKey = try find(header)
            }
            self.header = header
            return false
        }
        let verbEnd = line.firstIndex(of: 0x20) ?? line.endIndex
        let verb = line[line.startIndex..<verbEnd]
        let rest = verbEnd < line.endIndex ? line[(verbEnd + 1)...] : line[line.endIndex...]
        if verb.elementsEqual("END".utf8) {
            try verifyEnd(rest, line: number, header: header)
            return true
        }
        guard let known = Frame.Verb(verb) else {
            throw LineProtocolError(
                .unknownVerb, line: number,
                "unknown verb \"\(Self.printable(verb))\": EDTLP \(EDTLP.majorVersion) frames are DELTA, REC, PULL, ACK, NAK, SIG, +NAME and END"
            )
        }
        let numberEnd = rest.firstIndex(of: 0x20) ?? rest.endIndex
        guard let frameNumber = Self.decimal(rest[rest.startIndex..<numberEnd]) else {
            throw LineProtocolError(.malformedFrame, line: number, "\(known.text) must be followed by its frame number")
        }
        guard frameNumber == framesRead + 1 else {
            throw LineProtocolError(
                .badSequence, line: number,
                "frame number \(frameNumber) where \(framesRead + 1) was due: a frame was duplicated, lost or reordered"
            )
        }
        if let finalSignature {
            throw LineProtocolError(
                .unsigned, line: number,
                "a frame follows the stream's final signature (frame \(finalSignature)): it was added by someone else")
        }
        framesRead += 1
        let arguments = numberEnd < rest.endIndex ? rest[(numberEnd + 1)...] : rest[rest.endIndex...]
        if case .signature = known {
            try verifySignature(arguments, line: number, frame: frameNumber, header: header)
        }
        if case .checkpoint = known {
            let expected = checksum.text
            guard arguments.elementsEqual(expected.utf8) else {
                throw LineProtocolError(
                    .digestMismatch, line: number,
                    "+SUM says checksum \(Self.printable(arguments)) but the bytes received give \(expected): the stream was corrupted"
                )
            }
        }
        try onFrame(Frame(verb: known, number: frameNumber, arguments: arguments, line: number))
        return false
    }

    /// Checks a `SIG` frame against the bytes before its line and the signer's key.
    private func verifySignature(
        _ arguments: ArraySlice<UInt8>, line: Int, frame: Int, header: Header
    ) throws(LineProtocolError) {
        guard let (role, signature) = StreamSignature.parse(arguments) else {
            throw LineProtocolError(.malformedFrame, line: line, "SIG must be followed by part|final ed25519:<128 hex>")
        }
        let message = StreamSignature.message(kind: header.kind, role: role, digest: checksum.sha256Digest)
        guard let signerKey, signerKey.isValidSignature(signature, for: message) else {
            throw LineProtocolError(
                .badSignature, line: line,
                "the signature does not verify against the sender's key: the stream was altered, or not signed by \(header.device ?? "its sender")"
            )
        }
        if role == .final { finalSignature = frame }
    }

    private func verifyEnd(_ arguments: ArraySlice<UInt8>, line: Int, header: Header) throws(LineProtocolError) {
        guard let finalSignature, finalSignature == framesRead else {
            throw LineProtocolError(
                .unsigned, line: line,
                "the stream does not end with its sender's final signature (SIG final): it is not the sender's whole stream"
            )
        }
        let parts = arguments.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Self.decimal(parts[0]) ?? (parts[0].elementsEqual("0".utf8) ? 0 : nil)
        else {
            throw LineProtocolError(
                .malformedFrame, line: line, "END must be followed by the frame count and the checksum")
        }
        guard count == framesRead else {
            throw LineProtocolError(
                .countMismatch, line: line,
                "END says \(count) frames but \(framesRead) were received: frames were lost or added")
        }
        let expected = checksum.text
        guard parts[1].elementsEqual(expected.utf8) else {
            throw LineProtocolError(
                .digestMismatch, line: line,
                "END says checksum \(Self.printable(parts[1])) but the bytes received give \(expected): the stream was corrupted"
            )
        }
        finishedChecksum = expected
    }

    /// A positive decimal without leading zeros, at most 18 digits.
    private static func decimal(_ token: ArraySlice<UInt8>) -> Int? {
        guard let first = token.first, first != UInt8(ascii: "0"), token.count <= 18 else { return nil }
        var value = 0
        for byte in token {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    /// At most 40 bytes of `bytes` for an error message, with anything unprintable as `?`.
    static func printable(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.prefix(40).map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }
}
