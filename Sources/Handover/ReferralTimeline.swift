public import Referrals
public import Replication

/// What deadlines are computed from: a referral's receipt, its authorities, whether it came
/// verbally from a professional, and the typed entries that start or meet a deadline.
///
/// An authorisation counts only when made by a manager (``ReferralEntry/isManagerRole(_:)``) and
/// naming an outcome recorded no later than it (``Deadlines``).
///
/// Read from a record (``init(record:)``) the cautious way where a field is in conflict (both
/// values are kept and none is chosen): the earliest receipt, "verbal" and "professional" when
/// either value says so, the first host authority in code order; such fields are listed in
/// ``uncertain`` so a reader is told the deadlines rest on a conflicted value.
public struct ReferralTimeline: Sendable, Hashable {
    public var receivedAt: Instant
    /// The authority the referral is recorded for (where the child was found).
    public var hostAuthority: String
    /// Where the child normally lives, when recorded.
    public var homeAuthority: String?
    /// A verbal or phone referral.
    public var verbal: Bool
    /// Made by a professional (whose verbal referral must be confirmed in writing).
    public var professionalReferrer: Bool
    /// The entries that matter to deadlines, in order of the instant they record.
    public var events: [Event]
    /// Paths of fields in conflict that the timeline was read from.
    public var uncertain: [String]
    /// When the host and home authorities settled who leads, or the matter went to senior
    /// managers (``CrossAuthorityHistory/settlement``): what meets `hostHomeEscalation`. Set by
    /// a reader that knows which centres' acts count; nil otherwise.
    public var hostHomeSettlement: Event?

    public init(
        receivedAt: Instant, hostAuthority: String, homeAuthority: String? = nil, verbal: Bool = false,
        professionalReferrer: Bool = false, events: [Event] = [], uncertain: [String] = []
    ) {
        self.receivedAt = receivedAt
        self.hostAuthority = hostAuthority
        self.homeAuthority = homeAuthority
        self.verbal = verbal
        self.professionalReferrer = professionalReferrer
        var ordered = true
        for index in events.indices.dropFirst() where events[index].at < events[index - 1].at {
            ordered = false
            break
        }
        self.events = ordered ? events : events.sorted { $0.at < $1.at }
        self.uncertain = uncertain
    }

    /// One entry that starts or meets a deadline.
    public struct Event: Sendable, Hashable {
        public let kind: Kind
        /// When the event happened (the entry's `at`).
        public let at: Instant
        /// The entry's reference, `device:counter`.
        public var reference: String { dot.map { "\($0.device.rawValue):\($0.counter)" } ?? writtenReference }
        /// The entry's identity, when read from a record (the reference is made from it only
        /// when asked for: most are never shown).
        private let dot: Dot?
        private let writtenReference: String
        /// The entry this one refers to (an authorisation's outcome, a record's discussion).
        public let refersTo: String?
        /// An outcome's type (`section-17-assessment`, …).
        public let outcome: String?
        /// Whether a strategy discussion started section 47 enquiries.
        public let section47: Bool

        public init(
            kind: Kind, at: Instant, reference: String, refersTo: String? = nil, outcome: String? = nil,
            section47: Bool = false
        ) {
            self.init(
                kind: kind, at: at, dot: nil, reference: reference, refersTo: refersTo, outcome: outcome,
                section47: section47)
        }

        init(
            kind: Kind, at: Instant, dot: Dot?, reference: String = "", refersTo: String?, outcome: String?,
            section47: Bool
        ) {
            self.kind = kind
            self.at = at
            self.dot = dot
            self.writtenReference = reference
            self.refersTo = refersTo
            self.outcome = outcome
            self.section47 = section47
        }
    }

    /// The entry kinds deadlines read (``ReferralEntry/Kind`` names them as recorded).
    public enum Kind: Sendable, Hashable, CaseIterable {
        case outcome
        case authorisation
        case acknowledgement
        case feedback
        case confirmation
        case strategyDiscussion
        case strategyRecord
        case assessmentCompleted
        case conferenceHeld
        /// The host and home authorities settled who leads, or the matter went to senior managers.
        case hostHomeSettled

