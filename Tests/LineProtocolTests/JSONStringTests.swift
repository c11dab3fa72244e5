import LineProtocol
import Replication
import Testing

/// Strings are written and read eight bytes at a time: every byte that needs escaping, and
/// every non-ASCII one, must be found wherever it falls in a word.
@Suite("JSON strings")
struct JSONStringTests {
    /// The canonical JSON of `text`, byte by byte (the rules in ``JSONPayload``).
    static func reference(_ text: String) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += Array(#"\""#.utf8)
            case UInt8(ascii: "\\"): out += Array(#"\\"#.utf8)
            case 0x08: out += Array(#"\b"#.utf8)
            case 0x0C: out += Array(#"\f"#.utf8)
            case 0x0A: out += Array(#"\n"#.utf8)
            case 0x0D: out += Array(#"\r"#.utf8)
            case 0x09: out += Array(#"\t"#.utf8)
            case 0..<0x20:
                out +=
                    Array(#"\u00"#.utf8) + Array("0123456789abcdef".utf8)[Int(byte >> 4)...Int(byte >> 4)]
                    + Array("0123456789abcdef".utf8)[Int(byte & 0xF)...Int(byte & 0xF)]
            default: out.append(byte)
            }
        }
        return out + [UInt8(ascii: "\"")]
    }

    /// Strings of 0 to 24 plain characters with `special` put at each place in turn.
    static func strings(with special: String) -> [String] {
        (0...24).flatMap { length in
            (0...length).map { place in
                String(repeating: "a", count: place) + special + String(repeating: "b", count: length - place)
            }
        }
    }

    @Test(arguments: ["\"", "\\", "\n", "\u{01}", "\u{1F}", "\t", " ", "~", "\u{7F}", "é", "€", "👧"])
    func aCharacterAnywhereInAStringIsWrittenAndReadBack(special: String) throws {
        for text in Self.strings(with: special) + Self.strings(with: special + "\"" + special) {
            var written: [UInt8] = []
            JSONPayload.write(string: text, to: &written)
            #expect(written == Self.reference(text), "writing \(text.debugDescription)")
            #expect(try JSONPayload.read(written[...]) == .string(text), "reading \(text.debugDescription)")
        }
    }

    @Test func aRawControlCharacterOrBadUTF8AnywhereIsRefused() {
        for place in 0...20 {
            let before = Array(repeating: UInt8(ascii: "a"), count: place),
                after = Array(repeating: UInt8(ascii: "b"), count: 20 - place)
            let control = [UInt8(ascii: "\"")] + before + [0x0A] + after + [UInt8(ascii: "\"")]
            #expect(throws: JSONPayload.ReadError.self, "a raw newline at \(place)") {
                try JSONPayload.read(control[...])
            }
            let broken = [UInt8(ascii: "\"")] + before + [0xC3] + after + [UInt8(ascii: "\"")]
            #expect(throws: JSONPayload.ReadError.invalidUTF8, "a broken UTF-8 sequence at \(place)") {
                try JSONPayload.read(broken[...])
            }
            let unterminated = [UInt8(ascii: "\"")] + before + after
            #expect(throws: JSONPayload.ReadError.self, "no closing quote") { try JSONPayload.read(unterminated[...]) }
        }
    }
}
