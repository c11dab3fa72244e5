public import Handover
import LineProtocol
public import Referrals
import ReplicaStore
public import Replication

/// Forwarding a case to the child's home authority (`Docs/domain.md`, "Host and home
/// authorities"), and where a case stands between its host and home authorities.
///
/// The host forwards from the EDT laptop that took the referral, offline if need be: the act is
/// a ``Referrals/CrossAuthorityAct`` entry signed with this device's key, written in one commit
/// with the `homeAuthority` field. Only that act makes the case visible to the home authority
/// once synced; writing the field alone does not. The home authority's answer (acceptance,
/// dispute, agreement) and senior managers' decision are recorded at a centre (this laptop's, or
/// the home authority's own, a peer its centre vouches for) and reach this laptop at its next
/// sync, counted only when signed with the key it trusts for that centre (``centreKeys()``).
extension Workspace {
    /// The centre's key for the acts of `device`, when it is a centre's (``centreKeys()``): the
    /// key this laptop's centre vouches for that peer centre, else the one centre this laptop
    /// trusts (`edt store centre-key`).
    func crossAuthorityKeys() throws(LaptopError) -> @Sendable (DeviceID) -> [UInt8]? {
        try centreKeys()
    }

    /// Where `record` stands between its host and home authorities at `now`; nil when it was
    /// never forwarded.
    public func crossAuthority(of record: Record, at now: Instant) throws(LaptopError) -> CrossAuthorityHistory? {
        CrossAuthorityHistory(record: record, now: now, centreKey: try crossAuthorityKeys())
    }

    /// A forwarding recorded.
    public struct Forwarded: Sendable, Hashable {
        public let id: RecordID
        public let dot: Dot
        public let host: String
        public let home: String
        /// When the clock escalates the case to senior managers unless the home authority
        /// accepts or both agree first.
        public let escalatesAt: Instant
    }

    /// Forwards the referral `idText` to the home authority `home`: the host (the case's host
    /// authority, which this device serves) records that it sent the case, by `author`, at `at`
    /// (ISO 8601 with an offset; now when nil). Sets `homeAuthority` to `home` in the same commit.
    ///
    /// Refused, with nothing changed: a host this device does not serve, or one in conflict; a
    /// home authority not known or not in force on the day of the referral; a home that is the
    /// host itself or the one the case is forwarded to already; a case whose home authority
    /// accepted, or that is agreed on or escalated (``CrossAuthority``); an `at` in the future
    /// or before the referral.
    @discardableResult
    public func forward(
        _ idText: String, to home: String, by author: ReferralEntry.Author, at atText: String? = nil
    ) throws(LaptopError) -> Forwarded {
        let (id, record) = try stored(idText)
        let hosts = ReferralCapture.hostAuthorities(of: record)
        guard hosts.count == 1, let host = hosts.first else {
            throw .refused(
                hosts.isEmpty
                    ? "the referral names no host authority: record where the child was found first"
                    : "the host authority is in conflict (\(hosts.sorted().joined(separator: ", "))): resolve it before forwarding"
            )
        }
        try policy.checkHost(host, place: "")
        guard let timeline = ReferralTimeline(record: record) else {
            throw .refused("the referral has no readable receipt instant (receivedAt): record it before forwarding")
        }
        try checkKnown(home, path: "--to", receivedAt: timeline.receivedAt, place: "")
        let now = clock.now()
        let at: Instant
        if let atText {
            guard let given = Instant(iso8601: atText) else {
                throw .refused("--at \(atText) is not an ISO 8601 instant with an offset, e.g. 2027-03-27T03:00:00Z")
            }
            guard given.secondsSinceEpoch <= now.secondsSinceEpoch + Self.futureTolerance else {
                throw .refused(
                    "--at \(given.london) is in the future (now is \(now.london)): give the time it happened")
            }
            at = given
        } else {
            at = now
        }
        // The acts as recorded (the clock is run on to `at` by the machine itself).
        let history = try crossAuthority(of: record, at: Instant(secondsSinceEpoch: 0))
        if let last = history?.lastActAt, at < last {
            throw .refused(
                "--at \(at.london) is before the last act recorded between the authorities (\(last.london)): acts are taken in the order they happened"
            )
        }
        var machine = history?.machine ?? CrossAuthority(host: host, referredAt: timeline.receivedAt)
        do throws(CrossAuthority.Refusal) {
            try machine.apply(.forward(home: home), by: .host, at: at)
        } catch {
            throw .refused("the case cannot be forwarded to \(home): \(error.message)")
        }
        let act: CrossAuthorityAct
        let replacement: [String: FieldValue]?
        let path: FieldPath
        do {
            act = try CrossAuthorityAct(
                verb: .forward, authority: host, by: author, at: at, recordedAt: now, device: device, home: home,
                referredAt: machine.referredAt)
            path = try FieldPath(ReferralCapture.homeAuthorityPath)
            let replaced = record.register(at: path)?.values.filter { $0 != .string(home) } ?? []
            replacement =
                replaced.isEmpty
                ? nil
                : try ReferralEntry.changePayload(
                    path: path, value: .string(home), replaced: replaced, author: author, at: now.london, device: device
                )
        } catch let error as ReferralError {
            throw .refused(error.description)
        } catch {
            throw .refused("the forwarding cannot be made: \(error)")
        }
        let signedAct: [String: FieldValue]
        do {
            signedAct = try CrossAuthorityAct.sign(act.payload, record: id) { (bytes) throws(StoreError) in
                try store.sign(bytes)
            }
        } catch {
            throw LaptopError(error)
        }
        let signedReplacement = try replacement.map { payload throws(LaptopError) in
            try sign(payload, kind: .replacement, record: id)
        }
        let dot = try commit(loading: [id]) { replica in
            replica.write(.string(home), to: path, in: id)
            if let signedReplacement {
                try replica.append(
                    kind: ReferralEntry.Kind.replacement.rawValue, payload: .object(signedReplacement), to: id)
            }
            return try replica.append(kind: CrossAuthorityAct.kind, payload: .object(signedAct), to: id)
        }
        return Forwarded(id: id, dot: dot, host: host, home: home, escalatesAt: machine.escalatesAt)
    }
}
