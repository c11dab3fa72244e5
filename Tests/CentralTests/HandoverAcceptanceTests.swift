import Central
import Crypto
import Foundation
import LineProtocol
import Referrals
import Replication
import TestSupport
import Testing

/// The day team's acceptance at the centre: the centre's own signed entry, refused whenever it
/// does not apply (changing nothing), recorded once however many try at once, never brought by a
/// device; the packages the centre keeps; and pulls that leave out what laptops no longer need.
extension CentralTests {
    static let monday = Instant(iso8601: "2026-11-30T09:00:00Z")!
    static let tuesday = Instant(iso8601: "2026-12-01T09:00:00Z")!

    /// A package kept for `authority` at `opensAt` handing over `ids`.
    func package(
        _ ids: [String], authority: String = reading, opensAt: Instant = monday, json: String = "{}"
    ) throws -> KeptPackage {
        KeptPackage(
            authority: authority, opensAt: opensAt, builtAt: opensAt, cases: try ids.map { try RecordID($0) },
            json: Array(json.utf8))
    }

    /// Accepts `id` for `authority` as the day team manager at Monday's opening.
    func accept(
        _ id: String, authority: String = reading, in storage: any CentralStorage
    ) async throws -> HandoverService.Accepted {
        try await HandoverService(storage: storage).accept(
            case: try RecordID(id), by: "A. Day", role: "Day team manager", authority: authority,
            at: Self.monday, recordedAt: Self.monday)
    }

    /// The reason `accept` was refused for, nil when it was not.
    func refusal(
        _ id: String, authority: String = reading, in storage: any CentralStorage
    ) async -> HandoverService.Refusal.Reason? {
        do {
            _ = try await accept(id, authority: authority, in: storage)
            return nil
        } catch let refusal as HandoverService.Refusal {
            return refusal.reason
        } catch {
            Issue.record("not a refusal: \(error)")
            return nil
        }
    }

