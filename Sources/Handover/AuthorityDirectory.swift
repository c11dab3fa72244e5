import Referrals

/// Every authority the product knows, with its profile, and the bank-holiday calendars: the
/// shipped defaults (``shipped``), with an operator's file applied over them
/// (``applying(operatorFile:source:)``).
///
/// The shipped data (`Sources/Handover/Data`, provenance in its README) holds every children's
/// services authority of England and Wales, with the codes retired since 2009 and their dates,
/// and the published bank holidays of the three UK calendars. Every authority's shipped profile
/// is Monday to Friday 09:00 to 17:00, no early closing, no closure days, decisions within one
/// working day and no out-of-hours team named: the operator's file sets the real ones.
public struct AuthorityDirectory: Sendable {
    /// By GSS code, in code order.
    public private(set) var authorities: [String: Authority]
    /// The bank holidays of each calendar.
    public private(set) var holidays: [BankHolidayRules.Calendar: BankHolidays]
    /// The out-of-hours teams the operator named, by identifier.
    public private(set) var teams: [String: Team]

    /// An out-of-hours team (an EDT, or a consortium's service).
    public struct Team: Sendable, Hashable {
        public let id: String
        public var name: String
        public var hostedBy: String?
        /// The authorities it covers, and for which services.
        public var covers: [String: Set<Service>]
    }

    init(
        authorities: [String: Authority], holidays: [BankHolidayRules.Calendar: BankHolidays], teams: [String: Team]
    ) {
        self.authorities = authorities
        self.holidays = holidays
        self.teams = teams
    }

    /// The shipped defaults.
    public static let shipped: AuthorityDirectory = {
        do {
            return try AuthorityDirectory(
                authoritiesCSV: String(decoding: PackageResources.authorities_csv, as: UTF8.self),
                bankHolidaysCSV: String(decoding: PackageResources.bank_holidays_csv, as: UTF8.self))
        } catch {
            // The shipped data is checked by the tests; a build with broken data must not run.
            preconditionFailure("the shipped reference data is invalid: \(error)")
        }
    }()

