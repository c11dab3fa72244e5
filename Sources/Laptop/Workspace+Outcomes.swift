import Handover
import LineProtocol
public import Referrals
import ReplicaStore
public import Replication

/// Recording a referral's outcome and what follows it (`edt referral outcome`, `authorise`,
/// `acknowledge`, `feedback`, `confirm`...): each a typed, signed entry
/// (``ReferralEntry/Event``), checked on its own (``ReferralEntry/payload(_:author:at:recordedAt:device:)``)
/// and against the referral as stored here, then appended as one durable commit, or refused with
/// nothing changed.
extension Workspace {
    /// An outcome entry just recorded.
    public struct RecordedEntry: Sendable, Hashable {
        public let id: RecordID
        public let dot: Dot
        public let kind: ReferralEntry.Kind
        /// When it happened, in London's offset (as written in the payload's `at`).
        public let at: String
    }

    /// How far past the clock's now an event may be said to have happened (clocks of different
    /// machines differ a little); later is refused.
    public static let futureTolerance: Int64 = 5 * 60

    /// Records `event` on the referral `idText`, made by `author`, happened `at` (ISO 8601 with
    /// an offset; the clock's now when nil).
    ///
    /// Refused (nothing recorded): an `at` more than ``futureTolerance`` after now or before the
    /// referral was received; an entry named that is not an entry of this referral of the right
    /// kind (an authorisation or feedback of an outcome never recorded...); a second
    /// authorisation of one outcome; feedback to a referrer who is not a professional without
    /// the child's confidentiality weighed; a confirmation of a referral not recorded as verbal;
    /// a conference without a strategy discussion that started section 47 enquiries; and what
    /// ``ReferralEntry/payload(_:author:at:recordedAt:device:)`` refuses.
    @discardableResult
    public func record(
        _ idText: String, _ event: ReferralEntry.Event, by author: ReferralEntry.Author, at atText: String? = nil
    ) throws(LaptopError) -> RecordedEntry {
        let (id, record) = try stored(idText)
        let now = clock.now()
        let at = try eventInstant(atText, now: now, record: record)
        let payload: [String: FieldValue]
        do {
            payload = try ReferralEntry.payload(
                event, author: author, at: at.london, recordedAt: now.london, device: device)
        } catch {
            throw .refused(error.description)
        }
        try checkConsistency(event, with: record, at: at)
        let kind = event.kind
        let signed = try sign(payload, kind: kind, record: id)
        let dot = try commit(loading: [id]) { replica in
            try replica.append(kind: kind.rawValue, payload: .object(signed), to: id)
        }
        return RecordedEntry(id: id, dot: dot, kind: kind, at: at.london)
    }

    /// The instant an event happened: `text`, else now; never in the future (beyond
    /// ``futureTolerance``) nor before the referral was received.
    private func eventInstant(_ text: String?, now: Instant, record: Record) throws(LaptopError) -> Instant {
        guard let text else { return now }
        guard let at = Instant(iso8601: text) else {
            throw .refused(
                "--at \(text) is not an ISO 8601 instant with an offset, e.g. 2027-03-27T03:00:00Z or 2027-03-30T09:00:00+01:00"
            )
        }
        guard at.secondsSinceEpoch <= now.secondsSinceEpoch + Self.futureTolerance else {
            throw .refused("--at \(at.london) is in the future (now is \(now.london)): give the time it happened")
        }
        // The earliest receipt when receivedAt is in conflict (the cautious reading).
        if let received = ReferralTimeline(record: record)?.receivedAt, at < received {
            throw .refused(
                "--at \(at.london) is before the referral was received (\(received.london)): give the time it happened")
        }
        return at
    }

