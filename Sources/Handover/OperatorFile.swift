import Referrals

/// The operator's authorities file: the real office hours, early closing, closure days,
/// decision standards, out-of-hours teams and one-off bank holidays, over the shipped defaults.
/// The format is specified in `Docs/authorities.md`; in short:
///
/// ```
/// # Calderdale: offices open 08:45 to 17:00
/// [authority E08000033]
/// hours = mon-fri 08:45-17:00
/// early-closing = 12-24 15:30
/// closed = 2026-12-29
/// decision = 24 hours
/// front-door = Duty and Assessment Team
///
/// [team berkshire-eds]
/// name = Berkshire Emergency Duty Service
/// hosted-by = E06000036
/// covers = E06000037 children
///
/// [holidays scotland]
/// add = 2026-06-15 World Cup bank holiday
/// ```
///
/// A file is taken whole or refused whole: the first error names its line and field.
extension AuthorityDirectory {
    /// This directory with the operator's file `text` applied; `source` names the file in errors.
    public func applying(operatorFile text: String, source: String) throws(DirectoryError) -> AuthorityDirectory {
        var reader = OperatorFileReader(directory: self, source: source)
        // "\r\n" is one Character in Swift: split on it as well as on "\n".
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, line) in lines.enumerated() {
            try reader.read(line.hasSuffix("\r") ? line.dropLast() : line, number: index + 1)
        }
        try reader.finishSection()
        return reader.directory
    }
}

/// Reads an operator's file line by line into a directory.
private struct OperatorFileReader {
    var directory: AuthorityDirectory
    let source: String

    /// The section being read, and the line that opened it.
    private var section: Section?
    private var sectionLine = 0

    private enum Section {
        case authority(Authority, isNew: Bool, sawName: Bool, sawNation: Bool)
        case team(AuthorityDirectory.Team)
        /// The calendar's days as the operator edits them; built into ``BankHolidays`` (a bit set
        /// over 111 years) once, when the section ends.
        case holidays(HolidayEdits)
    }

    /// A `[holidays …]` section's days added and removed, over the calendar's current ones.
    private struct HolidayEdits {
        let base: BankHolidays
        var added: [CalendarDay: String]
        var removed: Set<CalendarDay>

        init(_ base: BankHolidays) {
            self.base = base
            added = base.added
            removed = base.removed
        }

        var built: BankHolidays {
            BankHolidays(calendar: base.calendar, published: base.published, added: added, removed: removed)
        }
    }

    init(directory: AuthorityDirectory, source: String) {
        self.directory = directory
        self.source = source
    }

    private func error(_ line: Int, _ field: String, _ message: String) -> DirectoryError {
        DirectoryError(source: source, line: line, field: field, message)
    }

    mutating func read(_ raw: Substring, number: Int) throws(DirectoryError) {
        let line = raw.trimmingBlanks()
        if line.isEmpty || line.hasPrefix("#") { return }
        if line.hasPrefix("[") {
            guard line.hasSuffix("]") else { throw error(number, "", "a section header ends with ]") }
            try finishSection()
            try open(line.dropFirst().dropLast().trimmingBlanks(), line: number)
            return
        }
        guard let equals = line.firstIndex(of: "=") else {
            throw error(number, "", "expected `setting = value` or a [section] header")
        }
        let key = line[..<equals].trimmingBlanks()
        let value = line[line.index(after: equals)...].trimmingBlanks()
        guard let current = section else {
            throw error(number, key, "comes before any [authority CODE], [team ID] or [holidays CALENDAR] section")
        }
        switch current {
        case .authority(var authority, let isNew, var sawName, var sawNation):
            try set(key, value, on: &authority, line: number, sawName: &sawName, sawNation: &sawNation)
            section = .authority(authority, isNew: isNew, sawName: sawName, sawNation: sawNation)
        case .team(var team):
            try set(key, value, on: &team, line: number)
            section = .team(team)
        case .holidays(var edits):
            try set(key, value, on: &edits, line: number)
            section = .holidays(edits)
        }
    }

