import Referrals

/// The standing rules of the UK's bank holidays, for years that no published list covers.
///
/// A published list (and an operator's one-off days, announced by proclamation) wins wherever it
/// exists; these rules only fill in later years. The rules, per calendar:
/// - **England and Wales**: New Year's Day, Good Friday, Easter Monday, the first Monday of May,
///   the last Monday of May, the last Monday of August, Christmas Day and Boxing Day.
/// - **Scotland**: New Year's Day, 2 January, Good Friday, the first and last Mondays of May, the
///   first Monday of August, St Andrew's Day (30 November), Christmas Day and Boxing Day (no
///   Easter Monday).
/// - **Northern Ireland**: England and Wales's, plus St Patrick's Day (17 March) and the Battle of
///   the Boyne (12 July).
/// A fixed-date holiday on a Saturday or Sunday is taken on the next weekday that is not already a
/// holiday, the holidays of a weekend taken in date order (so Christmas on a Saturday is taken on
/// Monday 27 and Boxing Day on Tuesday 28).
public enum BankHolidayRules {
    /// The UK's three bank-holiday calendars.
    public enum Calendar: String, Sendable, Hashable, CaseIterable {
        case englandAndWales = "england-and-wales"
        case scotland
        case northernIreland = "northern-ireland"
    }

    /// The days taken as bank holidays in `year` under the standing rules, in date order.
    public static func holidays(in year: Int, calendar: Calendar) -> [CalendarDay] {
        named(in: year, calendar: calendar).map(\.day)
    }

    /// The days taken as bank holidays in `year` under the standing rules, with their names as
    /// the published lists write them, in date order.
    public static func named(in year: Int, calendar: Calendar) -> [(day: CalendarDay, name: String)] {
        guard let easter = easterSunday(year) else { return [] }
        var days: [(day: CalendarDay, name: String)] = [(easter.adding(days: -2), "Good Friday")]
        if calendar != .scotland { days.append((easter.adding(days: 1), "Easter Monday")) }
        days.append((firstMonday(year, month: 5), "Early May bank holiday"))
        days.append((lastMonday(year, month: 5), "Spring bank holiday"))
        days.append(
            calendar == .scotland
                ? (firstMonday(year, month: 8), "Summer bank holiday")
                : (lastMonday(year, month: 8), "Summer bank holiday"))

        var fixed: [(month: Int, day: Int, name: String)] = [(1, 1, "New Year's Day")]
        switch calendar {
        case .englandAndWales: break
        case .scotland: fixed += [(1, 2, "2nd January"), (11, 30, "St Andrew's Day")]
        case .northernIreland:
            fixed += [(3, 17, "St Patrick's Day"), (7, 12, "Battle of the Boyne (Orangemen's Day)")]
        }
        fixed += [(12, 25, "Christmas Day"), (12, 26, "Boxing Day")]
        var weekends: [(day: CalendarDay, name: String)] = []
        for (month, day, name) in fixed {
            guard let date = CalendarDay(year: year, month: month, day: day) else { continue }
            if date.isWeekend { weekends.append((date, name)) } else { days.append((date, name)) }
        }
        var taken = Set(days.map(\.day))
        for (date, name) in weekends.sorted(by: { $0.day < $1.day }) {
            var substitute = date.adding(days: 1)
            while substitute.isWeekend || taken.contains(substitute) { substitute = substitute.adding(days: 1) }
            taken.insert(substitute)
            days.append((substitute, name + " (substitute day)"))
        }
        return days.sorted { $0.day < $1.day }
    }

    /// Easter Sunday of `year` (Gregorian; the anonymous algorithm of 1876).
    public static func easterSunday(_ year: Int) -> CalendarDay? {
        let a = year % 19, b = year / 100, c = year % 100
        let d = b / 4, e = b % 4, f = (b + 8) / 25, g = (b - f + 1) / 3
        let h = (19 * a + b - d - g + 15) % 30
        let i = c / 4, k = c % 4
        let l = (32 + 2 * e + 2 * i - h - k) % 7
        let m = (a + 11 * h + 22 * l) / 451
        let month = (h + l - 7 * m + 114) / 31
        let day = (h + l - 7 * m + 114) % 31 + 1
        return CalendarDay(year: year, month: month, day: day)
    }

    private static func firstMonday(_ year: Int, month: Int) -> CalendarDay {
        let first = CalendarDay(year: year, month: month, day: 1) ?? CalendarDay(dayNumber: 0)
        return first.adding(days: (8 - first.weekday) % 7)
    }

    private static func lastMonday(_ year: Int, month: Int) -> CalendarDay {
        let last =
            CalendarDay(year: year, month: month, day: Instant.daysIn(month: month, year: year))
            ?? CalendarDay(dayNumber: 0)
        return last.adding(days: -((last.weekday + 6) % 7))
    }
}
