import Foundation
import LineProtocol
import Replication
import TestSupport
import Testing

@testable import Central

/// A pushed part is checked as a case new to the centre while it is prepared, beside the other
/// segments, so the single writer need not: the writer takes that verdict only when the centre
/// holds no case of the part's id, and checks anew against the stored case otherwise.
extension CentralTests {
    /// `record` with `writes` made after everything it holds, by edt-laptop-a.
    func rewritten(_ record: Record, _ writes: [(path: String, value: String)]) throws -> Record {
        var replica = Replica(device: try DeviceID("edt-laptop-a"))
        replica.merge(parts: [record])
        replica.write(try writes.map { (try FieldPath($0.path), FieldValue.string($0.value)) }, in: record.id)
        return try #require(replica[record.id])
    }

    @Test(arguments: StorageBackend.available) func aPreparedPartCarriesTheVerdictTheWritersCheckWouldGive(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptopA = try device("edt-laptop-a")
            let laptopX = try device("edt-laptop-x")
            // Cases whose writes are all edt-laptop-a's: A may bring them, X may not.
            let unread = try unreadRecords([try referral("case-1"), try referral("case-2", host: Self.westminster)])
            let byA = try service.prepare(unread, for: try await service.pushContext(for: laptopA))
            let byX = try service.prepare(unread, for: try await service.pushContext(for: laptopX))
            #expect(byA.map(\.asNewCase?.rejection?.reason.code) == [nil, "forbidden"])
            #expect(byA.first?.asNewCase == .allowed)
            #expect(byX.map(\.asNewCase?.rejection?.reason.code) == ["unproven-write", "unproven-write"])
            // The writer's own check, on parts prepared without a verdict, agrees.
            let checkedByWriter = try await service.store(
                try service.prepare(unread), from: laptopX)
            #expect(checkedByWriter.map(\.rejectionCode) == ["unproven-write", "unproven-write"])
            // Without a context nothing is decided ahead.
            #expect(try service.prepare(unread).allSatisfy { $0.asNewCase == nil })
            // A part refused for its fields carries no verdict: it is refused as it is.
            let damaged = try service.prepare(
                try unreadRecords([try rewritten(try referral("case-3"), [("receivedAt", "yesterday")])]),
                for: try await service.pushContext(for: laptopA))
            #expect(damaged.first?.rejection != nil)
            #expect(damaged.first?.asNewCase == nil)
        }
    }

    @Test(arguments: StorageBackend.available) func theWriterTakesTheVerdictForANewCaseOnlyAndChecksAStoredCaseAnew(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptopA = try device("edt-laptop-a")
            let part = try referral("case-1")
            let refusal = StoredOutcome.Rejection(.forbidden, message: "the verdict made while it was prepared")
            func prepared(_ part: Record, _ verdict: NewCaseVerdict?) -> PreparedPart {
                var prepared = PreparedPart(part: part, encoded: RecordCoding.encode(part)[...], rejection: nil)
                prepared.asNewCase = verdict  // as only SyncService gives it
                return prepared
            }
            // A new case: the verdict decides, though the writer's own check would allow it.
            let refused = try await service.store([prepared(part, .refused(refusal))], from: laptopA)
            #expect(refused == [.rejected(part.id, refusal)])
            #expect(try await storage.storedCase(part.id) == nil, "nothing of it was stored")
            #expect(try await service.store([prepared(part, .allowed)], from: laptopA).map(\.rejectionCode) == [nil])
            // The case is stored now: a change to it is checked against it, whatever its verdict.
            let changed = try rewritten(part, [("concern", "Child alone, now with a neighbour")])
            let stored = try await service.store([prepared(changed, .refused(refusal))], from: laptopA)
            #expect(stored.map(\.rejectionCode) == [nil])
            // And a stored case's change the writer refuses is refused, though its verdict allowed it.
            let moved = try rewritten(changed, [("hostAuthority", Self.westminster)])
            let movedOutcome = try await service.store([prepared(moved, .allowed)], from: laptopA)
            #expect(movedOutcome.map(\.rejectionCode) == ["forbidden"])
        }
    }
}
