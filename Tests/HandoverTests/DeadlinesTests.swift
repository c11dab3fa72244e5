import Handover
import Referrals
import Replication
import TestSupport
import Testing

/// Deadlines of referrals against values worked out by hand from the rules (`Docs/domain.md`,
/// "Timescales"), each with the reasoning beside it. Reading (E06000038) and Cardiff (W06000015)
/// keep the shipped office hours, Monday to Friday 09:00 to 17:00.
@Suite("Deadlines")
struct DeadlinesTests {
    static let directory = AuthorityDirectory.shipped
    static let reading = "E06000038"
    static let cardiff = "W06000015"

    /// The deadlines of `timeline` as of `now`, by name, read with its host's calendar.
    static func deadlines(_ timeline: ReferralTimeline, at now: String) throws -> [Deadlines.Name: Deadlines.Deadline] {
        let authority = try #require(directory.authority(timeline.hostAuthority))
        let list = Deadlines.compute(
            timeline, authority: authority, calendar: directory.calendar(for: authority), at: at(now))
        return Dictionary(uniqueKeysWithValues: list.map { ($0.name, $0) })
    }

    static func due(_ timeline: ReferralTimeline, _ name: Deadlines.Name, at now: String) throws -> String? {
        try deadlines(timeline, at: now)[name]?.due.london
    }

    // MARK: - The worked examples of the rules

    @Test(arguments: [
        // Saturday 02:00 → one working day is Monday's close.
        ("2026-11-28T02:00:00Z", "2026-11-30T17:00:00Z"),
        // Monday 10:00 → Tuesday's close.
        ("2026-11-30T10:00:00Z", "2026-12-01T17:00:00Z"),
        // Friday 16:59 before the August bank-holiday Monday (31 August 2026) → Tuesday's close, in BST.
        ("2026-08-28T16:59:00+01:00", "2026-09-01T17:00:00+01:00"),
        // Christmas Eve 2026 (Thursday): Friday 25 and Monday 28 (Boxing Day's substitute) are
        // holidays → Tuesday 29.
        ("2026-12-24T16:59:00Z", "2026-12-29T17:00:00Z"),
        // Saturday 27 March 2027, before Easter Monday 29 March → Tuesday 30, in BST (the clocks
        // went forward on Sunday 28): 17:00 BST is 16:00 UTC.
        ("2027-03-27T02:00:00Z", "2027-03-30T17:00:00+01:00"),
        // Exactly at the opening (in hours) and exactly at the closing (out of hours): both
        // count from their own day, so Tuesday's close.
        ("2026-12-07T09:00:00Z", "2026-12-08T17:00:00Z"),
        ("2026-12-07T17:00:00Z", "2026-12-08T17:00:00Z"),
        // 23:59 on a Sunday in BST is still Sunday in London (22:59 UTC): Monday's close.
        ("2026-10-18T22:59:00Z", "2026-10-19T17:00:00+01:00"),
        // 00:30 on Monday in BST is 23:30 UTC on Sunday: the London day is Monday, so Tuesday.
        ("2026-10-18T23:30:00Z", "2026-10-20T17:00:00+01:00"),
    ])
    func acknowledgeWithinOneWorkingDay(received: String, expected: String) throws {
        let timeline = ReferralTimeline(receivedAt: at(received), hostAuthority: Self.reading)
        #expect(try Self.due(timeline, .acknowledge, at: received) == expected)
        // The decision shares the default standard of one working day.
        #expect(try Self.due(timeline, .decision, at: received) == expected)
    }

