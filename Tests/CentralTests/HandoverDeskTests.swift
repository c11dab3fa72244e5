import Central
import Foundation
import Handover
import Logging
import Referrals
import Replication
import Testing

/// The centre's handover desk: the package due at an authority's opening is kept once that
/// opening has come and shown unchanged afterwards; a later package carries over what an
/// earlier one handed over until its day team accepts it; an opening still to come is only a
/// preview; and the scheduler keeps every authority's package at its own opening.
extension CentralTests {
    static let slough = "E06000039"
    /// Slough opens at 08:30 on Mondays (an operator's file), Reading at 09:00.
    static let consortium = try! AuthorityDirectory.shipped.applying(
        operatorFile: """
            [authority E06000039]
            hours = mon 08:30-17:00
            """, source: "test")
    static let saturdayNight = "2026-11-21T02:10:00Z"
    static let readingOpens = Instant(iso8601: "2026-11-23T09:00:00Z")!
    static let sloughOpens = Instant(iso8601: "2026-11-23T08:30:00Z")!

    func desk(_ storage: any CentralStorage) -> HandoverDesk {
        HandoverDesk(storage: storage, directory: Self.consortium)
    }

    func caseIDs(_ kept: KeptPackage) -> [String] { kept.cases.map(\.rawValue) }

    /// A laptop's replica holding referral `id` for Reading, received on Saturday night: for a
    /// test that edits it again later.
    func nightReplica(holding id: RecordID) throws -> Replica {
        var replica = Replica(device: try DeviceID("edt-laptop-a"))
        replica.write(
            [
                (try FieldPath("receivedAt"), .string(Self.saturdayNight)),
                (try FieldPath("receivedBy.name"), .string("J. Okafor")),
                (try FieldPath("receivedBy.role"), .string("EDT social worker")),
                (try FieldPath("channel"), .string("phone")),
                (try FieldPath("hostAuthority"), .string(Self.reading)),
                (try FieldPath("concern"), .string("Child alone")),
            ], in: id)
        return replica
    }

