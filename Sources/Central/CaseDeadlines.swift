public import Handover
public import Referrals
public import Replication

/// A case's statutory deadlines as the centre works them out: the same computation as the
/// laptop's (`Handover.Deadlines` on the merged case), so both show the same instants.
public struct CaseDeadlines: Sendable {
    public let id: RecordID
    public let asOf: Instant
    /// The host authority, whose calendar the deadlines use.
    public let authority: Authority
    public let deadlines: [Deadlines.Deadline]
    /// Fields in conflict the deadlines were worked out from.
    public let uncertain: [String]
    /// What remains to be done (an outcome to authorise, a decision nobody recorded, ...).
    public let openTasks: [OpenTasks.Task]

    /// The deadlines of case `id` in `storage` as of `instant`.
    public static func read(
        _ id: RecordID, from storage: any CentralStorage, authorities: AuthorityDirectory, at instant: Instant
    ) async throws(CentralError) -> CaseDeadlines {
        guard let record = try await storage.storedCase(id) else {
            throw CentralError(.refused, "no case \(id) is stored here")
        }
        guard let timeline = ReferralTimeline(record: record) else {
            throw CentralError(.refused, "case \(id) has no readable receivedAt or hostAuthority")
        }
        guard let authority = authorities.authority(timeline.hostAuthority) else {
            throw CentralError(
                .refused,
                "case \(id)'s host authority \(timeline.hostAuthority) is not known; add it to the authorities file")
        }
        return CaseDeadlines(
            id: id, asOf: instant, authority: authority,
            deadlines: Deadlines.compute(
                timeline, authority: authority, calendar: authorities.calendar(for: authority), at: instant),
            uncertain: timeline.uncertain, openTasks: OpenTasks.of(timeline, at: instant))
    }
}