    private mutating func open(_ header: String, line: Int) throws(DirectoryError) {
        let words = header.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard words.count == 2 else {
            throw error(line, "", "a section is [authority CODE], [team ID] or [holidays CALENDAR]")
        }
        let name = String(words[1])
        sectionLine = line
        switch words[0] {
        case "authority":
            guard Identifiers.isAuthorityCode(name) else {
                throw error(line, "authority", "\(name) is not a GSS code (a letter and 8 digits, e.g. E06000038)")
            }
            if let known = directory.authority(name) {
                section = .authority(known, isNew: false, sawName: true, sawNation: true)
            } else {
                let blank = Authority(gss: name, dfe: nil, name: "", nation: .england, validFrom: nil, validTo: nil)
                section = .authority(blank, isNew: true, sawName: false, sawNation: false)
            }
        case "team":
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                throw error(line, "team", "\(name) is not an identifier (letters, digits and -)")
            }
            section = .team(
                directory.teams[name] ?? AuthorityDirectory.Team(id: name, name: name, hostedBy: nil, covers: [:]))
        case "holidays":
            guard let calendar = BankHolidayRules.Calendar(rawValue: name), let holidays = directory.holidays[calendar]
            else {
                throw error(
                    line, "holidays",
                    "\(name) is not one of \(BankHolidayRules.Calendar.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            section = .holidays(HolidayEdits(holidays))
        default:
            throw error(line, "", "\(words[0]) is not a section; use authority, team or holidays")
        }
    }

    /// Stores the section being read, checking what a whole section must hold.
    mutating func finishSection() throws(DirectoryError) {
        guard let current = section else { return }
        section = nil
        switch current {
        case .authority(let authority, let isNew, let sawName, let sawNation):
            if isNew, !sawName {
                throw error(sectionLine, "name", "a new authority \(authority.gss) needs `name = …`")
            }
            if isNew, !sawNation {
                throw error(sectionLine, "nation", "a new authority \(authority.gss) needs `nation = …`")
            }
            directory.set(authority)
        case .team(let team):
            // The team's cover is written onto each authority it covers.
            let previous = directory.teams[team.id]
            for code in previous?.covers.keys ?? [:].keys {
                guard var authority = directory.authority(code) else { continue }
                authority.profile.coverage.removeAll { $0.team == team.id }
                directory.set(authority)
            }
            for (code, services) in team.covers {
                guard var authority = directory.authority(code) else { continue }
                authority.profile.coverage.removeAll { $0.team == team.id }
                authority.profile.coverage.append(
                    Coverage(team: team.id, teamName: team.name, hostedBy: team.hostedBy, services: services))
                authority.profile.coverage.sort { $0.team < $1.team }
                directory.set(authority)
            }
            directory.set(team)
        case .holidays(let edits):
            directory.set(edits.built)
        }
    }

    // MARK: - Settings

    private func set(
        _ key: String, _ value: String, on authority: inout Authority, line: Int, sawName: inout Bool,
        sawNation: inout Bool
    ) throws(DirectoryError) {
        switch key {
        case "name":
            guard !value.isEmpty else { throw error(line, key, "is empty") }
            authority.name = value
            sawName = true
        case "dfe":
            guard value.isEmpty || (value.count == 3 && value.allSatisfy(\.isASCIIDigit)) else {
                throw error(line, key, "\(value) is not a three-digit DfE number")
            }
            authority.dfe = value.isEmpty ? nil : value
        case "nation":
            guard let nation = Nation(text: value) else {
                throw error(line, key, "\(value) is not England, Wales, Scotland or Northern Ireland")
            }
            authority.nation = nation
            sawNation = true
        case "valid-from":
            authority.validFrom = try AuthorityDirectory.optionalDay(value, source: source, line: line, field: key)
        case "valid-to":
            authority.validTo = try AuthorityDirectory.optionalDay(value, source: source, line: line, field: key)
        case "hours":
            try setHours(value, on: &authority.profile.hours, line: line)
        case "early-closing":
            let words = value.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count == 2, let closes = ClockTime(words[1]) else {
                throw error(line, key, "write `MM-DD HH:MM` (every year) or `YYYY-MM-DD HH:MM` (one date)")
            }
            if let day = CalendarDay(iso8601: String(words[0])) {
                authority.profile.hours.datedEarlyClosing[day] = closes
            } else if let monthDay = MonthDay(words[0]) {
                authority.profile.hours.yearlyEarlyClosing[monthDay] = closes
            } else {
                throw error(line, key, "\(words[0]) is neither a date YYYY-MM-DD nor a day MM-DD")
            }
        case "closed":
            let ends = value.split(separator: "..", omittingEmptySubsequences: false).map(String.init)
            guard ends.count <= 2, let first = CalendarDay(iso8601: ends[0]),
                let last = ends.count == 2 ? CalendarDay(iso8601: ends[1]) : first
            else {
                throw error(line, key, "write a date YYYY-MM-DD or a range YYYY-MM-DD..YYYY-MM-DD")
            }
            guard first <= last, last.dayNumber - first.dayNumber < 366 else {
                throw error(line, key, "a closure runs forwards and for at most a year")
            }
            for number in first.dayNumber...last.dayNumber {
                authority.profile.hours.closures.insert(CalendarDay(dayNumber: number))
            }
        case "decision":
            authority.profile.decision = try decisionStandard(value, line: line)
        case "front-door":
            guard !value.isEmpty else { throw error(line, key, "is empty") }
            guard value.unicodeScalars.count <= 200 else { throw error(line, key, "is longer than 200 characters") }
            authority.profile.frontDoor = value
        default:
            throw error(
                line, key,
                "is not an authority setting; use name, dfe, nation, valid-from, valid-to, hours, early-closing, closed, decision or front-door"
            )
        }
        if let from = authority.validFrom, let to = authority.validTo, to < from {
            throw error(line, key, "valid-to is before valid-from")
        }
    }

    private static let weekdayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    /// `mon-fri 08:45-17:00`, `fri 09:00-16:30`, `sat closed`.
    private func setHours(_ value: String, on hours: inout OfficeHours, line: Int) throws(DirectoryError) {
        let words = value.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count == 2 else {
            throw error(line, "hours", "write `DAYS HH:MM-HH:MM` or `DAYS closed` (DAYS: mon, mon-fri, sat-sun)")
        }
        let days = words[0].split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(days.count), let first = Self.weekdayNames.firstIndex(of: String(days[0])),
            let last = days.count == 2 ? Self.weekdayNames.firstIndex(of: String(days[1])) : first, first <= last
        else {
            throw error(line, "hours", "\(words[0]) is not a weekday or a range of them (mon, tue-thu, sat-sun)")
        }
        var span: OpeningSpan?
        if words[1] != "closed" {
            let times = words[1].split(separator: "-", omittingEmptySubsequences: false)
            guard times.count == 2, let opens = ClockTime(times[0]), let closes = ClockTime(times[1]) else {
                throw error(line, "hours", "\(words[1]) is not a span HH:MM-HH:MM or closed")
            }
            guard let valid = OpeningSpan(opens: opens, closes: closes) else {
                throw error(line, "hours", "opens at \(opens) but closes at \(closes): it must open before it closes")
            }
            span = valid
        }
        for index in first...last { hours.weekdays[index] = span }
        guard hours.weekdays.contains(where: { $0 != nil }) else {
            throw error(line, "hours", "leaves the office closed every day of the week")
        }
    }

    /// `1 working day`, `2 working days`, `24 hours`.
    private func decisionStandard(_ value: String, line: Int) throws(DirectoryError) -> DecisionStandard {
        let words = value.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count >= 2, let count = Int(words[0]), count > 0 else {
            throw error(line, "decision", "write `1 working day` or `24 hours`")
        }
        switch words.dropFirst().joined(separator: " ") {
        case "working day", "working days":
            guard count <= 10 else { throw error(line, "decision", "is at most 10 working days") }
            return .workingDays(count)
        case "hour", "hours":
            guard count <= 240 else { throw error(line, "decision", "is at most 240 hours") }
            return .hours(count)
        default:
            throw error(line, "decision", "write `1 working day` or `24 hours`")
        }
    }

    private func set(
        _ key: String, _ value: String, on team: inout AuthorityDirectory.Team, line: Int
    )
        throws(DirectoryError)
    {
        switch key {
        case "name":
            guard !value.isEmpty else { throw error(line, key, "is empty") }
            team.name = value
        case "hosted-by":
            guard directory.authority(value) != nil else {
                throw error(line, key, "\(value) is not a known authority")
            }
            team.hostedBy = value
        case "covers":
            let words = value.split(separator: " ", omittingEmptySubsequences: true)
            guard let code = words.first.map(String.init), words.count >= 2 else {
                throw error(
                    line, key,
                    "write `CODE SERVICE …` (services: \(Service.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard directory.authority(code) != nil else {
                throw error(
                    line, key,
                    "\(code) is not a known authority (declare a new one in its own [authority] section first)")
            }
            var services: Set<Service> = []
            for word in words.dropFirst() {
                guard let service = Service(rawValue: String(word)) else {
                    throw error(
                        line, key,
                        "\(word) is not a service; use \(Service.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                services.insert(service)
            }
            team.covers[code] = services
        default:
            throw error(line, key, "is not a team setting; use name, hosted-by or covers")
        }
    }

    private func set(
        _ key: String, _ value: String, on edits: inout HolidayEdits, line: Int
    ) throws(DirectoryError) {
        let words = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard let first = words.first, let day = CalendarDay(iso8601: String(first)) else {
            throw error(line, key, "starts with a date YYYY-MM-DD")
        }
        switch key {
        case "add":
            guard words.count == 2 else { throw error(line, key, "write `YYYY-MM-DD name of the holiday`") }
            edits.added[day] = String(words[1])
            edits.removed.remove(day)
        case "remove":
            guard words.count == 1 else { throw error(line, key, "write the date alone") }
            edits.removed.insert(day)
            edits.added[day] = nil
        default:
            throw error(line, key, "is not a holidays setting; use add or remove")
        }
    }
}

extension StringProtocol {
    func trimmingBlanks() -> String {
        let set = " \t"
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
