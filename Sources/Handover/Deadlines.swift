public import Referrals

/// The statutory deadlines of a referral (`Docs/domain.md`, "Timescales"), recomputed from the
/// referral and its entries, as of any instant.
///
/// | deadline | starts at | limit | met by the first |
/// |---|---|---|---|
/// | `acknowledge` | receipt | 1 working day | `acknowledgement` |
/// | `decision` | receipt | the authority's standard: 1 working day, or N hours | `authorisation` of an outcome |
/// | `referrerChase` | receipt | 3 working days (Wales 7) | `acknowledgement` |
/// | `writtenConfirmation` | receipt, when verbal from a professional | 48 hours (Wales 24) | `confirmation` |
/// | `outcomeFeedback` | the first authorisation, for a professional referrer | 1 working day | `feedback` about the authorised outcome |
/// | `strategyRecord` | a strategy discussion | 1 working day | `strategy-record` naming it |
/// | `hostHomeEscalation` | receipt, when home ≠ host | 24 hours | the home's acceptance, both agreeing, or the escalation to senior managers (``ReferralTimeline/hostHomeSettlement``) |
/// | `assessment` | receipt, when the outcome calls for one | 45 working days | `assessment-completed` |
/// | `initialConference` | the strategy discussion that started s47 enquiries | 15 working days | `conference-held` |
///
/// Working days are the host authority's (its office hours, its nation's bank holidays, its
/// closures). An entry counts only from the instant it records, so a deadline read "as of" an
/// earlier instant shows what was known then.
public enum Deadlines {
    /// The deadlines a referral can have, in the order they are listed.
    public enum Name: String, Sendable, Hashable, CaseIterable, Comparable {
        case acknowledge
        case decision
        case referrerChase
        case writtenConfirmation
        case outcomeFeedback
        case strategyRecord
        case hostHomeEscalation
        case assessment
        case initialConference

        public static func < (lhs: Name, rhs: Name) -> Bool {
            allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
        }
    }

    /// Where a deadline stands at an instant.
    public enum Status: String, Sendable, Hashable {
        /// Not met and not yet due.
        case pending
        /// Met by an entry (possibly late: see ``Deadline/isLate``).
        case met
        /// Not met and due at or before the instant asked about.
        case overdue
    }

    /// One deadline of one referral, as of an instant.
    public struct Deadline: Sendable, Hashable {
        public let name: Name
        /// The start event's instant.
        public let startsAt: Instant
        public let due: Instant
        public let status: Status
        /// The entry that met it (`device:counter`) and the instant it records.
        public var metBy: String? { meeting?.reference }
        public var metAt: Instant? { meeting?.at }
        /// The entry that met it.
        let meeting: ReferralTimeline.Event?
        /// For an overdue deadline, the seconds since it fell due.
        public let overdueSeconds: Int64?

        /// Met, but after it was due.
        public var isLate: Bool { metAt.map { $0.secondsSinceEpoch >= due.secondsSinceEpoch } ?? false }
    }

    /// The limits that differ between nations.
    public struct Timescales: Sendable, Hashable {
        public let referrerChaseWorkingDays: Int
        public let writtenConfirmationHours: Int

        /// Wales: the referrer chases after 7 working days and a verbal referral is confirmed in
        /// writing within 24 hours; elsewhere 3 working days and 48 hours.
        public static func of(_ nation: Nation) -> Timescales {
            nation == .wales
                ? Timescales(referrerChaseWorkingDays: 7, writtenConfirmationHours: 24)
                : Timescales(referrerChaseWorkingDays: 3, writtenConfirmationHours: 48)
        }
    }

    static let acknowledgeWorkingDays = 1
    static let outcomeFeedbackWorkingDays = 1
    static let strategyRecordWorkingDays = 1
    static let hostHomeEscalationHours = 24
    static let assessmentWorkingDays = 45
    static let initialConferenceWorkingDays = 15
    /// The outcomes that lead to a Child and Family Assessment.
    static let outcomesNeedingAssessment: [String] = [
        "section-17-assessment", "strategy-discussion", "immediate-protection",
    ]

