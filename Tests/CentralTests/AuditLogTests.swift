import Central
import CentralPostgres
import Crypto
import Foundation
import GRDB
import Handover
import LineProtocol
import Referrals
import Replication
import Synchronization
import TestSupport
import Testing

/// The centre's audit log, on both backends: every push and pull recorded in the act's own
/// transaction, chained; altered, deleted and cut entries found and named.
@Suite("Audit log")
struct AuditLogTests {
    let central = CentralTests()

    /// Makes the audit log under `storage` refuse every new entry (a trigger), as a failing
    /// database would; ``allowAuditEntries(_:_:)`` takes the trigger away.
    func refuseAuditEntries(_ storage: any CentralStorage, _ backend: StorageBackend) throws {
        if backend == .sqlite {
            try central.tamper(
                storage,
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'refused'); END")
        } else {
            try central.tamper(
                storage,
                """
                CREATE OR REPLACE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql;
                CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit();
                """)
        }
    }

    /// Takes away what ``refuseAuditEntries(_:_:)`` put on the audit log.
    func allowAuditEntries(_ storage: any CentralStorage, _ backend: StorageBackend) throws {
        try central.tamper(
            storage, backend == .sqlite ? "DROP TRIGGER refuse_audit" : "DROP TRIGGER refuse_audit ON audit_log")
    }

    func verify(_ storage: any CentralStorage, extra: [AuditAnchor] = []) async throws -> AuditChain.Finding {
        try await AuditChain.verify(
            anchors: try await storage.auditAnchors() + extra, key: storage.publicKey, identity: storage.identity
        ) { (after: Int64) async throws(CentralError) in try await storage.auditEntries(after: after, limit: 2) }
    }

    /// Two cases pushed by laptop a, pulled by laptop b: four entries.
    func pushAndPull(_ storage: any CentralStorage) async throws {
        let service = SyncService(storage: storage)
        _ = try await service.store(
            [try central.referral("case-1"), try central.referral("case-2")], from: try central.device())
        let reply = try await service.reply(
            pushed: [], outcomes: [], pull: Cursor("-"), to: try central.device("edt-laptop-b"), counter: 1)
        #expect(try central.pulled(reply, by: storage).ids == ["case-1", "case-2"])
    }

    /// The entries a push appends are hashed as the verifier hashes each entry's line: the
    /// previous hash and the line's fields, tab-separated, whatever the fields hold.
    @Test func eachEntryIsHashedAsItsLineFromTheOneBefore() throws {
        let actor = AuditActor(who: "edt-laptop-ä", authorities: ["E06000038", "E09000033"], action: "push")
        let cases = try ["case-1", "2c0a4b1e-9d3f-4e7a-8b2c-5f6e7d8c9b0a", "x"].map { try RecordID($0) }
        for head in [
            (number: Int64(0), hash: AuditChain.origin), (number: Int64(99), hash: String(repeating: "ab", count: 32)),
        ] {
            let entries = AuditChain.entries(
                after: head, at: Instant(Date(timeIntervalSince1970: 1_796_000_000)), cases: cases, actor: actor)
            #expect(entries.map(\.number) == [head.number + 1, head.number + 2, head.number + 3])
            #expect(entries.map(\.caseID) == cases.map(\.rawValue))
            var previous = head.hash
            for entry in entries {
                #expect(entry.line.hasPrefix("\(entry.number)\t"))
                #expect(entry.hash == AuditChain.hash(previous: previous, line: entry.line))
                previous = entry.hash
            }
        }
    }

    @Test(arguments: StorageBackend.available) func pushesAndPullsAreRecordedAndTheChainVerifies(
        backend: StorageBackend
    ) async throws {
        try await backend.withStorage { storage in
            try await pushAndPull(storage)
            let entries = try await storage.auditEntries(of: try RecordID("case-1"), after: 0, limit: 10_000)
            #expect(entries.map(\.who) == ["edt-laptop-a", "edt-laptop-b"])
            #expect(entries.map(\.action) == ["push", "pull"])
            #expect(entries.allSatisfy { $0.authorities == CentralTests.reading })
            #expect(try await storage.auditHead().number == 4)
            guard case .intact(let count, let head) = try await verify(storage) else {
                Issue.record("a log nobody touched is intact")
                return
            }
            let stored = try await storage.auditHead().hash
            #expect(count == 4 && head == stored)
            // A part refused writes nothing, and so records nothing.
            let stranger = try central.device("edt-laptop-c", authorities: [CentralTests.westminster])
            _ = try await SyncService(storage: storage).store([try central.referral("case-1")], from: stranger)
            #expect(try await storage.auditHead().number == 4)
        }
    }