    @Test func englandAndWalesDifferInTheirTimescales() throws {
        // Monday 30 November 2026 10:00, a professional's verbal referral.
        let received = "2026-11-30T10:00:00Z"
        let england = ReferralTimeline(
            receivedAt: at(received), hostAuthority: Self.reading, verbal: true, professionalReferrer: true)
        var wales = england
        wales.hostAuthority = Self.cardiff
        // The referrer chases after 3 working days in England (Tue 1, Wed 2, Thu 3 December)…
        #expect(try Self.due(england, .referrerChase, at: received) == "2026-12-03T17:00:00Z")
        // …and 7 in Wales (Tue 1 … Fri 4, Mon 7, Tue 8, Wed 9).
        #expect(try Self.due(wales, .referrerChase, at: received) == "2026-12-09T17:00:00Z")
        // Written confirmation: 48 hours in England, 24 in Wales.
        #expect(try Self.due(england, .writtenConfirmation, at: received) == "2026-12-02T10:00:00Z")
        #expect(try Self.due(wales, .writtenConfirmation, at: received) == "2026-12-01T10:00:00Z")
        // Both share the England and Wales bank holidays and the one-working-day acknowledgement.
        #expect(try Self.due(england, .acknowledge, at: received) == Self.due(wales, .acknowledge, at: received))
    }

    @Test func hoursAreRealTimeAcrossTheClockChanges() throws {
        // 48 hours from Saturday 24 October 2026 10:00 BST (09:00 UTC) cross the change back to
        // GMT on Sunday 25: 48 real hours later is Monday 26 09:00 UTC, which London shows as 09:00.
        let autumn = ReferralTimeline(
            receivedAt: at("2026-10-24T10:00:00+01:00"), hostAuthority: Self.reading, verbal: true,
            professionalReferrer: true)
        #expect(try Self.due(autumn, .writtenConfirmation, at: "2026-10-24T10:00:00+01:00") == "2026-10-26T09:00:00Z")
        // 24 hours (host/home escalation) from Saturday 27 March 2027 12:00 GMT cross the change
        // to BST: 24 real hours later London shows 13:00.
        let spring = ReferralTimeline(
            receivedAt: at("2027-03-27T12:00:00Z"), hostAuthority: Self.reading,
            homeAuthority: "E06000041")
        #expect(try Self.due(spring, .hostHomeEscalation, at: "2027-03-27T12:00:00Z") == "2027-03-28T13:00:00+01:00")
    }

    @Test func aLocalTwentyFourHourDecisionStandard() throws {
        let directory = try AuthorityDirectory.shipped.applying(
            operatorFile: "[authority E06000038]\ndecision = 24 hours\n", source: "test")
        let authority = try #require(directory.authority(Self.reading))
        // Friday 4 December 2026 18:00: 24 hours is Saturday 18:00, not a working day's close.
        let timeline = ReferralTimeline(receivedAt: at("2026-12-04T18:00:00Z"), hostAuthority: Self.reading)
        let deadlines = Deadlines.compute(
            timeline, authority: authority, calendar: directory.calendar(for: authority),
            at: at("2026-12-04T18:00:00Z"))
        #expect(deadlines.first { $0.name == .decision }?.due.london == "2026-12-05T18:00:00Z")
        #expect(deadlines.first { $0.name == .acknowledge }?.due.london == "2026-12-07T17:00:00Z")
    }

    @Test func deadlinesSharingANameAreWrittenAsTheLastOfThem() throws {
        let authority = try #require(Self.directory.authority(Self.reading))
        let calendar = Self.directory.calendar(for: authority)
        let timeline = ReferralTimeline(receivedAt: at("2026-11-30T22:00:00Z"), hostAuthority: Self.reading)
        // The same deadlines, pending on Tuesday morning and overdue on Wednesday.
        let pending = Deadlines.compute(
            timeline, authority: authority, calendar: calendar, at: at("2026-12-01T10:00:00Z"))
        let overdue = Deadlines.compute(
            timeline, authority: authority, calendar: calendar, at: at("2026-12-02T10:00:00Z"))
        #expect(DeadlineJSON.deadlines(pending) != DeadlineJSON.deadlines(overdue))
        #expect(DeadlineJSON.deadlines(pending + overdue) == DeadlineJSON.deadlines(overdue))
        #expect(DeadlineJSON.deadlines(overdue + pending.reversed()) == DeadlineJSON.deadlines(pending))
        // Each name once, in the order of its bytes.
        guard case .object(let members) = DeadlineJSON.deadlines(pending + overdue) else {
            Issue.record("the deadlines are not an object")
            return
        }
        #expect(members.keys.sorted() == Set(pending.map(\.name.rawValue)).sorted())
        #expect(DeadlineJSON.deadlines([]) == .object([:]))
    }

