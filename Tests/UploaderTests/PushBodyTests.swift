import LineProtocol
import Replication
import Testing

@testable import Uploader

/// The push body as the uploader streams it to curl.
@Suite("Push body")
struct PushBodyTests {
    func body(records: Int, oversized: Bool, checkpointEvery: Int) throws -> (PushBody, DecodedStream) {
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
        let body = PushBody(
            store: MemorySyncStore(replica: replica), records: ids, since: try #require(Cursor("-")),
            checkpointRecords: checkpointEvery)
        var bytes: [UInt8] = []
        while let piece = body.next() { bytes += piece }
        return (body, try DecodedStream(bytes, chunkSize: 4_096))
    }

    @Test func recordsCheckpointsAndThePullFollowTheHeader() throws {
        let (body, stream) = try body(records: 5, oversized: false, checkpointEvery: 2)
        #expect(stream.header.kind == .push && stream.header["device"] == "edt-laptop-a")
        let verbs = stream.messages.map { message -> String in
            switch message {
            case .delta: "DELTA"
            case .record: "REC"
            case .pull: "PULL"
            case .checkpoint: "+SUM"
            case .ignorable(let verb, _): verb
            default: "?"
            }
        }
        #expect(verbs == ["DELTA", "REC", "REC", "+SUM", "REC", "REC", "+SUM", "REC", "PULL"])
        #expect(body.pushedVersions.count == 5)
    }

    @Test func aRecordTooLargeForOneLineIsLeftOutAndReported() throws {
        let (body, stream) = try body(records: 3, oversized: true, checkpointEvery: 10)
        #expect(body.oversized.map(\.id.rawValue) == ["case-huge"])
        #expect(body.pushedVersions.count == 3)
        #expect(stream.messages.filter { if case .record = $0 { true } else { false } }.count == 3)
    }

    @Test func aNoChangeSyncIsJustThePull() throws {
        let (_, stream) = try body(records: 0, oversized: false, checkpointEvery: 10)
        guard stream.messages.count == 1, case .pull(let cursor) = stream.messages[0] else {
            Issue.record("expected only PULL: \(stream.messages)")
            return
        }
        #expect(cursor.text == "-")
    }
}