    /// The deadlines that apply to `timeline` as of `now`, in ``Name`` order. A deadline whose
    /// working day cannot be found (an office that never opens) is left out.
    public static func compute(
        _ timeline: ReferralTimeline, authority: Authority, calendar: WorkingCalendar, at now: Instant
    ) -> [Deadline] {
        let timescales = Timescales.of(authority.nation)
        let received = timeline.receivedAt
        // One walk over the entries known by `now` (they are in instant order): the first of
        // each kind that meets a deadline, the latest outcome, the strategy discussions.
        var acknowledgement: ReferralTimeline.Event?
        var authorisation: ReferralTimeline.Event?
        var authorisedOutcome: String?
        var confirmation: ReferralTimeline.Event?
        var feedback: ReferralTimeline.Event?
        var latestOutcome: String?
        var enquiries: ReferralTimeline.Event?
        var assessmentCompleted: ReferralTimeline.Event?
        var conferenceHeld: ReferralTimeline.Event?
        var discussions = 0
        var knownCount = 0
        for (index, event) in timeline.events.enumerated() {
            guard event.at <= now else { break }
            knownCount += 1
            switch event.kind {
            case .acknowledgement: if acknowledgement == nil { acknowledgement = event }
            case .authorisation:
                // It counts only when it names an outcome recorded no later than it.
                if authorisation == nil, let target = event.refersTo,
                    timeline.events[..<index].contains(where: { $0.kind == .outcome && $0.reference == target })
                {
                    authorisation = event
                    authorisedOutcome = target
                }
            case .confirmation: if confirmation == nil { confirmation = event }
            case .feedback:
                // The referrer told the outcome that was authorised, after it was.
                if feedback == nil, let authorisedOutcome, event.refersTo == authorisedOutcome { feedback = event }
            case .outcome: latestOutcome = event.outcome
            case .strategyDiscussion:
                discussions += 1
                if enquiries == nil, event.section47 { enquiries = event }
            case .assessmentCompleted: if assessmentCompleted == nil { assessmentCompleted = event }
            case .conferenceHeld: if conferenceHeld == nil, enquiries != nil { conferenceHeld = event }
            case .strategyRecord, .hostHomeSettled: break  // the settlement is read from the timeline itself
            }
        }

        var deadlines: [Deadline] = []
        deadlines.reserveCapacity(Name.allCases.count)
        func add(_ name: Name, from start: Instant, due: Instant?, metBy event: ReferralTimeline.Event?) {
            guard let due else { return }
            let status: Status
            var overdue: Int64?
            if event != nil {
                status = .met
            } else if now.secondsSinceEpoch >= due.secondsSinceEpoch {
                status = .overdue
                overdue = now.secondsSinceEpoch - due.secondsSinceEpoch
            } else {
                status = .pending
            }
            deadlines.append(
                Deadline(
                    name: name, startsAt: start, due: due, status: status, meeting: event, overdueSeconds: overdue))
        }
        func hours(_ count: Int, after start: Instant) -> Instant {
            Instant(secondsSinceEpoch: start.secondsSinceEpoch + Int64(count) * 3_600)
        }

        let oneWorkingDay = calendar.closeOfWorkingDays(acknowledgeWorkingDays, after: received)
        add(.acknowledge, from: received, due: oneWorkingDay, metBy: acknowledgement)

        switch authority.profile.decision {
        case .workingDays(let count):
            add(
                .decision, from: received,
                due: count == acknowledgeWorkingDays
                    ? oneWorkingDay : calendar.closeOfWorkingDays(count, after: received),
                metBy: authorisation)
        case .hours(let count):
            add(.decision, from: received, due: hours(count, after: received), metBy: authorisation)
        }

        add(
            .referrerChase, from: received,
            due: calendar.closeOfWorkingDays(timescales.referrerChaseWorkingDays, after: received),
            metBy: acknowledgement)

        if timeline.verbal, timeline.professionalReferrer {
            add(
                .writtenConfirmation, from: received, due: hours(timescales.writtenConfirmationHours, after: received),
                metBy: confirmation)
        }

        if timeline.professionalReferrer, let authorisation {
            add(
                .outcomeFeedback, from: authorisation.at,
                due: calendar.closeOfWorkingDays(outcomeFeedbackWorkingDays, after: authorisation.at),
                metBy: feedback)
        }

        // Each strategy discussion's record is due a working day after it; the first one not
        // yet distributed is the one shown, or the last one when all are.
        if discussions > 0 {
            let known = timeline.events[..<knownCount]
            var shown: (discussion: ReferralTimeline.Event, record: ReferralTimeline.Event?)?
            for discussion in known where discussion.kind == .strategyDiscussion {
                let reference = discussion.reference
                let record = known.first { $0.kind == .strategyRecord && $0.refersTo == reference }
                shown = (discussion, record)
                if record == nil { break }
            }
            if let (discussion, record) = shown {
                add(
                    .strategyRecord, from: discussion.at,
                    due: calendar.closeOfWorkingDays(strategyRecordWorkingDays, after: discussion.at), metBy: record)
            }
        }

        if let home = timeline.homeAuthority, home != timeline.hostAuthority {
            add(
                .hostHomeEscalation, from: received, due: hours(hostHomeEscalationHours, after: received),
                metBy: timeline.hostHomeSettlement)
        }

        if let latestOutcome, outcomesNeedingAssessment.contains(latestOutcome) {
            add(
                .assessment, from: received, due: calendar.closeOfWorkingDays(assessmentWorkingDays, after: received),
                metBy: assessmentCompleted)
        }

        if let enquiries {
            add(
                .initialConference, from: enquiries.at,
                due: calendar.closeOfWorkingDays(initialConferenceWorkingDays, after: enquiries.at),
                metBy: conferenceHeld)
        }
        return deadlines
    }

    // MARK: - Before a referral exists

    /// The deadlines a referral received at `received` would have, before any entry: the ones
    /// `edt calendar deadlines` prints.
    public struct Schedule: Sendable, Hashable {
        /// Received outside the authority's office hours: an EDT case.
        public let outOfHours: Bool
        /// For an out-of-hours referral, the next opening of office hours (the handover).
        public let handoverAt: Instant?
        /// By name: acknowledge, decision, referrerChase, writtenConfirmation (verbal only),
        /// assessment.
        public let deadlines: [Name: Instant]
    }

    /// The schedule for a referral received at `received` by `authority`.
    public static func schedule(
        receivedAt received: Instant, verbal: Bool, authority: Authority, calendar: WorkingCalendar
    ) -> Schedule {
        let timeline = ReferralTimeline(
            receivedAt: received, hostAuthority: authority.gss, verbal: verbal, professionalReferrer: verbal,
            events: [
                ReferralTimeline.Event(
                    kind: .outcome, at: received, reference: "", outcome: "section-17-assessment")
            ])
        var due: [Name: Instant] = [:]
        for deadline in compute(timeline, authority: authority, calendar: calendar, at: received) {
            due[deadline.name] = deadline.due
        }
        let outOfHours = !calendar.isInHours(received)
        return Schedule(
            outOfHours: outOfHours, handoverAt: outOfHours ? calendar.nextOpening(atOrAfter: received) : nil,
            deadlines: due)
    }
}