    /// Reads the reference tables (`authorities.csv`, `bank-holidays.csv` as shipped).
    public init(authoritiesCSV: String, bankHolidaysCSV: String) throws(DirectoryError) {
        var authorities: [String: Authority] = [:]
        let source = "authorities.csv"
        let table: CSVTable
        do { table = try CSVTable(authoritiesCSV) } catch { throw error.located(in: source) }
        for (line, row) in table.rows {
            func field(_ name: String) throws(DirectoryError) -> String {
                guard let value = row[name] else {
                    throw DirectoryError(source: source, line: 1, field: name, "the header lacks this column")
                }
                return value
            }
            let gss = try field("gss")
            guard Identifiers.isAuthorityCode(gss) else {
                throw DirectoryError(source: source, line: line, field: "gss", "\(gss) is not a GSS code")
            }
            guard authorities[gss] == nil else {
                throw DirectoryError(source: source, line: line, field: "gss", "\(gss) is listed twice")
            }
            let dfe = try field("dfe")
            guard dfe.isEmpty || (dfe.count == 3 && dfe.allSatisfy(\.isASCIIDigit)) else {
                throw DirectoryError(source: source, line: line, field: "dfe", "\(dfe) is not a three-digit number")
            }
            let name = try field("name")
            guard !name.isEmpty else { throw DirectoryError(source: source, line: line, field: "name", "is empty") }
            guard let nation = Nation(text: try field("nation")) else {
                throw DirectoryError(source: source, line: line, field: "nation", "is not a UK nation")
            }
            let validFrom = try Self.optionalDay(
                try field("valid_from"), source: source, line: line, field: "valid_from")
            let validTo = try Self.optionalDay(try field("valid_to"), source: source, line: line, field: "valid_to")
            if let validFrom, let validTo, validTo < validFrom {
                throw DirectoryError(source: source, line: line, field: "valid_to", "is before valid_from")
            }
            authorities[gss] = Authority(
                gss: gss, dfe: dfe.isEmpty ? nil : dfe, name: name, nation: nation, validFrom: validFrom,
                validTo: validTo)
        }

        var published: [BankHolidayRules.Calendar: [Int: [CalendarDay: String]]] = [:]
        let holidaySource = "bank-holidays.csv"
        let holidayTable: CSVTable
        do { holidayTable = try CSVTable(bankHolidaysCSV) } catch { throw error.located(in: holidaySource) }
        for (line, row) in holidayTable.rows {
            guard let calendar = BankHolidayRules.Calendar(rawValue: row["nation"] ?? "") else {
                throw DirectoryError(
                    source: holidaySource, line: line, field: "nation",
                    "is not one of \(BankHolidayRules.Calendar.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let day = CalendarDay(iso8601: row["date"] ?? "") else {
                throw DirectoryError(source: holidaySource, line: line, field: "date", "is not a date YYYY-MM-DD")
            }
            published[calendar, default: [:]][day.year, default: [:]][day] = row["name"] ?? ""
        }
        var holidays: [BankHolidayRules.Calendar: BankHolidays] = [:]
        for calendar in BankHolidayRules.Calendar.allCases {
            holidays[calendar] = BankHolidays(calendar: calendar, published: published[calendar] ?? [:])
        }
        self.init(authorities: authorities, holidays: holidays, teams: [:])
    }

    static func optionalDay(
        _ text: String, source: String, line: Int, field: String
    ) throws(DirectoryError)
        -> CalendarDay?
    {
        guard !text.isEmpty else { return nil }
        guard let day = CalendarDay(iso8601: text) else {
            throw DirectoryError(source: source, line: line, field: field, "\(text) is not a date YYYY-MM-DD")
        }
        return day
    }

    // MARK: - Looking up

    /// The authority with GSS code `code`, current or retired.
    public func authority(_ code: String) -> Authority? { authorities[code] }

    /// Every authority in code order.
    public var all: [Authority] { authorities.values.sorted { $0.gss < $1.gss } }

    /// The working calendar of an authority: its office hours over its nation's bank holidays.
    public func calendar(for authority: Authority) -> WorkingCalendar {
        WorkingCalendar(
            hours: authority.profile.hours,
            holidays: holidays[authority.nation.holidayCalendar]
                ?? BankHolidays(calendar: authority.nation.holidayCalendar, published: [:]))
    }

    /// Checks that `code` names an authority whose code was in force on `day` (when given): the
    /// reason for refusing it otherwise, in words a worker can act on; nil when it is fine.
    public func refusal(of code: String, on day: CalendarDay?) -> String? {
        guard let authority = authorities[code] else {
            if Identifiers.isAuthorityCode(code) {
                return "\(code) is not a known children's services authority; `edt authority list` names them"
            }
            return "\(code) is not an authority's GSS code (a letter and 8 digits, e.g. E06000038)"
        }
        guard let day, !authority.isInForce(on: day) else { return nil }
        if let validTo = authority.validTo, day > validTo {
            let successors = authorities.values.filter { $0.dfe != nil && $0.dfe == authority.dfe && $0.gss != code }
            let hint =
                successors.isEmpty
                ? "" : "; its successor is \(successors.map { "\($0.gss) (\($0.name))" }.joined(separator: ", "))"
            return "\(code) (\(authority.name)) ceased on \(validTo)\(hint)"
        }
        return
            "\(code) (\(authority.name)) came into force only on \(authority.validFrom.map(String.init(describing:)) ?? "a later date")"
    }

    // MARK: - Changing (the operator's file)

    mutating func set(_ authority: Authority) { authorities[authority.gss] = authority }
    mutating func set(_ holidays: BankHolidays) { self.holidays[holidays.calendar] = holidays }
    mutating func set(_ team: Team) { teams[team.id] = team }
}
