public import Referrals

/// Where a case stands between the authority where the child was found (the host) and the one
/// where the child normally lives (the home): the state machine of `Docs/domain.md`, "Host and
/// home authorities", as a value.
///
/// Every change is an ``Event`` made by a ``Party`` at an instant. ``apply(_:by:at:)`` makes it,
/// or refuses it with the reason and leaves the value as it was. Time is passed in, never read:
/// 24 hours after the referral, a case the two authorities have neither accepted nor agreed on is
/// escalated to senior managers (``advance(to:)``), so two replicas given the same events and
/// the same instant agree.
///
/// ```swift
/// var machine = CrossAuthority(host: "E06000039", referredAt: received)
/// try machine.apply(.forward(home: "E10000014"), by: .host, at: received)
/// try machine.apply(.accept(writtenReference: "HCC/2027/114"), by: .home, at: later)
/// machine.state  // .homeResponsible
/// ```
public struct CrossAuthority: Sendable, Hashable {
    /// The states of a case forwarded to its home authority.
    public enum State: String, Sendable, Hashable, CaseIterable {
        /// Forwarded; the host is responsible until the home authority accepts.
        case forwardedToHome
        /// The home authority accepted, with the reference of its written confirmation.
        case homeResponsible
        /// Both authorities agreed that the host carries on, or senior managers decided so.
        case hostLeadsByAgreement
        /// One of them disputed; the host stays responsible until senior managers decide.
        case disputed
        /// 24 hours passed from the referral with neither acceptance nor agreement.
        case escalatedToSeniorManagers
    }

    /// Who makes a transition.
    public enum Party: String, Sendable, Hashable, CaseIterable {
        case host, home
        /// The passing of time: the escalation 24 hours after the referral.
        case clock
    }

    /// Which authority senior managers decided leads.
    public enum Lead: String, Sendable, Hashable, CaseIterable {
        case host, home
    }

    /// What a party does.
    public enum Event: Sendable, Hashable {
        /// The host forwards the case to the home authority `home` (first, or anew to another
        /// authority when the first was wrong, while the home authority has not taken it on).
        case forward(home: String)
        /// The home authority accepts responsibility; it must give the reference of its written
        /// confirmation.
        case accept(writtenReference: String)
        /// One authority's agreement that the host carries on; both must agree.
        case agreeHost
        /// One authority disputes who should lead.
        case dispute
        /// The clock's escalation to senior managers.
        case escalate
        /// Senior managers decide which authority leads, with the reference of their written decision.
        case decide(lead: Lead, writtenReference: String)

        /// The verb that names it (`edt central case ID <verb>`, and the entry's `event`).
        public var verb: CrossAuthorityAct.Verb {
            switch self {
            case .forward: .forward
            case .accept: .accept
            case .agreeHost: .agreeHost
            case .dispute: .dispute
            case .escalate: .escalate
            case .decide: .decide
            }
        }
    }

    /// Why a transition was refused; the machine is unchanged.
    public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        public let message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// How long after the referral a case neither accepted nor agreed on goes to senior managers.
    public static let escalationSeconds: Int64 = 24 * 60 * 60

    /// The authority where the child was found (GSS code).
    public let host: String
    /// When the referral was received: the escalation runs from it.
    public let referredAt: Instant
    /// The home authority the case is forwarded to; nil before it is forwarded.
    public private(set) var home: String?
    /// The state; nil before the case is forwarded.
    public private(set) var state: State?
    /// The parties that agreed the host carries on, while the other has not yet (in
    /// ``State/forwardedToHome``).
    public private(set) var agreedHostLeads: Set<Party> = []
    /// When the case was last forwarded: a case forwarded more than 24 hours after the
    /// referral is escalated at once, not before it was forwarded.
    public private(set) var forwardedAt: Instant?

    public init(host: String, referredAt: Instant) {
        self.host = host
        self.referredAt = referredAt
    }

    /// When the case goes to senior managers unless accepted or agreed on first: 24 hours after
    /// the referral, or when it was forwarded if that was later.
    public var escalatesAt: Instant {
        let due = Instant(secondsSinceEpoch: referredAt.secondsSinceEpoch + Self.escalationSeconds)
        guard let forwardedAt, forwardedAt > due else { return due }
        return forwardedAt
    }

    /// The authority responsible for the child now: the home authority once it accepted (or
    /// senior managers decided it leads), the host otherwise.
    public var responsible: String {
        state == .homeResponsible ? (home ?? host) : host
    }

    /// The authorities that see the case: the host, and the home authority from the forwarding on.
    public var authorities: Set<String> {
        var codes: Set<String> = [host]
        if let home { codes.insert(home) }
        return codes
    }

    /// Whether the clock's escalation is still to come (the case is neither accepted nor agreed on).
    public var awaitsEscalation: Bool {
        state == .forwardedToHome || state == .disputed
    }

    /// The clock's escalation, when `instant` is at or after ``escalatesAt`` and the case is
    /// still neither accepted nor agreed on: the state becomes
    /// ``State/escalatedToSeniorManagers`` and the transition is returned. Nil otherwise, nothing changed.
    @discardableResult
    public mutating func advance(to instant: Instant) -> Transition? {
        guard awaitsEscalation, instant >= escalatesAt, let from = state else { return nil }
        state = .escalatedToSeniorManagers
        agreedHostLeads = []
        return Transition(from: from, to: .escalatedToSeniorManagers, event: .escalate, party: .clock, at: escalatesAt)
    }

    /// A transition made: from and to which state, by what event and party, when.
    public struct Transition: Sendable, Hashable {
        public let from: State?
        public let to: State
        public let event: Event
        public let party: Party
        public let at: Instant
    }

