import LineProtocol
import Replication
import Testing

@testable import Uploader

/// The laptop's reading of the centre's reply: answers typed as ``RecordAnswer``, `+MORE` noted,
/// nothing trusted before the whole reply is verified.
@Suite("Reply reader")
struct ReplyReaderTests {
    /// A reader fed `bytes` in chunks of `chunkSize`, as a 200 response; whether every chunk was taken.
    func read(_ bytes: [UInt8], chunkSize: Int = 7) -> (ReplyReader, Bool) {
        let reader = ReplyReader()
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
        let bytes = StreamEncoder.encode(
            header: Header(kind: .reply, device: "central"),
            messages: [
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
        let bytes = StreamEncoder.encode(
            header: Header(kind: .reply, device: "central"),
            messages: [
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
        let text = "EDTLP 1.0 reply device=central\nDELTA 1 base=- knowledge=-\n+MORE 2 page=2\n"
        let (reader, took) = read(Array(text.utf8), chunkSize: 1 << 16)
        #expect(!took, "the transfer stops at the damage")
        #expect(reader.damage?.contains("line 3: malformed-frame") == true, "\(reader.damage ?? "no damage")")
    }
}
