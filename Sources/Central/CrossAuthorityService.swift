import Crypto
public import Handover
import LineProtocol
public import Referrals
public import Replication

/// The centre's side of the host/home state machine (`Docs/domain.md`, "Host and home
/// authorities"): a day team or senior manager of the host or home authority accepts, disputes,
/// agrees that the host carries on, or decides, and the clock escalates a case 24 hours after
/// the referral.
///
/// Each act is checked against the case's state as the centre holds it (``CrossAuthorityHistory``
/// of its entries), then written as an entry of the centre's own (``Referrals/CrossAuthorityAct``)
/// at its next dot, signed with its key, and stored through the same path as a device's push;
/// the check is made again inside the storing transaction, so of two acts at once only what the
/// state allows is stored. A refused act changes nothing.
///
/// ```swift
/// let done = try await CrossAuthorityService(storage: storage).act(
///     .accept(writtenReference: "HCC/2027/114"), on: id, by: author, authority: "E10000014",
///     at: now, recordedAt: now)
/// done.state  // .homeResponsible
/// ```
public struct CrossAuthorityService: Sendable {
    public let storage: any CentralStorage

    public init(storage: any CentralStorage) {
        self.storage = storage
    }

    /// An act recorded.
    public struct Recorded: Sendable, Hashable {
        public let id: RecordID
        public let act: CrossAuthorityAct
        /// The state the case is in after it.
        public let state: CrossAuthority.State
        /// The authority responsible for the child after it.
        public let responsible: String
        /// When the clock escalates the case unless accepted or agreed on first; nil once it no longer waits for that.
        public let escalatesAt: Instant?
        /// The change-sequence number of the case after it.
        public let sequence: Int64
    }

    /// Why an act was not recorded; nothing was changed.
    public typealias Refusal = CentreRefusal<RefusalReason>

    public enum RefusalReason: String, CentreRefusalReason {
        /// No such case is stored at the centre.
        case noSuchCase = "no-such-case"
        /// The case was never forwarded to a home authority.
        case notForwarded = "not-forwarded"
        /// The authority is neither the case's host nor its home.
        case anotherAuthority = "another-authority"
        /// The state machine does not allow that act, by that party, now.
        case notAllowed = "not-allowed"
        /// The act is malformed (a name, a role, a reference missing; an instant in the
        /// future or before the last act recorded).
        case invalid
        /// The database failed: nothing is known to have changed; try again.
        case storage
    }

    /// Records `event` on case `id`, made by `author` for `authority` at `at` and recorded at
    /// `recordedAt`. The party is read from `authority`: the case's host, or the home it was
    /// forwarded to; the clock's escalation (``CrossAuthority/Event/escalate``) takes any
    /// authority of the two, or none, and is refused before the 24 hours pass.
    ///
    /// Refused, with nothing changed: no such case; a case never forwarded; an authority that is
    /// neither host nor home; what the state machine does not allow (``CrossAuthority``); an
    /// instant in the future, or before the last act recorded on the case (acts are replayed in
    /// the order of their instants, so a back-dated act would rewrite what came after it).
    public func act(
        _ event: CrossAuthority.Event, on id: RecordID, by author: ReferralEntry.Author, authority: String?,
        at: Instant, recordedAt: Instant
    ) async throws(Refusal) -> Recorded {
        guard at <= recordedAt else {
            throw Refusal(
                .invalid, "the act is dated \(at), after it is recorded (\(recordedAt)): it cannot be in the future")
        }
        if case .forward = event {
            throw Refusal(
                .invalid, "the host forwards a case from the laptop that took the referral (edt referral forward)")
        }
        guard
            let stored = try await Refusal.storing({ () async throws(CentralError) in try await storage.storedCase(id) }
            )
        else { throw Refusal(.noSuchCase, "no case \(id) is stored here") }
        let trusted = try await Refusal.storing({ () async throws(CentralError) in try await storage.trustedCentres() })
        let keys: @Sendable (DeviceID) -> [UInt8]? = { trusted[$0] }
        try Self.check(event, authority: authority, at: at, on: stored, centreKey: keys)

        let act: CrossAuthorityAct
        do {
            var reference: String?
            var lead: String?
            switch event {
            case .accept(let written): reference = written
            case .decide(let decided, let written):
                reference = written
                lead = decided.rawValue
            case .forward, .agreeHost, .dispute, .escalate: break
            }
            act = try CrossAuthorityAct(
                verb: event.verb, authority: authority, by: author, at: at, recordedAt: recordedAt,
                device: try storage.centreDevice, reference: reference, lead: lead)
        } catch let error as ReferralError {
            throw Refusal(.invalid, error.description)
        } catch {
            throw Refusal(.storage, "\(error)")
        }
        let sequence: Int64
        do throws(CentreEntry.Failure<Refusal>) {
            sequence = try await CentreEntry.store(
                act.payload, kind: CrossAuthorityAct.kind, on: id, in: storage,
                by: AuditActor(
                    who: authority == nil ? "clock" : "operator:\(author.name)",
                    authorities: Set([authority].compactMap { $0 }),
                    action: event.verb.rawValue),
                recheck: { (before: Record?) -> Refusal? in
                    // The case as stored in this transaction: an act stored meanwhile shows here.
                    do throws(Refusal) {
                        guard let before else { throw Refusal(.noSuchCase, "no case \(id) is stored here") }
                        try Self.check(event, authority: authority, at: at, on: before, centreKey: keys)
                        return nil
                    } catch {
                        return error
                    }
                }, message: { $0.message })
        } catch {
            throw Refusal.from(error)
        }
        guard
            let after = try await Refusal.storing({ () async throws(CentralError) in try await storage.storedCase(id) }
            ),
            let machine = CrossAuthorityHistory(record: after, now: at, centreKey: keys)?.machine,
            let state = machine.state
        else { throw Refusal(.storage, "case \(id) cannot be read back after the act") }
        return Recorded(
            id: id, act: act, state: state, responsible: machine.responsible,
            escalatesAt: machine.awaitsEscalation ? machine.escalatesAt : nil, sequence: sequence)
    }

