import Central
import Crypto
import Foundation
import LineProtocol
import Replication
import TestSupport
import Testing

/// The central endpoint's parts, in process: storage, authentication, the push reader, replies.
@Suite("Central endpoint")
struct CentralTests {
    static let reading = "E06000038"
    static let westminster = "E09000033"

    /// A referral part as a laptop would push it.
    func referral(
        _ id: String, host: String = reading, home: String? = nil, concern: String = "Child alone",
        device: String = "edt-laptop-a", receivedAt: String = "2026-11-28T02:10:00Z"
    )
        throws -> Record
    {
        var replica = Replica(device: try DeviceID(device))
        let record = try RecordID(id)
        var writes: [(path: FieldPath, value: FieldValue)] = [
            (try FieldPath("receivedAt"), .string(receivedAt)),
            (try FieldPath("receivedBy.name"), .string("J. Okafor")),
            (try FieldPath("receivedBy.role"), .string("EDT social worker")),
            (try FieldPath("channel"), .string("phone")),
            (try FieldPath("hostAuthority"), .string(host)), (try FieldPath("concern"), .string(concern)),
        ]
        if let home { writes.append((try FieldPath("homeAuthority"), .string(home))) }
        replica.write(writes, in: record)
        return try #require(replica[record])
    }

    /// The cases a reply stream signed by `storage`'s centre carries, its cursor, and its `+MORE`.
    func pulled(
        _ bytes: [UInt8], by storage: any CentralStorage
    ) throws -> (
        ids: [String], knowledge: Cursor?, more: Bool, gone: [String]
    ) {
        var ids: [String] = []
        var knowledge: Cursor?
        var more = false
        var gone: [String] = []
        for message in try DecodedStream(bytes, verifier: .key(storage.signingKey.publicKey)).content {
            switch message {
            case .record(let record): ids.append(record.id.rawValue)
            case .delta(_, let vector): knowledge = Cursor(vector)
            case .more: more = true
            case .ignorable(SyncReply.goneVerb, let id): gone.append(id)
            default: break
            }
        }
        return (ids, knowledge, more, gone)
    }

    /// Runs `body` on a new, empty storage of `backend` (every storage test runs on each).
    func withStorage(_ backend: StorageBackend, _ body: (any CentralStorage) async throws -> Void) async throws {
        try await backend.withStorage(body)
    }

    func device(
        _ id: String = "edt-laptop-a", authorities: Set<String> = [reading],
        key: Curve25519.Signing.PrivateKey = .init()
    )
        throws -> EnrolledDevice
    {
        EnrolledDevice(
            id: try DeviceID(id), publicKey: Array(key.publicKey.rawRepresentation), authorities: authorities)
    }

    /// A sync request's `Authorization` header for `centre`: `device`, `counter`, signed by `signer`.
    func authorization(
        _ counter: UInt64, signer: Curve25519.Signing.PrivateKey, device: String = "edt-laptop-a",
        centre: String = CentralTests.noCentre
    ) throws -> String {
        let signature = try signer.signature(
            for: SyncAuthorization.message(centre: centre, device: device, counter: counter))
        return SyncAuthorization(device: device, counter: counter, signature: Array(signature)).headerValue
    }

    /// The key edt-laptop-a signs its pushes with in these tests.
    static let laptopKey = Curve25519.Signing.PrivateKey()
    /// The centre named by pushes read without a database.
    static let noCentre = "test-centre"

    /// The identity of the centre on `storage`, which a request to it must name.
    func centre(of storage: any CentralStorage) -> String { SyncContract.centreIdentity(publicKey: storage.publicKey) }

    /// A reader of a push from edt-laptop-a (request 1, to ``noCentre``) with `maximumBytes`.
    func reader(device: String = "edt-laptop-a", maximumBytes: Int = 1 << 20) throws -> PushReader {
        PushReader(
            device: try DeviceID(device), verifier: .key(Self.laptopKey.publicKey), counter: 1, centre: Self.noCentre,
            maximumBytes: maximumBytes)
    }

    // MARK: - Storage

