/// A wall-clock time of day in London: minutes since midnight, 00:00 to 24:00.
public struct ClockTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Minutes since midnight, 0...1440.
    public let minutes: Int

    public init?(minutes: Int) {
        guard (0...1_440).contains(minutes) else { return nil }
        self.minutes = minutes
    }

    /// Reads `HH:MM` (00:00 to 24:00).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
            parts[0].allSatisfy(\.isASCIIDigit), parts[1].allSatisfy(\.isASCIIDigit),
            let hours = Int(parts[0]), let minutes = Int(parts[1]), minutes < 60, hours * 60 + minutes <= 1_440
        else { return nil }
        self.init(minutes: hours * 60 + minutes)
    }

    public static func < (lhs: ClockTime, rhs: ClockTime) -> Bool { lhs.minutes < rhs.minutes }

    public var description: String {
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(two(minutes / 60)):\(two(minutes % 60))"
    }
}

/// The hours an office is open on a day: half-open, so a referral at exactly the opening time is
/// in hours and one at exactly the closing time is out of hours.
public struct OpeningSpan: Sendable, Hashable, CustomStringConvertible {
    public let opens: ClockTime
    public let closes: ClockTime

    /// Nil unless `opens` is before `closes`.
    public init?(opens: ClockTime, closes: ClockTime) {
        guard opens < closes else { return nil }
        self.opens = opens
        self.closes = closes
    }

    public var description: String { "\(opens)-\(closes)" }
}

/// An authority's office hours: a span per weekday (or closed), days it closes early, and days
/// it is closed besides its nation's bank holidays.
public struct OfficeHours: Sendable, Hashable {
    /// By ISO weekday, Monday first (index 0) to Sunday (index 6); nil when closed all day.
    public var weekdays: [OpeningSpan?]
    /// Closing times that come round every year, by month and day (Christmas Eve at 15:30).
    public var yearlyEarlyClosing: [MonthDay: ClockTime]
    /// Closing times on one date only.
    public var datedEarlyClosing: [CalendarDay: ClockTime]
    /// The authority's own closure days (besides the bank holidays of its nation).
    public var closures: Set<CalendarDay>

    public init(
        weekdays: [OpeningSpan?], yearlyEarlyClosing: [MonthDay: ClockTime] = [:],
        datedEarlyClosing: [CalendarDay: ClockTime] = [:], closures: Set<CalendarDay> = []
    ) {
        precondition(weekdays.count == 7, "office hours name seven weekdays")
        self.weekdays = weekdays
        self.yearlyEarlyClosing = yearlyEarlyClosing
        self.datedEarlyClosing = datedEarlyClosing
        self.closures = closures
    }

    /// The shipped default: Monday to Friday 09:00 to 17:00, no early closing, no closure days.
    public static let standard: OfficeHours = {
        let day = ClockTime(minutes: 9 * 60).flatMap { opens in
            ClockTime(minutes: 17 * 60).flatMap { OpeningSpan(opens: opens, closes: $0) }
        }
        return OfficeHours(weekdays: [day, day, day, day, day, nil, nil])
    }()

    /// The span the office is open on `day` by its weekday and any early closing, before
    /// holidays and closures are considered; nil when it does not open.
    func span(on day: CalendarDay) -> OpeningSpan? {
        guard let span = weekdays[day.weekday - 1] else { return nil }
        let early =
            datedEarlyClosing.isEmpty && yearlyEarlyClosing.isEmpty
            ? nil : datedEarlyClosing[day] ?? yearlyEarlyClosing[MonthDay(month: day.month, day: day.day)]
        guard let early, early < span.closes else { return span }
        return OpeningSpan(opens: span.opens, closes: early)
    }
}

/// A month and day that come round every year (`12-24`).
public struct MonthDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let month: Int
    public let day: Int

    public init(month: Int, day: Int) {
        self.month = month
        self.day = day
    }

    /// Reads `MM-DD` for a day that exists in some year (29 February included).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let month = Int(parts[0]),
            let day = Int(parts[1]), (1...12).contains(month), day >= 1,
            day <= (month == 2 ? 29 : CalendarDay.days(inMonth: month))
        else { return nil }
        self.init(month: month, day: day)
    }

    public static func < (lhs: MonthDay, rhs: MonthDay) -> Bool { (lhs.month, lhs.day) < (rhs.month, rhs.day) }

    public var description: String {
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(two(month))-\(two(day))"
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