    // MARK: - Met, pending, overdue

    @Test func anAcknowledgementMeetsBothItsDeadlinesFromTheInstantItRecords() throws {
        // Received Monday 30 November 2026 22:00; acknowledged Tuesday 11:00.
        var timeline = ReferralTimeline(receivedAt: at("2026-11-30T22:00:00Z"), hostAuthority: Self.reading)
        timeline.events = [
            ReferralTimeline.Event(kind: .acknowledgement, at: at("2026-12-01T11:00:00Z"), reference: "a:3")
        ]
        // Before the acknowledgement it is pending (due Tuesday 17:00).
        let before = try Self.deadlines(timeline, at: "2026-12-01T10:00:00Z")
        #expect(before[.acknowledge]?.status == .pending)
        #expect(before[.acknowledge]?.metBy == nil)
        // After, it is met by that entry, and so is the referrer's chase.
        let after = try Self.deadlines(timeline, at: "2026-12-01T12:00:00Z")
        #expect(after[.acknowledge]?.status == .met)
        #expect(after[.acknowledge]?.metBy == "a:3")
        #expect(after[.acknowledge]?.metAt?.london == "2026-12-01T11:00:00Z")
        #expect(after[.acknowledge]?.isLate == false)
        #expect(after[.referrerChase]?.metBy == "a:3")
        // The decision, never made, is overdue from Tuesday 17:00 by exactly the time since.
        let late = try Self.deadlines(timeline, at: "2026-12-01T19:30:00Z")
        #expect(late[.decision]?.status == .overdue)
        #expect(late[.decision]?.overdueSeconds == 9_000)
        // Exactly at the due instant a deadline not met is overdue.
        #expect(try Self.deadlines(timeline, at: "2026-12-01T17:00:00Z")[.decision]?.status == .overdue)
        #expect(try Self.deadlines(timeline, at: "2026-12-01T16:59:59Z")[.decision]?.status == .pending)
    }

    @Test func anEntryAfterTheDueInstantMeetsItLate() throws {
        var timeline = ReferralTimeline(receivedAt: at("2026-11-30T10:00:00Z"), hostAuthority: Self.reading)
        timeline.events = [
            ReferralTimeline.Event(kind: .acknowledgement, at: at("2026-12-02T09:00:00Z"), reference: "a:9")
        ]
        let deadline = try #require(try Self.deadlines(timeline, at: "2026-12-03T00:00:00Z")[.acknowledge])
        #expect(deadline.status == .met)
        #expect(deadline.isLate)
    }

    @Test func outcomeFeedbackStartsAtTheAuthorisationForAProfessionalReferrer() throws {
        let events = [
            ReferralTimeline.Event(
                kind: .outcome, at: at("2026-12-01T10:00:00Z"), reference: "a:4",
                outcome: "section-17-assessment"),
            ReferralTimeline.Event(
                kind: .authorisation, at: at("2026-12-01T15:00:00Z"), reference: "m:1", refersTo: "a:4"),
        ]
        let professional = ReferralTimeline(
            receivedAt: at("2026-11-30T22:00:00Z"), hostAuthority: Self.reading, professionalReferrer: true,
            events: events)
        // Not before the outcome is authorised…
        #expect(try Self.deadlines(professional, at: "2026-12-01T12:00:00Z")[.outcomeFeedback] == nil)
        // …then a working day from the authorisation (Tuesday 15:00 → Wednesday's close).
        let after = try Self.deadlines(professional, at: "2026-12-01T16:00:00Z")
        #expect(after[.outcomeFeedback]?.due.london == "2026-12-02T17:00:00Z")
        #expect(after[.outcomeFeedback]?.startsAt.london == "2026-12-01T15:00:00Z")
        // The authorisation is the manager's decision.
        #expect(after[.decision]?.metBy == "m:1")
        // A section 17 assessment is due 45 working days after receipt (Monday 30 November):
        // December gives 21 (1–4, 7–11, 14–18, 21–24, 29–31; the 25th and the 28th are
        // holidays), January 2027 gives 20 (4–8, 11–15, 18–22, 25–29; the 1st is a holiday),
        // so the 45th is the 4th working day of February: Thursday 4.
        #expect(after[.assessment]?.due.london == "2027-02-04T17:00:00Z")
        // A member of the public's referral has no statutory feedback deadline.
        var publicReferral = professional
        publicReferral.professionalReferrer = false
        #expect(try Self.deadlines(publicReferral, at: "2026-12-01T16:00:00Z")[.outcomeFeedback] == nil)
    }

