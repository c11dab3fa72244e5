import Crypto
import LineProtocol
import Replication
import Testing

@testable import Uploader

/// The push body as the uploader streams it to curl.
@Suite("Push body")
struct PushBodyTests {
    func body(records: Int, oversized: Bool, checkpointEvery: Int) throws -> (PushBody, DecodedStream) {
        try body(records: records, oversized: oversized, checkpointEvery: checkpointEvery).0
    }

    /// The body and its decoded stream (verified against the store's key), and the raw bytes.
    func body(
        records: Int, oversized: Bool, checkpointEvery: Int
    ) throws -> ((PushBody, DecodedStream), [UInt8], MemorySyncStore) {
        var replica = Replica(device: try DeviceID("edt-laptop-a"))
        var ids: [RecordID] = []
        for number in 0..<records {
            let id = try RecordID("case-\(number)")
            replica.write(.string("concern \(number)"), to: try FieldPath("concern"), in: id)
            ids.append(id)
        }
        if oversized {
            let id = try RecordID("case-huge")
            replica.write(.string(String(repeating: "x", count: 1 << 20)), to: try FieldPath("concern"), in: id)
            ids.insert(id, at: 1)
        }
        let store = MemorySyncStore(replica: replica)
        let body = PushBody(
            store: store, records: ids, since: try #require(Cursor("-")), checkpointRecords: checkpointEvery,
            counter: 7, centre: "c0ffee")
        var bytes: [UInt8] = []
        while let piece = body.next() { bytes += piece }
        return ((body, try DecodedStream(bytes, verifier: .key(store.key.publicKey), chunkSize: 4_096)), bytes, store)
    }

    /// A store holding `count` records `case-0`, `case-1`, ... (after `missing` ids it does
    /// not hold), each with the concern `concern(number)`; and the ids, in that order.
    func storeHolding(
        _ count: Int, missing: Int = 0, concern: (Int) -> String = { "concern \($0)" }
    ) throws -> (MemorySyncStore, [RecordID]) {
        var replica = Replica(device: try DeviceID("edt-laptop-a"))
        var ids = try (0..<missing).map { try RecordID("case-gone-\($0)") }
        for number in 0..<count {
            let id = try RecordID("case-\(number)")
            replica.write(.string(concern(number)), to: try FieldPath("concern"), in: id)
            ids.append(id)
        }
        return (MemorySyncStore(replica: replica), ids)
    }

    /// The push of `ids` from `store`, read to its end; its bytes.
    func push(
        _ ids: [RecordID], from store: MemorySyncStore, checkpointEvery: Int = 1_000
    ) throws -> (PushBody, [UInt8]) {
        let body = PushBody(
            store: store, records: ids, since: try #require(Cursor("-")), checkpointRecords: checkpointEvery,
            counter: 7, centre: "c0ffee")
        var bytes: [UInt8] = []
        while let piece = body.next() { bytes += piece }
        return (body, bytes)
    }

