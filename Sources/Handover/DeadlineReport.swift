public import Referrals
public import Replication

/// A referral's deadlines and open tasks as of an instant, worked out from its record with its
/// host authority's calendar: what the laptop (`edt referral deadlines`) and the centre
/// (`edt central case ID deadlines`) both show, made by this one function so they cannot differ.
public struct DeadlineReport: Sendable {
    public let id: RecordID
    /// The instant it is read as of.
    public let asOf: Instant
    /// The host authority, whose calendar the deadlines use.
    public let authority: Authority
    public let deadlines: [Deadlines.Deadline]
    /// Fields in conflict the deadlines were worked out from, read the cautious way.
    public let uncertain: [String]
    /// What remains to be done (an outcome to authorise, a decision nobody recorded, ...).
    public let openTasks: [OpenTasks.Task]

    /// Why a referral has no deadlines to show.
    public struct Unavailable: Error, Sendable, Hashable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// The report for `record` as of `instant`. `centreKey` gives the key of each centre whose
    /// acts between host and home authorities count (``CrossAuthorityHistory``): their
    /// settlement meets `hostHomeEscalation`.
    public init(
        record: Record, authorities: AuthorityDirectory, at instant: Instant,
        centreKey: (DeviceID) -> [UInt8]? = { _ in nil }
    ) throws(Unavailable) {
        guard var timeline = ReferralTimeline(record: record) else {
            throw Unavailable(
                message: "\(record.id) has no readable receivedAt or hostAuthority, so it has no deadlines yet")
        }
        guard let authority = authorities.authority(timeline.hostAuthority) else {
            throw Unavailable(
                message:
                    "\(record.id)'s host authority \(timeline.hostAuthority) is not known; add it to the authorities file (--config) to work out its deadlines"
            )
        }
        timeline.hostHomeSettlement =
            CrossAuthorityHistory(record: record, now: instant, centreKey: centreKey, actsUpTo: instant)?.settlement
        id = record.id
        asOf = instant
        self.authority = authority
        deadlines = Deadlines.compute(
            timeline, authority: authority, calendar: authorities.calendar(for: authority), at: instant)
        uncertain = timeline.uncertain
        openTasks = OpenTasks.of(timeline, at: instant)
    }
}
