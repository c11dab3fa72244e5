import LineProtocol
import Replication
import TestSupport
import Testing

/// Random messages encoded then decoded, in random chunks, come back equal.
@Suite("Round trips and limits")
struct RoundTripTests {
    typealias Generator = SeededGenerator

    static let alphabet: [String] = [
        "a", "Z", "0", " ", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{7}", "\u{1F}", "\u{7F}",
        "é", "Ł", "€", "😀", "\u{2028}", "/", "{", "}", ",", ":", "=", "e\u{301}",
    ]

    static func text(_ random: inout Generator) -> String {
        (0..<Int.random(in: 0...24, using: &random)).map { _ in alphabet.randomElement(using: &random)! }.joined()
    }

    static func value(_ random: inout Generator, depth: Int = 0) -> FieldValue {
        switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .integer(Int64.random(in: Int64.min...Int64.max, using: &random))
        case 3:
            let number =
                Double.random(in: -1e12...1e12, using: &random) / Double(Int.random(in: 1...1000, using: &random))
            return (try? FieldValue.number(number)) ?? .null
        case 4: return .string(text(&random))
        case 5: return .array((0..<Int.random(in: 0...3, using: &random)).map { _ in value(&random, depth: depth + 1) })
        default:
            var members: [String: FieldValue] = [:]
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                members[text(&random)] = value(&random, depth: depth + 1)
            }
            return .object(members)
        }
    }

    static func device(_ random: inout Generator) -> DeviceID {
        (try? DeviceID(["edt-laptop-a", "edt-laptop-b", "central", "x.y_z-1"].randomElement(using: &random)!))!
    }

    static func dot(_ random: inout Generator) -> Dot {
        (try? Dot(device(&random), UInt64.random(in: 1...Dot.maximumCounter, using: &random)))!
    }

    static func vector(_ random: inout Generator) -> VersionVector {
        var vector = VersionVector()
        for _ in 0..<Int.random(in: 0...3, using: &random) { vector.insert(dot(&random)) }
        return vector
    }

    static func record(_ random: inout Generator) -> Record {
        let id = (try? RecordID("case-\(Int.random(in: 0...999, using: &random))"))!
        var fields: [Record.Field] = []
        for index in 0..<Int.random(in: 0...4, using: &random) {
            let siblings = (0..<Int.random(in: 1...3, using: &random)).map { _ in
                MultiValueRegister.Sibling(dot: dot(&random), value: value(&random))
            }
            let register = MultiValueRegister(siblings: siblings, context: vector(&random))!
            fields.append(
                Record.Field(
                    path: (try? FieldPath("f\(index).g_\(Int.random(in: 0...9, using: &random))"))!, register: register)
            )
        }
        var entries: [Entry] = []
        for _ in 0..<Int.random(in: fields.isEmpty ? 1...3 : 0...3, using: &random) {
            entries.append(
                (try? Entry(
                    dot: dot(&random), kind: ["note", "decision", "conversation"].randomElement(using: &random)!,
                    payload: value(&random)))!)
        }
        return Record(id: id, fields: fields, entries: entries)
    }

    static func messages(_ random: inout Generator, kind: Header.Kind) -> [Message] {
        var messages: [Message] = []
        if kind == .reply {
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                let id = (try? RecordID("case-\(Int.random(in: 0...9, using: &random))"))!
                if Bool.random(using: &random) {
                    messages.append(.answer(.stored(id, cursor: Cursor(vector(&random)))))
                } else {
                    messages.append(
                        .answer(
                            .refused(
                                id, [.invalid, .forbidden, .other("new-reason")].randomElement(using: &random)!,
                                message: text(&random))))
                }
            }
        }
        for _ in 0..<Int.random(in: 0...2, using: &random) {
            messages.append(.delta(base: vector(&random), knowledge: vector(&random)))
            for _ in 0..<Int.random(in: 0...3, using: &random) { messages.append(.record(record(&random))) }
            if Bool.random(using: &random) { messages.append(.ignorable(verb: "+NOTE", arguments: "k=v")) }
        }
        if kind == .push, Bool.random(using: &random) { messages.append(.pull(since: Cursor(vector(&random)))) }
        if kind == .reply, Bool.random(using: &random) { messages.append(.more) }
        return messages
    }

    @Test func randomStreamsRoundTripInRandomChunks() throws {
        var random = Generator(seed: 2027)
        for round in 0..<1_500 {
            let kind = Header.Kind.allCases.randomElement(using: &random)!
            let header = Header(kind: kind, parameters: [("device", Self.device(&random).rawValue)])
            let messages = Self.messages(&random, kind: kind)
            let bytes = StreamEncoder.encode(header: header, messages: messages, signer: TestKeys.signer)
            #expect(!bytes.dropLast().contains(0x0D), "no raw CR on the wire")
            let decoded = try DecodedStream(
                bytes, verifier: TestKeys.verifier, chunkSize: Int.random(in: 1...512, using: &random))
            #expect(decoded.header == header, "round \(round)")
            #expect(decoded.content == messages, "round \(round)")
            #expect(decoded.messages.last == .signature(.final), "every stream ends with its final signature")
            // Encoding is canonical: what was decoded encodes to the same bytes.
            #expect(
                StreamEncoder.encode(header: decoded.header, messages: decoded.content, signer: TestKeys.signer)
                    == bytes)
        }
    }

    @Test func aStreamTakenInPiecesIsTheSameStream() throws {
        var random = Generator(seed: 5)
        let header = Header(kind: .bundle, parameters: [("device", "edt-laptop-a")])
        let messages = Self.messages(&random, kind: .bundle) + Self.messages(&random, kind: .bundle)
        let encoder = StreamEncoder(header: header, signer: TestKeys.signer)
        var pieces: [UInt8] = []
        for message in messages {
            encoder.append(message)
            pieces += encoder.takeBytes()
        }
        pieces += encoder.finish()
        #expect(pieces == StreamEncoder.encode(header: header, messages: messages, signer: TestKeys.signer))
        #expect(try DecodedStream(pieces, verifier: TestKeys.verifier).content == messages)
    }

    @Test func aLineWithNoEndIsRefusedAsSoonAsItPassesTheLimit() throws {
        let limits = Limits(maximumLineBytes: 1000, maximumJSONDepth: 8)
        let decoder = FrameDecoder(limits: limits, verifier: TestKeys.verifier)
        try decoder.decode(Array("EDTLP 2.0 bundle\nDELTA 1 base=- knowledge=-\nREC 2 x ".utf8)) { _ in }
        var fed = 0
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 100)
        #expect(throws: LineProtocolError(.lineTooLong, line: 3, "a line is longer than 1000 bytes")) {
            for _ in 0..<1_000_000 {  // 100 MB if nothing stopped it
                try decoder.decode(chunk) { _ in }
                fed += chunk.count
            }
        }
        #expect(fed < 2_000, "the decoder must refuse the line once it passes the limit, not buffer on")
    }

    @Test func aLineExactlyAtTheLimitIsAccepted() throws {
        let header = Header(kind: .bundle)
        let bytes = StreamEncoder.encode(
            header: header, messages: [.ignorable(verb: "+PAD", arguments: String(repeating: "p", count: 200))],
            signer: TestKeys.signer)
        let longest = bytes.split(separator: 0x0A).map(\.count).max() ?? 0
        let exact = Limits(maximumLineBytes: longest, maximumJSONDepth: 8)
        #expect(try DecodedStream(bytes, verifier: TestKeys.verifier, limits: exact).content.count == 1)
        let short = Limits(maximumLineBytes: longest - 1, maximumJSONDepth: 8)
        #expect(throws: LineProtocolError.self) { try DecodedStream(bytes, verifier: TestKeys.verifier, limits: short) }
    }

    @Test func errorsNameTheirCodeAndLine() {
        let error = LineProtocolError(.digestMismatch, line: 12, "the stream was corrupted")
        #expect(error.description == "line 12: digest-mismatch: the stream was corrupted")
        #expect(Set(LineProtocolError.Code.allCases.map(\.rawValue)).count == LineProtocolError.Code.allCases.count)
    }

    @Test func vectorsAndDotsHaveOneSpelling() {
        #expect(Notation.vector("-") == VersionVector())
        #expect(Notation.vector("a:1,b:2") != nil)
        for bad in [
            "", "a:1,a:2", "b:1,a:1", "a:0", "a:01", "a:", ":1", "a:1,", "a 1", "a:18446744073709551616", "é:1",
        ] {
            #expect(Notation.vector(Substring(bad)) == nil, "\(bad) must be refused")
        }
        #expect(Cursor("") == nil)
        #expect(Cursor("has space") == nil)
        #expect(Cursor(String(repeating: "c", count: 1025)) == nil)
    }
}
