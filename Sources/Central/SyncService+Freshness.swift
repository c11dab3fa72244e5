public import Foundation
public import Referrals

/// Device freshness: when each device last synced successfully, and what it then still held
/// unacknowledged (`edt central devices`, ``DeviceFreshness``).
extension SyncService {
    /// Records that `device`'s sync succeeded at `instant` (its reply was written out whole).
    /// `reported` is the `pending=` its push header gave (nil: none); what the device holds
    /// unacknowledged once it applies the reply is that, less the `acknowledged` records the
    /// reply answered with an `ACK`.
    public func recordSync(
        of device: EnrolledDevice, reported: Int?, acknowledged: Int, at instant: Instant = Instant(Date())
    ) async throws(CentralError) {
        try await storage.recordSync(
            of: device.id, at: instant, pending: reported.map { max(0, $0 - acknowledged) })
    }
}