    /// The party `authority` acts as on `record`, once `event` is found allowed at `at`.
    @discardableResult
    static func check(
        _ event: CrossAuthority.Event, authority: String?, at: Instant, on record: Record,
        centreKey: (DeviceID) -> [UInt8]?
    ) throws(Refusal) -> CrossAuthority.Party {
        // The state the recorded acts left (the clock not run on to `at`: the machine runs it
        // itself, so the clock's own escalation is judged as an act at `at` like any other).
        let history = CrossAuthorityHistory(
            record: record, now: Instant(secondsSinceEpoch: 0), centreKey: centreKey)
        guard let history else {
            throw Refusal(
                .notForwarded,
                "case \(record.id) was never forwarded to a home authority: only its host forwards it, from the EDT laptop (edt referral forward)"
            )
        }
        if let last = history.lastActAt, at < last {
            throw Refusal(
                .invalid,
                "the act is dated \(at), before the last act recorded on case \(record.id) (\(last)): acts are taken in the order they happened"
            )
        }
        let machine = history.machine
        let party: CrossAuthority.Party
        if case .escalate = event, authority == nil || machine.authorities.contains(authority ?? "") {
            party = .clock  // raised by the centre itself, or asked for by one of the two authorities
        } else if authority == machine.host {
            party = .host
        } else if let authority, authority == machine.home {
            party = .home
        } else {
            throw Refusal(
                .anotherAuthority,
                "\(authority ?? "no authority") is neither case \(record.id)'s host authority (\(machine.host)) nor the home authority it is forwarded to (\(machine.home ?? "none"))"
            )
        }
        if let refusal = machine.refusal(of: event, by: party, at: at) {
            throw Refusal(.notAllowed, refusal.message)
        }
        return party
    }
}

extension CrossAuthorityService {
    /// The author of the clock's escalation when the centre raises it itself.
    public static let clockAuthor: ReferralEntry.Author = {
        guard let author = try? ReferralEntry.Author(name: "edt central", role: "clock") else {
            preconditionFailure("the clock's author is a valid author")
        }
        return author
    }()

    /// Escalates every forwarded case whose 24 hours from the referral passed by `now`, neither
    /// accepted nor agreed on: the clock's event, recorded as the centre's entry at the instant
    /// the 24 hours passed (`recordedAt` now). Returns the cases escalated; one the state no
    /// longer allows (an act stored meanwhile) is left as it is.
    @discardableResult
    public func escalateDue(now: Instant) async throws(CentralError) -> [RecordID] {
        var escalated: [RecordID] = []
        for (id, due) in try await storage.casesDueForEscalation(by: now) {
            do throws(Refusal) {
                _ = try await act(.escalate, on: id, by: Self.clockAuthor, authority: nil, at: due, recordedAt: now)
                escalated.append(id)
            } catch {
                if error.reason == .storage { throw CentralError(.storage, error.message) }
            }
        }
        return escalated
    }
}
