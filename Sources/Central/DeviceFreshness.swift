public import Referrals

/// How an enrolled device (a laptop, or a peer centre) stands with this centre: its enrolment,
/// its last successful sync, and what it then held that the centre had not acknowledged
/// (`edt central devices`). A sync is successful once its reply was written out whole: its push
/// stored (each record acknowledged or refused) and its pull sent.
public struct DeviceFreshness: Sendable, Hashable {
    /// The device as enrolled (``EnrolledDevice/isPeer`` for a peer centre).
    public let device: EnrolledDevice
    /// When it last synced successfully; nil when it never has.
    public let lastSync: Instant?
    /// The records it held unacknowledged once its last successful sync was applied: the
    /// `pending=` its request reported, less the records that request's reply acknowledged.
    /// Nil when it never synced, or its last sync did not report it (an earlier edt).
    public let pending: Int?

    public init(device: EnrolledDevice, lastSync: Instant?, pending: Int?) {
        self.device = device
        self.lastSync = lastSync
        self.pending = pending
    }

    /// Whether the device is stale at `now`: it has not synced successfully in the last
    /// `staleAfterSeconds` (at or before `now` minus that), or never has. A revoked device (or
    /// removed peer) is never stale: it is not expected to sync.
    public func isStale(at now: Instant, staleAfterSeconds: Int64) -> Bool {
        guard !device.revoked else { return false }
        guard let lastSync else { return true }
        return now.secondsSinceEpoch - lastSync.secondsSinceEpoch >= staleAfterSeconds
    }
}