    @Test(arguments: StorageBackend.available) func theCentresEntryDeviceIsItsCursorNameAndItsCounterMovesOn(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let device = try storage.centreDevice
            #expect(device.rawValue == SyncService(storage: storage).cursorName)
            #expect(HandoverAcceptance.isCentreDevice(device))
            let counters = [try await storage.nextEntryCounter(), try await storage.nextEntryCounter()]
            #expect(counters == [1, 2])
        }
        // Kept in the database: a reopened database goes on from where it was.
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("central.sqlite").path
        _ = try await SQLiteCentralStorage(path: path).nextEntryCounter()
        #expect(try await SQLiteCentralStorage(path: path).nextEntryCounter() == 2)
    }

    @Test(arguments: StorageBackend.available) func anAcceptanceIsTheCentresSignedEntryAndReachesALaptopByAPull(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try device()
            _ = try await service.store([try referral("case-1"), try referral("case-2")], from: laptop)
            #expect(try await storage.keep(try package(["case-1"])))
            let before = try await storage.newestSequence()

            let accepted = try await accept("case-1", in: storage)
            #expect(accepted.sequence == before + 1, "stored as a change like any other")
            #expect(try await storage.newestSequence() == before + 1)
            let stored = try #require(try await storage.storedCase(try RecordID("case-1")))
            let entry = try #require(stored.entries.first { $0.kind == HandoverAcceptance.kind })
            #expect(entry.dot == (try Dot(try storage.centreDevice, 1)))
            #expect(HandoverAcceptance.all(in: stored, centreKey: storage.publicKey) == [accepted.acceptance])
            #expect(accepted.acceptance.authority == Self.reading && accepted.acceptance.by.name == "A. Day")
            #expect(
                HandoverAcceptance.all(
                    in: stored, centreKey: Array(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation)
                )
                .isEmpty, "signed with the centre's key, no other")

            // A laptop that pulled up to before the acceptance is sent the case again, acceptance and all.
            let reply = try await service.reply(
                pushed: [], outcomes: [], pull: Cursor("central.\(storage.identity):\(before)"), to: laptop,
                counter: 1)
            let stream = try DecodedStream(reply, verifier: .key(storage.signingKey.publicKey))
            let records = stream.content.compactMap { if case .record(let record) = $0 { record } else { nil } }
            #expect(records.map(\.id.rawValue) == ["case-1"])
            #expect(
                records.first.map { HandoverAcceptance.all(in: $0, centreKey: storage.publicKey) } == [
                    accepted.acceptance
                ])
        }
    }

    @Test(arguments: StorageBackend.available) func eachRefusedAcceptanceChangesNothing(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let both = try device(authorities: [Self.reading, Self.westminster])
            _ = try await service.store(
                [
                    try referral("reading-case"), try referral("westminster-case", host: Self.westminster),
                    try referral("not-handed-over"),
                ], from: both)
            #expect(try await storage.keep(try package(["reading-case"])))
            #expect(try await storage.keep(try package(["westminster-case"], authority: Self.westminster)))
            _ = try await accept("reading-case", in: storage)

            let newest = try await storage.newestSequence()
            let ids = ["reading-case", "westminster-case", "not-handed-over"]
            var cases: [Record?] = []
            for id in ids { cases.append(try await storage.storedCase(try RecordID(id))) }

            #expect(await refusal("no-such-case", in: storage) == .noSuchCase)
            #expect(await refusal("westminster-case", in: storage) == .anotherAuthority)
            #expect(
                await refusal("reading-case", authority: Self.westminster, in: storage) == .anotherAuthority,
                "handed over to Reading, accepted by Reading: Westminster cannot accept it")
            #expect(await refusal("not-handed-over", in: storage) == .neverHandedOver)
            #expect(await refusal("reading-case", in: storage) == .alreadyAccepted)
            let notHandedOver = try RecordID("not-handed-over")
            do throws(HandoverService.Refusal) {
                _ = try await HandoverService(storage: storage).accept(
                    case: notHandedOver, by: " ", role: "Day team manager",
                    authority: Self.reading, at: Self.monday, recordedAt: Self.monday)
                Issue.record("an acceptance by nobody was recorded")
            } catch {
                #expect(error.reason == .invalid)
            }

            #expect(try await storage.newestSequence() == newest, "no change was numbered")
            for (id, before) in zip(ids, cases) {
                #expect(try await storage.storedCase(try RecordID(id)) == before, "\(id) is as it was")
            }
        }
    }

    @Test(arguments: StorageBackend.available) func ofTwoAcceptancesAtOnceOnlyOneIsStored(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            _ = try await SyncService(storage: storage).store([try referral("case-1")], from: try device())
            #expect(try await storage.keep(try package(["case-1"])))
            let results = await withTaskGroup(of: HandoverService.Refusal.Reason?.self) { group in
                for _ in 0..<8 { group.addTask { await self.refusal("case-1", in: storage) } }
                var results: [HandoverService.Refusal.Reason?] = []
                for await result in group { results.append(result) }
                return results
            }
            #expect(results.filter { $0 == nil }.count == 1, "one acceptance recorded: \(results)")
            #expect(results.filter { $0 == .alreadyAccepted }.count == 7, "\(results)")
            let stored = try #require(try await storage.storedCase(try RecordID("case-1")))
            #expect(HandoverAcceptance.all(in: stored, centreKey: storage.publicKey).count == 1)
        }
    }

    @Test(arguments: StorageBackend.available) func aDeviceCannotBringAnAcceptanceNorBeEnrolledAsTheCentre(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let key = Curve25519.Signing.PrivateKey()
            let laptop = try device(key: key)
            let service = SyncService(storage: storage)
            let id = try RecordID("case-1")
            _ = try await service.store([try referral("case-1")], from: laptop)
            // An acceptance the laptop made and signed itself, at its own dot, naming itself.
            let payload = try HandoverAcceptance.sign(
                [
                    "authority": .string(Self.reading), "by": .string("A. Day"), "role": .string("Day team manager"),
                    "at": .string("2026-11-30T09:00:00Z"), "recordedAt": .string("2026-11-30T09:00:00Z"),
                    "device": .string("edt-laptop-a"),
                ], record: id
            ) { Array(try key.signature(for: $0)) }
            let forged = Record(
                id: id, fields: [],
                entries: [
                    try Entry(
                        dot: try Dot(try DeviceID("edt-laptop-a"), 100), kind: HandoverAcceptance.kind,
                        payload: .object(payload))
                ])
            let before = try await storage.storedCase(id)
            let outcomes = try await service.store([forged], from: laptop)
            #expect(outcomes.map(\.rejectionCode) == ["forbidden"])
            if case .rejected(_, let rejection)? = outcomes.first {
                #expect(rejection.message.contains("only the centre records a day team's acceptance"))
            }
            #expect(try await storage.storedCase(id) == before, "nothing of the case was stored")

            // Relayed in a colleague's signed bundle: refused the same way.
            try await storage.enroll(laptop)
            let reply = try await service.relay(
                bundle([forged], device: "edt-laptop-a", key: key), from: try device("edt-laptop-x"), counter: 1)
            #expect(try answers(reply, storage: storage).map(\.reasonCode) == ["forbidden"])
            #expect(try await storage.storedCase(id) == before)

            await #expect(throws: CentralError.self) {
                try await storage.enroll(try self.device("central.x"))
            }
            #expect(try await storage.device(try DeviceID("central.x")) == nil)
        }
    }

    @Test(arguments: StorageBackend.available) func aFirstPullLeavesOutAcceptedCasesAndALaterOneSendsTheAcceptance(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let writer = try device("edt-laptop-b")
            _ = try await service.store(
                [try referral("case-1", device: "edt-laptop-b"), try referral("case-2", device: "edt-laptop-b")],
                from: writer)
            let holder = try device()
            let held = try pulled(
                try await service.reply(pushed: [], outcomes: [], pull: Cursor("-"), to: holder, counter: 1),
                by: storage)
            #expect(held.ids == ["case-1", "case-2"])
            #expect(try await storage.keep(try package(["case-1", "case-2"])))
            _ = try await accept("case-1", in: storage)

            // A laptop new to the centre is not sent the accepted case, and its cursor covers it.
            let newcomer = try pulled(
                try await service.reply(
                    pushed: [], outcomes: [], pull: Cursor("-"), to: try device("edt-laptop-n"), counter: 1),
                by: storage)
            #expect(newcomer.ids == ["case-2"])
            #expect(newcomer.knowledge?.text == "central.\(storage.identity):3")
            let listing = try await storage.changes(
                after: 0, authorities: [Self.reading], limit: 10, leavingOutAcceptedUpTo: 3)
            #expect(listing.records.map(\.id.rawValue) == ["case-2"] && listing.upTo == 3 && !listing.more)
            // The laptop that holds it is sent the acceptance, to purge its copy.
            let later = try pulled(
                try await service.reply(pushed: [], outcomes: [], pull: held.knowledge, to: holder, counter: 2),
                by: storage)
            #expect(later.ids == ["case-1"])
            // A change after acceptance still reaches a laptop that holds the case.
            _ = try await service.store(
                [try referral("case-1", concern: "Mother reached", device: "edt-laptop-c")],
                from: try device("edt-laptop-c"))
            let after = try pulled(
                try await service.reply(pushed: [], outcomes: [], pull: later.knowledge, to: holder, counter: 3),
                by: storage)
            #expect(after.ids == ["case-1"])
            let stillLeftOut = try pulled(
                try await service.reply(
                    pushed: [], outcomes: [], pull: Cursor("-"), to: try device("edt-laptop-n"), counter: 2),
                by: storage)
            #expect(stillLeftOut.ids == ["case-2"], "a case once accepted stays so")
        }
    }

    @Test(arguments: StorageBackend.available) func aFirstPullInPagesLeavesOutOnlyCasesAcceptedBeforeItBegan(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            var configuration = SyncService.Configuration()
            configuration.pullPageRecords = 1
            let service = SyncService(storage: storage, configuration: configuration)
            let writer = try device("edt-laptop-b")
            _ = try await service.store(
                try (1...3).map { try referral("case-\($0)", device: "edt-laptop-b") }, from: writer)
            #expect(try await storage.keep(try package(["case-1", "case-2", "case-3"])))
            _ = try await accept("case-3", in: storage)  // change 4

            let newcomer = try device("edt-laptop-n")
            var cursor = Cursor("-")
            var pages: [[String]] = []
            while true {
                let page = try pulled(
                    try await service.reply(pushed: [], outcomes: [], pull: cursor, to: newcomer, counter: 1),
                    by: storage)
                pages.append(page.ids)
                cursor = page.knowledge
                if pages.count == 1 {
                    #expect(page.more)
                    // Accepted once the newcomer may hold it: it must be sent the acceptance.
                    _ = try await accept("case-1", in: storage)  // change 5
                }
                if !page.more { break }
                #expect(pages.count < 10, "the pull must move on")
            }
            #expect(pages == [["case-1"], ["case-2"], ["case-1"]], "case-3, accepted before, is never sent")
            #expect(cursor?.text == "central.\(storage.identity):5", "a finished first pull's cursor is plain")
            // A cursor's first-pull mark is the centre's own: one it did not issue means starting over.
            let forged = try #require(Cursor("central.\(storage.identity):1,central.\(storage.identity).first-pull:99"))
            await #expect(throws: CentralError.self) {
                try await service.reply(pushed: [], outcomes: [], pull: forged, to: newcomer, counter: 2)
            }
        }
    }

    @Test(arguments: StorageBackend.available) func theFirstPackageKeptForAnOpeningWinsAndUnacceptedCasesCarryOver(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let both = try device(authorities: [Self.reading, Self.westminster])
            _ = try await service.store(
                [
                    try referral("case-1"), try referral("case-2"), try referral("case-3"),
                    try referral("case-w", host: Self.westminster),
                ], from: both)
            let first = try package(["case-2", "case-1"], json: #"{"first":true}"#)
            #expect(try await storage.keep(first))
            #expect(!(try await storage.keep(try package(["case-3"], json: #"{"second":true}"#))))
            let kept = try #require(try await storage.keptPackage(authority: Self.reading, opensAt: Self.monday))
            #expect(kept == first && kept.cases.map(\.rawValue) == ["case-1", "case-2"])
            #expect(Array(kept.json) == Array(#"{"first":true}"#.utf8))
            #expect(try await storage.keptPackage(authority: Self.reading, opensAt: Self.tuesday) == nil)
            #expect(try await storage.keep(try package(["case-w"], authority: Self.westminster)))

            #expect(try await storage.wasHandedOver(try RecordID("case-1"), to: Self.reading))
            #expect(!(try await storage.wasHandedOver(try RecordID("case-3"), to: Self.reading)))
            #expect(!(try await storage.wasHandedOver(try RecordID("case-1"), to: Self.westminster)))

            _ = try await accept("case-2", in: storage)
            #expect(
                try await storage.handedOverUnaccepted(to: Self.reading, before: Self.tuesday).map(\.rawValue)
                    == ["case-1"], "case-2 was accepted; case-3 never handed over")
            #expect(
                try await storage.handedOverUnaccepted(to: Self.reading, before: Self.monday).isEmpty,
                "nothing was handed over before Monday")
            #expect(try await storage.keep(try package(["case-1", "case-3"], opensAt: Self.tuesday)))
            #expect(try await storage.keptOpenings(of: Self.reading) == [Self.monday, Self.tuesday])
            #expect(try await storage.keptOpenings(of: Self.westminster) == [Self.monday])
            let wednesday = try #require(Instant(iso8601: "2026-12-02T09:00:00Z"))
            #expect(
                try await storage.handedOverUnaccepted(to: Self.reading, before: wednesday).map(\.rawValue)
                    == ["case-1", "case-3"], "each once, however many packages held it")
        }
    }
}

