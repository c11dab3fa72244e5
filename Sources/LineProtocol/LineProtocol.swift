/// # LineProtocol
///
/// The EDT line protocol (EDTLP): the plain text wire format between laptops, the central
/// endpoint and other authorities, and the format of bundle files. The specification is
/// `Protocol/PROTOCOL.md`; this module is its reference implementation. Pure Swift, no I/O.
///
/// - ``FrameDecoder`` turns bytes, in chunks of any size, into frames: it enforces the line
///   length limit while reading, checks the header, sequence numbers, frame count and checksum,
///   and never buffers more than one line.
/// - ``MessageDecoder`` turns frames into typed ``Message``s (record deltas, pull requests,
///   answers to pushed records, checkpoints), validating every token and payload.
/// - ``StreamEncoder`` writes a stream: header, numbered frames, the sender's signatures (`SIG`,
///   ``StreamSignature``) and the `END` line; decoders verify the signatures before anything
///   before them is handed on as trusted (``StreamVerifier``).
/// - ``SyncContract`` and ``SyncAuthorization`` are the HTTP side of a sync that a device and
///   the central endpoint share: paths, media type, the start-over answer, the signed header.
///
/// Every failure is a ``LineProtocolError`` with a stable code and the line it was found on.
public enum EDTLP {
    /// The protocol's name, the first token of every stream.
    public static let name = "EDTLP"
    /// The major version this implementation speaks. Streams of another major are refused.
    public static let majorVersion = 2
    /// The minor version this implementation writes. Any minor of the same major is read.
    public static let minorVersion = 0
    /// The checksum algorithm named on `END` lines.
    public static let checksumAlgorithm = "xxh3-64"
}

/// Bounds that keep a decoder's memory and work finite whatever it is fed.
public struct Limits: Sendable, Hashable {
    /// The longest line accepted, in bytes, not counting its LF.
    public var maximumLineBytes: Int
    /// The deepest nesting of arrays and objects accepted in a JSON payload.
    public var maximumJSONDepth: Int

    /// 1 MiB lines and 32 levels of JSON nesting, the limits of `Protocol/PROTOCOL.md`.
    public static let standard = Limits(maximumLineBytes: 1 << 20, maximumJSONDepth: 32)

    public init(maximumLineBytes: Int, maximumJSONDepth: Int) {
        self.maximumLineBytes = maximumLineBytes
        self.maximumJSONDepth = maximumJSONDepth
    }
}