    @Test func onlyFeedbackAboutTheAuthorisedOutcomeMeetsOutcomeFeedback() throws {
        // Outcome A, feedback on A, then outcome B, authorised: the referrer was never told B.
        var timeline = ReferralTimeline(
            receivedAt: at("2026-11-30T22:00:00Z"), hostAuthority: Self.reading, professionalReferrer: true)
        timeline.events = [
            ReferralTimeline.Event(
                kind: .outcome, at: at("2026-12-01T09:00:00Z"), reference: "a:2", outcome: "early-help"),
            ReferralTimeline.Event(kind: .feedback, at: at("2026-12-01T09:30:00Z"), reference: "a:3", refersTo: "a:2"),
            ReferralTimeline.Event(
                kind: .outcome, at: at("2026-12-01T10:00:00Z"), reference: "a:4", outcome: "strategy-discussion"),
            ReferralTimeline.Event(
                kind: .authorisation, at: at("2026-12-01T11:00:00Z"), reference: "m:1", refersTo: "a:4"),
        ]
        let deadlines = try Self.deadlines(timeline, at: "2026-12-01T12:00:00Z")
        #expect(deadlines[.outcomeFeedback]?.status == .pending)
        #expect(deadlines[.outcomeFeedback]?.metBy == nil)
        timeline.events.append(
            ReferralTimeline.Event(kind: .feedback, at: at("2026-12-01T13:00:00Z"), reference: "a:5", refersTo: "a:4"))
        #expect(try Self.deadlines(timeline, at: "2026-12-01T14:00:00Z")[.outcomeFeedback]?.metBy == "a:5")
    }

    @Test func anAuthorisationCountsOnlyByAManagerAndOfAnOutcomeRecordedBeforeIt() throws {
        let id = try RecordID("referral-forged")
        var replica = Replica(device: try DeviceID("edt-laptop-x"))
        replica.write(.string("2026-12-01T21:00:00Z"), to: try FieldPath("receivedAt"), in: id)
        replica.write(.string(Self.reading), to: try FieldPath("hostAuthority"), in: id)
        func append(_ kind: String, _ payload: [String: FieldValue]) throws -> String {
            let dot = try replica.append(kind: kind, payload: .object(payload), to: id)
            return "\(dot.device.rawValue):\(dot.counter)"
        }
        // An authorisation by someone who is not a manager, and one naming no outcome at all,
        // as a bundle from another laptop could carry them.
        let outcome = try append(
            "outcome",
            [
                "at": .string("2026-12-02T09:00:00Z"), "outcome": .string("early-help"),
                "role": .string("EDT social worker"),
            ])
        _ = try append(
            "authorisation",
            ["at": .string("2026-12-02T10:00:00Z"), "authorises": .string(outcome), "role": .string("Driver")])
        _ = try append(
            "authorisation",
            [
                "at": .string("2026-12-02T10:30:00Z"), "authorises": .string("edt-laptop-x:999"),
                "role": .string("Team Manager"),
            ])
        let forgedRecord = try #require(replica.records[id])
        let forged = try #require(ReferralTimeline(record: forgedRecord))
        let authority = try #require(Self.directory.authority(Self.reading))
        let deadlines = Deadlines.compute(
            forged, authority: authority, calendar: Self.directory.calendar(for: authority),
            at: at("2026-12-03T12:00:00Z"))
        #expect(deadlines.first { $0.name == .decision }?.status == .overdue)
        #expect(OpenTasks.of(forged, at: at("2026-12-03T12:00:00Z")).map(\.kind).contains(.authoriseOutcome))
        // A manager's authorisation of that outcome meets the decision.
        let real = try append(
            "authorisation",
            ["at": .string("2026-12-02T11:00:00Z"), "authorises": .string(outcome), "role": .string("Team Manager")])
        let record = try #require(replica.records[id])
        let timeline = try #require(ReferralTimeline(record: record))
        let met = Deadlines.compute(
            timeline, authority: authority, calendar: Self.directory.calendar(for: authority),
            at: at("2026-12-03T12:00:00Z"))
        #expect(met.first { $0.name == .decision }?.metBy == real)
    }