    @Test(arguments: StorageBackend.available) func storingNumbersEachChangeAndStoringAgainChangesNothing(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try device()
            let first = try await service.store([try referral("case-1"), try referral("case-2")], from: laptop)
            #expect(first.map(\.sequence) == [1, 2])
            let again = try await service.store([try referral("case-1")], from: laptop)
            #expect(again.map(\.sequence) == [1], "a part already stored is acknowledged at its place, not stored anew")
            let page = try await storage.changes(after: 0, authorities: [Self.reading], limit: 10)
            #expect(page.records.map(\.id.rawValue) == ["case-1", "case-2"])
            #expect(page.upTo == 2 && !page.more)
        }
    }

    @Test(arguments: StorageBackend.available) func aListingWithoutALimitListsEveryChange(
        backend: StorageBackend
    )
        async throws
    {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            _ = try await service.store(
                [try referral("case-1"), try referral("case-2"), try referral("case-3")], from: try device())
            let listing = try await storage.listChanges(
                after: 0, authorities: [Self.reading], limit: .max, byteBudget: .max, leavingOut: [2],
                leavingOutAcceptedUpTo: nil)
            #expect(listing.changes.map(\.id.rawValue) == ["case-1", "case-3"])
            #expect(listing.upTo == 3 && !listing.more)
            let none = try await storage.listChanges(
                after: 0, authorities: [Self.reading], limit: 0, byteBudget: .max, leavingOut: [],
                leavingOutAcceptedUpTo: nil)
            #expect(none.changes.isEmpty && none.more && none.upTo == 0)
        }
    }

    @Test(arguments: StorageBackend.available) func pullsSeeOnlyTheAuthoritiesADeviceServesAndComeInPages(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let key = Curve25519.Signing.PrivateKey()
            let both = try device(authorities: [Self.reading, Self.westminster], key: key)
            // The shared case is forwarded by its host to the home authority: a recorded act.
            let shared = try forwarded(
                try referral("shared", host: Self.reading, home: Self.westminster), from: Self.reading,
                to: Self.westminster, device: "edt-laptop-a", key: key, at: "2026-11-28T02:20:00Z")
            _ = try await service.store(
                [try referral("r-1"), try referral("w-1", host: Self.westminster), try referral("r-2"), shared],
                from: both)
            let reading = try await storage.changes(after: 0, authorities: [Self.reading], limit: 10)
            #expect(reading.records.map(\.id.rawValue) == ["r-1", "r-2", "shared"])
            let westminster = try await storage.changes(after: 0, authorities: [Self.westminster], limit: 10)
            #expect(
                westminster.records.map(\.id.rawValue) == ["w-1", "shared"],
                "the home it was forwarded to sees the case too")
            let firstPage = try await storage.changes(after: 0, authorities: [Self.reading], limit: 2)
            #expect(firstPage.records.map(\.id.rawValue) == ["r-1", "r-2"] && firstPage.more)
            let secondPage = try await storage.changes(after: firstPage.upTo, authorities: [Self.reading], limit: 2)
            #expect(secondPage.records.map(\.id.rawValue) == ["shared"] && !secondPage.more)
            let nothing = try await storage.changes(after: secondPage.upTo, authorities: [Self.reading], limit: 2)
            #expect(nothing.records.isEmpty && nothing.upTo == 4)
        }
    }

    @Test(arguments: StorageBackend.available) func aCaseThatChangesAuthorityIsPulledByItsNewAuthorityOnly(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let both = try device(authorities: [Self.reading, Self.westminster])
            _ = try await service.store([try referral("moving"), try referral("staying")], from: both)
            // The laptop takes the case back, then finds the child was in Westminster after all.
            let stored = try await storage.changes(after: 0, authorities: [Self.reading], limit: 10)
            var laptop = Replica(device: try DeviceID("edt-laptop-a"))
            _ = laptop.merge(parts: try stored.records.map { try RecordCoding.decode($0.body, id: $0.id) })
            let moving = try RecordID("moving")
            _ = laptop.write(.string(Self.westminster), to: try FieldPath("hostAuthority"), in: moving)
            let outcomes = try await service.store([try #require(laptop[moving])], from: both)
            #expect(outcomes.first?.sequence == 3)
            let reading = try await storage.changes(after: 0, authorities: [Self.reading], limit: 10)
            #expect(reading.records.map(\.id.rawValue) == ["staying"], "Reading no longer sees the case")
            let westminster = try await storage.changes(after: 0, authorities: [Self.westminster], limit: 10)
            #expect(westminster.records.map(\.id.rawValue) == ["moving"])
            let moved = try RecordCoding.decode(try #require(westminster.records.first).body, id: moving)
            #expect(moved.register(at: try FieldPath("hostAuthority"))?.values == [.string(Self.westminster)])
        }
    }

    @Test(arguments: StorageBackend.available) func aPageSizeBelowOneStillSendsOneCaseAtATime(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            var configuration = SyncService.Configuration()
            configuration.pullPageRecords = 0
            let service = SyncService(storage: storage, configuration: configuration)
            _ = try await service.store(
                [try referral("b-1", device: "edt-laptop-b"), try referral("b-2", device: "edt-laptop-b")],
                from: try device("edt-laptop-b"))
            let messages = try DecodedStream(
                try await service.reply(pushed: [], outcomes: [], pull: Cursor("-"), to: try device(), counter: 1),
                verifier: .key(storage.signingKey.publicKey)
            ).content
            #expect(messages.filter { if case .record = $0 { true } else { false } }.count == 1)
            #expect(messages.contains(.more))
        }
    }

    @Test func checkpointsRunBesideTheWriterOnceEnoughIsStored() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("central.sqlite").path
        let storage = try SQLiteCentralStorage(path: path, checkpointBytes: 50_000)
        let service = SyncService(storage: storage)
        let laptop = try device()
        func databaseFileBytes() throws -> Int {
            try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        }
        let empty = try databaseFileBytes()
        let long = String(repeating: "Found alone at the station. ", count: 60)
        _ = try await service.store(try (0..<5).map { try referral("case-\($0)", concern: long) }, from: laptop)
        await storage.waitForCheckpoint()
        #expect(try databaseFileBytes() == empty, "under the threshold, the cases stay in the log")
        _ = try await service.store(try (5..<40).map { try referral("case-\($0)", concern: long) }, from: laptop)
        await storage.waitForCheckpoint()
        #expect(
            try databaseFileBytes() > empty + 40 * 1_000, "past it, a checkpoint copied the log into the database file")
        let page = try await storage.changes(after: 0, authorities: [Self.reading], limit: 100)
        #expect(page.records.count == 40)
    }

    @Test(arguments: StorageBackend.available) func aPullLeavesOutCasesAsTheReaderHasThemWithoutFillingThePage(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try device()
            let parts = try (1...5).map { try referral("case-\($0)") }
            let outcomes = try await service.store(parts, from: laptop)
            #expect(outcomes == parts.enumerated().map { .stored($1.id, sequence: Int64($0 + 1), version: $1.version) })
            // The reader has cases 1, 2 and 4 as they were stored (changes 1, 2 and 4).
            let leavingOut: [Int64] = [4, 1, 2]
            let first = try await storage.changes(
                after: 0, authorities: [Self.reading], limit: 1, leavingOut: leavingOut)
            #expect(first.records.map(\.id.rawValue) == ["case-3"] && first.more && first.upTo == 3)
            #expect(first.records.first?.body == RecordCoding.encode(parts[2]), "a sent case carries its stored body")
            let second = try await storage.changes(
                after: first.upTo, authorities: [Self.reading], limit: 1, leavingOut: leavingOut)
            #expect(second.records.map(\.id.rawValue) == ["case-5"] && !second.more && second.upTo == 5)
            let all = try await storage.changes(
                after: 1, authorities: [Self.reading], limit: 10, leavingOut: leavingOut)
            #expect(
                all.records.map(\.sequence) == [3, 5] && !all.more && all.upTo == 5,
                "numbers before the cursor change nothing")
            let none = try await storage.changes(after: 1, authorities: [Self.reading], limit: 0)
            #expect(none.records.isEmpty && none.more && none.upTo == 1, "a page of no cases claims nothing read past")
            let past = try await storage.changes(after: 3, authorities: [Self.reading], limit: 1, leavingOut: [4, 5])
            #expect(past.records.isEmpty && !past.more && past.upTo == 5, "cases read past are covered by the cursor")
            let others = try await storage.changes(
                after: 0, authorities: [Self.westminster], limit: 10, leavingOut: [2])
            #expect(
                others.records.isEmpty && !others.more && others.upTo == 5,
                "another authority's reader is sent none of them")
        }
    }

    @Test(arguments: StorageBackend.available) func partsADeviceMayNotStoreAreRefusedAndNothingOfThemIsStored(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let readingLaptop = try device(authorities: [Self.reading])
            let westminsterLaptop = try device("edt-laptop-w", authorities: [Self.westminster])
            _ = try await service.store([try referral("case-1")], from: readingLaptop)
            var noHost = Replica(device: try DeviceID("edt-laptop-w"))
            noHost.write(.string("no host"), to: try FieldPath("concern"), in: try RecordID("case-2"))
            var badValue = Replica(device: try DeviceID("edt-laptop-w"))
            badValue.write(.string("not a date"), to: try FieldPath("receivedAt"), in: try RecordID("case-3"))
            badValue.write(.string(Self.reading), to: try FieldPath("hostAuthority"), in: try RecordID("case-3"))
            let outcomes = try await service.store(
                [
                    try referral("case-1", concern: "taken over", device: "edt-laptop-w"),  // another authority's case
                    try referral("case-4", host: Self.reading, device: "edt-laptop-w"),  // an authority it does not serve
                    try #require(noHost[try RecordID("case-2")]),
                    try #require(badValue[try RecordID("case-3")]),
                ], from: westminsterLaptop)
            #expect(outcomes.map(\.rejectionCode) == ["forbidden", "forbidden", "invalid", "invalid"])
            let page = try await storage.changes(after: 0, authorities: [Self.reading, Self.westminster], limit: 10)
            #expect(page.records.map(\.id.rawValue) == ["case-1"])
            #expect(page.upTo == 1)
        }
    }

    @Test(arguments: StorageBackend.available) func aCaseNewToTheCentreMustArriveWholeAndAPartOfAKnownOneMayNot(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try device()
            // Only a host authority (and a concern): no receipt, no receiving worker, no channel.
            var partial = Replica(device: try DeviceID("edt-laptop-a"))
            let id = try RecordID("case-partial")
            partial.write(.string(Self.reading), to: try FieldPath("hostAuthority"), in: id)
            partial.write(.string("Child alone"), to: try FieldPath("concern"), in: id)
            let refused = try await service.store([try #require(partial[id])], from: laptop)
            #expect(refused.map(\.rejectionCode) == ["invalid"])
            guard case .rejected(_, let rejection) = refused.first else {
                Issue.record("expected a refusal")
                return
            }
            #expect(rejection.message.contains("receivedAt, receivedBy.name, receivedBy.role, channel"))
            #expect(try await storage.newestSequence() == 0)
            // Once the centre holds the case whole, a part carrying one field is fine.
            _ = try await service.store([try referral("case-whole")], from: laptop)
            var change = Replica(device: try DeviceID("edt-laptop-a"))
            let whole = try RecordID("case-whole")
            change.write(.string("Moved to a foster carer"), to: try FieldPath("concern"), in: whole)
            let stored = try await service.store([try #require(change[whole])], from: laptop)
            #expect(stored.map(\.rejectionCode) == [nil])
        }
    }

    @Test(arguments: StorageBackend.available) func aCaseTooLargeForOneSyncLineIsRefused(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            var replica = Replica(device: try DeviceID("edt-laptop-a"))
            let id = try RecordID("huge")
            replica.write(
                .string(String(repeating: "x", count: SQLiteCentralStorage.maximumCaseBytes)),
                to: try FieldPath("concern"), in: id)
            let part = try #require(replica[id])
            let outcomes = try await storage.store(
                [
                    PreparedPart(part: part, encoded: RecordCoding.encode(part)[...], rejection: nil)
                ], by: AuditActor(who: "test", authorities: [], action: "push")
            ) { _, _, _ in nil }
            #expect(outcomes.map(\.rejectionCode) == ["too-large"])
            #expect(try await storage.newestSequence() == 0)
        }
    }

    @Test(arguments: StorageBackend.available) func pullsComeInPagesThatTheDevicesOwnEchoDoesNotFill(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            var configuration = SyncService.Configuration()
            configuration.pullPageRecords = 3
            let service = SyncService(storage: storage, configuration: configuration)
            let laptop = try device()
            let other = try device("edt-laptop-b")
            _ = try await service.store(
                try (0..<4).map { try referral("b-\($0)", device: "edt-laptop-b") }, from: other)
            // The laptop pushes 5 cases (its echo) and pulls from the start.
            let parts = try (0..<5).map { try referral("a-\($0)") }
            let outcomes = try await service.store(parts, from: laptop)
            let first = try pulled(
                try await service.reply(pushed: parts, outcomes: outcomes, pull: Cursor("-"), to: laptop, counter: 1),
                by: storage)
            #expect(first.ids == ["b-0", "b-1", "b-2"] && first.more)
            let second = try pulled(
                try await service.reply(pushed: [], outcomes: [], pull: first.knowledge, to: laptop, counter: 1),
                by: storage)
            // Not echoed to this request (another request): the laptop's own cases come back, harmlessly.
            #expect(second.ids == ["b-3", "a-0", "a-1"] && second.more)
            let third = try pulled(
                try await service.reply(pushed: [], outcomes: [], pull: second.knowledge, to: laptop, counter: 1),
                by: storage)
            #expect(third.ids == ["a-2", "a-3", "a-4"])
            let last = try pulled(
                try await service.reply(pushed: [], outcomes: [], pull: third.knowledge, to: laptop, counter: 1),
                by: storage)
            #expect(last.ids.isEmpty && !last.more)
        }
    }

    @Test(arguments: StorageBackend.available) func aCursorFromAnotherDatabaseOrAheadOfThisOneMeansStartingOver(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try device()
            for cursor in ["central.otherdatabase:3", "central.\(storage.identity):99", "edt-laptop-a:1"] {
                let since = Cursor(cursor)
                do throws(CentralError) {
                    _ = try await service.reply(pushed: [], outcomes: [], pull: since, to: laptop, counter: 1)
                    Issue.record("\(cursor) must be refused")
                } catch {
                    #expect(error.code == .startOver, "\(cursor)")
                }
            }
        }
    }

    // MARK: - Authentication

    @Test(arguments: StorageBackend.available) func onlyAnEnrolledDeviceSigningWithAFreshCounterIsLetIn(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let key = Curve25519.Signing.PrivateKey()
            let laptop = try device(key: key)
            try await storage.enroll(laptop)
            let authenticator = DeviceAuthenticator(storage: storage)
            func header(
                _ counter: UInt64, signer: Curve25519.Signing.PrivateKey = key, device: String = "edt-laptop-a"
            ) throws -> String {
                try authorization(counter, signer: signer, device: device, centre: centre(of: storage))
            }
            #expect(try await authenticator.authenticate(try header(5)).device.id == laptop.id)
            await #expect(throws: CentralError.self, "a replayed counter") {
                try await authenticator.authenticate(try header(5))
            }
            await #expect(throws: CentralError.self, "an older counter") {
                try await authenticator.authenticate(try header(4))
            }
            await #expect(throws: CentralError.self, "another key") {
                try await authenticator.authenticate(try header(6, signer: Curve25519.Signing.PrivateKey()))
            }
            await #expect(throws: CentralError.self, "no header") { try await authenticator.authenticate(nil) }
            await #expect(throws: CentralError.self, "garbage") {
                try await authenticator.authenticate(SyncAuthorization.scheme + " device=x")
            }
            await #expect(throws: CentralError.self, "unknown device") {
                try await authenticator.authenticate(try header(7, device: "stranger"))
            }
            #expect(try await authenticator.authenticate(try header(8)).device.id == laptop.id)
            // Before the signature verifies, every refusal reads the same: nothing tells a stranger
            // which devices exist.
            var answers: [String] = []
            for forged in [
                try header(20, device: "stranger"), try header(21, signer: Curve25519.Signing.PrivateKey()),
                SyncAuthorization.scheme + " device=x",
            ] {
                do throws(CentralError) {
                    _ = try await authenticator.authenticate(forged)
                } catch {
                    #expect(error.code == .unauthenticated)
                    answers.append(error.message)
                }
            }
            #expect(Set(answers) == [DeviceAuthenticator.notAuthenticated])
            #expect(try await storage.revoke(laptop.id))
            // A revoked device's request signed by anyone else: not authenticated, not "revoked".
            let forgedForRevoked = try header(30, signer: Curve25519.Signing.PrivateKey())
            do throws(CentralError) {
                _ = try await authenticator.authenticate(forgedForRevoked)
                Issue.record("a forged request must be refused")
            } catch {
                #expect(error.code == .unauthenticated)
                #expect(error.message == DeviceAuthenticator.notAuthenticated)
            }
            let afterRevocation = try header(9)
            do throws(CentralError) {
                _ = try await authenticator.authenticate(afterRevocation)
                Issue.record("a revoked device must be refused")
            } catch {
                #expect(error.code == .revoked)
            }
        }
    }

    // MARK: - Reading a push

    /// A push of `records` by edt-laptop-a (signed with ``laptopKey``, for request `counter` to
    /// `centre`), with a signed checkpoint after every `every`, pulling from `pull` (none when nil).
    func push(
        records: [Record], checkpointEvery every: Int, pull: String? = "-", counter: UInt64 = 1,
        centre: String = CentralTests.noCentre, pending: Int? = nil
    ) -> [UInt8] {
        var parameters: [(key: String, value: String)] = [
            ("device", "edt-laptop-a"), ("centre", centre), ("counter", String(counter)),
        ]
        if let pending { parameters.append((Header.pendingParameter, String(pending))) }
        let header = Header(kind: .push, parameters: parameters)
        let encoder = StreamEncoder(header: header, signer: StreamSigner(key: Self.laptopKey))
        encoder.append(.delta(base: VersionVector(), knowledge: VersionVector()))
        for (number, record) in records.enumerated() {
            encoder.append(.record(record))
            if (number + 1) % every == 0 { encoder.appendSignature() }
        }
        if let pull, let cursor = Cursor(pull) { encoder.append(.pull(since: cursor)) }
        return encoder.finish()
    }

    @Test func verifiedSegmentsAreHandedOnAsTheyArriveAndTheRestAtTheEnd() throws {
        let records = try (0..<7).map { try referral("case-\($0)") }
        let bytes = push(records: records, checkpointEvery: 3)
        let reader = try reader()
        var segments: [[String]] = []
        for chunk in stride(from: 0, to: bytes.count, by: 50).map({ bytes[$0..<min($0 + 50, bytes.count)] }) {
            try reader.consume(chunk)
            segments += reader.takeVerified().map { $0.map(\.id.rawValue) }
        }
        #expect(segments == [["case-0", "case-1", "case-2"], ["case-3", "case-4", "case-5"]])
        let rest = try reader.finish()
        #expect(rest.parts.map(\.id.rawValue) == ["case-6"])
        #expect(rest.pull?.text == "-")
    }

    @Test func aDamagedPushHandsOnOnlyWhatACheckpointVerified() throws {
        let records = try (0..<7).map { try referral("case-\($0)") }
        var bytes = push(records: records, checkpointEvery: 3)
        bytes[bytes.count - 80] ^= 0x01  // after the last checkpoint
        let reader = try reader()
        var verified: [String] = []
        var failed = false
        do {
            try reader.consume(bytes[...])
            verified = reader.takeVerified().flatMap { $0.map(\.id.rawValue) }
            _ = try reader.finish()
        } catch {
            failed = true
            verified += reader.takeVerified().flatMap { $0.map(\.id.rawValue) }
            #expect(error.code == .badRequest)
        }
        #expect(failed)
        #expect(verified == (0..<6).map { "case-\($0)" })
    }

    /// Unread `REC` frames of a push of `records`, with a bad payload in place of those named in `damaged`.
    func unreadRecords(_ records: [Record], damaged: Set<String> = []) throws -> [UnreadRecord] {
        var text = "EDTLP 2.0 push device=edt-laptop-a\nDELTA 1 base=- knowledge=-\n"
        for (number, record) in records.enumerated() {
            let payload =
                damaged.contains(record.id.rawValue)
                ? #"{"fields":7}"# : String(decoding: RecordCoding.encode(record), as: UTF8.self)
            text += "REC \(number + 2) \(record.id.rawValue) \(payload)\n"
        }
        var unread: [UnreadRecord] = []
        try MessageDecoder(verifier: .key(Self.laptopKey.publicKey)).decode(Array(text.utf8)[...]) {
            unread.append($0)
        } _: { _, _ in
        }
        return unread
    }

    @Test(arguments: StorageBackend.available) func aPipelineStoresSegmentsInStreamOrderWhateverOrderTheyAreReadIn(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try device()
            let records = try (0..<60).map {
                try referral("case-\($0)", concern: String(repeating: "x", count: $0 * 30 + 1))
            }
            let unread = try unreadRecords(records)
            let pipeline = PushPipeline(service: service, device: laptop)
            let (_, stored) = try await pipeline.run { submit in
                for start in stride(from: 0, to: 60, by: 7) {
                    try await submit(Array(unread[start..<min(start + 7, 60)]))
                }
            }
            #expect(stored.outcomes.map(\.id.rawValue) == records.map(\.id.rawValue))
            #expect(stored.pushedVersions == records.map(\.version))
            #expect(
                stored.outcomes.map(\.sequence) == (1...60).map { Optional(Int64($0)) },
                "sequence numbers follow the stream")
        }
    }

    @Test(arguments: StorageBackend.available) func aPipelineStopsAtASegmentItCannotReadAndKeepsWhatCameBefore(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try device()
            let records = try (0..<9).map { try referral("case-\($0)") }
            let unread = try unreadRecords(records, damaged: ["case-4"])
            let pipeline = PushPipeline(service: service, device: laptop)
            do {
                _ = try await pipeline.run { submit in
                    for start in [0, 3, 6] { try await submit(Array(unread[start..<start + 3])) }
                }
                Issue.record("a payload that cannot be read must refuse the push")
            } catch let error as CentralError {
                #expect(error.code == .badRequest)
                #expect(error.message.contains("case-4"))
            }
            let page = try await storage.changes(after: 0, authorities: [Self.reading], limit: 100)
            #expect(
                page.records.map(\.id.rawValue) == ["case-0", "case-1", "case-2"],
                "the segment before stays stored; nothing after")
        }
    }

    /// A request body that broke off.
    struct BrokenOff: Error {}

    @Test(arguments: StorageBackend.available) func anAbandonedPipelineStoresWhatWasSubmitted(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let pipeline = PushPipeline(service: service, device: try device())
            let unread = try unreadRecords([try referral("case-1"), try referral("case-2")])
            await #expect(throws: BrokenOff.self, "the feed's failure is the pipeline's") {
                try await pipeline.run { submit in
                    try await submit(unread)
                    throw BrokenOff()
                }
            }
            let page = try await storage.changes(after: 0, authorities: [Self.reading], limit: 100)
            #expect(page.records.count == 2)
        }
    }

    @Test(arguments: StorageBackend.available) func aPipelineReadsNoFurtherAheadOfTheWriterThanItMayHaveInFlight(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let records = try (0..<40).map { try referral("case-\($0)") }
            let unread = try unreadRecords(records)
            let inFlight = 2
            let pipeline = PushPipeline(service: service, device: try device(), maximumInFlight: inFlight)
            let (storedWhenAllSubmitted, stored) = try await pipeline.run { submit in
                for part in unread { try await submit([part]) }
                return try await storage.newestSequence()
            }
            // Once the last segment is submitted, the writer has taken all but `inFlight` of them,
            // and stored all it took but its current transaction (at most `inFlight` more).
            #expect(storedWhenAllSubmitted >= Int64(records.count - 2 * inFlight))
            #expect(stored.outcomes.map(\.sequence) == (1...40).map { Optional(Int64($0)) })
            #expect(stored.transactions <= 40)
        }
    }

    @Test(arguments: StorageBackend.available) func aPipelineStoresTheSegmentsReadyWhileItWasBusyInOneTransaction(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let records = try (0..<40).map { try referral("case-\($0)") }
            let unread = try unreadRecords(records)
            let pipeline = PushPipeline(service: service, device: try device(), maximumInFlight: records.count)
            let (_, stored) = try await pipeline.run { submit in
                for part in unread { try await submit([part]) }
            }
            #expect(stored.outcomes.map(\.sequence) == (1...40).map { Optional(Int64($0)) })
            // One-record segments are read far faster than a commit: they wait for the writer together.
            #expect(stored.transactions < records.count, "group commit")
        }
    }

    @Test func aPushNamingACaseTwiceIsRefused() throws {
        // One large case sent over and over would hold the single writer: a push carries each once.
        let record = try referral("case-1")
        let bytes = push(records: [record, try referral("case-2"), record], checkpointEvery: 100)
        let reader = try reader()
        do {
            try reader.consume(bytes[...])
            _ = try reader.finish()
            Issue.record("a push naming a case twice must be refused")
        } catch {
            #expect(error.code == .badRequest)
            #expect(error.message.contains("a second time"), "\(error.message)")
        }
    }

    @Test func aPushSignedByOneDeviceMayNotSpeakForAnother() throws {
        let bytes = push(records: [try referral("case-1")], checkpointEvery: 10)
        let other = try reader(device: "edt-laptop-b")
        #expect(throws: CentralError.self) { try other.consume(bytes[...]) }
        let small = try reader(maximumBytes: 100)
        do {
            try small.consume(bytes[...])
            Issue.record("an oversized request must be refused")
        } catch {
            #expect(error.code == .tooLarge)
        }
    }

    @Test(arguments: StorageBackend.available) func theReplyAcknowledgesInOrderAndLeavesOutWhatTheDeviceJustPushed(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try device()
            let other = try device("edt-laptop-b")
            _ = try await service.store([try referral("from-b", device: "edt-laptop-b")], from: other)
            let parts = [try referral("case-1"), try referral("case-2", host: Self.westminster)]
            let outcomes = try await service.store(parts, from: laptop)
            let bytes = try await service.reply(
                pushed: parts, outcomes: outcomes, pull: Cursor("-"), to: laptop, counter: 1)
            let stream = try DecodedStream(bytes, verifier: .key(storage.signingKey.publicKey))
            #expect(stream.header.kind == .reply)
            guard stream.content.count == 4,
                case .answer(.stored(let acked, let cursor)) = stream.content[0],
                case .answer(.refused(let refused, .forbidden, _)) = stream.content[1],
                case .delta(_, let knowledge) = stream.content[2], case .record(let pulled) = stream.content[3]
            else {
                Issue.record("unexpected reply: \(stream.content)")
                return
            }
            #expect(acked.rawValue == "case-1" && cursor.text == "central.\(storage.identity):2")
            #expect(refused.rawValue == "case-2")
            #expect(Cursor(knowledge).text == "central.\(storage.identity):2")
            #expect(pulled.id.rawValue == "from-b", "case-1 is not echoed back")
        }
    }

    @Test(arguments: StorageBackend.available) func aPushedCaseTheCentreMergedWithOtherChangesIsSentBack(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try device()
            let other = try device("edt-laptop-b")
            _ = try await service.store(
                [try referral("case-1", concern: "Seen by b", device: "edt-laptop-b")], from: other)
            // Laptop a wrote case-1 too, not having seen b's: the centre keeps both concerns.
            let parts = [try referral("case-1", concern: "Seen by a"), try referral("case-2")]
            let outcomes = try await service.store(parts, from: laptop)
            let bytes = try await service.reply(
                pushed: parts, outcomes: outcomes, pull: Cursor("-"), to: laptop, counter: 1)
            let pulled = try DecodedStream(bytes, verifier: .key(storage.signingKey.publicKey)).content.compactMap {
                message -> Record? in
                if case .record(let record) = message { record } else { nil }
            }
            #expect(pulled.map(\.id.rawValue) == ["case-1"], "case-2 is as the laptop pushed it; case-1 is not")
            let concern = try #require(pulled.first?.fields.first { $0.path.rawValue == "concern" })
            #expect(
                concern.register.values.count == 2, "both concurrent concerns come back, to be surfaced as a conflict")
        }
    }
}

extension StoredOutcome {
    var id: RecordID {
        switch self {
        case .stored(let id, _, _), .rejected(let id, _): id
        }
    }

    var sequence: Int64? {
        if case .stored(_, let sequence, _) = self { sequence } else { nil }
    }

    var rejectionCode: String? {
        if case .rejected(_, let rejection) = self { rejection.reason.code } else { nil }
    }
}
