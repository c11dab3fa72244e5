import Crypto
import Foundation
import LineProtocol
import Replication
import TestSupport
import Testing

@testable import Uploader

/// The laptop's reading of the centre's reply: answers typed as ``RecordAnswer``, `+MORE` noted,
/// nothing trusted before the whole reply is verified.
@Suite("Reply reader")
struct ReplyReaderTests {
    let centreKey = Curve25519.Signing.PrivateKey()
    var centre: String { SyncContract.centreIdentity(publicKey: Array(centreKey.publicKey.rawRepresentation)) }
    /// The request the replies answer.
    let counter: UInt64 = 5

    /// A reply to request `counter` from the centre, signed by `signer` (the centre's key unless told).
    func reply(
        _ messages: [Message], counter: UInt64? = nil, signer: Curve25519.Signing.PrivateKey? = nil
    ) -> [UInt8] {
        StreamEncoder.encode(
            header: Header(
                kind: .reply,
                parameters: [("device", "central"), ("centre", centre), ("counter", String(counter ?? self.counter))]),
            messages: messages, signer: StreamSigner(key: signer ?? centreKey))
    }

    /// A reader fed `bytes` in chunks of `chunkSize`, as a 200 response; whether every chunk was taken.
    func read(_ bytes: [UInt8], chunkSize: Int = 7, stagingIn directory: URL? = nil) -> (ReplyReader, Bool) {
        let reader = ReplyReader(
            centreKey: .key(centreKey.publicKey), centre: centre, counter: counter,
            stagingDirectory: directory ?? FileManager.default.temporaryDirectory)
        reader.head(ResponseHead(status: 200, headers: [:]))
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + chunkSize)
            guard reader.consume(bytes[start..<end]) else { return (reader, false) }
            start = end
        }
        return (reader, true)
    }

    @Test func answersComeTypedInReplyOrderAndMoreIsNoted() throws {
        let stored = try RecordID("case-1")
        let refused = try RecordID("case-2")
        let cursor = try #require(Cursor("central.x:1"))
        let bytes = reply([
            .answer(.stored(stored, cursor: cursor)),
            .answer(.refused(refused, .forbidden, message: "device edt-laptop-a does not serve E09000033")),
            .delta(base: VersionVector(), knowledge: try #require(Notation.vector("central.x:3"))),
            .more,
        ])
        let (reader, took) = read(bytes)
        #expect(took)
        let stream = try reader.verified(url: "http://centre")
        #expect(
            stream.answers == [
                .stored(stored, cursor: cursor),
                .refused(refused, .forbidden, message: "device edt-laptop-a does not serve E09000033"),
            ])
        #expect(stream.more)
        #expect(stream.cursor?.text == "central.x:3")
    }

    @Test func aReplyWithoutMoreAsksForNoFurtherSync() throws {
        let bytes = reply([
            .delta(base: VersionVector(), knowledge: VersionVector()),
            .ignorable(verb: "+HINT", arguments: "later"),
        ])
        let (reader, took) = read(bytes)
        #expect(took)
        let stream = try reader.verified(url: "http://centre")
        #expect(!stream.more, "an unknown +NAME frame is not +MORE")
        #expect(stream.answers.isEmpty)
    }

    @Test func aMoreWithArgumentsIsADamagedReply() {
        let text = "EDTLP 2.0 reply device=central\nDELTA 1 base=- knowledge=-\n+MORE 2 page=2\n"
        let (reader, took) = read(Array(text.utf8), chunkSize: 1 << 16)
        #expect(!took, "the transfer stops at the damage")
        #expect(reader.damage?.contains("line 3: malformed-frame") == true, "\(reader.damage ?? "no damage")")
    }

    @Test func aReplyNotSignedByTheTrustedCentreIsRefused() throws {
        let (reader, took) = read(reply([.delta(base: VersionVector(), knowledge: VersionVector())], signer: .init()))
        #expect(!took)
        #expect(reader.damage?.contains("bad-signature") == true, "\(reader.damage ?? "no damage")")
        #expect(throws: SyncSession.StateMachine.Failure.self) { try reader.verified(url: "http://centre") }
    }

    @Test func aReplyToAnotherRequestIsRefused() throws {
        // Signed by the centre, but the answer to an earlier request: replayed.
        let (reader, took) = read(reply([.delta(base: VersionVector(), knowledge: VersionVector())], counter: 4))
        #expect(took)
        let failure = #expect(throws: SyncSession.StateMachine.Failure.self) {
            try reader.verified(url: "http://centre")
        }
        #expect("\(String(describing: failure))".contains("does not answer this request"))
    }

    @Test func aReplyAlteredInFlightIsRefused() throws {
        let id = try RecordID("case-1")
        var bytes = reply([.answer(.stored(id, cursor: try #require(Cursor("central.x:1"))))])
        // A byte of the cursor changed, the checksums left as they were: the signature catches it first.
        // Found by the cursor's own bytes, since the header's random centre name and the frame numbers hold digits too.
        let cursorBytes = Array("central.x:1".utf8)
        let start = try #require(
            (0...(bytes.count - cursorBytes.count)).first { Array(bytes[$0..<($0 + cursorBytes.count)]) == cursorBytes }
        )
        bytes[start + cursorBytes.count - 1] = UInt8(ascii: "2")
        let (reader, took) = read(bytes)
        #expect(!took)
        #expect(reader.damage?.contains("bad-signature") == true, "\(reader.damage ?? "no damage")")
    }

    @Test func aReplyIsStagedOnDiskReadOnlyOnceVerifiedAndLeavesNothingBehind() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var replica = Replica(device: try DeviceID("edt-laptop-b"))
        let ids = try (0..<3).map { try RecordID("case-\($0)") }
        for id in ids {
            replica.write(.string(String(repeating: "long text ", count: 20_000)), to: try FieldPath("concern"), in: id)
        }
        let records = try ids.map { try #require(replica[$0]) }
        let bytes = reply(
            [.delta(base: VersionVector(), knowledge: try #require(Notation.vector("central.x:3")))]
                + records.map { .record($0) })
        let (reader, took) = read(bytes, chunkSize: 16 << 10, stagingIn: directory)
        #expect(took)
        // The staging file's name is gone as soon as it is made: nothing shows in the directory.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        let stream = try reader.verified(url: "http://centre")
        #expect(stream.pulled == records)
        #expect(stream.cursor?.text == "central.x:3")

        // Cut short after its records (no final signature): refused, and none of it is read back.
        let (cut, cutTook) = read(Array(bytes.prefix(bytes.count - 200)), chunkSize: 16 << 10, stagingIn: directory)
        #expect(cutTook)
        #expect(throws: SyncSession.StateMachine.Failure.self) { try cut.verified(url: "http://centre") }
    }

    @Test func aReplyThatCannotBeStagedStopsTheTransfer() {
        let (reader, took) = read(
            reply([.delta(base: VersionVector(), knowledge: VersionVector())]),
            stagingIn: URL(fileURLWithPath: "/nonexistent/staging"))
        #expect(!took)
        #expect(reader.stagingFailure?.contains("cannot stage the reply") == true, "\(reader.stagingFailure ?? "none")")
    }
}