    @Test func strategyDiscussionsStartTheirRecordAndTheInitialConference() throws {
        let timeline = ReferralTimeline(
            receivedAt: at("2026-12-01T21:00:00Z"), hostAuthority: Self.reading,
            events: [
                ReferralTimeline.Event(
                    kind: .strategyDiscussion, at: at("2026-12-02T11:00:00Z"), reference: "a:7",
                    section47: true)
            ])
        let deadlines = try Self.deadlines(timeline, at: "2026-12-02T12:00:00Z")
        // The record is distributed by the next working day's close.
        #expect(deadlines[.strategyRecord]?.due.london == "2026-12-03T17:00:00Z")
        // 15 working days after Wednesday 2 December: 3, 4, 7–11, 14–18, 21, 22, 23 → Wednesday 23.
        #expect(deadlines[.initialConference]?.due.london == "2026-12-23T17:00:00Z")
        // A discussion that did not start section 47 enquiries starts no conference deadline.
        var noEnquiries = timeline
        noEnquiries.events = [
            ReferralTimeline.Event(
                kind: .strategyDiscussion, at: at("2026-12-02T11:00:00Z"), reference: "a:7")
        ]
        #expect(try Self.deadlines(noEnquiries, at: "2026-12-02T12:00:00Z")[.initialConference] == nil)
    }

    @Test func onlyTheDeadlinesThatApplyAreListed() throws {
        let plain = ReferralTimeline(receivedAt: at("2026-12-01T21:00:00Z"), hostAuthority: Self.reading)
        let names = try Self.deadlines(plain, at: "2026-12-01T21:00:00Z").keys.sorted()
        #expect(names == [.acknowledge, .decision, .referrerChase])
        // Home the same as host: no escalation deadline.
        var same = plain
        same.homeAuthority = Self.reading
        #expect(try Self.deadlines(same, at: "2026-12-01T21:00:00Z")[.hostHomeEscalation] == nil)
        // A member of the public's verbal referral needs no written confirmation.
        var publicVerbal = plain
        publicVerbal.verbal = true
        #expect(try Self.deadlines(publicVerbal, at: "2026-12-01T21:00:00Z")[.writtenConfirmation] == nil)
    }

    // MARK: - Schedules (edt calendar deadlines)

