public import Referrals
public import Replication

/// What deadlines are computed from: a referral's receipt, its authorities, whether it came
/// verbally from a professional, and the typed entries that start or meet a deadline.
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

    public init(
        receivedAt: Instant, hostAuthority: String, homeAuthority: String? = nil, verbal: Bool = false,
        professionalReferrer: Bool = false, events: [Event] = [], uncertain: [String] = []
    ) {
        self.receivedAt = receivedAt
        self.hostAuthority = hostAuthority
        self.homeAuthority = homeAuthority
        self.verbal = verbal
        self.professionalReferrer = professionalReferrer
        self.events = events.sorted { $0.at < $1.at }
        self.uncertain = uncertain
    }

    /// One entry that starts or meets a deadline.
    public struct Event: Sendable, Hashable {
        public let kind: Kind
        /// When the event happened (the entry's `at`).
        public let at: Instant
        /// The entry's reference, `device:counter`.
        public let reference: String
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
            self.kind = kind
            self.at = at
            self.reference = reference
            self.refersTo = refersTo
            self.outcome = outcome
            self.section47 = section47
        }
    }

    /// The entry kinds deadlines read, by the kind the entry is recorded as.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case outcome
        case authorisation
        case acknowledgement
        case feedback
        case confirmation
        case strategyDiscussion = "strategy-discussion"
        case strategyRecord = "strategy-record"
        case assessmentCompleted = "assessment-completed"
        case conferenceHeld = "conference-held"
        /// A host/home responsibility state recorded (accepted, agreed, escalated).
        case crossAuthority = "cross-authority"
    }

    /// Reads a referral record; nil when it holds no readable receipt instant or host authority
    /// (a record that is not a referral, or one whose required fields are missing).
    public init?(record: Record) {
        var uncertain: [String] = []
        func values(_ path: FieldPath?, _ name: String) -> [FieldValue] {
            guard let path, let register = record.register(at: path) else { return [] }
            if register.isConflicted { uncertain.append(name) }
            return register.values
        }
        let received = values(Self.receivedAtPath, "receivedAt").compactMap { value -> Instant? in
            guard case .string(let text) = value else { return nil }
            return Instant(iso8601: text)
        }
        let hosts = values(Self.hostPath, "hostAuthority").compactMap { value -> String? in
            guard case .string(let text) = value else { return nil }
            return text
        }
        guard let receivedAt = received.min(), let host = hosts.min() else { return nil }
        let homes = values(Self.homePath, "homeAuthority").compactMap { value -> String? in
            guard case .string(let text) = value else { return nil }
            return text
        }
        let verbal = values(Self.verbalPath, "verbal").contains(.bool(true))
        let professional = values(Self.professionalPath, "referrer.professional").contains(.bool(true))

        var events: [Event] = []
        for entry in record.entries {
            guard let kind = Kind(rawValue: entry.kind), case .object(let payload) = entry.payload,
                case .string(let atText)? = payload["at"], let at = Instant(iso8601: atText)
            else { continue }
            func text(_ key: String) -> String? {
                guard case .string(let value)? = payload[key] else { return nil }
                return value
            }
            let refersTo: String? =
                switch kind {
                case .authorisation: text("authorises")
                case .feedback: text("about")
                case .strategyRecord: text("discussion")
                default: nil
                }
            events.append(
                Event(
                    kind: kind, at: at, reference: entry.dot.description, refersTo: refersTo,
                    outcome: kind == .outcome ? text("outcome") : kind == .crossAuthority ? text("state") : nil,
                    section47: payload["section47"] == .bool(true)))
        }
        self.init(
            receivedAt: receivedAt, hostAuthority: host, homeAuthority: homes.first { $0 != host } ?? homes.first,
            verbal: verbal, professionalReferrer: professional, events: events, uncertain: uncertain)
    }

    private static let receivedAtPath = try? FieldPath("receivedAt")
    private static let hostPath = try? FieldPath("hostAuthority")
    private static let homePath = try? FieldPath("homeAuthority")
    private static let verbalPath = try? FieldPath("verbal")
    private static let professionalPath = try? FieldPath("referrer.professional")
}
