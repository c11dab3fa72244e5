import Foundation
import LineProtocol
import ReplicaStore
import Replication
import TestSupport
import Testing

/// What the laptop keeps for sync: pending records, refusals, the cursor, the request counter.
@Suite("Replica store: sync flags")
struct SyncFlagsTests {
    let first: RecordID
    let second: RecordID

    init() throws {
        first = try RecordID("case-1")
        second = try RecordID("case-2")
    }

    func withStore(_ body: (ReplicaStore, URL) throws -> Void) throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let store = try ReplicaStore.create(
            at: directory, device: try DeviceID("edt-laptop-a"), authorities: ["E06000038"], passphrase: "p")
        try body(store, directory)
    }

    func write(_ store: ReplicaStore, _ value: String, in id: RecordID) throws {
        try store.commit(loading: [id]) { replica in replica.write(.string(value), to: try FieldPath("concern"), in: id)
        }
    }

    @Test func localChangesArePendingUntilAcknowledgedAtTheVersionPushed() throws {
        try withStore { store, _ in
            try write(store, "one", in: first)
            try write(store, "two", in: second)
            #expect(try store.pendingRecords() == [first, second])
            let pushedFirst = try #require((try store.record(first))).version
            let pushedSecond = try #require((try store.record(second))).version
            // The second record changes after it was pushed: its acknowledgement does not settle it.
            try write(store, "two, revised", in: second)
            try store.applySync(
                acknowledgements: [.stored(first, pushed: pushedFirst), .stored(second, pushed: pushedSecond)],
                pulled: [], cursor: "central:2", peer: "https://centre")
            #expect(try store.pendingRecords() == [second])
            #expect(try store.checkpoint(for: "https://centre") == "central:2")
        }
    }

    @Test func refusedRecordsStayPendingAndFlaggedWithTheirReasonUntilTheCentreTakesThem() throws {
        try withStore { store, directory in
            try write(store, "one", in: first)
            try write(store, "two", in: second)
            let versions = try [first, second].map { try #require((try store.record($0))).version }
            try store.applySync(
                acknowledgements: [
                    .refused(
                        .init(record: first, reason: "forbidden", message: "not for this authority"),
                        pushed: versions[0]),
                    .refused(.init(record: second, reason: "internal", message: "database busy"), pushed: versions[1]),
                ], pulled: [], cursor: nil, peer: "p")
            #expect(
                try store.pendingRecords() == [first, second],
                "offered again at the next sync, in case the cause was mended")
            #expect(try store.rejections().map(\.reason) == ["forbidden", "internal"])
            #expect((try store.record(first)) != nil, "a refused record is never dropped")
            // The reason may quote personal data: it is sealed like the records.
            let bytes = try Data(contentsOf: directory.appendingPathComponent(ReplicaStore.fileName + "-wal"))
            #expect(bytes.range(of: Data("not for this authority".utf8)) == nil)
            // Once the centre takes it, the flag goes.
            try write(store, "one, corrected", in: first)
            let corrected = try #require((try store.record(first))).version
            try store.applySync(
                acknowledgements: [.stored(first, pushed: corrected)], pulled: [], cursor: nil, peer: "p")
            #expect(try store.pendingRecords() == [second])
            #expect(try store.rejections().map(\.record) == [second])
        }
    }

    @Test func aCaptureAfterAPullMarksOnlyWhatItChanged() throws {
        try withStore { store, directory in
            var centre = Replica(device: try DeviceID("edt-laptop-b"))
            for number in 0..<20 {
                centre.write(
                    .string("case \(number)"), to: try FieldPath("concern"), in: try RecordID("pulled-\(number)"))
            }
            try store.applySync(
                acknowledgements: [], pulled: centre.recordIDs.compactMap { centre[$0] }, cursor: "central:20",
                peer: "p")
            #expect(try store.pendingRecords().isEmpty)
            try write(store, "captured here", in: first)
            #expect(try store.pendingRecords() == [first], "pulled records are not pending again")
            _ = directory
        }
        // The same after reopening (the change index is rebuilt from every record).
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        do {
            let store = try ReplicaStore.create(
                at: directory, device: try DeviceID("edt-laptop-a"), authorities: ["E06000038"], passphrase: "p")
            var centre = Replica(device: try DeviceID("edt-laptop-b"))
            centre.write(.string("from b"), to: try FieldPath("concern"), in: second)
            try store.applySync(
                acknowledgements: [], pulled: [try #require(centre[second])], cursor: "central:1", peer: "p")
        }
        let reopened = try ReplicaStore.open(at: directory, passphrase: "p")
        try write(reopened, "captured after reopening", in: first)
        #expect(try reopened.pendingRecords() == [first])
    }

    @Test func startingOverMakesEverythingPendingAndForgetsTheCursor() throws {
        try withStore { store, _ in
            try write(store, "one", in: first)
            let pushed = try #require((try store.record(first))).version
            try store.applySync(
                acknowledgements: [.stored(first, pushed: pushed)], pulled: [], cursor: "central.x:4", peer: "p")
            #expect(try store.pendingRecords().isEmpty)
            try store.startSyncOver()
            #expect(try store.pendingRecords() == [first])
            #expect(try store.checkpoint(for: "p") == nil)
        }
    }

    @Test func theStoreKeepsOneCursorAndStartingOverForgetsItUnderEveryKey() throws {
        try withStore { store, _ in
            // An older version kept the cursor under the server's URL: it is the one sent (the
            // centre judges whether it issued it).
            try store.setCheckpoint("central.x:3", for: "http://127.0.0.1:8080")
            #expect(try store.checkpoint(for: "centre:k") == "central.x:3")
            try store.applySync(acknowledgements: [], pulled: [], cursor: "central.x:4", peer: "centre:k")
            #expect(try store.checkpoint(for: "centre:k") == "central.x:4")
            #expect(
                try store.checkpoint(for: "http://127.0.0.1:8080") == "central.x:4",
                "one cursor is kept: the URL's is spent")
            // A reply with no cursor (a push only) leaves the one kept as it is.
            try store.applySync(acknowledgements: [], pulled: [], cursor: nil, peer: "centre:k")
            #expect(try store.checkpoint(for: "centre:k") == "central.x:4")
            // A laptop told a new centre's key still sends the old centre's cursor, to be refused.
            #expect(try store.checkpoint(for: "centre:new") == "central.x:4")
            try store.setCheckpoint("central.x:3", for: "http://127.0.0.1:8080")
            try store.startSyncOver()
            #expect(try store.checkpoint(for: "centre:k") == nil)
            #expect(try store.checkpoint(for: "http://127.0.0.1:8080") == nil, "no older cursor resumes the pull")
        }
    }

    /// A reply may acknowledge a record twice, or one that is no longer pending, or one it also
    /// pulls a covering copy of: each pending row leaves once, and the pending list still matches
    /// its integrity tally (a wrong tally would refuse the next sync, and `store verify`).
    @Test func acknowledgingARecordTwiceOrOneNotPendingSettlesEachPendingRowOnce() throws {
        try withStore { store, _ in
            let third = try RecordID("case-3")
            try write(store, "one", in: first)
            try write(store, "two", in: second)
            try write(store, "three", in: third)
            let versions = try [first, second, third].map { try #require((try store.record($0))).version }
            try store.applySync(
                acknowledgements: [.stored(third, pushed: versions[2])], pulled: [], cursor: nil, peer: "p")
            var centre = Replica(device: try DeviceID("edt-laptop-b"))
            _ = centre.merge(parts: [try #require((try store.record(first)))])
            centre.write(.string("E06000038"), to: try FieldPath("hostAuthority"), in: first)
            try store.applySync(
                acknowledgements: [
                    .stored(first, pushed: versions[0]), .stored(first, pushed: versions[0]),
                    .stored(third, pushed: versions[2]),  // settled by the reply before
                ], pulled: [try #require(centre[first])], cursor: nil, peer: "p")
            #expect(try store.pendingRecords() == [second])
            #expect(try store.verifyWhole() == 3)
            try store.applySync(
                acknowledgements: [.stored(second, pushed: versions[1])], pulled: [], cursor: nil, peer: "p")
            #expect(try store.pendingRecords() == [])
            #expect(try store.verifyWhole() == 3)
        }
    }

    @Test func aRefusalIsLiftedWhenTheSameReplyPullsACopyCoveringTheRecord() throws {
        try withStore { store, _ in
            try write(store, "one", in: first)
            try write(store, "two", in: second)
            let versions = try [first, second].map { try #require((try store.record($0))).version }
            // The centre refuses both, and pulls back a copy of the first holding all of it and more.
            var centre = Replica(device: try DeviceID("edt-laptop-b"))
            _ = centre.merge(parts: [try #require((try store.record(first)))])
            centre.write(.string("E06000038"), to: try FieldPath("hostAuthority"), in: first)
            try store.applySync(
                acknowledgements: [
                    .refused(
                        .init(record: first, reason: "invalid", message: "hostAuthority is missing"),
                        pushed: versions[0]),
                    .refused(
                        .init(record: second, reason: "invalid", message: "hostAuthority is missing"),
                        pushed: versions[1]),
                ], pulled: [try #require(centre[first])], cursor: nil, peer: "p")
            #expect(try store.pendingRecords() == [second], "the covered record is settled")
            #expect(try store.rejections().map(\.record) == [second], "and its fresh refusal lifted")
        }
    }

    @Test func pulledRecordsAreMergedAndPendingOnlyWhenThisLaptopHasMore() throws {
        try withStore { store, _ in
            var centre = Replica(device: try DeviceID("edt-laptop-b"))
            centre.write(.string("from b"), to: try FieldPath("concern"), in: first)
            centre.write(.string("E06000038"), to: try FieldPath("hostAuthority"), in: second)
            // This laptop changed `second` too (another field), and has not pushed it.
            try store.commit(loading: [second]) { replica in
                replica.write(.string("phone"), to: try FieldPath("channel"), in: second)
            }
            let changed = try store.applySync(
                acknowledgements: [], pulled: [try #require(centre[first]), try #require(centre[second])],
                cursor: "central:9", peer: "p")
            #expect(changed == 2)
            #expect((try store.record(first))?.register(at: try FieldPath("concern"))?.values == [.string("from b")])
            #expect(
                (try store.record(second))?.register(at: try FieldPath("hostAuthority"))?.values == [
                    .string("E06000038")
                ])
            #expect(try store.pendingRecords() == [second], "only what the centre lacks is pending")
            #expect(try store.checkpoint(for: "p") == "central:9")
        }
    }

    @Test func requestCountersNeverRepeatAcrossReopening() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        do {
            let store = try ReplicaStore.create(
                at: directory, device: try DeviceID("edt-laptop-a"), authorities: ["E06000038"], passphrase: "p")
            #expect(try store.nextRequestCounter() == 1)
            #expect(try store.nextRequestCounter() == 2)
        }
        let reopened = try ReplicaStore.open(at: directory, passphrase: "p")
        #expect(try reopened.nextRequestCounter() == 3)
        #expect(try reopened.pendingRecords().isEmpty)
    }

    @Test func aReplysCertificateIsKeptInTheCommitThatAppliesTheReply() throws {
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let certificate = (0..<64).map { UInt8($0) }
        do {
            let store = try ReplicaStore.create(
                at: directory, device: try DeviceID("edt-laptop-a"), authorities: ["E06000038"], passphrase: "p")
            try write(store, "one", in: first)
            let pushed = try #require((try store.record(first))).version
            #expect(try store.deviceCertificate() == nil)
            try store.applySync(
                acknowledgements: [.stored(first, pushed: pushed)], pulled: [], cursor: "central:1", peer: "p",
                certificate: certificate)
            #expect(try store.deviceCertificate() == certificate)
            #expect(try store.pendingRecords().isEmpty)
            // A reply without one leaves the kept certificate as it was.
            try store.applySync(acknowledgements: [], pulled: [], cursor: "central:2", peer: "p")
            #expect(try store.deviceCertificate() == certificate)
        }
        // Kept durably and sealed: the store reopens, its integrity seal agreeing.
        let reopened = try ReplicaStore.open(at: directory, passphrase: "p")
        #expect(try reopened.deviceCertificate() == certificate)
        #expect(try reopened.checkpoint(for: "p") == "central:2")
    }
}