extension RecordAnswer {
    /// The `NAK` reason's code, nil for an `ACK`.
    var reasonCode: String? {
        if case .refused(_, let reason, _) = self { reason.code } else { nil }
    }
}

extension CentralTests {
    @Test(arguments: StorageBackend.available) func aLaptopThatStartsOverIsSentTheAcceptanceOfACaseItPushesAgain(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try device()
            let part = try referral("case-1")
            _ = try await service.store([part, try referral("case-2")], from: laptop)
            #expect(try await storage.keep(try package(["case-1", "case-2"])))
            _ = try await accept("case-1", in: storage)
            _ = try await accept("case-2", in: storage)

            // The laptop starts over: it pushes its copy of case-1 again (without the acceptance)
            // and pulls from the start. It is sent case-1, acceptance and all, so it can drop it;
            // not case-2, which it did not push (it holds no copy).
            let outcomes = try await service.store([part], from: laptop)
            let reply = try await service.reply(
                pushed: [part], outcomes: outcomes, pull: Cursor("-"), to: laptop, counter: 2)
            #expect(try pulled(reply, by: storage).ids == ["case-1"])

            // A laptop that pushes nothing is sent neither.
            let fresh = try await service.reply(
                pushed: [], outcomes: [], pull: Cursor("-"), to: laptop, counter: 3)
            #expect(try pulled(fresh, by: storage).ids.isEmpty)
        }
    }
}