    @Test(arguments: StorageBackend.available) func aPackageIsKeptAtItsOpeningAndShownUnchangedWhenLookedAtLater(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try device()
            _ = try await service.store([try referral("night-case", receivedAt: Self.saturdayNight)], from: laptop)
            let atOpening = try await desk(storage).package(
                for: Self.reading, at: Instant(iso8601: "2026-11-22T12:00:00Z")!, now: Self.readingOpens)
            #expect(atOpening.isKept)
            #expect(atOpening.kept.opensAt == Self.readingOpens)
            #expect(caseIDs(atOpening.kept) == ["night-case"])
            #expect(String(decoding: atOpening.kept.html, as: UTF8.self).contains("night-case"))

            // Looked at later, the same bytes as handed over at 09:00.
            let unchanged = try await desk(storage).package(
                for: Self.reading, at: Self.readingOpens, now: Instant(iso8601: "2026-11-23T10:00:00Z")!)
            #expect(unchanged.isKept && unchanged.kept.json == atOpening.kept.json)

            // A case of the same night reaches the centre after the opening (a laptop synced
            // late): the package handed over at 09:00 stays what it was, and the late case is
            // handed over at the next look, in an addendum, marked as such, not the next morning.
            _ = try await service.store(
                [try referral("late-sync", receivedAt: "2026-11-22T23:00:00Z")], from: laptop)
            let tenThirty = Instant(iso8601: "2026-11-23T10:30:00Z")!
            let later = try await desk(storage).package(for: Self.reading, at: Self.readingOpens, now: tenThirty)
            #expect(later.isKept)
            #expect(Set(caseIDs(later.kept)) == ["night-case", "late-sync"])
            let document = String(decoding: later.kept.json, as: UTF8.self)
            #expect(document.contains("\"handedOverAt\":\"2026-11-23T10:30:00Z\""), "\(document)")
            #expect(document.components(separatedBy: "\"lateArrival\":true").count == 2, "only the late case")
            let page = String(decoding: later.kept.html, as: UTF8.self)
            #expect(page.contains("Handed over late") && page.contains("late-sync") && page.hasSuffix("</html>\n"))
            #expect(try await storage.wasHandedOver(try RecordID("late-sync"), to: Self.reading))
            #expect(try await storage.keptOpenings(of: Self.reading) == [Self.readingOpens])

            // Looked at again: nothing new, the same document; once the next opening has come, the
            // earlier package is as it was, addendum and all, and hands over nothing more.
            let again = try await desk(storage).package(
                for: Self.reading, at: Self.readingOpens, now: Instant(iso8601: "2026-11-23T11:00:00Z")!)
            #expect(again.kept.json == later.kept.json)
            #expect(try await storage.addenda(authority: Self.reading, opensAt: Self.readingOpens).count == 1)
        }
    }

    @Test(arguments: StorageBackend.available) func aLaterPackageCarriesOverWhatWasNotAcceptedAndLeavesOutWhatWas(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            _ = try await service.store(
                [
                    try referral("accepted-monday", receivedAt: Self.saturdayNight),
                    try referral("not-accepted", receivedAt: "2026-11-21T03:00:00Z"),
                ], from: try device())
            let monday = try await desk(storage).package(
                for: Self.reading, at: Self.readingOpens, now: Self.readingOpens)
            #expect(caseIDs(monday.kept) == ["accepted-monday", "not-accepted"])
            _ = try await HandoverService(storage: storage).accept(
                case: try RecordID("accepted-monday"), by: "A. Day", role: "Day team manager",
                authority: Self.reading, at: Instant(iso8601: "2026-11-23T09:20:00Z")!,
                recordedAt: Instant(iso8601: "2026-11-23T09:20:00Z")!)

            let tuesdayOpens = Instant(iso8601: "2026-11-24T09:00:00Z")!
            let tuesday = try await desk(storage).package(
                for: Self.reading, at: Instant(iso8601: "2026-11-23T17:00:00Z")!, now: tuesdayOpens)
            #expect(tuesday.isKept && tuesday.kept.opensAt == tuesdayOpens)
            #expect(caseIDs(tuesday.kept) == ["not-accepted"])
            let document = String(decoding: tuesday.kept.json, as: UTF8.self)
            #expect(document.contains("\"carriedOver\":true"), "\(document)")
            // The acknowledgement deadline (one working day: Monday's close) has passed.
            #expect(document.contains("\"overdue\":true"), "\(document)")
        }
    }

    @Test(arguments: StorageBackend.available) func anOpeningStillToComeIsAPreviewAndNotKept(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            _ = try await SyncService(storage: storage).store(
                [try referral("night-case", receivedAt: Self.saturdayNight)], from: try device())
            let preview = try await desk(storage).package(
                for: Self.reading, at: Self.readingOpens, now: Instant(iso8601: "2026-11-23T08:59:59Z")!)
            #expect(!preview.isKept)
            #expect(caseIDs(preview.kept) == ["night-case"])
            #expect(try await storage.keptOpenings(of: Self.reading).isEmpty)
            #expect(try await storage.wasHandedOver(try RecordID("night-case"), to: Self.reading) == false)

            // A preview is made with the document asked for alone, the same bytes as made with both.
            let beforeOpening = Instant(iso8601: "2026-11-23T08:59:59Z")!
            let jsonOnly = try await desk(storage).package(
                for: Self.reading, at: Self.readingOpens, now: beforeOpening, documents: .json)
            #expect(jsonOnly.kept.json == preview.kept.json && jsonOnly.kept.html.isEmpty)
            let pageOnly = try await desk(storage).package(
                for: Self.reading, at: Self.readingOpens, now: beforeOpening, documents: .html)
            #expect(pageOnly.kept.json.isEmpty && !pageOnly.kept.html.isEmpty)
            #expect(String(decoding: pageOnly.kept.html, as: UTF8.self).contains("night-case"))
            #expect(try await storage.keptOpenings(of: Self.reading).isEmpty)
        }
    }

    @Test(arguments: StorageBackend.available) func aPackageKeptAtItsOpeningIsKeptWithBothDocumentsWhateverIsAsked(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            _ = try await SyncService(storage: storage).store(
                [try referral("night-case", receivedAt: Self.saturdayNight)], from: try device())
            let due = try await desk(storage).package(
                for: Self.reading, at: Self.readingOpens, now: Self.readingOpens, documents: .json)
            #expect(due.isKept)
            #expect(!due.kept.json.isEmpty && String(decoding: due.kept.html, as: UTF8.self).contains("night-case"))
            let kept = try #require(try await storage.keptPackage(authority: Self.reading, opensAt: Self.readingOpens))
            #expect(kept.json == due.kept.json && kept.html == due.kept.html)
        }
    }

    @Test(arguments: StorageBackend.available) func anUnknownAuthorityIsRefusedAndNotADatabaseFailure(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            do throws(HandoverDesk.Unavailable) {
                _ = try await desk(storage).package(for: "E06999999", at: Self.readingOpens, now: Self.readingOpens)
                Issue.record("an unknown authority gave a package")
            } catch {
                #expect(!error.isStorage)
                #expect(error.message.contains("not a known authority"))
            }
        }
    }

    @Test(arguments: StorageBackend.available) func theSchedulerKeepsEachAuthoritysPackageAtItsOwnOpeningOnce(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let laptop = try device(authorities: [Self.reading, Self.slough])
            _ = try await SyncService(storage: storage, configuration: .init()).store(
                [
                    try referral("reading-night", receivedAt: Self.saturdayNight),
                    try referral("slough-night", host: Self.slough, receivedAt: Self.saturdayNight),
                ], from: laptop)
            let clock = Clock(Instant(iso8601: "2026-11-23T08:00:00Z")!)
            let scheduler = HandoverScheduler(
                desk: desk(storage), logger: Logger(label: "test"), now: { clock.now })

            #expect(await scheduler.keepDue().isEmpty == false, "Friday's openings, on starting")
            let fridays = try await storage.keptOpenings(of: Self.slough)
            #expect(fridays.count == 1)

            clock.now = Instant(iso8601: "2026-11-23T08:30:05Z")!
            let atSlough = await scheduler.keepDue()
            #expect(atSlough.map(\.authority) == [Self.slough])
            #expect(atSlough.first?.cases.map(\.rawValue) == ["slough-night"])
            #expect(atSlough.first?.opensAt == Self.sloughOpens)

            clock.now = Instant(iso8601: "2026-11-23T09:00:01Z")!
            let atReading = await scheduler.keepDue()
            #expect(atReading.map(\.authority) == [Self.reading])
            #expect(atReading.first?.cases.map(\.rawValue) == ["reading-night"])
            #expect(await scheduler.keepDue().isEmpty, "each opening's package is kept once")
        }
    }

    @Test(arguments: StorageBackend.available) func theSchedulerSleepsUntilTheNextOpeningAndNoLongerThanItsLongestWait(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            _ = try await SyncService(storage: storage).store(
                [try referral("reading-night", receivedAt: Self.saturdayNight)], from: try device())
            let clock = Clock(Instant(iso8601: "2026-11-23T08:59:30Z")!)
            let scheduler = HandoverScheduler(
                desk: desk(storage), logger: Logger(label: "test"), longestWait: .seconds(60), now: { clock.now })
            #expect(await scheduler.waitBeforeNextLook() == .seconds(31))
            clock.now = Instant(iso8601: "2026-11-23T09:00:01Z")!
            #expect(await scheduler.waitBeforeNextLook() == .seconds(60))
        }
    }
}

