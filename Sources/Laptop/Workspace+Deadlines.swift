public import Handover
public import Referrals
public import Replication

/// A referral's statutory deadlines, worked out from the referral and its entries with the host
/// authority's calendar: the same computation the centre runs (`Handover.Deadlines`), so both
/// show the same instants.
extension Workspace {
    /// The deadlines of one referral as of an instant.
    public struct ReferralDeadlines: Sendable {
        public let id: RecordID
        /// The instant they are read as of.
        public let asOf: Instant
        /// The authority whose calendar they use (the host authority).
        public let authority: Authority
        public let deadlines: [Deadlines.Deadline]
        /// Fields in conflict the deadlines were worked out from, read the cautious way.
        public let uncertain: [String]
        /// What remains to be done (an outcome to authorise, a decision nobody recorded, ...).
        public let openTasks: [OpenTasks.Task]
    }

    /// The deadlines of the referral `idText` as of `instant` (the clock's now when nil).
    public func deadlines(_ idText: String, at instant: Instant? = nil) throws(LaptopError) -> ReferralDeadlines {
        let (id, record) = try stored(idText)
        return try deadlines(of: record, id: id, at: instant ?? clock.now())
    }

    func deadlines(of record: Record, id: RecordID, at instant: Instant) throws(LaptopError) -> ReferralDeadlines {
        guard let timeline = ReferralTimeline(record: record) else {
            throw .refused("\(id) has no readable receivedAt or hostAuthority, so it has no deadlines yet")
        }
        guard let authority = directory.authority(timeline.hostAuthority) else {
            throw .refused(
                "\(id)'s host authority \(timeline.hostAuthority) is not known; add it to the authorities file (--config) to work out its deadlines"
            )
        }
        return ReferralDeadlines(
            id: id, asOf: instant, authority: authority,
            deadlines: Deadlines.compute(
                timeline, authority: authority, calendar: directory.calendar(for: authority), at: instant),
            uncertain: timeline.uncertain, openTasks: OpenTasks.of(timeline, at: instant))
    }
}
