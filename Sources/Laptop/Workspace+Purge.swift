import Handover
import Referrals
import ReplicaStore
public import Replication

/// Dropping the cases the laptop no longer needs (`Docs/domain.md`, "Data protection"): a case
/// the centre durably holds (nothing of it pending here) whose responsible authority's day team
/// accepted it (a genuine ``HandoverAcceptance``, signed with the centre's key this laptop
/// trusts) is removed from the laptop once the store's keeping period after that acceptance
/// has passed (``keepAcceptedDays()``; 0 unless set: at the next sync).
extension Workspace {
    /// How many days after its acceptance an accepted case is kept on this laptop.
    public func keepAcceptedDays() throws(LaptopError) -> Int {
        try storeValue { () throws(StoreError) in try store.keepAcceptedDays() }
    }

    /// Keeps accepted cases `days` days (24 hours each) after their acceptance (0 to 3,650).
    public func setKeepAcceptedDays(_ days: Int) throws(LaptopError) {
        try storeValue { () throws(StoreError) in try store.setKeepAcceptedDays(days) }
    }

    /// Drops every case that the centre holds (nothing of it pending here), that its responsible
    /// authority (its host authority) accepted, as the centre signed it, and whose keeping
    /// period after that acceptance has passed: gone from every file of the store, not only
    /// from view. Nothing is dropped on a laptop that does not know its centre's key. Returns
    /// the cases dropped. ``sync(_:progress:)`` runs it after applying the centre's replies.
    @discardableResult
    public func purgeAccepted() throws(LaptopError) -> [RecordID] {
        guard let centreKey = try centreKey() else { return [] }
        let keep = Int64(try keepAcceptedDays()) * 86_400
        let now = clock.now()
        let served = Set(policy.authorities)
        let keys = try crossAuthorityKeys()
        return try storeValue { () throws(StoreError) in
            try store.purgeAccepted(acceptedBy: now.secondsSinceEpoch - keep) { record in
                // The catalog found it; the case itself decides.
                guard let accepted = HandoverAcceptance.acceptedAt(record, centreKey: centreKey) else { return false }
                // Forwarded to a home authority this laptop serves, whose answer is awaited:
                // kept for it, whatever the host's day team did.
                if let machine = CrossAuthorityHistory(record: record, now: now, centreKey: keys)?.machine,
                    let home = machine.home, served.contains(home),
                    machine.state != .homeResponsible && machine.state != .hostLeadsByAgreement
                {
                    return false
                }
                let kept = Instant(
                    secondsSinceEpoch: accepted.secondsSinceEpoch + keep, fractionDigits: accepted.fractionDigits)
                return kept <= now
            }
        }
    }

    /// Drops every case the centre holds (nothing of it pending here) that no authority this
    /// device serves sees any longer: neither its host, nor the home authority it is forwarded
    /// to by a recorded act (``CrossAuthorityHistory/authorities(of:centreKey:)``). A case the
    /// host forwarded anew to another home authority leaves the laptops that served only the
    /// home it left. Gone from every file of the store. Returns the cases dropped.
    @discardableResult
    public func purgeUnserved() throws(LaptopError) -> [RecordID] {
        let served = Set(policy.authorities)
        let keys = try crossAuthorityKeys()
        return try storeValue { () throws(StoreError) in
            try store.purgeUnserved(served: served) { record in
                // The catalog found a host this device does not serve; the case itself decides.
                CrossAuthorityHistory.authorities(of: record, centreKey: keys).isDisjoint(with: served)
            }
        }
    }
}
