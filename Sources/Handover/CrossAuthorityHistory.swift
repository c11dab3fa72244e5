public import Referrals
public import Replication

/// Where a case stands between its host and home authorities, worked out from its
/// ``Referrals/CrossAuthorityAct`` entries alone, and every act with what it did.
///
/// **The rule for acts made apart.** The acts that count are replayed through
/// ``CrossAuthority`` in the order of the instant each says it happened (`at`), then the instant
/// it was recorded, then its dot; the clock's escalation comes in at referral + 24 hours. An act
/// the state it meets does not allow (home accepted on one replica while host disputed on
/// another, the later of the two) is kept and shown, marked not applied with the reason. So
/// the state is a function of the entries and the instant: two replicas that hold the same
/// entries agree on it, and every act stays visible.
///
/// The party of an act is read from its authority: the host authority the first forwarding
/// named (one of the case's host authorities), or the home authority the case is forwarded to
/// when the act is made. A case never forwarded has no state.
public struct CrossAuthorityHistory: Sendable, Hashable {
    /// The machine after every act and the clock up to the instant asked about.
    public let machine: CrossAuthority
    /// Every act in the order replayed, and the clock's escalation where it came.
    public let steps: [Step]

    /// One step of the history.
    public struct Step: Sendable, Hashable {
        /// The act; nil for the clock's escalation that no entry records yet.
        public let act: CrossAuthorityAct?
        /// The entry that holds it.
        public let dot: Dot?
        /// The party the act was made as; nil when its authority is neither host nor home.
        public let party: CrossAuthority.Party?
        /// When it happened.
        public let at: Instant
        /// The state it left the case in, when it applied.
        public let state: CrossAuthority.State?
        /// Why it did not apply (the state it met did not allow it), when it did not.
        public let notApplied: String?
    }

    /// The history of `record` at `now`: nil when no act counts, or none is a forwarding by one
    /// of its host authorities (a first forwarding refused, dated before the referral, leaves
    /// the history with no state). `now` drives the clock only: every act counts, even one
    /// dated after it (a replica whose clock is behind), unless `actsUpTo` says otherwise. `centreKey` gives the key of each
    /// centre whose acts count (``Referrals/CrossAuthorityAct/read(_:in:centreKey:)``).
    ///
    /// With `actsUpTo`, only the acts that happened at or before it count: the standing as it
    /// was then (a handover package at its opening), whatever was recorded since.
    public init?(record: Record, now: Instant, centreKey: (DeviceID) -> [UInt8]?, actsUpTo: Instant? = nil) {
        guard record.entries.contains(where: { $0.kind == CrossAuthorityAct.kind }) else { return nil }
        var counted = CrossAuthorityAct.all(in: record, centreKey: centreKey)
        if let actsUpTo { counted.removeAll { $0.act.at > actsUpTo } }
        let acts = counted.sorted { left, right in
            if left.act.at != right.act.at { return left.act.at < right.act.at }
            if left.act.recordedAt != right.act.recordedAt { return left.act.recordedAt < right.act.recordedAt }
            if left.dot.device != right.dot.device { return left.dot.device.rawValue < right.dot.device.rawValue }
            return left.dot.counter < right.dot.counter
        }
        let hosts = ReferralCapture.hostAuthorities(of: record)
        guard let first = acts.first(where: { $0.act.verb == .forward && hosts.contains($0.act.authority ?? "") }),
            let host = first.act.authority,
            // The referral's instant as the first forwarding fixed it (a later correction of
            // receivedAt does not re-judge the acts); the record's for a forwarding without it.
            let received = first.act.referredAt ?? ReferralTimeline(record: record)?.receivedAt
        else { return nil }
        var machine = CrossAuthority(host: host, referredAt: received)
        var steps: [Step] = []
        var clockStep: Int?  // the index of the clock's escalation, once it came

        func advance(to instant: Instant) {
            if let transition = machine.advance(to: instant) {
                clockStep = steps.count
                steps.append(
                    Step(
                        act: nil, dot: nil, party: .clock, at: transition.at, state: transition.to, notApplied: nil))
            }
        }
        for (act, dot) in acts {
            // The clock comes first, wherever it falls among the acts.
            advance(to: act.at)
            let party: CrossAuthority.Party? =
                if act.verb == .escalate, act.authority.map(machine.authorities.contains) ?? true {
                    .clock  // raised by a centre itself, or asked for by the host or the home
                } else if act.authority == machine.host {
                    .host
                } else if act.authority != nil, act.authority == machine.home {
                    .home
                } else {
                    nil
                }
            guard let party else {
                let home = machine.home.map { " nor the home authority (\($0))" } ?? ""
                steps.append(
                    Step(
                        act: act, dot: dot, party: nil, at: act.at, state: nil,
                        notApplied:
                            "\(act.authority ?? "no authority") is neither the host authority (\(machine.host))\(home)")
                )
                continue
            }
            if act.verb == .escalate, let index = clockStep, steps[index].act == nil {
                // The entry that records the clock's escalation: it is that step's evidence.
                let step = steps[index]
                steps[index] = Step(
                    act: act, dot: dot, party: .clock, at: step.at, state: step.state, notApplied: nil)
                continue
            }
            do throws(CrossAuthority.Refusal) {
                let transition = try machine.apply(Self.event(of: act), by: party, at: act.at)
                if act.verb == .escalate { clockStep = steps.count }
                steps.append(
                    Step(act: act, dot: dot, party: party, at: act.at, state: transition.to, notApplied: nil))
            } catch {
                steps.append(
                    Step(act: act, dot: dot, party: party, at: act.at, state: nil, notApplied: error.message))
            }
        }
        advance(to: now)
        self.machine = machine
        self.steps = steps
    }

