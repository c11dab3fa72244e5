import Foundation
import Handover
import Referrals
import TestSupport
import Testing

/// Properties of working calendars over random office hours, early closings, closure days and
/// instants from 2020 to 2035, from a fixed seed so a failure replays.
@Suite("Working calendar properties")
struct WorkingCalendarPropertyTests {
    /// One random case: a calendar, the hours it was made from, a start instant and a count.
    struct Case {
        let seed: UInt64
        let hours: OfficeHours
        let calendar: WorkingCalendar
        let start: Instant
        let workingDays: Int
    }

    static let first = Instant.daysSinceEpoch(year: 2020, month: 1, day: 1)
    static let last = Instant.daysSinceEpoch(year: 2035, month: 12, day: 31)

    static func randomDay(_ random: inout SeededGenerator) -> CalendarDay {
        CalendarDay(dayNumber: Int64.random(in: first...last, using: &random))
    }

    static func clock(_ minutes: Int) -> ClockTime {
        guard let time = ClockTime(minutes: minutes) else { preconditionFailure("\(minutes) minutes") }
        return time
    }

    /// Office hours opening between 06:00 and 11:45 and closing between 12:00 and 24:00 on the
    /// days they open; early closings at 06:00 to 18:00, some before the day's opening; closure
    /// days and ranges.
    static func randomHours(_ random: inout SeededGenerator) -> OfficeHours {
        var weekdays: [OpeningSpan?] = []
        for _ in 0..<7 {
            let opens = clock(6 * 60 + 15 * Int.random(in: 0..<24, using: &random))
            let closes = clock(12 * 60 + 15 * Int.random(in: 0...48, using: &random))
            weekdays.append(
                Int.random(in: 0..<10, using: &random) < 7 ? OpeningSpan(opens: opens, closes: closes) : nil)
        }
        if weekdays.allSatisfy({ $0 == nil }) {
            weekdays[Int.random(in: 0..<7, using: &random)] = OpeningSpan(opens: clock(540), closes: clock(1_020))
        }
        var yearly: [MonthDay: ClockTime] = [:]
        for _ in 0..<Int.random(in: 0...3, using: &random) {
            let month = Int.random(in: 1...12, using: &random)
            let date = MonthDay(month: month, day: Int.random(in: 1...28, using: &random))
            yearly[date] = clock(6 * 60 + 15 * Int.random(in: 0...48, using: &random))
        }
        yearly[MonthDay(month: 12, day: 24)] = clock(15 * 60 + 30)
        var dated: [CalendarDay: ClockTime] = [:]
        for _ in 0..<Int.random(in: 0...20, using: &random) {
            dated[randomDay(&random)] = clock(6 * 60 + 15 * Int.random(in: 0...48, using: &random))
        }
        var closures: Set<CalendarDay> = []
        for _ in 0..<Int.random(in: 0...60, using: &random) { closures.insert(randomDay(&random)) }
        for _ in 0..<Int.random(in: 0...3, using: &random) {
            let start = randomDay(&random)
            for offset in 0..<Int.random(in: 1...30, using: &random) { closures.insert(start.adding(days: offset)) }
        }
        return OfficeHours(weekdays: weekdays, yearlyEarlyClosing: yearly, datedEarlyClosing: dated, closures: closures)
    }

    /// A start instant: anywhere, or on a minute of the day's hours (a second either side), or
    /// in the small hours of a clock change.
    static func randomStart(_ random: inout SeededGenerator, hours: OfficeHours) -> Instant {
        switch Int.random(in: 0..<3, using: &random) {
        case 0:
            return Instant(secondsSinceEpoch: Int64.random(in: first * 86_400..<(last + 1) * 86_400, using: &random))
        case 1:
            let date = randomDay(&random)
            let span = hours.weekdays[date.weekday - 1]
            let minutes = [span?.opens.minutes, span?.closes.minutes, 0, 15 * 60 + 30, 1_440].compactMap { $0 }
            let minute = minutes[Int.random(in: 0..<minutes.count, using: &random)]
            let instant = LondonTime.instant(on: date, minute: minute)
            return later(instant, by: Int64.random(in: -1...1, using: &random))
        default:
            let year = Int.random(in: 2020...2035, using: &random)
            let month = Bool.random(using: &random) ? 3 : 10
            // The last Sunday: the change day, at 00:00 to 03:00 UTC.
            var date = Instant.daysSinceEpoch(year: year, month: month, day: 31)
            while CalendarDay(dayNumber: date).weekday != 7 { date -= 1 }
            return Instant(secondsSinceEpoch: date * 86_400 + Int64.random(in: 0...10_800, using: &random))
        }
    }

    static let holidays: [BankHolidays] = BankHolidayRules.Calendar.allCases.compactMap {
        AuthorityDirectory.shipped.holidays[$0]
    }

    /// `count` cases, a new calendar every ten.
    static func cases(_ count: Int, seed: UInt64) -> [Case] {
        var random = SeededGenerator(seed: seed)
        var cases: [Case] = []
        var hours = OfficeHours.standard
        var calendar = WorkingCalendar(hours: hours, holidays: holidays[0])
        for index in 0..<count {
            if index % 10 == 0 {
                hours = randomHours(&random)
                calendar = WorkingCalendar(
                    hours: hours, holidays: holidays[Int.random(in: 0..<holidays.count, using: &random)])
            }
            cases.append(
                Case(
                    seed: seed, hours: hours, calendar: calendar, start: randomStart(&random, hours: hours),
                    workingDays: Int.random(in: 1...10, using: &random)))
        }
        return cases
    }