    @Test func theScheduleSaysWhetherAReferralIsAnEDTCase() throws {
        let authority = try #require(Self.directory.authority(Self.reading))
        let calendar = Self.directory.calendar(for: authority)
        // Exactly at opening: in hours, no handover.
        let opening = Deadlines.schedule(
            receivedAt: at("2026-12-07T09:00:00Z"), verbal: false, authority: authority, calendar: calendar)
        #expect(!opening.outOfHours)
        #expect(opening.handoverAt == nil)
        // Exactly at closing: out of hours, handed over at Tuesday's opening.
        let closing = Deadlines.schedule(
            receivedAt: at("2026-12-07T17:00:00Z"), verbal: true, authority: authority, calendar: calendar)
        #expect(closing.outOfHours)
        #expect(closing.handoverAt?.london == "2026-12-08T09:00:00Z")
        #expect(closing.deadlines[.writtenConfirmation]?.london == "2026-12-09T17:00:00Z")
        #expect(
            Set(closing.deadlines.keys) == [.acknowledge, .decision, .referrerChase, .writtenConfirmation, .assessment])
        // Friday night before the Christmas holidays of 2026: the next opening is Tuesday 29.
        let christmas = Deadlines.schedule(
            receivedAt: at("2026-12-24T20:00:00Z"), verbal: false, authority: authority, calendar: calendar)
        #expect(christmas.handoverAt?.london == "2026-12-29T09:00:00Z")
    }

    // MARK: - Properties

    @Test func deadlinesNeverMoveEarlierWhenReceiptMovesLater() throws {
        var generator = SeededGenerator(seed: 20_261_129)
        let start: Int64 = 1_767_225_600  // 2026-01-01T00:00:00Z
        for code in [Self.reading, Self.cardiff] {
            let authority = try #require(Self.directory.authority(code))
            let calendar = Self.directory.calendar(for: authority)
            for _ in 0..<2_000 {
                let first = start + Int64.random(in: 0..<(3 * 365 * 86_400), using: &generator)
                let second = first + Int64.random(in: 0..<(10 * 86_400), using: &generator)
                let earlier = Deadlines.schedule(
                    receivedAt: Instant(secondsSinceEpoch: first), verbal: true, authority: authority,
                    calendar: calendar)
                let later = Deadlines.schedule(
                    receivedAt: Instant(secondsSinceEpoch: second), verbal: true, authority: authority,
                    calendar: calendar)
                for (name, due) in earlier.deadlines {
                    let laterDue = try #require(later.deadlines[name])
                    #expect(due <= laterDue, "\(name) received \(first) then \(second)")
                    #expect(due.secondsSinceEpoch > first)
                }
            }
        }
    }

    // MARK: - Reading a record

    @Test func aRecordInConflictIsReadTheCautiousWay() throws {
        let id = try RecordID("referral-conflict")
        var a = Replica(device: try DeviceID("edt-laptop-a"))
        var b = Replica(device: try DeviceID("edt-laptop-b"))
        a.write(.string(Self.reading), to: try FieldPath("hostAuthority"), in: id)
        b.merge(a)
        a.write(.string("2026-12-01T21:00:00Z"), to: try FieldPath("receivedAt"), in: id)
        b.write(.string("2026-12-01T20:00:00Z"), to: try FieldPath("receivedAt"), in: id)
        a.write(.bool(false), to: try FieldPath("verbal"), in: id)
        b.write(.bool(true), to: try FieldPath("verbal"), in: id)
        b.write(.bool(true), to: try FieldPath("referrer.professional"), in: id)
        let acknowledgement = try a.append(
            kind: "acknowledgement",
            payload: .object(["at": .string("2026-12-02T10:00:00Z"), "method": .string("phone")]),
            to: id)
        a.merge(b)
        let record = try #require(a.records[id])
        let timeline = try #require(ReferralTimeline(record: record))
        #expect(timeline.receivedAt.london == "2026-12-01T20:00:00Z")
        #expect(timeline.verbal)
        #expect(timeline.professionalReferrer)
        #expect(Set(timeline.uncertain) == ["receivedAt", "verbal"])
        #expect(timeline.events.map(\.kind) == [.acknowledgement])
        #expect(timeline.events.first?.reference == "edt-laptop-a:\(acknowledgement.counter)")
    }

    @Test func aRecordWithoutReceiptOrHostHasNoTimeline() throws {
        let id = try RecordID("referral-bare")
        var replica = Replica(device: try DeviceID("edt-laptop-a"))
        replica.write(.string("not an instant"), to: try FieldPath("receivedAt"), in: id)
        replica.write(.string(Self.reading), to: try FieldPath("hostAuthority"), in: id)
        #expect(ReferralTimeline(record: try #require(replica.records[id])) == nil)
    }
}