extension CentralTests {
    @Test func aCentreRestoredFromAnOlderBackupTakesBackItsOwnAcceptanceAndNeverReusesItsDot() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("central.sqlite").path
        let backup = directory.appendingPathComponent("backup.sqlite").path
        let laptop = try device()
        var accepted: Record?
        do {
            let storage = try SQLiteCentralStorage(path: path)
            let service = SyncService(storage: storage)
            _ = try await service.store([try referral("case-1")], from: laptop)
            #expect(try await storage.keep(try package(["case-1"])))
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
                try FileManager.default.copyItem(atPath: path + suffix, toPath: backup + suffix)
            }
            _ = try await accept("case-1", in: storage)
            accepted = try await storage.storedCase(try RecordID("case-1"))
        }
        // Restored from the backup taken before the acceptance; the laptop, which holds the
        // accepted case, starts over and pushes it back.
        let restored = try SQLiteCentralStorage(path: backup)
        let record = try #require(accepted)
        let outcomes = try await SyncService(storage: restored).store([record], from: laptop)
        guard case .stored? = outcomes.first else {
            Issue.record("the centre's own acceptance was refused: \(outcomes)")
            return
        }
        let stored = try #require(try await restored.storedCase(try RecordID("case-1")))
        #expect(HandoverAcceptance.all(in: stored, centreKey: restored.publicKey).count == 1)
        #expect(try await restored.nextEntryCounter() == 2, "the dot brought back is never given again")

        // An acceptance in the centre's name that its key did not sign is still refused.
        var forged = record
        let forger = Curve25519.Signing.PrivateKey()
        let entry = try #require(record.entries.first { $0.kind == HandoverAcceptance.kind })
        guard case .object(var payload) = entry.payload else { return }
        payload["by"] = .string("Someone Else")
        let signed = HandoverAcceptance.sign(payload, record: record.id) {
            Array((try? forger.signature(for: $0)) ?? Data())
        }
        forged = Record(
            id: record.id, fields: record.fields,
            entries: [try Entry(dot: try Dot(try restored.centreDevice, 7), kind: entry.kind, payload: .object(signed))]
        )
        let refused = try await SyncService(storage: restored).store([forged], from: laptop)
        guard case .rejected? = refused.first else {
            Issue.record("a forged centre acceptance was stored: \(refused)")
            return
        }
    }
}
