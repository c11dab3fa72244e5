/// The bank holidays of one UK calendar: the published list where it holds the year (it wins),
/// the standing rules (``BankHolidayRules``) for other years, and the operator's one-off days
/// added or taken away (a proclamation adds a day or moves one).
public struct BankHolidays: Sendable {
    public let calendar: BankHolidayRules.Calendar
    /// Published days by year: a year listed here is taken from the list alone.
    public let published: [Int: [CalendarDay: String]]
    /// Days the operator added, with their names.
    public let added: [CalendarDay: String]
    /// Days the operator says are not holidays after all.
    public let removed: Set<CalendarDay>

    /// Every holiday from `firstYear` to `lastYear`, one bit a day, for fast look-up.
    private let bits: [UInt64]
    private let firstDay: Int64
    private let lastDay: Int64
    static let firstYear = 1990
    static let lastYear = 2100

    public init(
        calendar: BankHolidayRules.Calendar, published: [Int: [CalendarDay: String]],
        added: [CalendarDay: String] = [:], removed: Set<CalendarDay> = []
    ) {
        self.calendar = calendar
        self.published = published
        self.added = added
        self.removed = removed
        firstDay = CalendarDay(year: Self.firstYear, month: 1, day: 1)?.dayNumber ?? 0
        lastDay = CalendarDay(year: Self.lastYear, month: 12, day: 31)?.dayNumber ?? 0
        var bits = [UInt64](repeating: 0, count: Int(lastDay - firstDay) / 64 + 1)
        for year in Self.firstYear...Self.lastYear {
            for day in Self.standing(year: year, calendar: calendar, published: published) {
                let index = Int(day.dayNumber - firstDay)
                bits[index >> 6] |= 1 << UInt64(index & 63)
            }
        }
        for (day, _) in added where day.dayNumber >= firstDay && day.dayNumber <= lastDay {
            let index = Int(day.dayNumber - firstDay)
            bits[index >> 6] |= 1 << UInt64(index & 63)
        }
        for day in removed where day.dayNumber >= firstDay && day.dayNumber <= lastDay {
            let index = Int(day.dayNumber - firstDay)
            bits[index >> 6] &= ~(1 << UInt64(index & 63))
        }
        self.bits = bits
    }

    /// Whether `day` is a bank holiday.
    public func contains(_ day: CalendarDay) -> Bool {
        if day.dayNumber >= firstDay, day.dayNumber <= lastDay {
            let index = Int(day.dayNumber - firstDay)
            return bits[index >> 6] & (1 << UInt64(index & 63)) != 0
        }
        if removed.contains(day) { return false }
        return added[day] != nil
            || Self.standing(year: day.year, calendar: calendar, published: published).contains(day)
    }

    /// The holidays of `year` with their names, in date order, and where each comes from.
    public func holidays(in year: Int) -> [(day: CalendarDay, name: String, source: Source)] {
        var days: [(day: CalendarDay, name: String, source: Source)] = []
        if let list = published[year] {
            days = list.map { ($0.key, $0.value, .published) }
        } else {
            days = BankHolidayRules.named(in: year, calendar: calendar).map { ($0.day, $0.name, .rules) }
        }
        days.removeAll { removed.contains($0.day) }
        for (day, name) in added where day.year == year && !days.contains(where: { $0.day == day }) {
            days.append((day, name, .operator))
        }
        return days.sorted { $0.day < $1.day }
    }

    /// Where a holiday comes from.
    public enum Source: String, Sendable {
        case published
        case rules
        case `operator`
    }

    private static func standing(
        year: Int, calendar: BankHolidayRules.Calendar, published: [Int: [CalendarDay: String]]
    ) -> [CalendarDay] {
        if let list = published[year] { return Array(list.keys) }
        return BankHolidayRules.holidays(in: year, calendar: calendar)
    }
}
