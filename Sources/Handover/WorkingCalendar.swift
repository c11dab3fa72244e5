public import Referrals

/// One authority's working time: its office hours on the days its office works, that is the
/// weekdays it opens that are neither a bank holiday of its nation nor one of its closure days.
///
/// The definitions (`Docs/domain.md`, "Timescales"): office hours are half-open; "within N
/// working days" is by the close of office hours on the Nth working day after the London civil
/// day of the start event (that day never counts); "within N hours" is N hours of real time.
public struct WorkingCalendar: Sendable {
    public let hours: OfficeHours
    public let holidays: BankHolidays

    /// The longest stretch searched for a working day before giving up: ten years.
    static let searchLimit = 3_660

    public init(hours: OfficeHours, holidays: BankHolidays) {
        self.hours = hours
        self.holidays = holidays
    }

    /// Whether the office works on `day`: it opens that weekday (an early closing at or before
    /// the opening time leaves it shut), and the day is neither a holiday nor a closure.
    public func isWorkingDay(_ day: CalendarDay) -> Bool {
        guard hours.span(on: day) != nil, !holidays.contains(day) else { return false }
        return hours.closures.isEmpty || !hours.closures.contains(day)
    }

    /// The office's hours on `day`, early closing applied; nil when it does not work that day.
    public func span(on day: CalendarDay) -> OpeningSpan? {
        guard isWorkingDay(day) else { return nil }
        return hours.span(on: day)
    }

    /// Whether `instant` falls in office hours (opening included, closing excluded).
    public func isInHours(_ instant: Instant) -> Bool {
        guard let span = span(on: LondonTime.day(of: instant)) else { return false }
        let opens = LondonTime.instant(on: LondonTime.day(of: instant), minute: span.opens.minutes)
        let closes = LondonTime.instant(on: LondonTime.day(of: instant), minute: span.closes.minutes)
        return instant.secondsSinceEpoch >= opens.secondsSinceEpoch
            && instant.secondsSinceEpoch < closes.secondsSinceEpoch
    }

    /// The first opening of office hours at or after `instant`; nil when none comes within ten
    /// years (an office that never opens).
    public func nextOpening(atOrAfter instant: Instant) -> Instant? {
        var day = LondonTime.day(of: instant)
        for _ in 0..<Self.searchLimit {
            if let span = span(on: day) {
                let opens = LondonTime.instant(on: day, minute: span.opens.minutes)
                if opens.secondsSinceEpoch >= instant.secondsSinceEpoch { return opens }
            }
            day = day.adding(days: 1)
        }
        return nil
    }

    /// The `count`th working day after `day` (`day` itself never counts); nil when there is none
    /// within ten years.
    public func workingDay(_ count: Int, after day: CalendarDay) -> CalendarDay? {
        var remaining = count
        var candidate = day
        for _ in 0..<Self.searchLimit {
            candidate = candidate.adding(days: 1)
            if isWorkingDay(candidate) {
                remaining -= 1
                if remaining <= 0 { return candidate }
            }
        }
        return nil
    }

    /// "Within `count` working days" of `start`: the close of office hours on the `count`th
    /// working day after the London day of `start`.
    public func closeOfWorkingDays(_ count: Int, after start: Instant) -> Instant? {
        guard let day = workingDay(count, after: LondonTime.day(of: start)), let span = span(on: day) else {
            return nil
        }
        return LondonTime.instant(on: day, minute: span.closes.minutes)
    }

    /// The working days from `first` to `last`, both included.
    public func workingDays(from first: CalendarDay, to last: CalendarDay) -> [CalendarDay] {
        guard first <= last else { return [] }
        return (first.dayNumber...last.dayNumber).map(CalendarDay.init(dayNumber:)).filter(isWorkingDay)
    }
}
