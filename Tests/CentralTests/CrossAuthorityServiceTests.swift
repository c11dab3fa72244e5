import Central
import Crypto
import Foundation
import Handover
import LineProtocol
import Referrals
import Replication
import TestSupport
import Testing

/// The host/home state machine at the centre: a home authority sees a case only from the host's
/// recorded forwarding (never from a field a device writes), each act is the centre's signed
/// entry or refused with nothing changed, and the clock escalates at referral + 24 hours.
extension CentralTests {
    static let hampshire = "E10000014"
    static let received = Instant(iso8601: "2026-11-28T02:10:00Z")!

    /// `record` with the host's forwarding to `home` appended at `device`'s dot, signed with `key`.
    func forwarded(
        _ record: Record, from host: String = slough, to home: String = hampshire, device: String = "edt-laptop-s",
        key: Curve25519.Signing.PrivateKey, at: String = "2026-11-28T02:30:00Z", verb: CrossAuthorityAct.Verb = .forward
    ) throws -> Record {
        var replica = Replica(device: try DeviceID(device), knowledge: record.version, records: [record])
        let author = try ReferralEntry.Author(name: "J. Okafor", role: "EDT social worker")
        let instant = try #require(Instant(iso8601: at))
        let act = try CrossAuthorityAct(
            verb: verb, authority: host, by: author, at: instant, recordedAt: instant, device: try DeviceID(device),
            home: verb == .forward ? home : nil, reference: verb == .accept ? "REF" : nil,
            referredAt: ReferralTimeline(record: record)?.receivedAt)
        let signed = try CrossAuthorityAct.sign(act.payload, record: record.id) { Array(try key.signature(for: $0)) }
        try replica.append(kind: CrossAuthorityAct.kind, payload: .object(signed), to: record.id)
        return try #require(replica[record.id])
    }

    /// The ids of the cases `authorities` would pull from the start.
    func visible(to authorities: Set<String>, in storage: any CentralStorage) async throws -> [String] {
        try await storage.changes(after: 0, authorities: authorities, limit: 100).records.map(\.id.rawValue)
    }

    /// A day team member.
    static let manager = try! ReferralEntry.Author(name: "H. Patel", role: "Team manager")

    /// The reason `event` by `authority` at `at` is refused for, nil when it is recorded.
    func actRefusal(
        _ event: CrossAuthority.Event, on id: String = "case-1", authority: String?, at: Instant,
        in storage: any CentralStorage
    ) async throws -> CrossAuthorityService.Refusal.Reason? {
        do {
            _ = try await CrossAuthorityService(storage: storage).act(
                event, on: try RecordID(id), by: Self.manager, authority: authority, at: at, recordedAt: at)
            return nil
        } catch let refusal as CrossAuthorityService.Refusal {
            #expect(!refusal.message.isEmpty)
            return refusal.reason
        }
    }

    /// edt-laptop-s, serving Slough, enrolled in `storage`, and the key it signs with.
    func enrolledSloughLaptop(
        in storage: any CentralStorage
    ) async throws -> (laptop: EnrolledDevice, key: Curve25519.Signing.PrivateKey) {
        let key = Curve25519.Signing.PrivateKey()
        let laptop = try device("edt-laptop-s", authorities: [Self.slough], key: key)
        try await storage.enroll(laptop)
        return (laptop, key)
    }

    /// A Slough case, received at ``received``, stored by edt-laptop-s; forwarded to Hampshire
    /// when `forward`. Returns the storage's laptop devices, Slough's and Hampshire's.
    func sloughCase(
        forward: Bool, in storage: any CentralStorage
    ) async throws -> (slough: EnrolledDevice, hampshire: EnrolledDevice, sloughKey: Curve25519.Signing.PrivateKey) {
        let (laptopS, key) = try await enrolledSloughLaptop(in: storage)
        let laptopH = try device("edt-laptop-h", authorities: [Self.hampshire])
        try await storage.enroll(laptopH)
        var part = try referral("case-1", host: Self.slough, home: Self.hampshire, device: "edt-laptop-s")
        if forward { part = try forwarded(part, key: key) }
        let outcomes = try await SyncService(storage: storage).store([part], from: laptopS)
        guard case .stored? = outcomes.first else {
            Issue.record("the case was not stored: \(outcomes)")
            return (laptopS, laptopH, key)
        }
        return (laptopS, laptopH, key)
    }

