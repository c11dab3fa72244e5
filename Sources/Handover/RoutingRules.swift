import LineProtocol
import Replication

/// Where a handed-over EDT case goes inside the responsible authority (`Docs/domain.md`, "EDT
/// handover to day teams"), by rules kept as data (`Data/routing-rules.json`): the rules in the
/// order they are tried, the default name of a front door, the length of the recent-allocation
/// rule. The first rule that applies wins; a case no listed rule takes goes to the front door.
///
/// | rule | applies when | goes to |
/// |---|---|---|
/// | `allocated-social-worker` | a child has an allocated social worker whose allocation is current (no `closedOn`, or `closedOn` after the day the referral was received) | that worker's team, naming the worker |
/// | `early-help` | a child has a named early help worker and no harm is alleged | that worker |
/// | `recent-allocation` | a child's allocation ended (`closedOn`) within the `recentAllocationDays` days (84, twelve weeks) up to the day the referral was received, that day included | back to the previous team |
/// | `front-door` | always | the authority's front door (MASH, duty) |
///
/// Children are tried in item-id order within each rule. A routing field in conflict is read as
/// not known (the cautious reading: the case falls through to a later rule, in the end to the
/// front door, where a person looks at it), and harm counts as alleged when any value says so.
public struct RoutingRules: Sendable, Hashable {
    /// The rules the code knows, by the name the data uses.
    public enum Rule: String, Sendable, Hashable, CaseIterable {
        case allocatedSocialWorker = "allocated-social-worker"
        case earlyHelp = "early-help"
        case recentAllocation = "recent-allocation"
        case frontDoor = "front-door"
    }

    /// The rules in the order they are tried.
    public let rules: [Rule]
    /// The front door's name for an authority that names none (`front-door =` in the operator's
    /// file sets one per authority).
    public let defaultFrontDoor: String
    /// How many days before the referral's receipt date an ended allocation still sends the case
    /// back to the previous team (84: twelve weeks; exactly 84 days still does).
    public let recentAllocationDays: Int

    public init(rules: [Rule], defaultFrontDoor: String, recentAllocationDays: Int) {
        self.rules = rules
        self.defaultFrontDoor = defaultFrontDoor
        self.recentAllocationDays = recentAllocationDays
    }

