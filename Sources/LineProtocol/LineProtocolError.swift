/// Why a stream was refused: a stable code, the line it was found on, and a detail for people.
///
/// Codes are part of the protocol (`Protocol/PROTOCOL.md`, "Errors") and safe to use as metric
/// labels or in scripts; the detail text may change.
public struct LineProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The stable error codes of EDTLP 2.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The input held no bytes at all.
        case emptyInput = "empty-input"
        /// The first line is not an EDTLP header.
        case notEDTLP = "not-edtlp"
        /// The header names a major version this implementation does not speak.
        case unsupportedVersion = "unsupported-version"
        /// A line is longer than the limit.
        case lineTooLong = "line-too-long"
        /// A line ends in CR LF; EDTLP lines end in LF alone.
        case crlf = "crlf"
        /// Bytes that are not valid UTF-8.
        case invalidUTF8 = "invalid-utf8"
        /// A verb this version does not define (and not an ignorable `+VERB`).
        case unknownVerb = "unknown-verb"
        /// A frame with the wrong number or shape of arguments.
        case malformedFrame = "malformed-frame"
        /// A frame number that is not the next one: a duplicated, lost or reordered frame.
        case badSequence = "bad-sequence"
        /// A frame not allowed in this kind of stream or at this point of it.
        case unexpectedFrame = "unexpected-frame"
        /// A JSON payload that is not valid, or not of the shape the frame requires.
        case invalidPayload = "invalid-payload"
        /// A device id, record id, field path, dot or vector that is not well formed.
        case invalidIdentifier = "invalid-identifier"
        /// The input ended inside a line.
        case truncated = "truncated"
        /// The input ended without an `END` line.
        case missingEnd = "missing-end"
        /// The `END` line's frame count differs from the frames received.
        case countMismatch = "count-mismatch"
        /// The `END` line's checksum differs from the bytes received.
        case digestMismatch = "digest-mismatch"
        /// Bytes after the `END` line.
        case trailingData = "trailing-data"
        /// A `SIG` frame whose signature does not verify against the sender's key, or a stream
        /// whose signer is not the one expected.
        case badSignature = "bad-signature"
        /// A stream whose last frame is not its `SIG final` (or with frames after it).
        case unsigned = "unsigned"
    }

    /// The stable code.
    public let code: Code
    /// The 1-based line the problem was found on.
    public let line: Int
    /// What exactly was wrong, for people.
    public let detail: String

    public init(_ code: Code, line: Int, _ detail: String) {
        self.code = code
        self.line = line
        self.detail = detail
    }

    /// `line 3: invalid-payload: ...`
    public var description: String { "line \(line): \(code.rawValue): \(detail)" }
}
