import LineProtocol
import Replication
import Testing

/// The JSON reader walks every object and every array with one loop each, whitespace allowed or
/// not: documents people write (whitespace allowed) read as their compact form does, and every
/// refusal names what is wrong.
@Suite("JSON reading")
struct JSONReadingTests {
    static func read(_ text: String, allowingWhitespace: Bool = false) throws(JSONPayload.ReadError) -> FieldValue {
        try JSONPayload.read(Array(text.utf8)[...], allowingWhitespace: allowingWhitespace)
    }

    /// The reason an invalid document is refused with, or nil when it is read.
    static func refusal(_ text: String, allowingWhitespace: Bool = false) -> String? {
        do throws(JSONPayload.ReadError) {
            _ = try read(text, allowingWhitespace: allowingWhitespace)
            return nil
        } catch {
            if case .invalid(let why) = error { return why }
            return "\(error)"
        }
    }

    @Test func whitespaceWhereAllowedReadsAsTheCompactForm() throws {
        let compact = #"{"a":[1,2,{"x":null}],"b":{},"c":[],"d":"text with spaces"}"#
        let spaced =
            " {\n\t\"a\" : [ 1 , 2 , { \"x\" :null } ] ,\r\n \"b\" : { } , \"c\":[ ] ,\"d\" : \"text with spaces\" } \n"
        let expected = try Self.read(compact)
        #expect(try Self.read(spaced, allowingWhitespace: true) == expected)
        #expect(try Self.read(compact, allowingWhitespace: true) == expected)
        #expect(Self.refusal(spaced) != nil, "wire payloads have no whitespace")
        #expect(Self.refusal(#"{"a" :1}"#) != nil)
        #expect(Self.refusal(#"[1 ,2]"#) != nil)
    }

    @Test func whitespaceInsideATokenOrBetweenTwoIsRefusedAndStringsKeepTheirs() throws {
        for text in [
            "tr ue", "[1 2]", "- 1", #"{"a":nu ll}"#, "1 2", "[1.5 e3]", #"["a" "b"]"#, "[true 1]", #"{"a":1 "b":2}"#,
        ] {
            #expect(Self.refusal(text, allowingWhitespace: true) != nil, "\(text)")
        }
        #expect(try Self.read(#" " a \" b\t" "#, allowingWhitespace: true) == .string(" a \" b\t"))
        #expect(Self.refusal("\"a\nb\"", allowingWhitespace: true) != nil, "a raw newline in a string is refused still")
    }

    @Test func aRefusalOfADocumentWithWhitespaceNamesTheOffsetInIt() {
        #expect(Self.refusal("{\n  \"a\": 1,\n  \"b\" 2\n}", allowingWhitespace: true) == "expected : at offset 18")
        #expect(
            Self.refusal("[1, 2]  x", allowingWhitespace: true) == "unexpected bytes after the JSON value at offset 8")
        #expect(Self.refusal("  \n ", allowingWhitespace: true) == "expected a value at offset 4")
    }

    @Test func eachRefusalSaysWhatIsWrong() {
        for (text, reason) in [
            (#"{"a":1 "b":2}"#, "expected , or }"),
            (#"{"a":1"#, "unterminated object"),
            (#"{"a" "#, "expected :"),
            (#"{1:2}"#, "expected a key"),
            (#"[1 2]"#, "expected , or ]"),
            (#"[1,2"#, "unterminated array"),
            (#"{"a":1,"b":2,"a":3}"#, "duplicate key \"a\""),
        ] {
            for allowingWhitespace in [false, true] {
                let why = Self.refusal(text, allowingWhitespace: allowingWhitespace)
                #expect(why?.hasPrefix(reason) == true, "\(text): \(why ?? "read")")
            }
        }
        #expect(Self.refusal(" [ 1 , 2 ", allowingWhitespace: true)?.hasPrefix("unterminated array") == true)
        #expect(Self.refusal(" { \"a\" : 1 , ", allowingWhitespace: true)?.hasPrefix("expected a key") == true)
    }

    @Test func aLargeObjectIsReadAndARepeatAnywhereInItIsRefused() throws {
        let keys = (0..<500).map { "key\($0)" }
        let members = keys.map { "\"\($0)\":\($0.count)" }
        guard case .object(let read) = try Self.read("{" + members.joined(separator: ",") + "}") else {
            Issue.record("not an object")
            return
        }
        #expect(read.count == 500)
        #expect(
            Self.refusal("{" + (members + [members[250]]).joined(separator: ",") + "}")?.hasPrefix(
                "duplicate key \"key250\"") == true)
    }

    @Test func aRecordWithManyUnknownKeysIsReadAndARepeatedOneRefused() throws {
        let field =
            #""fields":[{"context":"edt-laptop-a:1","path":"concern","values":[{"dot":"edt-laptop-a:1","value":"left alone"}]}]"#
        let unknown = (0..<40).map { "\"later\($0)\":\($0)" }
        func decode(_ payload: String) throws(LineProtocolError) -> [Message] {
            let text = "EDTLP 2.0 push device=edt-laptop-a\nDELTA 1 base=- knowledge=-\nREC 2 case-1 \(payload)\n"
            var messages: [Message] = []
            try MessageDecoder(verifier: TestKeys.verifier).decode(Array(text.utf8)) { message, _ in
                messages.append(message)
            }
            return messages
        }
        #expect(try decode(#"{"entries":[],"# + field + "," + unknown.joined(separator: ",") + "}").count == 2)
        #expect(throws: LineProtocolError.self) {
            try decode(#"{"entries":[],"# + field + "," + (unknown + [unknown[33]]).joined(separator: ",") + "}")
        }
    }
}
