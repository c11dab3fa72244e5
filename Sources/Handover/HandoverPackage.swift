public import Referrals
public import Replication

/// The morning handover package (`Docs/domain.md`, "EDT handover to day teams"): for one
/// authority, what its day team receives at its first opening of office hours at or after an
/// instant. It holds every EDT case received in the out-of-hours window that opening ends, and
/// every earlier EDT case of the authority nobody has accepted yet (carried over), ordered by
/// receipt then id. Each case comes with a summary, the actions the EDT took, what remains to
/// do, the deadlines not met, where it stands between host and home authorities, and where it
/// goes inside the authority.
///
/// Pure: built from the records and an instant passed in (``build(authority:at:candidates:carriedOver:directory:centreKey:routing:)``),
/// so the same input gives the same package (``jsonBytes()``, ``html()``).
public struct HandoverPackage: Sendable, Hashable {
    /// The authority whose day team receives it.
    public let authority: Authority
    /// The out-of-hours window just ended; its ``OutOfHoursWindow/opensAt`` is the handover.
    public let window: OutOfHoursWindow
    /// The name of the authority's front door.
    public let frontDoor: String
    /// The cases, by receipt instant then id.
    public let cases: [Case]
    /// Candidates that could not be read as referrals (no readable `receivedAt` or
    /// `hostAuthority`), by id: a person has to look at them.
    public let unreadable: [RecordID]

    /// The opening of office hours the package is due at.
    public var opensAt: Instant { window.opensAt }

    /// This package with only the cases `ids` names (and no unreadable candidates): what an
    /// addendum hands over, the cases that reached the centre after the package was kept.
    public func restricted(to ids: Set<RecordID>) -> HandoverPackage {
        HandoverPackage(
            authority: authority, window: window, frontDoor: frontDoor, cases: cases.filter { ids.contains($0.id) },
            unreadable: [])
    }

    /// One EDT case handed over.
    public struct Case: Sendable, Hashable {
        public let id: RecordID
        /// The receipt instant (the earliest, when in conflict).
        public let receivedAt: Instant
        public let hostAuthority: String
        public let homeAuthority: String?
        public let summary: Summary
        /// What the EDT recorded doing, in the order of the instants the entries record.
        public let actionsTaken: [Action]
        /// What remains to do: the open tasks of the outcome entries, the record check, each
        /// missing item of information, each edit conflict.
        public let openTasks: [Task]
        /// The deadlines not met as of the opening (pending or overdue), in their usual order.
        public let deadlines: [Deadlines.Deadline]
        /// The recommended information still missing (``ReferralSchema/gaps(of:)``).
        public let missingInformation: [String]
        /// The paths of fields in conflict.
        public let conflicts: [String]
        /// The fields in conflict the summary, deadlines and routing were read from, the
        /// cautious way.
        public let uncertain: [String]
        /// Where the case stands between its host and home authorities at the opening, with
        /// every act between them; nil when it was never forwarded.
        public let crossAuthority: CrossAuthorityHistory?
        /// Where it goes inside the authority, and the rule that chose it.
        public let routedTo: Route
        /// Received before the window just ended (handed over before, not yet accepted), or
        /// named by the caller as handed over earlier.
        public let carriedOver: Bool
        /// The case's acknowledgement deadline (`acknowledge`'s due instant) has gone by at the
        /// opening while nobody has accepted the handover.
        public let overdue: Bool
    }

    /// What the day team reads first.
    public struct Summary: Sendable, Hashable {
        /// The children, in item-id order.
        public let children: [Child]
        /// The cause for concern (every value, when in conflict).
        public let concern: String?
        /// Whether the child is safe now; false when any value says not (the cautious reading);
        /// nil when not recorded.
        public let childSafeNow: Bool?
        /// Whether immediate protection is needed; true when any value says so; nil when not
        /// recorded.
        public let immediateProtection: Bool?
    }

    /// One child of the summary. A text in conflict shows every value, joined by ` | `.
    public struct Child: Sendable, Hashable {
        /// The item id (`c1a2b3c4d`).
        public let id: String
        public let name: String?
        public let dateOfBirth: String?
        public let ageEstimate: Int64?
        public let unborn: Bool
        public let expectedDate: String?
        /// Where the child is now.
        public let location: String?
    }

    /// One thing the EDT recorded doing: an entry of the referral.
    public struct Action: Sendable, Hashable {
        /// The entry, `device:counter`.
        public let entry: String
        /// The entry kind (`outcome`, `conversation`, …).
        public let kind: String
        /// When it happened (the entry's `at`); nil when the entry gives none.
        public let at: Instant?
        public let by: String?
        public let role: String?
        /// One line saying what was done.
        public let text: String
        /// For immediate protection, the measures taken.
        public let measures: [String]
    }

    /// One thing left to do.
    public struct Task: Sendable, Hashable {
        public let kind: TaskKind
        /// The entry it is about, `device:counter`.
        public let entry: String?
        /// The field it is about (a missing item, a conflict).
        public let field: String?
        /// What to do, in words.
        public let summary: String
    }

    /// The kinds of task: those of ``OpenTasks``, and what the handover adds.
    public enum TaskKind: Sendable, Hashable {
        case open(OpenTasks.Kind)
        /// The child's electronic record was not checked (the laptop was offline, or nobody
        /// recorded a check).
        case checkRecord
        /// An item of information is missing.
        case supplyInformation
        /// Two values of a field were written concurrently and none is chosen.
        case resolveConflict
        /// The child's home authority is another, and the case was never forwarded to it.
        case forwardToHome
        /// The case waits for an act between its host and home authorities: the home's answer,
        /// the other's agreement, or senior managers' decision.
        case settleResponsibility

        /// The name written in the JSON (`authorise-outcome`, `check-record`, …).
        public var name: String {
            switch self {
            case .open(let kind): kind.rawValue
            case .checkRecord: "check-record"
            case .supplyInformation: "supply-information"
            case .resolveConflict: "resolve-conflict"
            case .forwardToHome: "forward-to-home"
            case .settleResponsibility: "settle-responsibility"
            }
        }
    }

    /// Why a package cannot be built.
    public struct Unavailable: Error, Sendable, Hashable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }
}
