/// A children's services authority: its codes, its nation, when its code was in force, and the
/// profile the deadlines and handover use (office hours, decision standard, EDT coverage).
public struct Authority: Sendable, Hashable {
    /// The ONS GSS code (`E06000038`).
    public let gss: String
    /// The DfE three-digit LA number (`870`), when it has one.
    public var dfe: String?
    /// The official name.
    public var name: String
    public var nation: Nation
    /// The first day the code was in force, when known.
    public var validFrom: CalendarDay?
    /// The last day the code was in force; nil while current.
    public var validTo: CalendarDay?
    public var profile: AuthorityProfile

    public init(
        gss: String, dfe: String?, name: String, nation: Nation, validFrom: CalendarDay?, validTo: CalendarDay?,
        profile: AuthorityProfile = AuthorityProfile()
    ) {
        self.gss = gss
        self.dfe = dfe
        self.name = name
        self.nation = nation
        self.validFrom = validFrom
        self.validTo = validTo
        self.profile = profile
    }

    /// Whether the code was in force on `day`.
    public func isInForce(on day: CalendarDay) -> Bool {
        if let validFrom, day < validFrom { return false }
        if let validTo, day > validTo { return false }
        return true
    }

    /// Whether the code has no end date (it is current, or will be).
    public var isCurrent: Bool { validTo == nil }
}

/// The nations whose rules differ: their bank holidays and some statutory timescales.
public enum Nation: String, Sendable, Hashable, CaseIterable {
    case england = "England"
    case wales = "Wales"
    case scotland = "Scotland"
    case northernIreland = "Northern Ireland"

    /// Reads a nation as the data and operators write it (`England`, `wales`, `northern-ireland`).
    public init?(text: some StringProtocol) {
        let key = String(text.lowercased().map { $0 == "-" ? " " : $0 })
        guard let nation = Self.allCases.first(where: { $0.rawValue.lowercased() == key }) else { return nil }
        self = nation
    }

    /// The bank-holiday calendar the nation keeps.
    public var holidayCalendar: BankHolidayRules.Calendar {
        switch self {
        case .england, .wales: .englandAndWales
        case .scotland: .scotland
        case .northernIreland: .northernIreland
        }
    }
}

/// What an authority does and expects beyond its codes.
public struct AuthorityProfile: Sendable, Hashable {
    public var hours: OfficeHours
    public var decision: DecisionStandard
    /// The out-of-hours teams that cover the authority, and for which services.
    public var coverage: [Coverage]
    /// The name of the authority's front door (its MASH, duty and assessment team, CHAT...),
    /// where handed-over cases go when no other routing rule applies; nil: the routing rules'
    /// default (``RoutingRules/defaultFrontDoor``, "MASH").
    public var frontDoor: String?

    public init(
        hours: OfficeHours = .standard, decision: DecisionStandard = .workingDays(1), coverage: [Coverage] = [],
        frontDoor: String? = nil
    ) {
        self.hours = hours
        self.decision = decision
        self.coverage = coverage
        self.frontDoor = frontDoor
    }
}

/// How soon the manager's decision on next steps is due: 1 working day by default (Working
/// Together 2023), or a local standard of a number of hours.
public enum DecisionStandard: Sendable, Hashable, CustomStringConvertible {
    case workingDays(Int)
    case hours(Int)

    public var description: String {
        switch self {
        case .workingDays(let days): days == 1 ? "1 working day" : "\(days) working days"
        case .hours(let hours): hours == 1 ? "1 hour" : "\(hours) hours"
        }
    }
}

/// An out-of-hours team's cover of one authority: which team, for which services.
public struct Coverage: Sendable, Hashable {
    /// The team's identifier in the operator's file (`berkshire-eds`).
    public let team: String
    /// The team's name.
    public let teamName: String
    /// The authority hosting the team, when given.
    public let hostedBy: String?
    public let services: Set<Service>

    public init(team: String, teamName: String, hostedBy: String?, services: Set<Service>) {
        self.team = team
        self.teamName = teamName
        self.hostedBy = hostedBy
        self.services = services
    }
}

/// The services an out-of-hours team may cover for an authority.
public enum Service: String, Sendable, Hashable, CaseIterable, Comparable {
    case children
    case adults
    case mentalHealth = "mental-health"
    case housing

    public static func < (lhs: Service, rhs: Service) -> Bool { lhs.rawValue < rhs.rawValue }
}
