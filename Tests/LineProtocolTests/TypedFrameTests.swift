import Foundation
import LineProtocol
import Replication
import Testing

/// Every frame of `Protocol/PROTOCOL.md` §3 is a typed ``Message``: `ACK`/`NAK` as a
/// ``RecordAnswer``, `+SUM` as a checkpoint, `+MORE` as ``Message/more``; only unknown `+NAME`
/// frames are ``Message/ignorable(verb:arguments:)``. And the HTTP contract both sides use is
/// the one the specification states.
@Suite("Typed frames and the sync contract")
struct TypedFrameTests {
    static let first = try! RecordID("3f2a9c1e-5b7d-4e10-8a6c-2d9e4f7b1a05")
    static let second = try! RecordID("8c1d2e3f-4a5b-4c6d-9e7f-0a1b2c3d4e5f")

    /// The lines of `bytes` (without their LFs).
    static func lines(_ bytes: [UInt8]) -> [String] {
        bytes.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The outcome of decoding `text` whole: its messages, or the error's code and line.
    static func decode(_ text: String) -> Result<[Message], LineProtocolError> {
        do throws(LineProtocolError) {
            return .success(try DecodedStream(Array(text.utf8), verifier: TestKeys.verifier).content)
        } catch {
            return .failure(error)
        }
    }

    @Test func answersAndMoreAreWrittenAsTheSpecificationShowsAndReadBackTyped() throws {
        let cursor = try #require(Cursor("central:42,edt-laptop-a:3"))
        let messages: [Message] = [
            .answer(.stored(Self.first, cursor: cursor)),
            .answer(
                .refused(
                    Self.second, .invalid, message: "children.c1.nhsNumber: 9434765918 fails the \"Modulus 11\" check")),
            .answer(.refused(Self.first, .other("a-later-reason"), message: "")),
            .delta(
                base: try #require(Notation.vector("central:41")),
                knowledge: try #require(Notation.vector("central:43"))),
            .more,
        ]
        let bytes = StreamEncoder.encode(
            header: Header(kind: .reply, device: "central"), messages: messages, signer: TestKeys.signer)
        let lines = Self.lines(bytes)
        #expect(lines.count == 8)
        #expect(lines[0] == "EDTLP 2.0 reply device=central")
        #expect(lines[1] == "ACK 1 3f2a9c1e-5b7d-4e10-8a6c-2d9e4f7b1a05 central:42,edt-laptop-a:3")
        #expect(
            lines[2]
                == #"NAK 2 8c1d2e3f-4a5b-4c6d-9e7f-0a1b2c3d4e5f invalid "children.c1.nhsNumber: 9434765918 fails the \"Modulus 11\" check""#
        )
        #expect(lines[3] == #"NAK 3 3f2a9c1e-5b7d-4e10-8a6c-2d9e4f7b1a05 a-later-reason """#)
        #expect(lines[4] == "DELTA 4 base=central:41 knowledge=central:43")
        #expect(lines[5] == "+MORE 5")
        #expect(lines[6].hasPrefix("SIG 6 final ed25519:"))
        #expect(lines[7].hasPrefix("END 6 xxh3-64:"))
        for chunkSize in [1, 5, 64, 1 << 16] {
            #expect(
                try DecodedStream(bytes, verifier: TestKeys.verifier, chunkSize: chunkSize).content == messages,
                "chunks of \(chunkSize)")
        }
    }

    @Test func theGoldenReplyDecodesToTypedAnswers() throws {
        let vector = try #require(GoldenVector.all().first { $0.name == "valid-reply" })
        let messages = try DecodedStream(vector.bytes, verifier: TestKeys.verifier).messages
        let answers = messages.compactMap { if case .answer(let answer) = $0 { answer } else { nil } }
        #expect(
            answers == [
                .stored(Self.first, cursor: try #require(Cursor("central:42,edt-laptop-a:3"))),
                .refused(
                    Self.second, .invalid, message: "children.c1.nhsNumber: 9434765918 fails the Modulus 11 check"),
            ])
        #expect(answers.map(\.record) == [Self.first, Self.second])
    }