        /// The kind recorded as `entryKind`; nil for an entry no deadline reads.
        public init?(entryKind: String) {
            switch ReferralEntry.Kind(rawValue: entryKind) {
            case .outcome: self = .outcome
            case .authorisation: self = .authorisation
            case .acknowledgement: self = .acknowledgement
            case .feedback: self = .feedback
            case .confirmation: self = .confirmation
            case .strategyDiscussion: self = .strategyDiscussion
            case .strategyRecord: self = .strategyRecord
            case .assessmentCompleted: self = .assessmentCompleted
            case .conferenceHeld: self = .conferenceHeld
            case .conversation, .decision, .note, .correction, .resolution, .replacement, .challenge, .escalation,
                nil:
                return nil
            }
        }
    }

    /// Reads a referral record; nil when it holds no readable receipt instant or host authority
    /// (a record that is not a referral, or one whose required fields are missing).
    public init?(record: Record) {
        var uncertain: [String] = []
        var receivedAt: Instant?
        Self.forEachValue(record, Self.receivedAtPath, "receivedAt", &uncertain) { value in
            guard case .string(let text) = value, let instant = Instant(iso8601: text) else { return }
            if receivedAt.map({ instant < $0 }) ?? true { receivedAt = instant }
        }
        var host: String?
        Self.forEachValue(record, Self.hostPath, "hostAuthority", &uncertain) { value in
            guard case .string(let text) = value else { return }
            if host.map({ text < $0 }) ?? true { host = text }
        }
        guard let receivedAt, let host else { return nil }
        var home: String?
        Self.forEachValue(record, Self.homePath, "homeAuthority", &uncertain) { value in
            guard case .string(let text) = value, home == nil || home == host else { return }
            home = text
        }
        var verbal = false
        Self.forEachValue(record, Self.verbalPath, "verbal", &uncertain) { if $0 == .bool(true) { verbal = true } }
        var professional = false
        Self.forEachValue(record, Self.professionalPath, "referrer.professional", &uncertain) {
            if $0 == .bool(true) { professional = true }
        }

        var events: [Event] = []
        events.reserveCapacity(record.entries.count)
        for entry in record.entries {
            guard let kind = Kind(entryKind: entry.kind), case .object(let payload) = entry.payload,
                case .string(let atText)? = payload["at"], let at = Instant(iso8601: atText)
            else { continue }
            func text(_ key: String) -> String? {
                guard case .string(let value)? = payload[key] else { return nil }
                return value
            }
            // Only a manager authorises: an authorisation by anyone else (from another replica,
            // a bundle) is not a decision and meets nothing.
            if kind == .authorisation, !ReferralEntry.isManagerRole(text("role") ?? "") { continue }
            let refersTo: String? =
                switch kind {
                case .authorisation: text("authorises")
                case .feedback: text("about")
                case .strategyRecord: text("discussion")
                default: nil
                }
            events.append(
                Event(
                    kind: kind, at: at, dot: entry.dot, refersTo: refersTo,
                    outcome: kind == .outcome ? text("outcome") : nil,
                    section47: kind == .strategyDiscussion && payload["section47"] == .bool(true)))
        }
        self.init(
            receivedAt: receivedAt, hostAuthority: host, homeAuthority: home, verbal: verbal,
            professionalReferrer: professional, events: events, uncertain: uncertain)
    }

    /// Calls `body` with each value kept at `path` (several while it is in conflict, which
    /// `uncertain` then records), without building an array.
    private static func forEachValue(
        _ record: Record, _ path: FieldPath?, _ name: String, _ uncertain: inout [String],
        _ body: (FieldValue) -> Void
    ) {
        guard let path, let register = record.register(at: path) else { return }
        if register.isConflicted { uncertain.append(name) }
        register.forEachSibling { body($0.value) }
    }

    private static let receivedAtPath = try? FieldPath("receivedAt")
    private static let hostPath = try? FieldPath("hostAuthority")
    private static let homePath = try? FieldPath("homeAuthority")
    private static let verbalPath = try? FieldPath("verbal")
    private static let professionalPath = try? FieldPath("referrer.professional")
}
