/// The first line of every stream: `EDTLP <major>.<minor> <kind> [key=value ...]`.
public struct Header: Sendable, Hashable {
    /// What a stream is for, which decides the frames it may hold.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A request body from a device: its delta, and what it asks to pull.
        case push
        /// A response body from the central endpoint: acknowledgements, rejections, pulled delta.
        case reply
        /// A bundle file: a replica's delta for carrying by hand (USB stick).
        case bundle
    }

    /// The minor version of the sender; a reader accepts any minor of its major.
    public var minorVersion: Int
    public var kind: Kind
    /// Header parameters in the order written (`device=...`). Unknown keys are kept, not refused.
    public var parameters: [(key: String, value: String)]

    public init(kind: Kind, minorVersion: Int = EDTLP.minorVersion, parameters: [(key: String, value: String)] = []) {
        self.kind = kind
        self.minorVersion = minorVersion
        self.parameters = parameters
    }

    /// The parameter naming the sender's device, `device=<device-id>`, which every stream
    /// should carry (`Protocol/PROTOCOL.md` §1.1).
    public static let deviceParameter = "device"

    /// A header of this version naming its sender's device (``deviceParameter``).
    public init(kind: Kind, device: String) {
        self.init(kind: kind, parameters: [(Self.deviceParameter, device)])
    }

    /// `counter=<n>`: on a push, the request's counter (as its `Authorization` header has it);
    /// on a reply, the counter of the request it answers.
    public static let counterParameter = "counter"
    /// `centre=<identity>`: the centre a push is meant for, or the centre that wrote a reply
    /// (``SyncContract/centreIdentity(publicKey:)``).
    public static let centreParameter = "centre"
    /// `key=<64 hex>`: on a bundle, the Ed25519 public key of the device that signed it.
    public static let keyParameter = "key"
    /// `cert=<128 hex>`: on a reply, the centre's certificate of the device it answers; on a
    /// bundle, its device's certificate from its centre (``SyncContract/deviceCertificateMessage(centre:device:key:)``).
    public static let certificateParameter = "cert"

    /// The request counter the header names.
    public var counter: UInt64? {
        // Decimal without a sign or leading zeros: one spelling per counter.
        guard let text = self[Self.counterParameter], !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            text == "0" || text.first != "0"
        else { return nil }
        return UInt64(text)
    }
    /// The centre the header names.
    public var centre: String? { self[Self.centreParameter] }

    /// The value of the first parameter named `key`.
    public subscript(key: String) -> String? { parameters.first { $0.key == key }?.value }

    /// The sender's device, as the header's ``deviceParameter`` names it.
    public var device: String? { self[Self.deviceParameter] }

    public static func == (lhs: Header, rhs: Header) -> Bool {
        lhs.kind == rhs.kind && lhs.minorVersion == rhs.minorVersion
            && lhs.parameters.map(\.key) == rhs.parameters.map(\.key)
            && lhs.parameters.map(\.value) == rhs.parameters.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(minorVersion)
        for parameter in parameters {
            hasher.combine(parameter.key)
            hasher.combine(parameter.value)
        }
    }

    /// The header line, without its LF.
    var line: String {
        var text = "\(EDTLP.name) \(EDTLP.majorVersion).\(minorVersion) \(kind.rawValue)"
        for parameter in parameters { text += " \(parameter.key)=\(parameter.value)" }
        return text
    }

    /// The header of the stream starting with `bytes` (its first line, which must end within the
    /// first 4 KiB), parsed as a decoder would, before anything else of the stream is read: for a
    /// receiver that must know who signed a stream before it can choose the key to verify it with.
    /// Nil when that line is not an EDTLP header.
    public static func leading(_ bytes: ArraySlice<UInt8>) -> Header? {
        let start = bytes.prefix(4_096)
        guard let end = start.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        return try? parse(start[..<end], lineNumber: 1)
    }

    /// Parses a header line (without LF).
    static func parse(_ line: ArraySlice<UInt8>, lineNumber: Int) throws(LineProtocolError) -> Header {
        guard let text = String(validating: line, as: UTF8.self) else {
            throw LineProtocolError(
                .notEDTLP, line: lineNumber, "the first line is not UTF-8 text, so this is not an EDTLP stream")
        }
        let tokens = text.split(separator: " ", omittingEmptySubsequences: false)
        guard tokens.first == Substring(EDTLP.name) else {
            throw LineProtocolError(
                .notEDTLP, line: lineNumber,
                "the first line must start with \"\(EDTLP.name) \"; this is not an EDTLP stream")
        }
        guard tokens.count >= 3 else {
            throw LineProtocolError(
                .malformedFrame, line: lineNumber,
                "the header needs a version and a stream kind: EDTLP 2.0 push|reply|bundle")
        }
        let version = tokens[1].split(separator: ".", omittingEmptySubsequences: false)
        guard version.count == 2, let major = Self.number(version[0]), let minor = Self.number(version[1]) else {
            throw LineProtocolError(.malformedFrame, line: lineNumber, "version \"\(tokens[1])\" is not MAJOR.MINOR")
        }
        guard major == EDTLP.majorVersion else {
            throw LineProtocolError(
                .unsupportedVersion, line: lineNumber,
                "this stream is EDTLP major version \(major); this program speaks only version \(EDTLP.majorVersion): upgrade the older side"
            )
        }
        guard let kind = Kind(rawValue: String(tokens[2])) else {
            throw LineProtocolError(
                .malformedFrame, line: lineNumber,
                "unknown stream kind \"\(tokens[2])\": expected push, reply or bundle")
        }
        var parameters: [(key: String, value: String)] = []
        for token in tokens.dropFirst(3) {
            guard let parameter = Self.parameter(token) else {
                throw LineProtocolError(
                    .malformedFrame, line: lineNumber, "header parameter \"\(token)\" is not key=value")
            }
            parameters.append(parameter)
        }
        return Header(kind: kind, minorVersion: minor, parameters: parameters)
    }

    /// `key=value`, key lowercase letters, digits and `-`, value printable ASCII without spaces.
    static func parameter(_ token: Substring) -> (key: String, value: String)? {
        guard let equals = token.firstIndex(of: "=") else { return nil }
        let key = token[..<equals]
        let value = token[token.index(after: equals)...]
        guard !key.isEmpty,
            key.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }),
            !value.isEmpty, value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return nil }
        return (String(key), String(value))
    }

    private static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 6, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            text == "0" || text.first != "0"
        else { return nil }
        return Int(text)
    }
}
