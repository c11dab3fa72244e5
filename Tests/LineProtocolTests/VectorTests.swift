import Crypto
import Foundation
import LineProtocol
import Replication
import Testing

/// One golden vector of `Protocol/vectors` and the outcome written beside it. Every vector is
/// signed with the test key (``TestKeys``, `Protocol/PROTOCOL.md` §9).
struct GoldenVector: CustomTestStringConvertible, Sendable {
    enum Outcome: Equatable, Sendable {
        case ok(frames: Int, checksum: String)
        case error(LineProtocolError.Code, line: Int)
        /// The vector's `.expected` file is missing or cannot be read: a failure, never skipped.
        case unreadable(String)
    }

    let name: String
    let bytes: [UInt8]
    let outcome: Outcome

    var testDescription: String { name }

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Protocol/vectors")

    /// The names of the files in ``directory``, sorted.
    static func files() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }

    /// Every `.edtlp` file of ``directory``, each with the outcome its `.expected` file states, or
    /// ``Outcome/unreadable(_:)`` saying why one of the two cannot be read.
    static func all() -> [GoldenVector] {
        files().filter { $0.hasSuffix(".edtlp") }.map { file in
            let name = String(file.dropLast(".edtlp".count))
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(file).path) else {
                return GoldenVector(name: name, bytes: [], outcome: .unreadable("\(file) cannot be read"))
            }
            return GoldenVector(name: name, bytes: Array(data), outcome: outcome(name + ".expected"))
        }
    }

    /// The outcome an `.expected` file states: `ok frames=N checksum=xxh3-64:HEX` or
    /// `error CODE line N`.
    static func outcome(_ file: String) -> Outcome {
        guard let expected = FileManager.default.contents(atPath: directory.appendingPathComponent(file).path) else {
            return .unreadable("\(file) is missing or cannot be read")
        }
        let text = String(decoding: expected, as: UTF8.self)
        let words = text.split(whereSeparator: \.isWhitespace).map(String.init)
        if words.count == 3, words[0] == "ok", words[1].hasPrefix("frames="),
            let frames = Int(words[1].dropFirst("frames=".count)),
            words[2].hasPrefix("checksum=")
        {
            return .ok(frames: frames, checksum: String(words[2].dropFirst("checksum=".count)))
        }
        if words.count == 4, words[0] == "error", let code = LineProtocolError.Code(rawValue: words[1]),
            words[2] == "line",
            let line = Int(words[3])
        {
            return .error(code, line: line)
        }
        return .unreadable(
            "\(file) does not say \"ok frames=N checksum=...\" or \"error CODE line N\": \(text.debugDescription)")
    }

    /// The vectors expected to decode.
    static func valid() -> [GoldenVector] {
        all().filter { if case .ok = $0.outcome { true } else { false } }
    }

    /// Decodes with the given chunk size, verifying the signatures against `verifier` (the test
    /// key's), and reports the outcome and the messages.
    func decode(chunkSize: Int, verifier: StreamVerifier = TestKeys.verifier) -> (Outcome, [Message]) {
        do {
            let stream = try DecodedStream(bytes, verifier: verifier, chunkSize: chunkSize)
            return (.ok(frames: stream.messages.count, checksum: stream.checksum), stream.messages)
        } catch {
            return (.error(error.code, line: error.line), [])
        }
    }
}

@Suite("Golden vectors")
struct VectorTests {
    @Test func theVectorsAreAllThere() {
        let vectors = GoldenVector.all()
        #expect(vectors.count >= 37, "Protocol/vectors must hold every vector and its .expected file")
        for vector in vectors {
            if case .unreadable(let why) = vector.outcome { Issue.record("vector \(vector.name): \(why)") }
        }
        // An expectation without its vector is a vector lost.
        let names = Set(vectors.map(\.name))
        for file in GoldenVector.files() where file.hasSuffix(".expected") {
            #expect(names.contains(String(file.dropLast(".expected".count))), "\(file) has no .edtlp beside it")
        }
        let codes = Set(
            vectors.compactMap { vector -> LineProtocolError.Code? in
                if case .error(let code, _) = vector.outcome { return code }
                return nil
            })
        for required: LineProtocolError.Code in [
            .truncated, .missingEnd, .countMismatch, .digestMismatch, .lineTooLong, .unknownVerb,
            .unsupportedVersion, .invalidUTF8, .invalidPayload, .badSequence, .crlf, .badSignature, .unsigned,
            .malformedFrame,
        ] {
            #expect(codes.contains(required), "no vector for \(required.rawValue)")
        }
    }

    @Test(arguments: GoldenVector.all())
    func decodesToItsExpectedOutcome(_ vector: GoldenVector) {
        if case .unreadable(let why) = vector.outcome {
            Issue.record("vector \(vector.name): \(why)")
            return
        }
        let (outcome, _) = vector.decode(chunkSize: 1 << 16)
        #expect(outcome == vector.outcome)
    }

    @Test func theTestKeyIsTheOneTheSpecificationNames() {
        #expect(Hex.encode(Array(TestKeys.publicKey.rawRepresentation)) == TestKeys.publicKeyHex)
        #expect(Array(TestKeys.privateKey.rawRepresentation) == Array(0..<32))
    }