    /// Why a rules document was refused.
    public struct Invalid: Error, Sendable, Hashable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Reads a rules document: `{"defaultFrontDoor": NAME, "recentAllocationDays": N, "rules":
    /// [{"rule": NAME, "summary": TEXT}, ...]}`.
    public init(json bytes: [UInt8]) throws(Invalid) {
        let value: FieldValue
        do {
            value = try JSONPayload.read(bytes[...], maximumDepth: 8, allowingWhitespace: true)
        } catch {
            throw Invalid(message: "routing rules: not JSON: \(error)")
        }
        guard case .object(let root) = value else { throw Invalid(message: "routing rules: not a JSON object") }
        guard case .string(let frontDoor)? = root["defaultFrontDoor"], !frontDoor.isEmpty else {
            throw Invalid(message: "routing rules: defaultFrontDoor must name the front door")
        }
        guard case .integer(let days)? = root["recentAllocationDays"], (0...3_660).contains(days) else {
            throw Invalid(message: "routing rules: recentAllocationDays must be a number of days from 0 to 3660")
        }
        guard case .array(let items)? = root["rules"] else {
            throw Invalid(message: "routing rules: rules must be a list")
        }
        var rules: [Rule] = []
        for item in items {
            guard case .object(let members) = item, case .string(let name)? = members["rule"],
                let rule = Rule(rawValue: name)
            else {
                throw Invalid(
                    message:
                        "routing rules: each rule is {\"rule\": NAME} with NAME one of \(Rule.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            guard !rules.contains(rule) else { throw Invalid(message: "routing rules: \(name) is listed twice") }
            rules.append(rule)
        }
        self.init(rules: rules, defaultFrontDoor: frontDoor, recentAllocationDays: Int(days))
    }

    /// The shipped rules (`Data/routing-rules.json`).
    public static let shipped: RoutingRules = {
        do {
            return try RoutingRules(json: PackageResources.routing_rules_json)
        } catch {
            // The shipped data is checked by the tests; a build with broken data must not run.
            preconditionFailure("the shipped routing rules are invalid: \(error)")
        }
    }()

    /// The name of `authority`'s front door: its own, else the default.
    public func frontDoor(of authority: Authority) -> String { authority.profile.frontDoor ?? defaultFrontDoor }

    /// Where a case with `facts` goes, `frontDoor` naming the authority's front door.
    public func route(_ facts: RoutingFacts, frontDoor: String) -> Route {
        for rule in rules {
            switch rule {
            case .allocatedSocialWorker:
                for child in facts.children where child.hasAllocation {
                    guard child.closedOn.map({ $0 > facts.receivedOn }) ?? true else { continue }
                    let worker = child.socialWorker.map { " (\($0))" } ?? ""
                    return Route(
                        destination: child.team == nil ? .worker : .team, name: child.socialWorker, team: child.team,
                        rule: rule, child: child.id,
                        reason: "child \(child.id) has a current allocated social worker\(worker)")
                }
            case .earlyHelp:
                guard !facts.harmAlleged else { continue }
                for child in facts.children {
                    guard let worker = child.earlyHelpWorker else { continue }
                    return Route(
                        destination: .worker, name: worker, team: nil, rule: rule, child: child.id,
                        reason: "child \(child.id) is open to early help and no harm is alleged")
                }
            case .recentAllocation:
                for child in facts.children where child.hasAllocation {
                    guard let closedOn = child.closedOn, closedOn <= facts.receivedOn,
                        facts.receivedOn.dayNumber - closedOn.dayNumber <= Int64(recentAllocationDays)
                    else { continue }
                    return Route(
                        destination: child.team == nil ? .worker : .team, name: child.socialWorker, team: child.team,
                        rule: rule, child: child.id,
                        reason:
                            "child \(child.id)'s allocation ended on \(closedOn), within \(recentAllocationDays) days before the referral"
                    )
                }
            case .frontDoor:
                return Self.frontDoorRoute(frontDoor)
            }
        }
        return Self.frontDoorRoute(frontDoor)
    }

    private static func frontDoorRoute(_ name: String) -> Route {
        Route(
            destination: .frontDoor, name: name, team: nil, rule: .frontDoor, child: nil,
            reason: "no other rule applies: to the front door")
    }
}

/// What the routing rules read of a referral.
public struct RoutingFacts: Sendable, Hashable {
    /// The London day the referral was received.
    public var receivedOn: CalendarDay
    /// Harm is alleged: `allegations` recorded, `immediateProtection` true, `childSafeNow` false,
    /// or an outcome of `strategy-discussion` or `immediate-protection` recorded.
    public var harmAlleged: Bool
    /// The children, in item-id order.
    public var children: [Child]

    public init(receivedOn: CalendarDay, harmAlleged: Bool, children: [Child]) {
        self.receivedOn = receivedOn
        self.harmAlleged = harmAlleged
        self.children = children
    }

    /// One child's allocation and early help worker (each nil when not recorded or in conflict).
    public struct Child: Sendable, Hashable {
        public var id: String
        public var socialWorker: String?
        public var team: String?
        public var closedOn: CalendarDay?
        public var earlyHelpWorker: String?

        public init(
            id: String, socialWorker: String? = nil, team: String? = nil, closedOn: CalendarDay? = nil,
            earlyHelpWorker: String? = nil
        ) {
            self.id = id
            self.socialWorker = socialWorker
            self.team = team
            self.closedOn = closedOn
            self.earlyHelpWorker = earlyHelpWorker
        }

        /// An allocation is recorded: a worker or a team is named.
        var hasAllocation: Bool { socialWorker != nil || team != nil }
    }
}

/// Where a handed-over case goes inside the authority, and the rule that chose it.
public struct Route: Sendable, Hashable {
    /// The kind of destination.
    public enum Destination: String, Sendable, Hashable {
        /// A team (the allocated or previous worker's), with the worker named when known.
        case team
        /// A named worker (an early help worker; an allocated worker whose team is not recorded).
        case worker
        /// The authority's front door.
        case frontDoor = "front-door"
    }

    public let destination: Destination
    /// The worker named, or the front door's name.
    public let name: String?
    /// The team, when the destination is one.
    public let team: String?
    public let rule: RoutingRules.Rule
    /// The child (item id) whose record chose it.
    public let child: String?
    /// Why, in words.
    public let reason: String
}