    /// Checks what `event` says about the referral against the record: the entries it names
    /// exist, are of the right kind, and happened no later than it (`at`).
    private func checkConsistency(_ event: ReferralEntry.Event, with record: Record, at: Instant) throws(LaptopError) {
        for (_, reference, kind) in event.references {
            let named = try entry(reference, of: kind, in: record, for: event.kind)
            if let namedAt = Self.instant(of: named, in: record), at < namedAt {
                throw .refused(
                    "--at \(at.london) is before the \(kind.rawValue) entry \(reference) it names (\(namedAt.london)): give the time it happened"
                )
            }
        }
        switch event {
        case .authorisation(let authorises, _):
            let outcome = try entry(authorises, of: .outcome, in: record, for: event.kind)
            if let earlier = record.entries.first(where: {
                $0.kind == ReferralEntry.Kind.authorisation.rawValue && referencedDot($0, key: "authorises") == outcome
            }) {
                throw .refused(
                    "the outcome \(Notation.text(outcome)) is already authorised (\(Notation.text(earlier.dot))); a changed decision is a new outcome entry, authorised in its turn"
                )
            }
        case .feedback(_, _, let confidentialityWeighed):
            if !confidentialityWeighed, ReferralView.value(of: record, at: "referrer.professional") != .bool(true) {
                throw .refused(
                    "the referrer is not recorded as a professional: weigh the child's confidentiality before telling a member of the public the outcome, and say so with --confidentiality-weighed (or set referrer.professional to true if they are a professional)"
                )
            }
        case .confirmation:
            guard ReferralView.value(of: record, at: "verbal") == .bool(true) else {
                throw .refused(
                    "the referral is not recorded as verbal: set it first (`edt referral set ID verbal true`), then record its written confirmation"
                )
            }
        case .conferenceHeld:
            let enquiries = record.entries.filter { entry in
                guard entry.kind == ReferralEntry.Kind.strategyDiscussion.rawValue,
                    case .object(let payload) = entry.payload
                else { return false }
                return payload["section47"] == .bool(true)
            }
            guard !enquiries.isEmpty else {
                throw .refused(
                    "no strategy discussion of this referral started section 47 enquiries: record it first (`edt referral strategy-discussion ID --section-47 true ...`)"
                )
            }
            let first = enquiries.compactMap { Self.instant(of: $0.dot, in: record) }.min()
            if let first, at < first {
                throw .refused(
                    "--at \(at.london) is before the strategy discussion that started section 47 enquiries (\(first.london)): give the time the conference was held"
                )
            }
        default:
            break
        }
    }

    /// The dot of the entry of `kind` that `reference` names in `record`, or a refusal saying
    /// what to name instead.
    private func entry(
        _ reference: String, of kind: ReferralEntry.Kind, in record: Record, for recording: ReferralEntry.Kind
    ) throws(LaptopError) -> Dot {
        let what = Self.preposed(recording)
        guard let dot = Notation.dot(Substring(reference)),
            let found = record.entries.first(where: { $0.dot == dot })
        else {
            throw .refused(
                "\(what) \(Self.described(kind)) never recorded: \(reference) is not an entry of this referral; name the \(kind.rawValue) entry's dot (see `edt referral show`)"
            )
        }
        guard found.kind == kind.rawValue else {
            throw .refused(
                "\(what) \(Self.described(kind)) never recorded: \(reference) is a \(found.kind) entry, not \(kind.rawValue); name the \(kind.rawValue) entry's dot (see `edt referral show`)"
            )
        }
        return dot
    }

    /// The instant the entry `dot` of `record` says it happened (its `at`).
    private static func instant(of dot: Dot, in record: Record) -> Instant? {
        guard let entry = record.entries.first(where: { $0.dot == dot }), case .object(let payload) = entry.payload,
            case .string(let text)? = payload["at"]
        else { return nil }
        return Instant(iso8601: text)
    }

    /// The dot an entry's payload names under `key`.
    private func referencedDot(_ entry: Entry, key: String) -> Dot? {
        guard case .object(let payload) = entry.payload, case .string(let text)? = payload[key] else { return nil }
        return Notation.dot(Substring(text))
    }

    /// "feedback on", "an authorisation of"...: what is recorded, before what it names.
    private static func preposed(_ kind: ReferralEntry.Kind) -> String {
        switch kind {
        case .feedback: "feedback on"
        case .challenge: "a challenge of"
        default: described(kind) + " of"
        }
    }

    private static func described(_ kind: ReferralEntry.Kind) -> String {
        switch kind {
        case .outcome: "an outcome"
        case .authorisation: "an authorisation"
        case .feedback: "feedback"
        case .strategyDiscussion: "a strategy discussion"
        case .strategyRecord: "a strategy record"
        case .challenge: "a challenge"
        case .escalation: "an escalation"
        default: "a \(kind.rawValue)"
        }
    }
}