    @Test(arguments: GoldenVector.valid())
    func validVectorsReEncodeByteForByte(_ vector: GoldenVector) throws {
        let stream = try DecodedStream(vector.bytes, verifier: TestKeys.verifier)
        #expect(stream.messages.last == .signature(.final), "\(vector.name) must end with its SIG final")
        // The encoder writes `SIG part` for a `.signature(.part)` message and `SIG final` itself.
        let encoder = StreamEncoder(header: stream.header, signer: TestKeys.signer)
        for message in stream.messages where message != .signature(.final) { encoder.append(message) }
        let encoded = encoder.finish()
        if Self.signaturesAreDeterministic {
            #expect(encoded == vector.bytes, "re-encoding \(vector.name) changed its bytes")
        } else {
            // Where Ed25519 signatures are randomised (CryptoKit), only the signatures and the
            // checksum they feed may differ; the re-encoded stream must still verify.
            #expect(Self.unsigned(encoded) == Self.unsigned(vector.bytes), "re-encoding \(vector.name) changed it")
            #expect(throws: Never.self) { try DecodedStream(encoded, verifier: TestKeys.verifier) }
        }
    }

    @Test(arguments: GoldenVector.valid())
    func validVectorsRefuseAnotherSigner(_ vector: GoldenVector) throws {
        // Signed by the test key, so any other key refuses them at their first SIG line.
        let lines = vector.bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        let firstSignature = try #require(lines.firstIndex { $0.starts(with: "SIG ".utf8) }) + 1
        let other = StreamVerifier.key(TestKeys.otherPrivateKey.publicKey)
        #expect(vector.decode(chunkSize: 1 << 16, verifier: other).0 == .error(.badSignature, line: firstSignature))
    }

    @Test(arguments: GoldenVector.valid().filter { $0.name.contains("bundle") })
    func bundlesVerifyWithTheKeyTheirHeaderNames(_ vector: GoldenVector) {
        // How an importer reads a bundle: the signer's key is the header's `key=`.
        let fromHeader = StreamVerifier.fromHeader { (header: Header) throws(LineProtocolError) in
            guard let text = header[Header.keyParameter], let raw = Hex.decode(text),
                let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
            else { throw LineProtocolError(.badSignature, line: 1, "no key= in the bundle's header") }
            return key
        }
        #expect(vector.decode(chunkSize: 1 << 16, verifier: fromHeader).0 == vector.outcome)
    }

    /// Whether signing the same bytes twice gives the same signature (RFC 8032; not CryptoKit's).
    static let signaturesAreDeterministic: Bool = {
        let message = Array("edt-stream-2 push final sha256:".utf8)
        return try! TestKeys.privateKey.signature(for: message) == TestKeys.privateKey.signature(for: message)
    }()

    /// The lines of a stream with the signatures of its `SIG` lines and the checksum of its `END`
    /// line cut off.
    static func unsigned(_ bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map { line in
            if line.hasPrefix("SIG "), let cut = line.range(of: " ed25519:") { return String(line[..<cut.lowerBound]) }
            if line.hasPrefix("END "), let cut = line.range(of: " xxh3-64:") { return String(line[..<cut.lowerBound]) }
            return String(line)
        }
    }

    @Test(arguments: GoldenVector.all())
    func everyChunkingDecodesTheSame(_ vector: GoldenVector) {
        let (reference, referenceMessages) = vector.decode(chunkSize: 1 << 20)
        let sizes = vector.bytes.count > 100_000 ? [1, 7, 4096, 65_537] : Array(1...64) + [97, 256, 1000, 4096]
        for size in sizes {
            let (outcome, messages) = vector.decode(chunkSize: size)
            #expect(outcome == reference, "chunks of \(size) bytes")
            #expect(messages == referenceMessages, "chunks of \(size) bytes")
        }
        // Random split points, including empty chunks.
        var random = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let decoder = MessageDecoder(verifier: TestKeys.verifier)
            var messages: [Message] = []
            var outcome: GoldenVector.Outcome?
            var start = 0
            do {
                while start < vector.bytes.count {
                    let end = min(vector.bytes.count, start + Int.random(in: 0...300, using: &random))
                    try decoder.decode(vector.bytes[start..<end]) { message, _ in messages.append(message) }
                    start = end
                }
                let summary = try decoder.finish()
                outcome = .ok(frames: summary.frames, checksum: summary.checksum)
            } catch {
                outcome = .error(error.code, line: error.line)
                messages = []
            }
            #expect(outcome == reference)
            #expect(messages == referenceMessages)
        }
    }

    @Test func theConflictVectorCarriesBothValuesAndTheEntries() throws {
        let vector = try #require(GoldenVector.all().first { $0.name == "valid-bundle-conflict" })
        let stream = try DecodedStream(vector.bytes, verifier: TestKeys.verifier)
        #expect(stream.header.kind == .bundle)
        #expect(stream.header["device"] == "edt-laptop-b")
        #expect(stream.header[Header.keyParameter] == TestKeys.publicKeyHex)
        let delta = try #require(stream.deltas.first)
        let record = try #require(delta.records.first)
        let location = try #require(record.register(at: try FieldPath("children.c1.location")))
        #expect(location.isConflicted)
        #expect(location.values.count == 2)
        #expect(
            record.register(at: try FieldPath("children.c1.name"))?.values == [.string("Zoë \"Zo\" Nowak-Łukasiewicz")])
        #expect(record.register(at: try FieldPath("children.c1.age"))?.values == [.integer(7)])
        #expect(record.register(at: try FieldPath("children.c1.heightMetres"))?.values == [.double(1.25)])
        #expect(record.entries.map(\.kind) == ["conversation", "decision"])
        var replica = Replica(device: try DeviceID("edt-laptop-c"))
        replica.apply(delta)
        #expect(replica.conflicts.count == 1)
    }
}