/// A clock a test moves by hand.
final class Clock: @unchecked Sendable {
    private let lock = NSLock()
    private var instant: Instant
    init(_ instant: Instant) { self.instant = instant }
    var now: Instant {
        get { lock.withLock { instant } }
        set { lock.withLock { instant = newValue } }
    }
}

extension CentralTests {
    @Test(arguments: StorageBackend.available)
    func aCaseWhoseHostIsCorrectedToAnAuthorityThatHasNotAcceptedItIsOpenAgain(backend: StorageBackend) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try device(authorities: [Self.reading, Self.slough])
            let id = try RecordID("moved-case")
            var replica = try nightReplica(holding: id)
            _ = try await service.store([try #require(replica[id])], from: laptop)
            _ = try await desk(storage).package(for: Self.reading, at: Self.readingOpens, now: Self.readingOpens)
            _ = try await HandoverService(storage: storage).accept(
                case: id, by: "A. Day", role: "Day team manager", authority: Self.reading, at: Self.readingOpens,
                recordedAt: Self.readingOpens)
            #expect(try await storage.unacceptedCases(of: Self.reading).isEmpty)

            // The laptop corrects the host: Slough has accepted nothing, so the case is open again.
            replica.write(.string(Self.slough), to: try FieldPath("hostAuthority"), in: id)
            let outcomes = try await service.store([try #require(replica[id])], from: laptop)
            guard case .stored = outcomes.first else {
                Issue.record("the correction was refused: \(outcomes)")
                return
            }
            #expect(try await storage.unacceptedCases(of: Self.slough).map(\.id) == [id])
            let slough = try await desk(storage).package(
                for: Self.slough, at: Self.readingOpens, now: Instant(iso8601: "2026-11-24T09:00:00Z")!)
            #expect(caseIDs(slough.kept) == ["moved-case"])
        }
    }

    @Test(arguments: StorageBackend.available) func aCaseHandedOverAndThenGivenAnotherHostIsStillCarriedOver(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try device(authorities: [Self.reading, Self.slough])
            let moved = try RecordID("moved-case")
            var replica = try nightReplica(holding: moved)
            _ = try await service.store(
                [try #require(replica[moved]), try referral("stays", receivedAt: Self.saturdayNight)], from: laptop)
            let monday = try await desk(storage).package(
                for: Self.reading, at: Self.readingOpens, now: Self.readingOpens)
            #expect(monday.isKept && caseIDs(monday.kept) == ["moved-case", "stays"])

            // The host corrected to Slough after Reading's package handed it over, nobody having
            // accepted it: Reading's next package still carries it over.
            replica.write([(try FieldPath("hostAuthority"), .string(Self.slough))], in: moved)
            let stored = try await service.store([try #require(replica[moved])], from: laptop)
            #expect(stored.count == 1)
            #expect(try await storage.unacceptedCases(of: Self.reading).map(\.id.rawValue) == ["stays"])
            let tuesdayOpens = Instant(iso8601: "2026-11-24T09:00:00Z")!
            let tuesday = try await desk(storage).package(for: Self.reading, at: tuesdayOpens, now: tuesdayOpens)
            #expect(tuesday.isKept && caseIDs(tuesday.kept) == ["moved-case", "stays"])
            let document = String(decoding: tuesday.kept.json, as: UTF8.self)
            #expect(document.contains("\"moved-case\""), "\(document)")
        }
    }

    @Test(arguments: StorageBackend.available) func anAuthoritysOpenCasesAreReadInIdOrderABatchAtATime(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try device(authorities: [Self.reading, Self.slough])
            // More cases than fit a batch, stored out of order, Slough's among them.
            var numbers = Array(0..<700)
            var generator = SystemRandomNumberGenerator()
            numbers.shuffle(using: &generator)
            for start in stride(from: 0, to: numbers.count, by: 100) {
                let parts = try numbers[start..<(start + 100)].map { number in
                    try referral(
                        String(format: "case-%04d", number), host: number % 7 == 0 ? Self.slough : Self.reading,
                        receivedAt: Self.saturdayNight)
                }
                _ = try await service.store(parts, from: laptop)
            }
            let reading = (0..<700).filter { $0 % 7 != 0 }.map { String(format: "case-%04d", $0) }
            #expect(try await storage.unacceptedCases(of: Self.reading).map(\.id.rawValue) == reading)
            // Each batch handed on as it is decoded, in order, none larger than a batch.
            let batches = try await storage.unacceptedCases(of: Self.reading) { records in
                records.map(\.id.rawValue)
            }
            #expect(batches.count > 1)
            #expect(batches.allSatisfy { $0.count <= StoredCases.batchSize })
            #expect(batches.flatMap { $0 } == reading)
            let slough = (0..<700).filter { $0 % 7 == 0 }.map { String(format: "case-%04d", $0) }
            #expect(try await storage.unacceptedCases(of: Self.slough).map(\.id.rawValue) == slough)
        }
    }

    @Test(arguments: StorageBackend.available) func anEarlierOpeningNoPackageWasKeptForIsShownAndNeverKeptAfterTheFact(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            _ = try await SyncService(storage: storage).store(
                [try referral("night-case", receivedAt: Self.saturdayNight)], from: try device())
            // A week later: Monday the 23rd's package was never kept (the centre was not serving).
            let later = try await desk(storage).package(
                for: Self.reading, at: Self.readingOpens, now: Instant(iso8601: "2026-11-30T10:00:00Z")!)
            #expect(!later.isKept && !later.isPreview)
            #expect(caseIDs(later.kept) == ["night-case"])
            #expect(try await storage.keptOpenings(of: Self.reading).isEmpty)
        }
    }
}

extension CentralTests {
    @Test(arguments: StorageBackend.available)
    func anAcceptanceDatedBeforeTheCaseWasHandedOverIsRefusedAndChangesNothing(backend: StorageBackend) async throws {
        try await withStorage(backend) { storage in
            _ = try await SyncService(storage: storage).store(
                [try referral("night-case", receivedAt: Self.saturdayNight)], from: try device())
            _ = try await desk(storage).package(for: Self.reading, at: Self.readingOpens, now: Self.readingOpens)
            let newest = try await storage.newestSequence()
            do {
                _ = try await HandoverService(storage: storage).accept(
                    case: try RecordID("night-case"), by: "A. Day", role: "Day team manager",
                    authority: Self.reading, at: Instant(iso8601: "2026-11-23T08:59:59Z")!,
                    recordedAt: Instant(iso8601: "2026-11-23T10:00:00Z")!)
                Issue.record("an acceptance dated before the handover was recorded")
            } catch let refusal as HandoverService.Refusal {
                #expect(refusal.reason == .invalid)
                #expect(refusal.message.contains("before case night-case was handed over"))
            }
            #expect(try await storage.newestSequence() == newest)
        }
    }
}

extension CentralTests {
    @Test(arguments: StorageBackend.available) func theSchedulerHandsOverLateCasesWhileTheOfficeIsOpenAndOnlyOnce(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let laptop = try device()
            _ = try await service.store([try referral("night-case", receivedAt: Self.saturdayNight)], from: laptop)
            let clock = Clock(Instant(iso8601: "2026-11-23T09:00:30Z")!)
            let scheduler = HandoverScheduler(desk: desk(storage), logger: Logger(label: "test"), now: { clock.now })
            #expect(await scheduler.keepDue().count == 1)
            func handoverReads(_ id: String) async throws -> Int {
                try await storage.auditEntries(of: try RecordID(id), after: 0, limit: 10_000).filter {
                    $0.action == "handover"
                }.count
            }
            #expect(try await handoverReads("night-case") == 1, "read once, as its package handed it over")
            #expect(await scheduler.handOverLateArrivals() == 0, "nothing late yet")
            #expect(try await handoverReads("night-case") == 1, "a look that finds nothing late shows nothing")

            // At 09:40 a laptop syncs a case of that night: handed over at the next look.
            _ = try await service.store([try referral("late-case", receivedAt: "2026-11-22T22:00:00Z")], from: laptop)
            clock.now = Instant(iso8601: "2026-11-23T09:41:00Z")!
            #expect(await scheduler.handOverLateArrivals() == 1)
            #expect(await scheduler.handOverLateArrivals() == 0, "once")
            #expect(try await handoverReads("late-case") == 1, "read as its addendum handed it over")
            #expect(try await handoverReads("night-case") == 1)
            let addenda = try await storage.addenda(authority: Self.reading, opensAt: Self.readingOpens)
            #expect(addenda.map { caseIDs($0) } == [["late-case"]])
            #expect(addenda.first?.builtAt == clock.now)

            // After the close, a case of the same night waits for the next package (carried).
            _ = try await service.store(
                [try referral("after-close", receivedAt: "2026-11-22T21:00:00Z")], from: laptop)
            clock.now = Instant(iso8601: "2026-11-23T17:30:00Z")!
            #expect(await scheduler.handOverLateArrivals() == 0)
        }
    }
}

extension CentralTests {
    @Test(arguments: StorageBackend.available) func anAddendumNamingOnlyCasesAlreadyHandedOverIsNotKept(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            #expect(try await storage.keep(try package(["case-1"], opensAt: Self.readingOpens)))
            let late = try package(["case-2"], opensAt: Self.readingOpens)
            #expect(try await storage.keepAddendum(late) == 1)
            // A second look at once found the same late case: the first addendum stands.
            #expect(try await storage.keepAddendum(late) == 0)
            #expect(try await storage.keepAddendum(try package(["case-1"], opensAt: Self.readingOpens)) == 0)
            let addenda = try await storage.addenda(authority: Self.reading, opensAt: Self.readingOpens)
            #expect(addenda.map { caseIDs($0) } == [["case-2"]])
            #expect(try await storage.wasHandedOver(try RecordID("case-2"), to: Self.reading))
        }
    }
}