    @Test(arguments: StorageBackend.available) func aCasesHistoryIsReadAPageAtATime(
        backend: StorageBackend
    ) async throws {
        try await backend.withStorage { storage in
            let id = try RecordID("case-1")
            let other = try RecordID("case-2")
            let actor = AuditActor(who: "edt-laptop-a", authorities: [CentralTests.reading], action: "pull")
            try await storage.audit([id, other, id, id, other, id], by: actor)
            let first = try await storage.auditEntries(of: id, after: 0, limit: 3)
            #expect(first.map(\.number) == [1, 3, 4])
            let second = try await storage.auditEntries(of: id, after: 4, limit: 3)
            #expect(second.map(\.number) == [6])
            #expect((first + second).allSatisfy { $0.caseID == id.rawValue && $0.who == "edt-laptop-a" })
            #expect(try await storage.auditEntries(of: id, after: 6, limit: 3).isEmpty)
            #expect(try await storage.auditEntries(of: other, after: 0, limit: 0).isEmpty)
            #expect(try await storage.auditEntries(of: other, after: 2, limit: 10).map(\.number) == [5])
        }
    }

    @Test(arguments: StorageBackend.available) func anAlteredEntryIsNamed(backend: StorageBackend) async throws {
        try await backend.withStorage { storage in
            try await pushAndPull(storage)
            try central.tamper(storage, "UPDATE audit_log SET who = 'someone-else' WHERE number = 3")
            #expect(try await verify(storage) == .altered(number: 3))
        }
    }

    @Test(arguments: StorageBackend.available) func aDeletedEntryIsNamed(backend: StorageBackend) async throws {
        try await backend.withStorage { storage in
            try await pushAndPull(storage)
            try central.tamper(storage, "DELETE FROM audit_log WHERE number = 2")
            #expect(try await verify(storage) == .missing(after: 1, next: 3))
        }
    }

    @Test(arguments: StorageBackend.available) func anInsertedEntryIsNamed(backend: StorageBackend) async throws {
        try await backend.withStorage { storage in
            try await pushAndPull(storage)
            // An entry slipped in at 3, the rest moved up one, their hashes kept.
            try central.tamper(storage, "UPDATE audit_log SET number = number + 10 WHERE number >= 3")
            try central.tamper(storage, "UPDATE audit_log SET number = number - 9 WHERE number >= 13")
            try central.tamper(
                storage,
                "INSERT INTO audit_log (number, at, who, authorities, case_id, action, hash) VALUES (3, '2026-11-29T00:00:00Z', 'x', '', 'case-9', 'push', '\(String(repeating: "a", count: 64))')"
            )
            #expect(try await verify(storage) == .altered(number: 3))
        }
    }

    @Test(arguments: StorageBackend.available) func aCutTailIsFoundByAnAnchor(backend: StorageBackend) async throws {
        try await backend.withStorage { storage in
            try await pushAndPull(storage)
            let anchor = try await AuditAnchoring.anchor(storage, at: Instant(Date()))
            #expect(anchor.number == 4)
            #expect(AuditAnchor(line: anchor.line) == anchor, "the printed line reads back as the anchor")
            #expect(try await verify(storage) == .intact(entries: 4, head: anchor.hash))
            // The tail cut, and the anchor in the database with it: the one kept elsewhere tells.
            try central.tamper(storage, "DELETE FROM audit_log WHERE number >= 3")
            try central.tamper(storage, "DELETE FROM audit_anchors")
            let head = try await storage.auditHead().hash
            #expect(try await verify(storage) == .intact(entries: 2, head: head))
            #expect(try await verify(storage, extra: [anchor]) == .truncated(last: 2, anchored: 4))
        }
    }

    @Test(arguments: StorageBackend.available) func anAnchorNotSignedByTheCentreIsRefused(
        backend: StorageBackend
    ) async throws {
        try await backend.withStorage { storage in
            try await pushAndPull(storage)
            let head = try await storage.auditHead()
            let forged = try AuditAnchor(
                identity: storage.identity, number: head.number, hash: head.hash, at: Instant(Date()),
                key: Curve25519.Signing.PrivateKey())
            #expect(try await verify(storage, extra: [forged]) == .forgedAnchor(number: head.number))
            #expect(AuditAnchor(line: "edt-audit-anchor 1 x 4 zz 2026 sig") == nil, "a malformed line is no anchor")
        }
    }
}

