import LineProtocol
import Replication
import TestSupport
import Testing

/// A payload read unread-first (``UnreadRecord``) is handed back as it came only when it is
/// exactly the record's canonical encoding, so the centre can store it without encoding again.
@Suite("Canonical payloads kept as they came")
struct CanonicalPayloadTests {
    /// The `REC` payloads of `lines` (each `RECORD-ID JSON`), read with the unread-record decoder.
    func unread(_ lines: [String]) throws -> [UnreadRecord] {
        var text = "EDTLP 2.0 push device=edt-laptop-a\nDELTA 1 base=- knowledge=-\n"
        for (number, line) in lines.enumerated() { text += "REC \(number + 2) \(line)\n" }
        var records: [UnreadRecord] = []
        try MessageDecoder(verifier: TestKeys.verifier).decode(Array(text.utf8)[...]) {
            records.append($0)
        } _: { _, _ in
        }
        return records
    }

    /// Whether `value` holds a number with a fraction (written in Swift's form, which the reader
    /// does not vouch for).
    static func holdsFraction(_ value: FieldValue) -> Bool {
        switch value {
        case .double: true
        case .array(let items): items.contains(where: holdsFraction)
        case .object(let members): members.values.contains(where: holdsFraction)
        default: false
        }
    }

    @Test func whatTheEncoderWritesIsKeptByteForByte() throws {
        var random = SeededGenerator(seed: 41)
        var reader = UnreadRecord.Reader()  // one through all rounds, as through a stream
        var kept = 0
        for round in 0..<800 {
            let record = RoundTripTests.record(&random)
            let encoded = RecordCoding.encode(record)
            let line = record.id.rawValue + " " + String(decoding: encoded, as: UTF8.self)
            let contents = try reader.read(try #require(try unread([line]).first))
            let (read, keptBytes) = (contents.record, contents.canonicalPayload)
            let canonical = keptBytes.map(Array.init)
            #expect(read == record, "round \(round)")
            let fractions =
                record.fields.contains { $0.register.values.contains(where: Self.holdsFraction) }
                || record.entries.contains { Self.holdsFraction($0.payload) }
            if fractions {
                #expect(canonical == nil || canonical == encoded, "round \(round)")
            } else {
                #expect(canonical == encoded, "round \(round): a canonical payload must be kept")
                kept += 1
            }
        }
        #expect(kept > 100)
    }

    @Test func anythingTheEncoderWouldWriteDifferentlyIsEncodedAgain() throws {
        var reader = UnreadRecord.Reader()
        let canonical =
            #"{"entries":[{"dot":"edt-laptop-a:2","kind":"note","payload":{"a":1,"b":"x"}}],"fields":[{"context":"edt-laptop-a:1","path":"concern","values":[{"dot":"edt-laptop-a:1","value":"left alone"}]}]}"#
        let variants: [(String, String)] = [
            (
                "top-level keys out of order",
                #"{"fields":[{"context":"edt-laptop-a:1","path":"concern","values":[{"dot":"edt-laptop-a:1","value":"left alone"}]}],"entries":[{"dot":"edt-laptop-a:2","kind":"note","payload":{"a":1,"b":"x"}}]}"#
            ),
            (
                "an unknown key",
                #"{"entries":[{"dot":"edt-laptop-a:2","kind":"note","payload":{"a":1,"b":"x"}}],"fields":[{"context":"edt-laptop-a:1","path":"concern","values":[{"dot":"edt-laptop-a:1","value":"left alone"}]}],"later":true}"#
            ),
            (
                "field keys out of order",
                #"{"entries":[{"dot":"edt-laptop-a:2","kind":"note","payload":{"a":1,"b":"x"}}],"fields":[{"path":"concern","context":"edt-laptop-a:1","values":[{"dot":"edt-laptop-a:1","value":"left alone"}]}]}"#
            ),
            (
                "value keys out of order",
                #"{"entries":[{"dot":"edt-laptop-a:2","kind":"note","payload":{"a":1,"b":"x"}}],"fields":[{"context":"edt-laptop-a:1","path":"concern","values":[{"value":"left alone","dot":"edt-laptop-a:1"}]}]}"#
            ),
            (
                "entry keys out of order",
                #"{"entries":[{"kind":"note","dot":"edt-laptop-a:2","payload":{"a":1,"b":"x"}}],"fields":[{"context":"edt-laptop-a:1","path":"concern","values":[{"dot":"edt-laptop-a:1","value":"left alone"}]}]}"#
            ),
            (
                "object keys out of order",
                #"{"entries":[{"dot":"edt-laptop-a:2","kind":"note","payload":{"b":"x","a":1}}],"fields":[{"context":"edt-laptop-a:1","path":"concern","values":[{"dot":"edt-laptop-a:1","value":"left alone"}]}]}"#
            ),
            (
                "an escaped solidus",
                #"{"entries":[{"dot":"edt-laptop-a:2","kind":"note","payload":{"a":1,"b":"x"}}],"fields":[{"context":"edt-laptop-a:1","path":"concern","values":[{"dot":"edt-laptop-a:1","value":"left\/alone"}]}]}"#
            ),
            (
                "a letter escaped",
                #"{"entries":[{"dot":"edt-laptop-a:2","kind":"note","payload":{"a":1,"b":"\u0078"}}],"fields":[{"context":"edt-laptop-a:1","path":"concern","values":[{"dot":"edt-laptop-a:1","value":"left alone"}]}]}"#
            ),
            (
                "a newline as \\u000a",
                #"{"entries":[{"dot":"edt-laptop-a:2","kind":"note","payload":{"a":1,"b":"x\u000ay"}}],"fields":[{"context":"edt-laptop-a:1","path":"concern","values":[{"dot":"edt-laptop-a:1","value":"left alone"}]}]}"#
            ),
            (
                "upper-case hex",
                #"{"entries":[{"dot":"edt-laptop-a:2","kind":"note","payload":{"a":1,"b":"x\u001Fy"}}],"fields":[{"context":"edt-laptop-a:1","path":"concern","values":[{"dot":"edt-laptop-a:1","value":"left alone"}]}]}"#
            ),
            (
                "minus zero",
                #"{"entries":[{"dot":"edt-laptop-a:2","kind":"note","payload":{"a":-0,"b":"x"}}],"fields":[{"context":"edt-laptop-a:1","path":"concern","values":[{"dot":"edt-laptop-a:1","value":"left alone"}]}]}"#
            ),
            (
                "a whole number with a point",
                #"{"entries":[{"dot":"edt-laptop-a:2","kind":"note","payload":{"a":1.0,"b":"x"}}],"fields":[{"context":"edt-laptop-a:1","path":"concern","values":[{"dot":"edt-laptop-a:1","value":"left alone"}]}]}"#
            ),
            (
                "an exponent",
                #"{"entries":[{"dot":"edt-laptop-a:2","kind":"note","payload":{"a":1e0,"b":"x"}}],"fields":[{"context":"edt-laptop-a:1","path":"concern","values":[{"dot":"edt-laptop-a:1","value":"left alone"}]}]}"#
            ),
            (
                "a key written with an escape",
                #"{"entries":[{"dot":"edt-laptop-a:2","kind":"note","payload":{"a":1,"b":"x"}}],"fields":[{"context":"edt-laptop-a:1","p\u0061th":"concern","values":[{"dot":"edt-laptop-a:1","value":"left alone"}]}]}"#
            ),
            (
                "a context short of its value",
                #"{"entries":[{"dot":"edt-laptop-a:2","kind":"note","payload":{"a":1,"b":"x"}}],"fields":[{"context":"-","path":"concern","values":[{"dot":"edt-laptop-a:1","value":"left alone"}]}]}"#
            ),
        ]
        let expected = try reader.read(try #require(try unread(["case-1 " + canonical]).first))
        #expect(expected.canonicalPayload.map(Array.init) == Array(canonical.utf8))
        for (what, payload) in variants {
            let contents = try reader.read(try #require(try unread(["case-1 " + payload]).first, "\(what)"))
            let (record, kept) = (contents.record, contents.canonicalPayload)
            #expect(kept == nil, "\(what): must be encoded again")
            #expect(RecordCoding.encode(record) != Array(payload.utf8), "\(what)")
        }
    }

    @Test func aKeyTwiceInOneObjectIsRefusedHoweverItIsWritten() throws {
        let field =
            #""context":"edt-laptop-a:1","path":"concern","values":[{"dot":"edt-laptop-a:1","value":"left alone"}]"#
        let payloads: [(String, String)] = [
            ("fields twice", #"{"entries":[],"fields":[{"# + field + #"}],"fields":[]}"#),
            ("path twice", #"{"entries":[],"fields":[{"# + field + #","path":"concern"}]}"#),
            ("path twice, once escaped", #"{"entries":[],"fields":[{"# + field + #","p\u0061th":"concern"}]}"#),
            (
                "dot twice",
                #"{"entries":[],"fields":[{"context":"edt-laptop-a:1","path":"concern","values":[{"dot":"edt-laptop-a:1","dot":"edt-laptop-a:1","value":1}]}]}"#
            ),
            ("an unknown key twice", #"{"entries":[],"fields":[{"# + field + #"}],"later":1,"later":2}"#),
        ]
        var reader = UnreadRecord.Reader()
        let once = try #require(try unread([#"case-1 {"entries":[],"fields":[{"# + field + #"}]}"#]).first)
        #expect(try reader.read(once).canonicalPayload != nil, "the payload without repeats is read")
        for (what, payload) in payloads {
            let record = try #require(try unread(["case-1 " + payload]).first, "\(what)")
            #expect(throws: LineProtocolError.self, "\(what)") { try reader.read(record) }
        }
    }

    @Test func fieldsAndValuesOutOfOrderAreEncodedAgain() throws {
        var reader = UnreadRecord.Reader()
        let outOfOrder = [
            // Fields not by path.
            #"{"entries":[],"fields":[{"context":"edt-laptop-a:2","path":"concern","values":[{"dot":"edt-laptop-a:2","value":"b"}]},{"context":"edt-laptop-a:1","path":"channel","values":[{"dot":"edt-laptop-a:1","value":"phone"}]}]}"#,
            // Siblings not by dot.
            #"{"entries":[],"fields":[{"context":"edt-laptop-a:1,edt-laptop-b:1","path":"concern","values":[{"dot":"edt-laptop-b:1","value":"b"},{"dot":"edt-laptop-a:1","value":"a"}]}]}"#,
            // Entries not by dot.
            #"{"entries":[{"dot":"edt-laptop-a:3","kind":"note","payload":1},{"dot":"edt-laptop-a:2","kind":"note","payload":2}],"fields":[]}"#,
        ]
        for payload in outOfOrder {
            let contents = try reader.read(try #require(try unread(["case-1 " + payload]).first))
            let (record, kept) = (contents.record, contents.canonicalPayload)
            #expect(kept == nil, "\(payload)")
            let again = RecordCoding.encode(record)
            #expect(again != Array(payload.utf8))
            // What is encoded again is canonical, and kept when read back.
            let line = "case-1 " + String(decoding: again, as: UTF8.self)
            let reread = try reader.read(try #require(try unread([line]).first))
            #expect(reread.canonicalPayload.map(Array.init) == again)
        }
    }
}
