public import Replication

/// Writing: canonical JSON (see ``JSONPayload``).
extension JSONPayload {
    /// Appends the canonical JSON of `value` to `out`.
    public static func write(_ value: FieldValue, to out: inout [UInt8]) {
        switch value {
        case .null: append("null", to: &out)
        case .bool(let flag): append(flag ? "true" : "false", to: &out)
        case .integer(let number): out.append(contentsOf: String(number).utf8)
        case .double(let number): writeNumber(number, to: &out)
        case .string(let text): write(string: text, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) })
                .enumerated()
            {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(string: member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeNumber(_ number: Double, to out: inout [UInt8]) {
        if number == number.rounded(), let whole = Int64(exactly: number) {
            out.append(contentsOf: String(whole).utf8)
        } else if number.isFinite {
            out.append(contentsOf: number.description.utf8)
        } else {
            out.append(contentsOf: "null".utf8)  // unreachable for values that passed validation
        }
    }

    /// Appends `text` as a JSON string.
    public static func write(string text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // A native string's bytes are read where they are; another (bridged) is copied first.
        let written: Void? = text.utf8.withContiguousStorageIfAvailable { bytes in
            appendQuoted(bytes, to: &out)
        }
        if written == nil {
            var text = text
            text.withUTF8 { appendQuoted($0, to: &out) }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends the bytes of a string's content, escaped where they must be.
    @inline(__always)
    private static func appendQuoted(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        if JSONByteScanning.needsEscaping(bytes) {
            appendEscaped(bytes, to: &out)
        } else {
            out.append(contentsOf: bytes)  // the common case: copied in one go
        }
    }

    /// Appends the bytes of a literal.
    @inline(__always)
    static func append(_ literal: StaticString, to out: inout [UInt8]) {
        literal.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    /// Appends the UTF-8 of `text` as it is (no escaping: for identifiers and notations).
    @inline(__always)
    static func append(utf8 text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }

    private static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): append("\\\"", to: &out)
            case UInt8(ascii: "\\"): append("\\\\", to: &out)
            case 0x08: append("\\b", to: &out)
            case 0x0C: append("\\f", to: &out)
            case 0x0A: append("\\n", to: &out)
            case 0x0D: append("\\r", to: &out)
            case 0x09: append("\\t", to: &out)
            case 0..<0x20:
                let hex: StaticString = "0123456789abcdef"
                append("\\u00", to: &out)
                out.append(hex.utf8Start[Int(byte >> 4)])
                out.append(hex.utf8Start[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
    }
}
