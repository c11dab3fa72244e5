public import Handover
public import Referrals
public import Replication

/// A case's statutory deadlines as the centre works them out: `Handover.DeadlineReport` on the
/// merged case, the same computation as the laptop's, so both show the same instants.
public enum CaseDeadlines {
    /// The deadlines of case `id` in `storage` as of `instant`, read by `reader` (recorded in the
    /// audit log).
    public static func read(
        _ id: RecordID, from storage: any CentralStorage, authorities: AuthorityDirectory, at instant: Instant,
        by reader: AuditActor
    ) async throws(CentralError) -> DeadlineReport {
        guard let record = try await storage.storedCase(id) else {
            throw CentralError(.refused, "no case \(id) is stored here")
        }
        try await storage.audit([id], by: reader)
        let trusted = try await storage.trustedCentres()
        do {
            return try DeadlineReport(record: record, authorities: authorities, at: instant, centreKey: { trusted[$0] })
        } catch {
            throw CentralError(.refused, error.message)
        }
    }
}