    @Test func recordsCheckpointsAndThePullFollowTheHeader() throws {
        let (body, stream) = try body(records: 5, oversized: false, checkpointEvery: 2)
        #expect(stream.header.kind == .push && stream.header["device"] == "edt-laptop-a")
        #expect(stream.header.counter == 7 && stream.header.centre == "c0ffee", "the body names its request")
        let verbs = stream.messages.map { message -> String in
            switch message {
            case .delta: "DELTA"
            case .record: "REC"
            case .pull: "PULL"
            case .checkpoint: "+SUM"
            case .signature(.part): "SIG part"
            case .signature(.final): "SIG final"
            case .ignorable(let verb, _): verb
            default: "?"
            }
        }
        #expect(
            verbs == [
                "DELTA", "REC", "REC", "SIG part", "REC", "REC", "SIG part", "REC", "PULL", "SIG final",
            ])
        #expect(body.pushedVersions.count == 5)
    }

    @Test func largeRecordsAreSignedAFewAtATimeWhateverTheCheckpointCount() throws {
        // Twenty records of about 900 KB, a checkpoint asked for every 1,000 records: a segment
        // is signed once it holds `checkpointBytes`, so the centre never holds more unsigned.
        let (store, ids) = try storeHolding(20) { String(repeating: "\($0 % 10)", count: 900_000) }
        let (body, bytes) = try push(ids, from: store)
        let stream = try DecodedStream(bytes, verifier: .key(store.key.publicKey))
        var segments: [Int] = [0]
        for message in stream.messages {
            switch message {
            case .record: segments[segments.count - 1] += 1
            case .signature(.part): segments.append(0)
            default: break
            }
        }
        // 4 MiB is four and a bit of these records: five to a segment, the last the rest.
        #expect(segments == [5, 5, 5, 5], "\(segments)")
        #expect(body.pushedVersions.count == 20)
        // Read from the store a few at a time too: eight first (7.2 MB), then as many as hold
        // about 4 MiB (four), never the 64 a read of small records asks for.
        #expect(store.reads == [8, 4, 4, 4], "\(store.reads)")
    }

    @Test func theNextReadIsSizedOnWhatTheStoreReturnedNotOnWhatWasAskedFor() throws {
        // Seven ids the store does not hold, then twenty records of about 900 KB: the first read
        // brings one record, so the next asks for four (about 4 MiB), not thirty-seven.
        let (store, ids) = try storeHolding(20, missing: 7) { _ in String(repeating: "x", count: 900_000) }
        let (body, _) = try push(ids, from: store)
        #expect(store.reads == [8, 4, 4, 4, 4, 3], "\(store.reads)")
        #expect(body.pushedVersions.count == 20)
    }

    @Test func smallRecordsAreReadSixtyFourAtATimeAfterAFirstFew() throws {
        let (store, ids) = try storeHolding(200)
        let (body, _) = try push(ids, from: store)
        #expect(store.reads == [8, 64, 64, 64], "\(store.reads)")
        #expect(body.pushedVersions.count == 200)
    }

    @Test func aRecordTooLargeForOneLineIsLeftOutAndReported() throws {
        let (body, stream) = try body(records: 3, oversized: true, checkpointEvery: 10)
        #expect(body.oversized.map(\.id.rawValue) == ["case-huge"])
        #expect(body.pushedVersions.count == 3)
        #expect(stream.messages.filter { if case .record = $0 { true } else { false } }.count == 3)
    }

    /// The store failing mid-push (a record found damaged) ends the body early, without its
    /// final signature and pull, and says why: the centre answers nothing the laptop would apply.
    @Test func aStoreFailingMidPushEndsTheBodyWithoutItsFinalSignature() throws {
        let (store, ids) = try storeHolding(200)
        // The first two reads (a first few, then a whole batch) succeed, the third fails.
        store.failReadingAfter = 8 + PushBody.batchRecords
        let (body, bytes) = try push(ids, from: store, checkpointEvery: 10)
        #expect(body.failure == "record damaged")
        #expect(store.reads == [8, PushBody.batchRecords])
        #expect(body.pushedVersions.count == 8 + PushBody.batchRecords)
        #expect(body.next() == nil, "the body stays ended")
        #expect(throws: LineProtocolError.self, "a stream with no final signature is not a whole push") {
            try DecodedStream(bytes, verifier: .key(store.key.publicKey), chunkSize: 4_096)
        }
    }

    @Test func aNoChangeSyncIsJustThePull() throws {
        let (_, stream) = try body(records: 0, oversized: false, checkpointEvery: 10)
        guard stream.messages.count == 2, case .pull(let cursor) = stream.messages[0],
            stream.messages[1] == .signature(.final)
        else {
            Issue.record("expected only PULL: \(stream.messages)")
            return
        }
        #expect(cursor.text == "-")
    }

    @Test func theBodyIsSignedByTheDeviceAndAnyChangeIsCaught() throws {
        let ((_, _), bytes, store) = try body(records: 3, oversized: false, checkpointEvery: 10)
        // Another key does not verify it.
        #expect(throws: LineProtocolError.self) {
            try DecodedStream(bytes, verifier: .key(Curve25519.Signing.PrivateKey().publicKey))
        }
        // One byte of a record changed: the signature no longer verifies, whatever the checksums say.
        var altered = bytes
        let text = String(decoding: bytes, as: UTF8.self)
        let target = try #require(text.utf8.firstRange(of: "concern 1".utf8))
        altered[text.utf8.distance(from: text.utf8.startIndex, to: target.lowerBound) + 8] = UInt8(ascii: "9")
        let refusal = #expect(throws: LineProtocolError.self) {
            try DecodedStream(altered, verifier: .key(store.key.publicKey))
        }
        #expect(refusal?.code == .badSignature)
    }
}

/// What the push header reports of the laptop for the centre's administrators.
extension PushBodyTests {
    @Test func theHeaderReportsThePendingRecordsWhenGivenThem() throws {
        var replica = Replica(device: try DeviceID("edt-laptop-a"))
        replica.write(.string("concern"), to: try FieldPath("concern"), in: try RecordID("case-1"))
        let store = MemorySyncStore(replica: replica)
        func header(pending: Int?) throws -> Header {
            let body = PushBody(
                store: store, records: [try RecordID("case-1")], since: try #require(Cursor("-")),
                checkpointRecords: 10, counter: 7, centre: "c0ffee", pending: pending)
            var bytes: [UInt8] = []
            while let piece = body.next() { bytes += piece }
            return try DecodedStream(bytes, verifier: .key(store.key.publicKey)).header
        }
        #expect(try header(pending: 3).pending == 3)
        #expect(try header(pending: 3)[Header.pendingParameter] == "3", "signed with the rest of the header")
        #expect(try header(pending: nil)[Header.pendingParameter] == nil, "not reported: no parameter")
    }
}