    @Test(arguments: StorageBackend.available) func aHomeAuthorityFieldShowsTheCaseToNobodyUntilTheHostForwardsIt(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let (laptopS, laptopH, key) = try await sloughCase(forward: false, in: storage)
            // The exact attempt: a device writes homeAuthority = Hampshire. Hampshire sees nothing.
            #expect(try await visible(to: [Self.hampshire], in: storage).isEmpty)
            #expect(try await visible(to: [Self.slough], in: storage) == ["case-1"])
            // Nor can a Hampshire laptop write to it.
            var change = try referral("case-1", host: Self.slough, home: Self.hampshire, device: "edt-laptop-s")
            change = try forwarded(change, key: key)  // a part Hampshire's laptop could not sign
            let note = try referral("case-1", host: Self.slough, concern: "from Hampshire", device: "edt-laptop-h")
            let refused = try await service.store([note], from: laptopH)
            guard case .rejected(_, let rejection)? = refused.first else {
                Issue.record("a Hampshire laptop changed a case Hampshire does not see")
                return
            }
            #expect(rejection.reason == .forbidden)

            // The host forwards it: from that act on, Hampshire sees it.
            let stored = try await service.store([change], from: laptopS)
            guard case .stored? = stored.first else {
                Issue.record("the forwarding was refused: \(stored)")
                return
            }
            #expect(try await visible(to: [Self.hampshire], in: storage) == ["case-1"])
        }
    }

    @Test(arguments: StorageBackend.available) func aDeviceNamesOnlyAHostItServesAndRecordsNoActButTheHostsForwarding(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let (laptopS, key) = try await enrolledSloughLaptop(in: storage)
            func rejection(_ part: Record) async throws -> StoredOutcome.Rejection? {
                let outcomes = try await service.store([part], from: laptopS)
                if case .rejected(_, let rejection)? = outcomes.first { return rejection }
                return nil
            }
            // A host it does not serve, with a home it does: refused (it would show the case to Reading).
            let elsewhere = try referral("case-r", host: Self.reading, home: Self.slough, device: "edt-laptop-s")
            #expect(try await rejection(elsewhere)?.reason == .forbidden)
            // An acceptance, at the laptop's own dot and signed by it: only a centre records one.
            let base = try referral("case-a", host: Self.slough, device: "edt-laptop-s")
            let accepting = try forwarded(base, key: key, verb: .accept)
            #expect(try await rejection(accepting)?.reason == .forbidden)
            // A forwarding as an authority that is not the case's host.
            let asReading = try forwarded(base, from: Self.reading, key: key)
            #expect(try await rejection(asReading)?.reason == .forbidden)
            // A forwarding to an authority that does not exist.
            let nowhere = try forwarded(base, to: "E06999999", key: key)
            #expect(try await rejection(nowhere)?.reason == .invalid)
            // A forwarding signed by another key.
            let forged = try forwarded(base, key: .init())
            #expect(try await rejection(forged)?.reason == .unprovenWrite)
            #expect(try await storage.storedCase(try RecordID("case-a")) == nil, "nothing of the case was stored")
            #expect(try await storage.storedCase(try RecordID("case-r")) == nil)
            // The genuine forwarding is stored.
            #expect(try await rejection(try forwarded(base, key: key)) == nil)
        }
    }

    @Test(arguments: StorageBackend.available) func eachActIsTheCentresSignedEntryAndAForbiddenOneChangesNothing(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            _ = try await sloughCase(forward: true, in: storage)
            let later = Instant(secondsSinceEpoch: Self.received.secondsSinceEpoch + 3_600)
            let before = try await storage.newestSequence()
            // Refused, each for its reason, and nothing stored.
            #expect(
                try await actRefusal(.accept(writtenReference: "R1"), authority: Self.slough, at: later, in: storage)
                    == .notAllowed)
            #expect(
                try await actRefusal(.accept(writtenReference: "R1"), authority: Self.reading, at: later, in: storage)
                    == .anotherAuthority)
            #expect(
                try await actRefusal(.accept(writtenReference: "  "), authority: Self.hampshire, at: later, in: storage)
                    == .notAllowed)
            #expect(try await actRefusal(.escalate, authority: Self.slough, at: later, in: storage) == .notAllowed)
            #expect(
                try await actRefusal(
                    .decide(lead: .home, writtenReference: "D"), authority: Self.slough, at: later, in: storage)
                    == .notAllowed)
            #expect(
                try await actRefusal(.dispute, on: "case-9", authority: Self.slough, at: later, in: storage)
                    == .noSuchCase)
            let future = Instant(secondsSinceEpoch: later.secondsSinceEpoch + 60)
            do {
                _ = try await CrossAuthorityService(storage: storage).act(
                    .dispute, on: try RecordID("case-1"), by: Self.manager, authority: Self.slough, at: future,
                    recordedAt: later)
                Issue.record("an act in the future was recorded")
            } catch let refusal as CrossAuthorityService.Refusal {
                #expect(refusal.reason == .invalid)
            }
            #expect(try await storage.newestSequence() == before, "nothing was stored")

            // Home disputes: the centre's own entry, signed with its key.
            let disputed = try await CrossAuthorityService(storage: storage).act(
                .dispute, on: try RecordID("case-1"), by: Self.manager, authority: Self.hampshire, at: later,
                recordedAt: later)
            #expect(disputed.state == .disputed)
            #expect(disputed.responsible == Self.slough)
            let stored = try #require(try await storage.storedCase(try RecordID("case-1")))
            let entry = try #require(stored.entries.first { $0.dot.device == (try storage.centreDevice) })
            #expect(EntrySignature.verify(entry, in: stored.id, publicKey: storage.publicKey) == .valid)
            // An act dated before the last one is refused: acts are taken in the order they happened.
            let earlier = Instant(secondsSinceEpoch: later.secondsSinceEpoch - 60)
            #expect(try await actRefusal(.dispute, authority: Self.slough, at: earlier, in: storage) == .invalid)
            // Disputed: the home authority can no longer simply accept.
            #expect(
                try await actRefusal(.accept(writtenReference: "R"), authority: Self.hampshire, at: later, in: storage)
                    == .notAllowed)
        }
    }

    @Test(arguments: StorageBackend.available) func bothAuthoritiesMustAgreeThatTheHostCarriesOn(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            _ = try await sloughCase(forward: true, in: storage)
            let service = CrossAuthorityService(storage: storage)
            let id = try RecordID("case-1")
            let first = Instant(secondsSinceEpoch: Self.received.secondsSinceEpoch + 3_600)
            let hostAgrees = try await service.act(
                .agreeHost, on: id, by: Self.manager, authority: Self.slough, at: first, recordedAt: first)
            #expect(hostAgrees.state == .forwardedToHome)
            #expect(try await actRefusal(.agreeHost, authority: Self.slough, at: first, in: storage) == .notAllowed)
            let homeAgrees = try await service.act(
                .agreeHost, on: id, by: Self.manager, authority: Self.hampshire, at: first, recordedAt: first)
            #expect(homeAgrees.state == .hostLeadsByAgreement)
            #expect(homeAgrees.escalatesAt == nil)
            // Settled: the clock has nothing to escalate.
            let dayAfter = Instant(secondsSinceEpoch: Self.received.secondsSinceEpoch + 2 * 86_400)
            #expect(try await service.escalateDue(now: dayAfter).isEmpty)
        }
    }

    @Test(arguments: StorageBackend.available) func theClockEscalatesAtExactlyTwentyFourHoursAndSeniorManagersDecide(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            _ = try await sloughCase(forward: true, in: storage)
            let service = CrossAuthorityService(storage: storage)
            let id = try RecordID("case-1")
            let due = Instant(secondsSinceEpoch: Self.received.secondsSinceEpoch + 86_400)
            #expect(try await storage.nextEscalation() == due)
            let justBefore = Instant(secondsSinceEpoch: due.secondsSinceEpoch - 1)
            #expect(try await service.escalateDue(now: justBefore).isEmpty)
            // Asking for the escalation before it is due is refused too.
            #expect(
                try await actRefusal(.escalate, authority: Self.hampshire, at: justBefore, in: storage) == .notAllowed)

            let recorded = Instant(secondsSinceEpoch: due.secondsSinceEpoch + 30)
            #expect(try await service.escalateDue(now: recorded) == [id])
            #expect(try await service.escalateDue(now: recorded).isEmpty, "escalated once")
            #expect(try await storage.nextEscalation() == nil)
            let stored = try #require(try await storage.storedCase(id))
            let trusted = try await storage.trustedCentres()
            let history = try #require(
                CrossAuthorityHistory(record: stored, now: recorded, centreKey: { trusted[$0] }))
            #expect(history.machine.state == .escalatedToSeniorManagers)
            // The clock's event is audited as such: the centre's entry, party clock, at the due instant.
            let clock = try #require(history.steps.last)
            #expect(clock.party == .clock)
            #expect(clock.act?.verb == .escalate)
            #expect(clock.act?.at == due)
            #expect(clock.act?.recordedAt == recorded)
            #expect(clock.act?.by.role == "clock")

            let decided = try await service.act(
                .decide(lead: .home, writtenReference: "SM/2026/3"), on: id, by: Self.manager,
                authority: Self.slough, at: recorded, recordedAt: recorded)
            #expect(decided.state == .homeResponsible)
            #expect(decided.responsible == Self.hampshire)
        }
    }

    @Test(arguments: StorageBackend.available) func forwardingAnewMovesTheCaseFromTheHomeItLeft(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let (laptopS, _, key) = try await sloughCase(forward: true, in: storage)
            #expect(try await visible(to: [Self.hampshire], in: storage) == ["case-1"])
            let stored = try #require(try await storage.storedCase(try RecordID("case-1")))
            let again = try forwarded(stored, to: Self.reading, key: key, at: "2026-11-28T03:00:00Z")
            let outcomes = try await SyncService(storage: storage).store([again], from: laptopS)
            guard case .stored? = outcomes.first else {
                Issue.record("the second forwarding was refused: \(outcomes)")
                return
            }
            #expect(
                try await visible(to: [Self.hampshire], in: storage).isEmpty, "a new Hampshire laptop is sent nothing")
            // A Hampshire laptop that pulled the case before is never sent it again: it is told
            // the case is gone (so it drops its copy), once.
            let left = try await storage.newestSequence()
            let resent = try await storage.changes(after: left - 1, authorities: [Self.hampshire], limit: 10)
            #expect(resent.records.isEmpty)
            #expect(
                try await storage.departedCases(authorities: [Self.hampshire], after: left - 1, upTo: left, limit: 10)
                    == [DepartedCase(id: try RecordID("case-1"), sequence: left)])
            #expect(
                try await storage.departedCases(authorities: [Self.hampshire], after: left, upTo: left, limit: 10)
                    .isEmpty)
            // A device serving both Hampshire and Reading still sees it: not gone for it.
            #expect(
                try await storage.departedCases(
                    authorities: [Self.hampshire, Self.reading], after: left - 1, upTo: left, limit: 10
                ).isEmpty)
            #expect(try await visible(to: [Self.reading], in: storage) == ["case-1"])
            // Hampshire can no longer act on it.
            let later = Instant(iso8601: "2026-11-28T04:00:00Z")!
            #expect(
                try await actRefusal(.accept(writtenReference: "R"), authority: Self.hampshire, at: later, in: storage)
                    == .anotherAuthority)
        }
    }

    /// Slough cases `ids`, each forwarded to Hampshire by edt-laptop-s (signed with `key`).
    func sloughCasesForwardedToHampshire(
        _ ids: [String], from laptopS: EnrolledDevice, key: Curve25519.Signing.PrivateKey,
        in storage: any CentralStorage
    ) async throws {
        let parts = try ids.map { id in
            try forwarded(
                try referral(id, host: Self.slough, home: Self.hampshire, device: "edt-laptop-s"), key: key)
        }
        let outcomes = try await SyncService(storage: storage).store(parts, from: laptopS)
        #expect(outcomes.allSatisfy { if case .stored = $0 { true } else { false } }, "\(outcomes)")
    }

    /// Forwards the stored case `id` anew, to Reading: Hampshire no longer sees it. Returns the
    /// change that did it.
    func forwardedAnewToReading(
        _ id: String, from laptopS: EnrolledDevice, key: Curve25519.Signing.PrivateKey, in storage: any CentralStorage
    ) async throws -> Int64 {
        let stored = try #require(try await storage.storedCase(try RecordID(id)))
        let again = try forwarded(stored, to: Self.reading, key: key, at: "2026-11-28T03:00:00Z")
        let outcomes = try await SyncService(storage: storage).store([again], from: laptopS)
        guard case .stored(_, let sequence, _)? = outcomes.first else {
            Issue.record("forwarding \(id) anew was refused: \(outcomes)")
            return 0
        }
        return sequence
    }

    @Test(arguments: StorageBackend.available) func departuresAreListedInTheOrderTheCasesLeftALimitAtATime(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let (laptopS, key) = try await enrolledSloughLaptop(in: storage)
            try await sloughCasesForwardedToHampshire(
                ["case-1", "case-2", "case-3", "case-4", "case-5"], from: laptopS, key: key, in: storage)
            let before = try await storage.newestSequence()
            // They leave Hampshire in another order than their ids'.
            var left: [String: Int64] = [:]
            for id in ["case-4", "case-1", "case-5", "case-2", "case-3"] {
                left[id] = try await forwardedAnewToReading(id, from: laptopS, key: key, in: storage)
            }
            let newest = try await storage.newestSequence()
            var pages: [[String]] = []
            var after = before
            while true {
                let page = try await storage.departedCases(
                    authorities: [Self.hampshire], after: after, upTo: newest, limit: 2)
                #expect(page.map(\.sequence) == page.map { left[$0.id.rawValue] }, "each with the change it left by")
                guard let last = page.last else { break }
                pages.append(page.map(\.id.rawValue))
                after = last.sequence
                #expect(pages.count < 10, "the listing must move on")
            }
            #expect(pages == [["case-4", "case-1"], ["case-5", "case-2"], ["case-3"]])
            #expect(
                try await storage.departedCases(authorities: [Self.hampshire], after: before, upTo: newest, limit: 0)
                    .isEmpty)
        }
    }

    @Test(arguments: StorageBackend.available) func aDamagedCaseIDAmongTheDeparturesIsAStorageFailureNotASkippedRow(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let (laptopS, key) = try await enrolledSloughLaptop(in: storage)
            try await sloughCasesForwardedToHampshire(["case-1", "case-2"], from: laptopS, key: key, in: storage)
            let before = try await storage.newestSequence()
            for id in ["case-1", "case-2"] {
                _ = try await forwardedAnewToReading(id, from: laptopS, key: key, in: storage)
            }
            let newest = try await storage.newestSequence()
            // A row the centre never wrote: a case id no case can have, as a damaged database holds.
            try tamper(
                storage,
                """
                INSERT INTO case_authorities (authority, case_id, left_at)
                VALUES ('\(Self.hampshire)', 'not a case id', \(before + 1))
                """)
            await #expect {
                _ = try await storage.departedCases(
                    authorities: [Self.hampshire], after: before, upTo: newest, limit: 10)
            } throws: { error in
                (error as? CentralError)?.code == .storage && "\(error)".contains("not a case id")
            }
            // A laptop's pull fails as the database does, rather than telling part of them.
            var configuration = SyncService.Configuration()
            configuration.pullPageRecords = 2
            let laptopH = try device("edt-laptop-h", authorities: [Self.hampshire])
            let cursor = try #require(Cursor("central.\(storage.identity):\(before)"))
            await #expect {
                _ = try await SyncService(storage: storage, configuration: configuration).prepareReply(
                    pushedVersions: [], outcomes: [], pull: cursor, to: laptopH, counter: 1)
            } throws: { error in
                (error as? CentralError)?.code == .storage
            }
        }
    }

    @Test(arguments: StorageBackend.available) func aPullTellsAtMostAPageOfDeparturesAndEndsItsPageAtTheLastOneTold(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let (laptopS, key) = try await enrolledSloughLaptop(in: storage)
            let laptopH = try device("edt-laptop-h", authorities: [Self.hampshire])
            try await storage.enroll(laptopH)
            var configuration = SyncService.Configuration()
            configuration.pullPageRecords = 2
            let service = SyncService(storage: storage, configuration: configuration)
            try await sloughCasesForwardedToHampshire(
                ["case-1", "case-2", "case-3", "case-4", "case-5"], from: laptopS, key: key, in: storage)
            // The Hampshire laptop pulls them all.
            var cursor = Cursor("-")
            var held: [String] = []
            while true {
                let page = try pulled(
                    try await service.reply(pushed: [], outcomes: [], pull: cursor, to: laptopH, counter: 1),
                    by: storage)
                held += page.ids
                cursor = page.knowledge
                if !page.more { break }
                #expect(held.count <= 5, "the pull must move on")
            }
            #expect(held.sorted() == ["case-1", "case-2", "case-3", "case-4", "case-5"])
            // Two leave, a new case comes, three more leave.
            for id in ["case-5", "case-4"] {
                _ = try await forwardedAnewToReading(id, from: laptopS, key: key, in: storage)
            }
            try await sloughCasesForwardedToHampshire(["case-6"], from: laptopS, key: key, in: storage)
            for id in ["case-3", "case-2", "case-1"] {
                _ = try await forwardedAnewToReading(id, from: laptopS, key: key, in: storage)
            }
            var pages: [(ids: [String], gone: [String])] = []
            var counter: UInt64 = 2
            while true {
                let page = try pulled(
                    try await service.reply(pushed: [], outcomes: [], pull: cursor, to: laptopH, counter: counter),
                    by: storage)
                counter += 1
                pages.append((page.ids, page.gone))
                cursor = page.knowledge
                if !page.more { break }
                #expect(pages.count < 10, "the pull must move on")
            }
            // The first page ends at case-4's leaving: case-6, changed after it, waits for the next.
            #expect(pages.map(\.gone) == [["case-5", "case-4"], ["case-3", "case-2"], ["case-1"]])
            #expect(pages.map(\.ids) == [[], ["case-6"], []])
            #expect(cursor?.text == "central.\(storage.identity):\(try await storage.newestSequence())")
            // Nothing more to tell from there.
            let after = try pulled(
                try await service.reply(pushed: [], outcomes: [], pull: cursor, to: laptopH, counter: counter),
                by: storage)
            #expect(after.ids.isEmpty && after.gone.isEmpty && !after.more)
        }
    }

    @Test(arguments: StorageBackend.available)
    func theHomeCannotMakeItselfHostNorCanAForwardingRewriteTimeOrTheReferral(backend: StorageBackend) async throws {
        try await withStorage(backend) { storage in
            let service = SyncService(storage: storage)
            let (laptopS, _, key) = try await sloughCase(forward: true, in: storage)
            let hampshireKey = Curve25519.Signing.PrivateKey()
            let laptopH = try device("edt-laptop-h", authorities: [Self.hampshire], key: hampshireKey)
            try await storage.enroll(laptopH)
            func rejection(_ part: Record, from device: EnrolledDevice) async throws -> StoredOutcome.Rejection? {
                let outcomes = try await service.store([part], from: device)
                if case .rejected(_, let rejection)? = outcomes.first { return rejection }
                return nil
            }
            let stored = try #require(try await storage.storedCase(try RecordID("case-1")))
            // Hampshire's laptop sees the case; it cannot make Hampshire the host.
            var replica = Replica(device: try DeviceID("edt-laptop-h"), knowledge: stored.version, records: [stored])
            replica.write(.string(Self.hampshire), to: try FieldPath("hostAuthority"), in: stored.id)
            let takeover = try #require(replica[stored.id])
            #expect(try await rejection(takeover, from: laptopH)?.reason == .forbidden)
            // Nor can Slough's own laptop move the host once forwarded.
            var moved = Replica(device: try DeviceID("edt-laptop-s"), knowledge: stored.version, records: [stored])
            moved.write(.string(Self.reading), to: try FieldPath("hostAuthority"), in: stored.id)
            let reslough = try device("edt-laptop-s", authorities: [Self.slough, Self.reading], key: key)
            try await storage.enroll(reslough)
            #expect(try await rejection(try #require(moved[stored.id]), from: reslough)?.reason == .forbidden)

            // Home disputes at the centre at 05:00.
            let disputeAt = Instant(iso8601: "2026-11-28T05:00:00Z")!
            _ = try await CrossAuthorityService(storage: storage).act(
                .dispute, on: stored.id, by: Self.manager, authority: Self.hampshire, at: disputeAt,
                recordedAt: disputeAt)
            let disputed = try #require(try await storage.storedCase(stored.id))
            // A forwarding dated before that dispute would rewrite it: refused.
            let backdated = try forwarded(disputed, to: Self.reading, key: key, at: "2026-11-28T04:00:00Z")
            #expect(try await rejection(backdated, from: reslough)?.reason == .invalid)
            // One dated in the future would escalate the case at once: refused.
            let future = try forwarded(disputed, to: Self.reading, key: key, at: "2099-01-01T00:00:00Z")
            #expect(try await rejection(future, from: reslough)?.reason == .invalid)
            #expect(
                CrossAuthorityHistory(record: try #require(try await storage.storedCase(stored.id)), now: disputeAt) {
                    _ in nil
                }?.machine.home == Self.hampshire)
            _ = laptopS
        }
    }

    @Test(arguments: StorageBackend.available) func aForwardingMustNameTheReferralsOwnInstant(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let (laptopS, key) = try await enrolledSloughLaptop(in: storage)
            let base = try referral("case-1", host: Self.slough, device: "edt-laptop-s")
            var replica = Replica(device: try DeviceID("edt-laptop-s"), knowledge: base.version, records: [base])
            let act = try CrossAuthorityAct(
                verb: .forward, authority: Self.slough, by: Self.manager, at: Instant(iso8601: "2026-11-28T03:00:00Z")!,
                recordedAt: Instant(iso8601: "2026-11-28T03:00:00Z")!, device: try DeviceID("edt-laptop-s"),
                home: Self.hampshire, referredAt: Instant(iso8601: "2026-11-27T02:10:00Z"))
            let signed = try CrossAuthorityAct.sign(act.payload, record: base.id) { Array(try key.signature(for: $0)) }
            try replica.append(kind: CrossAuthorityAct.kind, payload: .object(signed), to: base.id)
            let outcomes = try await SyncService(storage: storage).store(
                [try #require(replica[base.id])], from: laptopS)
            guard case .rejected(_, let rejection)? = outcomes.first else {
                Issue.record("a forwarding naming another receipt instant was stored")
                return
            }
            #expect(rejection.reason == .invalid)
            #expect(rejection.message.contains("referredAt"))
        }
    }

    @Test(arguments: StorageBackend.available) func aCaseForwardedAfterTwentyFourHoursIsEscalatedWhenForwarded(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            let (laptopS, key) = try await enrolledSloughLaptop(in: storage)
            // Received at 02:10 on the 20th, forwarded three days later (the laptop was offline).
            let late = try forwarded(
                try referral("case-1", host: Self.slough, device: "edt-laptop-s", receivedAt: "2026-11-20T02:10:00Z"),
                key: key, at: "2026-11-23T02:10:00Z")
            let stored = try await SyncService(storage: storage).store([late], from: laptopS)
            guard case .stored? = stored.first else {
                Issue.record("the late forwarding was refused: \(stored)")
                return
            }
            let forwardedAt = Instant(iso8601: "2026-11-23T02:10:00Z")!
            #expect(try await storage.nextEscalation() == forwardedAt, "not dated before it was forwarded")
            let now = Instant(secondsSinceEpoch: forwardedAt.secondsSinceEpoch + 60)
            #expect(try await CrossAuthorityService(storage: storage).escalateDue(now: now) == [try RecordID("case-1")])
            #expect(try await storage.nextEscalation() == nil)
        }
    }

    @Test(arguments: StorageBackend.available) func theHomeIsHandedACaseItMustAnswerEvenOnceTheHostsDayTeamAccepted(
        backend: StorageBackend
    ) async throws {
        try await withStorage(backend) { storage in
            _ = try await sloughCase(forward: true, in: storage)
            #expect(try await storage.keep(try package(["case-1"], authority: Self.slough)))
            _ = try await accept("case-1", authority: Self.slough, in: storage)
            let home = try await storage.unacceptedCases(of: Self.hampshire).map(\.id.rawValue)
            #expect(home == ["case-1"], "Hampshire has still to answer")
            #expect(try await storage.unacceptedCases(of: Self.slough).isEmpty)
        }
    }
}
