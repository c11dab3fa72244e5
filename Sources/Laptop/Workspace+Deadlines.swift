public import Handover
public import Referrals
import Replication

/// A referral's statutory deadlines and open tasks, worked out from the referral and its entries
/// with the host authority's calendar (`Handover.DeadlineReport`: the centre runs the same).
extension Workspace {
    /// The deadlines of the referral `idText` as of `instant` (the clock's now when nil).
    public func deadlines(_ idText: String, at instant: Instant? = nil) throws(LaptopError) -> DeadlineReport {
        let (_, record) = try stored(idText)
        return try deadlines(of: record, at: instant ?? clock.now())
    }

    func deadlines(of record: Record, at instant: Instant) throws(LaptopError) -> DeadlineReport {
        let keys = try crossAuthorityKeys()
        do throws(DeadlineReport.Unavailable) {
            return try DeadlineReport(record: record, authorities: directory, at: instant, centreKey: keys)
        } catch {
            throw .refused(error.message)
        }
    }
}