    /// Whether an instant is in office hours, worked out from Foundation's London wall clock and
    /// the hours as written: the weekday's span, unless a bank holiday or closure, closing at the
    /// early closing when it is earlier.
    static func bruteInHours(
        _ instant: Instant, _ hours: OfficeHours, _ holidays: BankHolidays, _ wallClock: FoundationLondon
    )
        -> Bool
    {
        let wall = wallClock.wallClock(instant)
        guard let date = wall.day, let span = hours.weekdays[wall.weekday - 1] else { return false }
        guard !holidays.contains(date), !hours.closures.contains(date) else { return false }
        var closes = span.closes.minutes
        if let early = hours.datedEarlyClosing[date]
            ?? hours.yearlyEarlyClosing[MonthDay(month: date.month, day: date.day)]
        {
            closes = min(closes, early.minutes)
        }
        return wall.secondOfDay >= span.opens.minutes * 60 && wall.secondOfDay < closes * 60
    }

    @Test func aWorkingDayDeadlineIsTheCloseOfTheNthWorkingDayAfterTheStartDay() throws {
        for example in Self.cases(4_000, seed: 20_260_329) {
            let calendar = example.calendar
            let computed = calendar.closeOfWorkingDays(example.workingDays, after: example.start)
            let due = try #require(computed, "\(example.start) + \(example.workingDays): no deadline")
            let context = "\(example.start) + \(example.workingDays) → \(due) (\(example.hours.weekdays))"
            #expect(due > example.start, "\(context)")
            // The day whose close it is: the day of the second before.
            let date = LondonTime.day(of: later(due, by: -1))
            #expect(calendar.isWorkingDay(date), "\(context)")
            let span = try #require(calendar.span(on: date), "\(context)")
            if span.closes.minutes == 1_440 {
                #expect(
                    LondonTime.day(of: due) == date.adding(days: 1) && LondonTime.minuteOfDay(of: due) == 0,
                    "\(context)")
            } else {
                #expect(LondonTime.day(of: due) == date, "\(context)")
                #expect(LondonTime.minuteOfDay(of: due) == span.closes.minutes, "\(context)")
            }
            #expect(due.secondsSinceEpoch % 60 == 0, "\(context)")
            #expect(!calendar.isInHours(due), "\(context)")
            #expect(calendar.isInHours(later(due, by: -1)), "\(context)")
            // Exactly N working days after the start day, counting the deadline's day.
            let startDay = LondonTime.day(of: example.start)
            #expect(
                calendar.workingDays(from: startDay.adding(days: 1), to: date).count == example.workingDays,
                "\(context)")
        }
    }

    @Test func deadlinesNeverMoveEarlierWhenReceiptMovesLater() throws {
        var random = SeededGenerator(seed: 99)
        for example in Self.cases(3_000, seed: 20_261_025) {
            let laterStart = later(example.start, by: Int64.random(in: 0...(7 * 86_400), using: &random))
            let computed = example.calendar.closeOfWorkingDays(example.workingDays, after: example.start)
            let computedLater = example.calendar.closeOfWorkingDays(example.workingDays, after: laterStart)
            let due = try #require(computed, "\(example.start) + \(example.workingDays): no deadline")
            let laterDue = try #require(computedLater, "\(laterStart) + \(example.workingDays): no deadline")
            #expect(laterDue >= due, "\(example.start) → \(due); \(laterStart) → \(laterDue)")
        }
    }

    @Test func theNextOpeningIsTheFirstOpeningAtOrAfter() throws {
        for example in Self.cases(3_000, seed: 2_027) {
            let calendar = example.calendar
            let computed = calendar.nextOpening(atOrAfter: example.start)
            let opening = try #require(computed, "\(example.start): no opening")
            let context = "\(example.start) → \(opening)"
            #expect(opening >= example.start, "\(context)")
            #expect(calendar.isInHours(opening), "\(context)")
            #expect(!calendar.isInHours(later(opening, by: -1)), "\(context)")
            let date = LondonTime.day(of: opening)
            #expect(LondonTime.minuteOfDay(of: opening) == calendar.span(on: date)?.opens.minutes, "\(context)")
            // No day between has an opening at or after the start.
            var between = LondonTime.day(of: example.start)
            while between < date {
                if let span = calendar.span(on: between) {
                    #expect(LondonTime.instant(on: between, minute: span.opens.minutes) < example.start, "\(context)")
                }
                between = between.adding(days: 1)
            }
        }
    }

    @Test func inHoursAgreesWithABruteCheck() throws {
        let wallClock = FoundationLondon()
        var random = SeededGenerator(seed: 7)
        for example in Self.cases(4_000, seed: 1_996) {
            let calendar = example.calendar
            var instants = [example.start, later(example.start, by: -1), later(example.start, by: 1)]
            if let due = calendar.closeOfWorkingDays(example.workingDays, after: example.start) {
                instants += [due, later(due, by: -1)]
            }
            instants.append(later(example.start, by: Int64.random(in: -86_400...86_400, using: &random)))
            for instant in instants {
                let inHours = calendar.isInHours(instant)
                let brute = Self.bruteInHours(instant, example.hours, calendar.holidays, wallClock)
                #expect(inHours == brute, "\(instant) (\(example.hours.weekdays))")
            }
        }
    }
}
