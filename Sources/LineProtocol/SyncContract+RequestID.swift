/// The request id of a sync or relay request (`X-Request-Id`, `Protocol/PROTOCOL.md` §4.8): a
/// name for one HTTP request that the device makes up, that the centre logs every line about the
/// request under and echoes in its answer, and that the device prints when a sync fails, so an
/// administrator can find what the centre logged about it. It is not signed and proves nothing;
/// a centre takes a well-formed one as it is given and makes up its own otherwise.
extension SyncContract {
    /// The HTTP header carrying it, on a request and on its answer: `X-Request-Id`.
    public static let requestIDHeader = "X-Request-Id"

    /// The most bytes a request id may have.
    public static let maximumRequestIDBytes = 128

    /// Whether `text` is a request id a centre takes as given: 1 to ``maximumRequestIDBytes`` of
    /// `A-Z a-z 0-9 . _ : -`, so that it goes into a log line and a header as it is.
    public static func isWellFormedRequestID(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= maximumRequestIDBytes
            && text.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2E || byte == 0x5F || byte == 0x3A || byte == 0x2D
            }
    }

    /// A new random request id: 16 lowercase hex digits (64 random bits).
    public static func randomRequestID() -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
