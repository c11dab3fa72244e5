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
        _ messages: [Message], counter: UInt64? = nil, signer: Curve25519.Signing.PrivateKey? = nil,
        peers: String? = nil
    ) -> [UInt8] {
        StreamEncoder.encode(
            header: Header(
                kind: .reply,
                parameters: [("device", "central"), ("centre", centre), ("counter", String(counter ?? self.counter))]
                    + (peers.map { [(Header.peersParameter, $0)] } ?? [])),
            messages: messages, signer: StreamSigner(key: signer ?? centreKey))
    }

    /// A reader fed `bytes` in chunks of `chunkSize`, as a 200 response, for a request that
    /// carried `pushed` records; whether every chunk was taken.
    func read(
        _ bytes: [UInt8], chunkSize: Int = 7, stagingIn directory: URL? = nil, pushed: Int = 0,
        maximumBytes: Int? = nil
    ) -> (ReplyReader, Bool) {
        let reader = ReplyReader(
            centreKey: .key(centreKey.publicKey), centre: centre, counter: counter, pushed: pushed,
            stagingDirectory: directory ?? FileManager.default.temporaryDirectory, maximumBytes: maximumBytes)
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

    /// A reply of answers alone is kept as it is verified on the way (not read back from its
    /// staging file); one that brings records is read back whole. Both give the same answers, and
    /// neither gives anything unless the whole reply verified.
    @Test func answersAloneAreKeptAsTheyVerifyAndAReplyWithRecordsIsReadBack() throws {
        let cursor = try #require(Cursor("central.x:2"))
        let answers: [Message] = [
            .answer(.stored(try RecordID("case-1"), cursor: cursor)),
            .answer(.refused(try RecordID("case-2"), .forbidden, message: "not served")),
        ]
        let delta = Message.delta(base: VersionVector(), knowledge: try #require(Notation.vector("central.x:2")))
        var replica = Replica(device: try DeviceID("edt-laptop-b"))
        replica.write(.string("Child alone"), to: try FieldPath("concern"), in: try RecordID("case-3"))
        let record = try #require(replica[try RecordID("case-3")])

        let (alone, took) = read(reply(answers + [delta, .ignorable(verb: ReplyReader.goneVerb, arguments: "case-9")]))
        #expect(took)
        let aloneStream = try alone.verified(url: "http://centre")
        let (withRecords, tookRecords) = read(reply(answers + [delta, .record(record)]))
        #expect(tookRecords)
        let recordsStream = try withRecords.verified(url: "http://centre")
        let expected: [RecordAnswer] = answers.compactMap { if case .answer(let answer) = $0 { answer } else { nil } }
        #expect(aloneStream.answers == expected && recordsStream.answers == expected)
        #expect(aloneStream.cursor?.text == "central.x:2" && recordsStream.cursor?.text == "central.x:2")
        #expect(aloneStream.gone == [try RecordID("case-9")])
        #expect(aloneStream.pulled.isEmpty && recordsStream.pulled == [record])

        // Cut before its end (answers arrived, the final signature did not): nothing of it is given.
        let whole = reply(answers + [delta])
        let (cut, _) = read(Array(whole.prefix(whole.count - 30)))
        #expect(throws: SyncSession.StateMachine.Failure.self) { try cut.verified(url: "http://centre") }
    }

    /// What a reply says is kept in memory before it is verified only up to a bound set by the
    /// request's size: a stream of answers past it (a forged or runaway reply) is not held, and a
    /// genuine reply past it is read back from its file once verified, with every answer.
    @Test func aReplySayingMoreThanTheRequestCouldBeAnsweredIsNotHeldBeforeItVerifies() throws {
        let cursor = try #require(Cursor("central.x:1"))
        let count = 2 * 3 + 1_024 + 5  // past the bound for a request of 3 records
        let answers: [Message] = try (0..<count).map { .answer(.stored(try RecordID("case-\($0)"), cursor: cursor)) }
        let delta = Message.delta(base: VersionVector(), knowledge: try #require(Notation.vector("central.x:1")))
        let bytes = reply(answers + [delta])
        let (reader, took) = read(bytes, chunkSize: 4_096, pushed: 3)
        #expect(took)
        #expect(reader.readsBack, "past the bound, the reply is read back once verified")
        let stream = try reader.verified(url: "http://centre")
        #expect(stream.answers.count == count)
        #expect(stream.answers.last == .stored(try RecordID("case-\(count - 1)"), cursor: cursor))
        // Within the bound, it is kept as it arrives and not read back.
        let (small, _) = read(reply(Array(answers.prefix(3)) + [delta]), pushed: 3)
        #expect(!small.readsBack)
        #expect(try small.verified(url: "http://centre").answers.count == 3)
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

    @Test func goneFramesNameTheCasesTheDevicesAuthoritiesNoLongerSee() throws {
        let bytes = reply([
            .delta(base: VersionVector(), knowledge: VersionVector()),
            .ignorable(verb: "+GONE", arguments: "case-9"),
            .ignorable(verb: "+GONE", arguments: "not a case id"),
        ])
        let (reader, took) = read(bytes)
        #expect(took)
        let stream = try reader.verified(url: "http://centre")
        #expect(stream.gone == [try RecordID("case-9")], "one naming no case names nothing to drop")
        #expect(stream.pulled.isEmpty)
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

    @Test func aReplyRunningPastWhatItMayHoldIsDamagedAndNoMoreOfItIsStaged() throws {
        var replica = Replica(device: try DeviceID("edt-laptop-b"))
        let id = try RecordID("case-1")
        replica.write(.string(String(repeating: "text ", count: 2_000)), to: try FieldPath("concern"), in: id)
        let bytes = reply(
            [
                .delta(base: VersionVector(), knowledge: try #require(Notation.vector("central.x:3"))),
                .record(try #require(replica[id])),
            ])
        // Exactly as large as it may be: taken.
        let (whole, wholeTook) = read(bytes, chunkSize: 1_000, maximumBytes: bytes.count)
        #expect(wholeTook)
        #expect(try whole.verified(url: "http://centre").pulled.map(\.id) == [id])
        // One byte more than it may hold: the transfer stops at the piece that would pass the
        // limit, and the reply is damaged, never read.
        let (over, overTook) = read(bytes, chunkSize: 1_000, maximumBytes: bytes.count - 1)
        #expect(!overTook)
        #expect(over.damage?.contains("ran past \(bytes.count - 1) bytes") == true, "\(over.damage ?? "no damage")")
        #expect(throws: SyncSession.StateMachine.Failure.self) { try over.verified(url: "http://centre") }
        // Unless told, a page of cases, and for each record pushed its answer and perhaps the
        // centre's version of it.
        #expect(ReplyReader.maximumReplyBytes(pushed: 0) == 64 << 20)
        #expect(ReplyReader.maximumReplyBytes(pushed: 10_000) == (64 << 20) + 10_000 * ((1 << 20) + 4_096))
        let reader = ReplyReader(centreKey: .key(centreKey.publicKey), centre: centre, counter: counter, pushed: 3)
        #expect(reader.maximumBytes == ReplyReader.maximumReplyBytes(pushed: 3))
    }

    // MARK: - Peer centres

    /// Two peer centres' entry devices and keys.
    static let peerH = (device: "central.hampshire1", key: [UInt8](repeating: 0x11, count: 32))
    static let peerK = (device: "central.kent22", key: [UInt8](repeating: 0x22, count: 32))

    @Test func aVerifiedReplyBringsThePeerCentresItVouchesFor() throws {
        let (reader, took) = read(
            reply(
                [.delta(base: VersionVector(), knowledge: VersionVector())],
                peers: Header.peersValue([Self.peerK, Self.peerH])))
        #expect(took)
        let stream = try reader.verified(url: "http://centre")
        #expect(
            stream.peerCentres == [
                try DeviceID(Self.peerH.device): Self.peerH.key, try DeviceID(Self.peerK.device): Self.peerK.key,
            ])
        // Without the parameter: none.
        let (plain, _) = read(reply([.delta(base: VersionVector(), knowledge: VersionVector())]))
        #expect(try plain.verified(url: "http://centre").peerCentres.isEmpty)
    }

    @Test(arguments: [
        "central.hampshire1",  // no key
        "edt-laptop-a:\(String(repeating: "11", count: 32))",  // not a centre's device
        "central.hampshire1:\(String(repeating: "11", count: 31))",  // a short key
        "central.hampshire1:\(String(repeating: "AB", count: 32))",  // uppercase hex
    ])
    func aMalformedPeersValueIsADamagedReplyAndBringsNothing(_ peers: String) throws {
        let id = try RecordID("case-1")
        let (reader, took) = read(
            reply(
                [.answer(.stored(id, cursor: try #require(Cursor("central.x:1"))))], peers: peers))
        #expect(took, "signed by the centre and well framed: only its peers are malformed")
        let failure = #expect(throws: SyncSession.StateMachine.Failure.self) {
            try reader.verified(url: "http://centre")
        }
        guard case .transient(let reason, _)? = failure else {
            Issue.record("a malformed peers= is a damaged reply, retried: \(String(describing: failure))")
            return
        }
        #expect(reason.contains("damaged") && reason.contains("peers="), "\(reason)")
    }

    @Test func aReplyNotSignedByTheCentreBringsNoPeers() throws {
        let peers = Header.peersValue([Self.peerH])
        // Signed by another key: refused on the way, nothing of it read back.
        let (forged, took) = read(
            reply([.delta(base: VersionVector(), knowledge: VersionVector())], signer: .init(), peers: peers))
        #expect(!took)
        #expect(forged.damage?.contains("bad-signature") == true, "\(forged.damage ?? "no damage")")
        #expect(throws: SyncSession.StateMachine.Failure.self) { try forged.verified(url: "http://centre") }
        // Signed by the centre, but the answer to another request (replayed): refused too.
        let (replayed, _) = read(
            reply([.delta(base: VersionVector(), knowledge: VersionVector())], counter: 4, peers: peers))
        #expect(throws: SyncSession.StateMachine.Failure.self) { try replayed.verified(url: "http://centre") }
        // The peers= of a signed reply altered on the way (another key put in): the signature catches it.
        var altered = reply([.delta(base: VersionVector(), knowledge: VersionVector())], peers: peers)
        let hex = Array(Hex.encode(Self.peerH.key).utf8)
        let start = try #require(
            (0...(altered.count - hex.count)).first { Array(altered[$0..<($0 + hex.count)]) == hex })
        altered[start] = UInt8(ascii: "2")
        let (tampered, tamperedTook) = read(altered)
        #expect(!tamperedTook)
        #expect(tampered.damage?.contains("bad-signature") == true, "\(tampered.damage ?? "no damage")")
        #expect(throws: SyncSession.StateMachine.Failure.self) { try tampered.verified(url: "http://centre") }
    }

    @Test func aSessionKeepsPeersAsAUnionAndRefusesAnotherKeyForAKnownPeer() throws {
        let store = MemorySyncStore(replica: Replica(device: try DeviceID("edt-laptop-a")))
        let session = SyncSession(store: store, options: SyncSession.Options(server: "http://centre"))
        let centreKey = try #require(store.centreKey())
        let h = try DeviceID(Self.peerH.device)
        let k = try DeviceID(Self.peerK.device)

        let first = try session.trustPeerCentres([h: Self.peerH.key], centreKey: centreKey)
        #expect(store.peers == [h: Self.peerH.key])
        #expect(first(h) == Self.peerH.key)
        #expect(first(try DeviceID("central.own")) == centreKey, "any other centre device: the centre's key")
        #expect(first(try DeviceID("edt-laptop-b")) == nil)

        // A later reply naming only another peer: both kept, none forgotten.
        let second = try session.trustPeerCentres([k: Self.peerK.key], centreKey: centreKey)
        #expect(store.peers == [h: Self.peerH.key, k: Self.peerK.key])
        #expect(second(h) == Self.peerH.key && second(k) == Self.peerK.key)
        // A reply naming none: the kept ones still count.
        #expect(try session.trustPeerCentres([:], centreKey: centreKey)(h) == Self.peerH.key)

        // Another key for a known peer: refused, nothing changed.
        let failure = #expect(throws: SyncSession.StateMachine.Failure.self) {
            try session.trustPeerCentres(
                [h: [UInt8](repeating: 0x33, count: 32), try DeviceID("central.new"): Self.peerK.key],
                centreKey: centreKey)
        }
        guard case .permanent(let reason)? = failure else {
            Issue.record("another key for a kept peer is refused: \(String(describing: failure))")
            return
        }
        #expect(reason.contains("another key for the peer centre central.hampshire1"), "\(reason)")
        #expect(store.peers == [h: Self.peerH.key, k: Self.peerK.key])
    }
}
