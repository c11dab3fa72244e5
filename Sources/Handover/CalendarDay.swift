import Referrals

/// A civil date (proleptic Gregorian), as calendars count days: no time, no zone.
public struct CalendarDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Days since 1970-01-01.
    public let dayNumber: Int64

    public init(dayNumber: Int64) { self.dayNumber = dayNumber }

    /// Nil for a date that does not exist (30 February, month 13).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= Instant.daysIn(month: month, year: year) else { return nil }
        dayNumber = Instant.daysSinceEpoch(year: year, month: month, day: day)
    }

    /// Reads `YYYY-MM-DD`.
    public init?(iso8601 text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    public var year: Int { Instant.civil(fromDays: dayNumber).year }
    public var month: Int { Instant.civil(fromDays: dayNumber).month }
    public var day: Int { Instant.civil(fromDays: dayNumber).day }

    /// ISO weekday: 1 Monday … 7 Sunday.
    public var weekday: Int {
        // 1970-01-01 was a Thursday (4).
        Int(((dayNumber + 3) % 7 + 7) % 7) + 1
    }

    public var isWeekend: Bool { weekday >= 6 }

    public func adding(days: Int) -> CalendarDay { CalendarDay(dayNumber: dayNumber + Int64(days)) }

    public static func < (lhs: CalendarDay, rhs: CalendarDay) -> Bool { lhs.dayNumber < rhs.dayNumber }

    public var description: String {
        let (year, month, day) = Instant.civil(fromDays: dayNumber)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))"
    }
}

extension CalendarDay {
    /// The days of `month` in a year that is not a leap year (used for recurring dates).
    static func days(inMonth month: Int) -> Int { Instant.daysIn(month: month, year: 2001) }
}