    /// The event an act makes.
    static func event(of act: CrossAuthorityAct) -> CrossAuthority.Event {
        switch act.verb {
        case .forward: .forward(home: act.home ?? "")
        case .accept: .accept(writtenReference: act.reference ?? "")
        case .agreeHost: .agreeHost
        case .dispute: .dispute
        case .escalate: .escalate
        case .decide:
            .decide(lead: CrossAuthority.Lead(rawValue: act.lead ?? "") ?? .host, writtenReference: act.reference ?? "")
        }
    }

    /// When the latest act that applied happened: no act may be dated before it (acts are
    /// replayed in the order of their instants, so an earlier one would rewrite what followed).
    public var lastActAt: Instant? {
        steps.filter { $0.act != nil && $0.notApplied == nil }.map(\.at).max()
    }

    /// When the two authorities settled who leads (the home accepted, both agreed, senior
    /// managers decided) or the matter went to senior managers: the first step that left the
    /// case in one of those states, as the event that meets the `hostHomeEscalation` deadline.
    public var settlement: ReferralTimeline.Event? {
        let settled: Set<CrossAuthority.State> = [.homeResponsible, .hostLeadsByAgreement, .escalatedToSeniorManagers]
        guard let step = steps.first(where: { $0.state.map(settled.contains) ?? false }) else { return nil }
        let reference = step.dot.map { "\($0.device.rawValue):\($0.counter)" } ?? "clock"
        return ReferralTimeline.Event(kind: .hostHomeSettled, at: step.at, reference: reference)
    }

    /// The authorities that see `record`: its host authorities, and the home authority it is
    /// forwarded to by a recorded act (never the `homeAuthority` field by itself). Escalation
    /// does not change who sees a case, so no instant is needed.
    public static func authorities(of record: Record, centreKey: (DeviceID) -> [UInt8]?) -> Set<String> {
        var codes = ReferralCapture.hostAuthorities(of: record)
        if let history = CrossAuthorityHistory(
            record: record, now: Instant(secondsSinceEpoch: 0), centreKey: centreKey),
            let home = history.machine.home
        {
            codes.insert(home)
        }
        return codes
    }
}