    @Test func aCheckpointIsTypedWithItsChecksumAndWrittenAfreshFromTheBytesBeforeIt() throws {
        let vector = try #require(GoldenVector.all().first { $0.name == "valid-push-checkpoint" })
        let messages = try DecodedStream(vector.bytes, verifier: TestKeys.verifier).content
        // The Python writer of the vectors computed this checksum (PROTOCOL.md §3.3).
        let checkpoints = messages.compactMap { if case .checkpoint(let checksum) = $0 { checksum } else { nil } }
        #expect(checkpoints == ["xxh3-64:bfedccb3b65fffd1"])
        #expect(Self.lines(vector.bytes)[5] == "+SUM 5 xxh3-64:bfedccb3b65fffd1")
        #expect(messages.contains(.signature(.part)), "the signed checkpoint is typed too")
        #expect(!messages.contains { if case .ignorable = $0 { true } else { false } }, "+SUM is not an unknown frame")
        // Whatever checksum a message carries, the encoder writes the one of the bytes it wrote.
        let index = try #require(messages.firstIndex { if case .checkpoint = $0 { true } else { false } })
        var forged = messages
        forged[index] = .checkpoint(checksum: "xxh3-64:0000000000000000")
        let header = try DecodedStream(vector.bytes, verifier: TestKeys.verifier).header
        #expect(StreamEncoder.encode(header: header, messages: forged, signer: TestKeys.signer) == vector.bytes)
        let encoder = StreamEncoder(header: header, signer: TestKeys.signer)
        for message in messages {
            switch message {
            case .checkpoint: encoder.appendChecksum()
            case .signature: encoder.appendSignature()
            default: encoder.append(message)
            }
        }
        #expect(
            encoder.finish() == vector.bytes,
            "append(.checkpoint) and appendChecksum(), append(.signature(.part)) and appendSignature() write the same frame"
        )
    }

    @Test func moreWithArgumentsOrOutsideAReplyIsRefused() {
        let reply = "EDTLP 2.0 reply device=central\n"
        for (text, code, line) in [
            (reply + "+MORE 1 page=2\n", LineProtocolError.Code.malformedFrame, 2),
            (reply + "DELTA 1 base=- knowledge=-\n+MORE 2 x\n", .malformedFrame, 3),
            ("EDTLP 2.0 push device=edt-laptop-a\n+MORE 1\n", .unexpectedFrame, 2),
            ("EDTLP 2.0 bundle device=edt-laptop-a\n+MORE 1\n", .unexpectedFrame, 2),
        ] {
            guard case .failure(let error) = Self.decode(text) else {
                Issue.record("\(text.debugDescription) must be refused")
                continue
            }
            #expect(error.code == code, "\(text.debugDescription)")
            #expect(error.line == line, "\(text.debugDescription)")
        }
    }

    @Test func aFrameWithTooFewTooManyOrEmptyArgumentsIsRefusedAsMalformed() {
        let reply = "EDTLP 2.0 reply device=central\n"
        let push = "EDTLP 2.0 push device=edt-laptop-a\n"
        let id = "3f2a9c1e-5b7d-4e10-8a6c-2d9e4f7b1a05"
        for (text, why) in [
            (reply + "ACK 1 \(id)\n", "expected ACK"),
            (reply + "ACK 1 \(id) central:42 more\n", "expected ACK"),
            (reply + "ACK 1 \(id)  central:42\n", "expected ACK"),
            (reply + "ACK 1 \(id) central:42 \n", "expected ACK"),
            (reply + "ACK 1  \(id) central:42\n", "expected ACK"),
            (reply + "ACK 1 \(id) central:42 x y z\n", "expected ACK"),
            // Every byte is checked, past the token that is one too many.
            (reply + "ACK 1 \(id) central:42 x\u{7}\n", "printable ASCII"),
            (reply + "ACK 1 \(id) \u{7F}central:42\n", "printable ASCII"),
            (push + "DELTA 1 base=-\n", "expected DELTA"),
            (push + "DELTA 1 base=- knowledge=- extra\n", "expected DELTA"),
            (push + "PULL 1 since=- extra\n", "expected PULL"),
            (push + "PULL 1 \n", "expected PULL"),
        ] {
            guard case .failure(let error) = Self.decode(text) else {
                Issue.record("\(text.debugDescription) must be refused")
                continue
            }
            #expect(error.code == .malformedFrame, "\(text.debugDescription)")
            #expect(error.line == 2, "\(text.debugDescription)")
            #expect(error.detail.contains(why), "\(text.debugDescription): \(error.detail)")
        }
        // Exactly the tokens asked for read on (the stream then fails only for its missing end).
        for text in [reply + "ACK 1 \(id) central:42\n", push + "DELTA 1 base=- knowledge=-\nPULL 2 since=-\n"] {
            if case .failure(let error) = Self.decode(text) {
                #expect(error.code != .malformedFrame, "\(text.debugDescription): \(error.detail)")
            }
        }
    }

    @Test func aMalformedCheckpointIsRefusedAsADigestMismatch() {
        let push = "EDTLP 2.0 push device=edt-laptop-a\n"
        for text in [
            push + "+SUM 1\n", push + "+SUM 1 \n", push + "+SUM 1 xxh3-64:zz\n", push + "+SUM 1 sha256:00\n",
            push + "+SUM 1 xxh3-64:0000000000000000 x\n",
        ] {
            guard case .failure(let error) = Self.decode(text) else {
                Issue.record("\(text.debugDescription) must be refused")
                continue
            }
            #expect(error.code == .digestMismatch, "\(text.debugDescription)")
            #expect(error.line == 2, "\(text.debugDescription)")
        }
    }

    @Test func anUnknownPlusFrameStaysIgnorableAndPassesThroughUnchanged() throws {
        var text = "EDTLP 2.0 reply device=central\n+HINT 1 next-sync=later\n+MOREX 2\n+SUMS 3 a\n"
        let encoder = StreamEncoder(header: Header(kind: .reply, device: "central"), signer: TestKeys.signer)
        encoder.append(.ignorable(verb: "+HINT", arguments: "next-sync=later"))
        encoder.append(.ignorable(verb: "+MOREX", arguments: ""))
        encoder.append(.ignorable(verb: "+SUMS", arguments: "a"))
        let bytes = encoder.finish()
        text += Self.lines(bytes)[4] + "\n" + Self.lines(bytes)[5] + "\n"
        #expect(Array(text.utf8) == bytes)
        #expect(
            try DecodedStream(bytes, verifier: TestKeys.verifier).content == [
                .ignorable(verb: "+HINT", arguments: "next-sync=later"), .ignorable(verb: "+MOREX", arguments: ""),
                .ignorable(verb: "+SUMS", arguments: "a"),
            ])
    }

    @Test func aRecordAnswerNamesItsRecord() throws {
        let stored = RecordAnswer.stored(Self.first, cursor: try #require(Cursor("central:1")))
        let refused = RecordAnswer.refused(Self.second, .revoked, message: "revoked")
        #expect(stored.record == Self.first)
        #expect(refused.record == Self.second)
        #expect(stored != .stored(Self.first, cursor: try #require(Cursor("central:2"))))
        #expect(refused != .refused(Self.second, .invalid, message: "revoked"))
    }

    /// The constants both sides use are the ones `Protocol/PROTOCOL.md` §4 states.
    @Test func theSyncContractIsTheSpecifications() throws {
        let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Protocol/PROTOCOL.md")
        let text = try String(contentsOf: spec, encoding: .utf8)
        #expect(text.contains("`POST <centre>\(SyncContract.syncPath)`, `Content-Type: \(SyncContract.mediaType)`"))
        #expect(text.contains("`GET <centre>\(SyncContract.healthPath)`"))
        #expect(text.contains("`409` with a body starting\n`\(SyncContract.startOverPrefix)`"))
        #expect(text.contains("Authorization: \(SyncAuthorization.scheme) device=<device-id>,counter=<n>,signature="))
        #expect(text.contains("`device=<device-id>`") && Header.deviceParameter == "device")
        #expect(Header(kind: .push, device: "edt-laptop-a").device == "edt-laptop-a")
    }
}
