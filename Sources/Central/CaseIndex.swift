import Handover
import Referrals
public import Replication

/// What the centre keeps beside a case to find it, worked out anew from the merged case at every
/// change, the same whatever the database: who sees it, whether a day team accepted it, when the
/// clock escalates it, and which home authority's answer it awaits.
public struct CaseIndex: Sendable, Hashable {
    /// Accepted while the case holds, for each of its host authorities (the responsible one), a
    /// day team's acceptance the centre itself signed: a case whose host is corrected to an
    /// authority that has not accepted it is open again (in that authority's next package, and
    /// pulled).
    public let accepted: Bool
    /// When the clock escalates the case to senior managers unless the home authority accepts
    /// it or the two agree first (seconds since the epoch); nil when nothing awaits that.
    public let escalatesAt: Int64?
    /// The home authority whose answer the case awaits: its day team is handed the case
    /// whether or not the host's has accepted it.
    public let awaitingHome: String?
    /// Who sees the case: its host authorities and the home it was forwarded to by a recorded
    /// act (never what its `homeAuthority` field says).
    public let authorities: Set<String>

    /// The index of `merged`, trusting acceptances signed with `centreKey` (this centre's) and
    /// acts between authorities signed by the centre `centreKeyOf` gives a key for.
    public init(of merged: Record, centreKey: [UInt8], centreKeyOf: (DeviceID) -> [UInt8]?) {
        accepted = HandoverAcceptance.acceptedAt(merged, centreKey: centreKey) != nil
        let crossAuthority = CrossAuthorityHistory(
            record: merged, now: Instant(secondsSinceEpoch: 0), centreKey: centreKeyOf)
        escalatesAt = crossAuthority.flatMap {
            $0.machine.awaitsEscalation ? $0.machine.escalatesAt.secondsSinceEpoch : nil
        }
        awaitingHome = crossAuthority.flatMap { history -> String? in
            let state = history.machine.state
            return state == .homeResponsible || state == .hostLeadsByAgreement ? nil : history.machine.home
        }
        var authorities = ReferralCapture.hostAuthorities(of: merged)
        if let home = crossAuthority?.machine.home { authorities.insert(home) }
        self.authorities = authorities
    }

    /// The authorities that see `stored` as it is stored (for the authorities a change removes).
    public static func authorities(of stored: Record, centreKeyOf: (DeviceID) -> [UInt8]?) -> Set<String> {
        CrossAuthorityHistory.authorities(of: stored, centreKey: centreKeyOf)
    }

    /// The highest counter among `part`'s entries written as `centreDevice` (the centre's own,
    /// brought back when its database was restored from an older backup): the centre's entry
    /// counter must be raised past it, so no counter is given twice. Nil when it has none.
    public static func highestCentreCounter(in part: Record, centreDevice: String) -> UInt64? {
        part.entries.lazy.filter { $0.dot.device.rawValue == centreDevice }.map(\.dot.counter).max()
    }
}
