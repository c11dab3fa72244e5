public import Referrals

/// What remains to be done on a referral, from its entries: the open tasks a worker or the day
/// team sees beside the deadlines. An outcome not yet authorised is an open task, and so is a
/// decision nobody recorded.
public enum OpenTasks {
    /// One thing left to do.
    public struct Task: Sendable, Hashable {
        public let kind: Kind
        /// The entry it is about (the outcome to authorise, the discussion whose record is due).
        public let entry: String?
        /// What to do, in words.
        public let summary: String
    }

    /// The kinds of open task.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// No outcome has been recorded: nobody has decided what happens next.
        case recordOutcome = "record-outcome"
        /// The latest outcome awaits a manager's authorisation.
        case authoriseOutcome = "authorise-outcome"
        /// The referrer has not been told the referral was received.
        case acknowledgeReferrer = "acknowledge-referrer"
        /// The referrer has not been told the authorised outcome.
        case tellReferrerTheOutcome = "tell-referrer-the-outcome"
        /// A professional's verbal referral is not yet confirmed in writing.
        case awaitWrittenConfirmation = "await-written-confirmation"
        /// Immediate protection was taken and no strategy discussion has followed.
        case holdStrategyDiscussion = "hold-strategy-discussion"
        /// A strategy discussion's record is not yet distributed.
        case distributeStrategyRecord = "distribute-strategy-record"
    }

    /// The open tasks of `timeline` as of `now` (entries recorded as happening later do not count).
    public static func of(_ timeline: ReferralTimeline, at now: Instant) -> [Task] {
        let known = timeline.events.prefix { $0.at <= now }
        var tasks: [Task] = []
        let outcomes = known.filter { $0.kind == .outcome }
        if let latest = outcomes.last {
            let reference = latest.reference
            let authorisation = known.first { $0.kind == .authorisation && $0.refersTo == reference }
            if authorisation == nil {
                tasks.append(
                    Task(
                        kind: .authoriseOutcome, entry: reference,
                        summary: "a manager must authorise the outcome \(latest.outcome ?? "") (\(reference))"))
            } else if !known.contains(where: { $0.kind == .feedback && $0.refersTo == reference }) {
                tasks.append(
                    Task(
                        kind: .tellReferrerTheOutcome, entry: reference,
                        summary: "tell the referrer the authorised outcome (\(reference))"))
            }
            if latest.outcome == "immediate-protection",
                !known.contains(where: { $0.kind == .strategyDiscussion && $0.at >= latest.at })
            {
                tasks.append(
                    Task(
                        kind: .holdStrategyDiscussion, entry: reference,
                        summary: "immediate protection was taken: hold a strategy discussion as soon as practicable"))
            }
        } else {
            tasks.append(
                Task(kind: .recordOutcome, entry: nil, summary: "no outcome recorded: decide the next steps"))
        }
        if !known.contains(where: { $0.kind == .acknowledgement }) {
            tasks.append(
                Task(kind: .acknowledgeReferrer, entry: nil, summary: "acknowledge the referral to the referrer"))
        }
        if timeline.verbal, timeline.professionalReferrer, !known.contains(where: { $0.kind == .confirmation }) {
            tasks.append(
                Task(
                    kind: .awaitWrittenConfirmation, entry: nil,
                    summary: "the professional's verbal referral is not yet confirmed in writing"))
        }
        for discussion in known where discussion.kind == .strategyDiscussion {
            let reference = discussion.reference
            if !known.contains(where: { $0.kind == .strategyRecord && $0.refersTo == reference }) {
                tasks.append(
                    Task(
                        kind: .distributeStrategyRecord, entry: reference,
                        summary: "distribute the record of the strategy discussion \(reference) to all parties"))
            }
        }
        return tasks
    }
}