extension AuditLogTests {
    /// Stores two cases of Reading's night ("night-1", "night-2") and gives the handover desk
    /// over `storage`.
    func nightOfTwoCases(_ storage: any CentralStorage) async throws -> HandoverDesk {
        _ = try await SyncService(storage: storage).store(
            [try central.referral("night-1"), try central.referral("night-2")], from: try central.device())
        return HandoverDesk(storage: storage, directory: .shipped)
    }

    /// Every case a handover package shows is recorded as read for the authority's day team; a
    /// package whose reading cannot be recorded is neither shown nor kept.
    @Test(arguments: StorageBackend.available) func aPackageIsShownOnlyOnceEachOfItsCasesIsRecordedAsRead(
        backend: StorageBackend
    ) async throws {
        try await central.withStorage(backend) { storage in
            let desk = try await nightOfTwoCases(storage)
            let monday = Instant(iso8601: "2026-11-30T09:00:00Z")!
            // The audit log refuses every entry: the package fails as a storage failure.
            try refuseAuditEntries(storage, backend)
            await #expect {
                _ = try await desk.package(for: CentralTests.reading, at: monday, now: monday)
            } throws: { error in
                (error as? HandoverDesk.Unavailable)?.isStorage == true
            }
            #expect(try await storage.keptPackage(authority: CentralTests.reading, opensAt: monday) == nil)
            #expect(
                try await storage.auditEntries(of: try RecordID("night-1"), after: 0, limit: 10_000).allSatisfy {
                    $0.action != "handover"
                })

            try allowAuditEntries(storage, backend)
            let due = try await desk.package(for: CentralTests.reading, at: monday, now: monday)
            #expect(due.isKept && due.kept.cases.map(\.rawValue) == ["night-1", "night-2"])
            for id in ["night-1", "night-2"] {
                let reads = try await storage.auditEntries(of: try RecordID(id), after: 0, limit: 10_000).filter {
                    $0.action == "handover"
                }
                #expect(reads.map(\.who) == ["handover-desk"])
                #expect(reads.map(\.authorities) == [CentralTests.reading])
            }
        }
    }

    /// A package only shown, its JSON written out as it is made, writes nothing until each of its
    /// cases is recorded as read, and nothing at all when they cannot be; what it writes is the
    /// document the desk would otherwise give whole.
    @Test(arguments: StorageBackend.available)
    func aPackageWrittenAsItIsMadeWritesNothingBeforeItsCasesAreRecordedAsRead(
        backend: StorageBackend
    ) async throws {
        try await central.withStorage(backend) { storage in
            let desk = try await nightOfTwoCases(storage)
            let monday = Instant(iso8601: "2026-11-30T09:00:00Z")!
            let beforeIt = Instant(iso8601: "2026-11-30T08:00:00Z")!
            let written = Mutex<[UInt8]>([])
            let output: HandoverDesk.JSONOutput = { bytes in written.withLock { $0.append(contentsOf: bytes) } }
            try refuseAuditEntries(storage, backend)
            await #expect {
                _ = try await desk.package(
                    for: CentralTests.reading, at: monday, now: beforeIt, documents: .json, output: output)
            } throws: { error in
                (error as? HandoverDesk.Unavailable)?.isStorage == true
            }
            #expect(written.withLock { $0 }.isEmpty)

            try allowAuditEntries(storage, backend)
            let streamed = try await desk.package(
                for: CentralTests.reading, at: monday, now: beforeIt, documents: .json, output: output)
            #expect(streamed.jsonWritten && !streamed.isKept && streamed.kept.json.isEmpty)
            #expect(streamed.kept.cases.map(\.rawValue) == ["night-1", "night-2"])
            let whole = try await desk.package(for: CentralTests.reading, at: monday, now: beforeIt, documents: .json)
            #expect(!whole.jsonWritten && !whole.kept.json.isEmpty)
            #expect(written.withLock { $0 } == whole.kept.json)
            #expect(try await storage.keptPackage(authority: CentralTests.reading, opensAt: monday) == nil)
            for id in ["night-1", "night-2"] {
                let reads = try await storage.auditEntries(of: try RecordID(id), after: 0, limit: 10_000).filter {
                    $0.action == "handover"
                }
                #expect(reads.count == 2)
            }
            // A package kept is given whole, whatever output is offered.
            let kept = try await desk.package(
                for: CentralTests.reading, at: monday, now: monday, documents: .json, output: output)
            #expect(kept.isKept && !kept.jsonWritten && !kept.kept.json.isEmpty)
        }
    }
}