    /// Makes `event` by `party` at `instant`, after the clock's escalation if it is due by then
    /// (``advance(to:)``). Refused, with nothing changed, when the table does not allow it: the
    /// wrong party, the wrong state, a home acceptance or decision without its written
    /// reference, an instant before the referral, a forwarding to the host itself or to the home
    /// it already went to.
    @discardableResult
    public mutating func apply(_ event: Event, by party: Party, at instant: Instant) throws(Refusal) -> Transition {
        var next = self
        let transition = try next.applied(event, by: party, at: instant)
        self = next
        return transition
    }

    /// Whether `apply` would take `event` by `party` at `instant`; the refusal when not.
    public func refusal(of event: Event, by party: Party, at instant: Instant) -> Refusal? {
        var copy = self
        do throws(Refusal) {
            try copy.apply(event, by: party, at: instant)
            return nil
        } catch {
            return error
        }
    }

    private mutating func applied(_ event: Event, by party: Party, at instant: Instant) throws(Refusal) -> Transition {
        guard instant >= referredAt else {
            throw Refusal("\(instant) is before the referral was received (\(referredAt))")
        }
        let escalation = advance(to: instant)
        let from = state
        func made(_ to: State) -> Transition {
            state = to
            return Transition(from: from, to: to, event: event, party: party, at: instant)
        }
        switch event {
        case .forward(let newHome):
            guard party == .host else {
                throw Refusal("only the host authority (\(host)) forwards the case to the home authority")
            }
            guard Identifiers.isAuthorityCode(newHome) else {
                throw Refusal("\"\(newHome)\" is not an authority's GSS code")
            }
            guard newHome != host else {
                throw Refusal("\(newHome) is the host authority itself: a case is forwarded to another authority")
            }
            switch state {
            case nil:
                break
            case .forwardedToHome?:
                guard newHome != home else { throw Refusal("the case is forwarded to \(newHome) already") }
            case .disputed?:
                throw Refusal(
                    "the case is disputed\(describe(escalation)): moving it to another home authority would erase the dispute; senior managers decide once it is escalated (\(escalatesAt))"
                )
            case let other?:
                throw Refusal(
                    "the case is \(other.rawValue)\(describe(escalation)): it cannot be forwarded to another home authority now"
                )
            }
            home = newHome
            agreedHostLeads = []
            forwardedAt = instant
            return made(.forwardedToHome)
        case .accept(let reference):
            guard party == .home else {
                throw Refusal("only the home authority (\(home ?? "none yet")) accepts responsibility for the case")
            }
            guard state == .forwardedToHome else { throw notAllowed(event, escalation) }
            guard !reference.allSatisfy(\.isWhitespace) else {
                throw Refusal(
                    "the home authority's acceptance needs the reference of its written confirmation (--written-ref)")
            }
            agreedHostLeads = []
            return made(.homeResponsible)
        case .agreeHost:
            guard party == .host || party == .home else {
                throw Refusal("only the host and home authorities agree that the host carries on")
            }
            guard state == .forwardedToHome else { throw notAllowed(event, escalation) }
            guard !agreedHostLeads.contains(party) else {
                let other: Party = party == .host ? .home : .host
                throw Refusal(
                    "the \(party.rawValue) authority agreed already that the host carries on; the \(other.rawValue) authority's agreement is awaited"
                )
            }
            agreedHostLeads.insert(party)
            guard agreedHostLeads.count == 2 else { return made(.forwardedToHome) }
            agreedHostLeads = []
            return made(.hostLeadsByAgreement)
        case .dispute:
            guard party == .host || party == .home else {
                throw Refusal("only the host or the home authority disputes who leads")
            }
            guard state == .forwardedToHome else { throw notAllowed(event, escalation) }
            agreedHostLeads = []
            return made(.disputed)
        case .escalate:
            guard party == .clock else {
                throw Refusal(
                    "the escalation to senior managers is the clock's: it comes 24 hours after the referral, at \(escalatesAt)"
                )
            }
            if let escalation { return escalation }
            guard awaitsEscalation else { throw notAllowed(event, nil) }
            throw Refusal("the 24 hours from the referral pass at \(escalatesAt), not before")
        case .decide(let lead, let reference):
            guard party == .host || party == .home else {
                throw Refusal("senior managers of the host or the home authority record the decision")
            }
            guard state == .escalatedToSeniorManagers else { throw notAllowed(event, escalation) }
            guard !reference.allSatisfy(\.isWhitespace) else {
                throw Refusal("the senior managers' decision needs the reference of its written record (--written-ref)")
            }
            return made(lead == .home ? .homeResponsible : .hostLeadsByAgreement)
        }
    }

    private func notAllowed(_ event: Event, _ escalation: Transition?) -> Refusal {
        let now = state.map { "the case is \($0.rawValue)\(describe(escalation))" } ?? "the case was never forwarded"
        let allowed: String =
            switch state {
            case nil: "only the host forwards it"
            case .forwardedToHome?:
                "the home authority may accept, either may dispute, both may agree the host carries on"
            case .disputed?: "senior managers decide once it is escalated, 24 hours after the referral (\(escalatesAt))"
            case .escalatedToSeniorManagers?: "senior managers decide which authority leads"
            case .homeResponsible?, .hostLeadsByAgreement?: "it is settled: nothing more is decided here"
            }
        return Refusal("\(event.verb.rawValue) is not allowed: \(now); \(allowed)")
    }

    private func describe(_ escalation: Transition?) -> String {
        escalation == nil ? "" : " (escalated at \(escalatesAt), 24 hours after the referral)"
    }
}
