import Foundation
import Handover
import Referrals
import Testing

/// Worked examples of office hours and working-day deadlines, each expected instant written out
/// by hand from the project's definitions (`Docs/domain.md`, "Timescales").
@Suite("Working calendars")
struct WorkingCalendarTests {
    /// The shipped directory with the few local settings the examples need.
    static let directory: AuthorityDirectory = {
        let file = """
            # Calderdale: offices 08:45 to 17:00, closing early on Christmas Eve and New Year's Eve.
            [authority E08000033]
            hours = mon-fri 08:45-17:00
            early-closing = 12-24 15:30
            early-closing = 12-31 15:30

            # Knowsley: closed one Tuesday, and between Christmas and New Year 2026.
            [authority E08000011]
            closed = 2026-02-10
            closed = 2026-12-29..2026-12-31

            # A Scottish council, which the shipped data (England and Wales) does not hold.
            [authority S12000036]
            name = City of Edinburgh
            nation = scotland
            """
        do { return try AuthorityDirectory.shipped.applying(operatorFile: file, source: "examples.conf") } catch {
            preconditionFailure("\(error)")
        }
    }()

    static func calendar(_ code: String) -> WorkingCalendar {
        guard let authority = directory.authority(code) else { preconditionFailure("no authority \(code)") }
        return directory.calendar(for: authority)
    }

    /// Reading: the shipped defaults (Monday to Friday 09:00 to 17:00, England and Wales).
    static let reading = calendar("E06000038")
    static let calderdale = calendar("E08000033")
    static let knowsley = calendar("E08000011")
    static let edinburgh = calendar("S12000036")
    static let cardiff = calendar("W06000015")

    struct Deadline: Sendable, CustomTestStringConvertible {
        let authority: String
        let received: String
        let workingDays: Int
        let due: String
        let why: String
        var testDescription: String { "\(received) + \(workingDays) working day(s): \(why)" }
    }

    @Test(arguments: [
        // The three examples of the domain document, with default office hours.
        Deadline(
            authority: "E06000038", received: "2026-01-17T02:00:00Z", workingDays: 1, due: "2026-01-19T17:00:00Z",
            why: "Saturday 02:00: Monday at close"),
        Deadline(
            authority: "E06000038", received: "2026-01-19T10:00:00Z", workingDays: 1, due: "2026-01-20T17:00:00Z",
            why: "Monday 10:00: Tuesday at close (the day received never counts)"),
        Deadline(
            authority: "E06000038", received: "2027-05-28T16:59:00+01:00", workingDays: 1,
            due: "2027-06-01T17:00:00+01:00",
            why: "Friday 16:59 before the spring bank holiday (Monday 31 May): Tuesday at close"),
        Deadline(
            authority: "E06000038", received: "2026-08-28T16:59:00+01:00", workingDays: 1,
            due: "2026-09-01T17:00:00+01:00",
            why: "Friday 16:59 before the summer bank holiday (Monday 31 August): Tuesday at close"),
        Deadline(
            authority: "E06000038", received: "2027-03-27T02:10:00Z", workingDays: 1, due: "2027-03-30T17:00:00+01:00",
            why: "Saturday 27 March 2027 (Easter Monday 29th, clocks forward 28th): Tuesday 17:00 BST"),
        // Weekends.
        Deadline(
            authority: "E06000038", received: "2026-01-23T18:00:00Z", workingDays: 1, due: "2026-01-26T17:00:00Z",
            why: "Friday evening: Monday"),
        Deadline(
            authority: "E06000038", received: "2026-01-25T23:59:59Z", workingDays: 1, due: "2026-01-26T17:00:00Z",
            why: "the last second of Sunday: Monday"),
        Deadline(
            authority: "E06000038", received: "2026-01-26T00:00:00Z", workingDays: 1, due: "2026-01-27T17:00:00Z",
            why: "the first second of Monday: Monday never counts, so Tuesday"),
        Deadline(
            authority: "E06000038", received: "2026-01-22T10:00:00Z", workingDays: 3, due: "2026-01-27T17:00:00Z",
            why: "Thursday + 3: Friday, Monday, Tuesday"),
        // Good Friday (3 April 2026) and Easter Monday (6 April 2026).
        Deadline(
            authority: "E06000038", received: "2026-04-02T12:00:00+01:00", workingDays: 1,
            due: "2026-04-07T17:00:00+01:00", why: "Thursday before Easter: Tuesday after Easter Monday"),
        Deadline(
            authority: "E06000038", received: "2026-04-03T10:00:00+01:00", workingDays: 1,
            due: "2026-04-07T17:00:00+01:00", why: "on Good Friday: Tuesday"),
        Deadline(
            authority: "E06000038", received: "2025-04-17T16:00:00+01:00", workingDays: 2,
            due: "2025-04-23T17:00:00+01:00", why: "Thursday 17 April 2025 + 2: Tuesday 22, Wednesday 23"),
        // 2026: Christmas Friday, Boxing Day Saturday, substitute Monday 28 December.
        Deadline(
            authority: "E06000038", received: "2026-12-24T10:00:00Z", workingDays: 1, due: "2026-12-29T17:00:00Z",
            why: "Christmas Eve 2026: Friday 25 and Monday 28 (substitute) are holidays"),
        // 2027: Christmas Saturday, Boxing Day Sunday, substitutes Monday 27 and Tuesday 28.
        Deadline(
            authority: "E06000038", received: "2027-12-24T11:00:00Z", workingDays: 1, due: "2027-12-29T17:00:00Z",
            why: "Christmas Eve 2027: Monday 27 and Tuesday 28 are both substitutes"),
        Deadline(
            authority: "E06000038", received: "2027-12-24T11:00:00Z", workingDays: 2, due: "2027-12-30T17:00:00Z",
            why: "Christmas Eve 2027 + 2: Wednesday 29, Thursday 30"),
        // 2028: New Year's Day Saturday, substitute Monday 3 January.
        Deadline(
            authority: "E06000038", received: "2027-12-31T12:00:00Z", workingDays: 1, due: "2028-01-04T17:00:00Z",
            why: "New Year's Eve 2027: Monday 3 January 2028 is the substitute"),
        // Early closing at 15:30 on Christmas Eve and New Year's Eve (Calderdale).
        Deadline(
            authority: "E08000033", received: "2025-12-23T10:00:00Z", workingDays: 1, due: "2025-12-24T15:30:00Z",
            why: "Christmas Eve 2025 is a Wednesday: it closes at 15:30"),
        Deadline(
            authority: "E08000033", received: "2025-12-24T16:00:00Z", workingDays: 1, due: "2025-12-29T17:00:00Z",
            why: "after the early close on Christmas Eve: Monday 29"),
        Deadline(
            authority: "E08000033", received: "2025-12-30T09:00:00Z", workingDays: 1, due: "2025-12-31T15:30:00Z",
            why: "New Year's Eve 2025 closes at 15:30"),
        Deadline(
            authority: "E08000033", received: "2025-12-22T09:00:00Z", workingDays: 2, due: "2025-12-24T15:30:00Z",
            why: "Monday + 2: Tuesday, then Christmas Eve closing early"),
        // The authority's own closure days (Knowsley).
        Deadline(
            authority: "E08000011", received: "2026-02-09T10:00:00Z", workingDays: 1, due: "2026-02-11T17:00:00Z",
            why: "closed Tuesday 10 February: Wednesday"),
        Deadline(
            authority: "E08000011", received: "2026-12-24T10:00:00Z", workingDays: 1, due: "2027-01-04T17:00:00Z",
            why: "holidays 25 and 28, closed 29 to 31, New Year's Day: Monday 4 January"),
        Deadline(
            authority: "E06000038", received: "2026-12-24T10:00:00Z", workingDays: 2, due: "2026-12-30T17:00:00Z",
            why: "the same days where the office has no closures: Tuesday 29, Wednesday 30"),
        // Clock changes: 17:00 BST is 16:00Z, 17:00 GMT is 17:00Z.
        Deadline(
            authority: "E06000038", received: "2026-03-27T10:00:00Z", workingDays: 1, due: "2026-03-30T16:00:00Z",
            why: "Friday GMT, clocks forward Sunday 29 March: Monday 17:00 BST"),
        Deadline(
            authority: "E06000038", received: "2026-03-29T00:30:00Z", workingDays: 1, due: "2026-03-30T16:00:00Z",
            why: "in the night of the change (00:30 GMT): Monday 17:00 BST"),
        Deadline(
            authority: "E06000038", received: "2026-10-23T10:00:00+01:00", workingDays: 1, due: "2026-10-26T17:00:00Z",
            why: "Friday BST, clocks back Sunday 25 October: Monday 17:00 GMT"),
        Deadline(
            authority: "E06000038", received: "2026-10-25T00:30:00Z", workingDays: 1, due: "2026-10-26T17:00:00Z",
            why: "01:30 BST, the first showing of the repeated hour: Monday"),
        Deadline(
            authority: "E06000038", received: "2026-10-25T01:30:00Z", workingDays: 1, due: "2026-10-26T17:00:00Z",
            why: "01:30 GMT, the second showing: Monday"),
        Deadline(
            authority: "E06000038", received: "2027-10-29T12:00:00+01:00", workingDays: 1, due: "2027-11-01T17:00:00Z",
            why: "Friday before the change of 31 October 2027: Monday 17:00 GMT"),
        Deadline(
            authority: "E06000038", received: "2027-03-26T12:00:00Z", workingDays: 2, due: "2027-03-31T16:00:00Z",
            why: "Good Friday 2027, clocks forward 28th, Easter Monday 29th: Tuesday, Wednesday 17:00 BST"),
        // Scotland: 2 January is a holiday there, not in England.
        Deadline(
            authority: "S12000036", received: "2025-12-31T10:00:00Z", workingDays: 1, due: "2026-01-05T17:00:00Z",
            why: "Scotland: 1 and 2 January 2026 are holidays: Monday 5"),
        Deadline(
            authority: "E06000038", received: "2025-12-31T10:00:00Z", workingDays: 1, due: "2026-01-02T17:00:00Z",
            why: "England: 2 January 2026 is a working day"),
        Deadline(
            authority: "S12000036", received: "2026-04-03T10:00:00+01:00", workingDays: 1,
            due: "2026-04-06T17:00:00+01:00", why: "Scotland keeps no Easter Monday"),
    ])
    func workingDayDeadlines(_ example: Deadline) throws {
        let calendar = Self.calendar(example.authority)
        let due = try #require(calendar.closeOfWorkingDays(example.workingDays, after: at(example.received)))
        #expect(due == at(example.due), "got \(due)")
        #expect(!calendar.isInHours(due), "the deadline is a closing instant")
        #expect(calendar.isInHours(later(due, by: -1)), "the second before the deadline is in hours")
    }

    struct Moment: Sendable, CustomTestStringConvertible {
        let authority: String
        let instant: String
        let inHours: Bool
        let why: String
        var testDescription: String { "\(instant): \(why)" }
    }

    @Test(arguments: [
        Moment(authority: "E06000038", instant: "2026-01-19T09:00:00Z", inHours: true, why: "exactly at opening"),
        Moment(authority: "E06000038", instant: "2026-01-19T08:59:59Z", inHours: false, why: "a second before opening"),
        Moment(authority: "E06000038", instant: "2026-01-19T16:59:59Z", inHours: true, why: "a second before closing"),
        Moment(authority: "E06000038", instant: "2026-01-19T17:00:00Z", inHours: false, why: "exactly at closing"),
        Moment(authority: "E06000038", instant: "2026-07-01T08:00:00Z", inHours: true, why: "09:00 BST"),
        Moment(authority: "E06000038", instant: "2026-07-01T07:59:59Z", inHours: false, why: "08:59:59 BST"),
        Moment(authority: "E06000038", instant: "2026-07-01T16:00:00Z", inHours: false, why: "17:00 BST"),
        Moment(authority: "E06000038", instant: "2026-01-17T12:00:00Z", inHours: false, why: "Saturday"),
        Moment(authority: "E06000038", instant: "2026-04-06T12:00:00+01:00", inHours: false, why: "Easter Monday"),
        Moment(
            authority: "E06000038", instant: "2026-12-28T12:00:00Z", inHours: false, why: "the Boxing Day substitute"),
        Moment(authority: "E06000038", instant: "2026-12-24T16:00:00Z", inHours: true, why: "no early closing here"),
        Moment(authority: "E08000033", instant: "2026-12-24T08:45:00Z", inHours: true, why: "Calderdale opens 08:45"),
        Moment(authority: "E08000033", instant: "2026-12-24T08:44:59Z", inHours: false, why: "before 08:45"),
        Moment(authority: "E08000033", instant: "2026-12-24T15:29:59Z", inHours: true, why: "before the early close"),
        Moment(authority: "E08000033", instant: "2026-12-24T15:30:00Z", inHours: false, why: "the early close"),
        Moment(authority: "E08000033", instant: "2026-12-23T16:30:00Z", inHours: true, why: "the day before: 17:00"),
        Moment(authority: "E08000011", instant: "2026-02-10T12:00:00Z", inHours: false, why: "a closure day"),
        Moment(authority: "E08000011", instant: "2026-02-11T12:00:00Z", inHours: true, why: "the day after it"),
        Moment(authority: "S12000036", instant: "2026-06-15T12:00:00+01:00", inHours: false, why: "the 2026 one-off"),
        Moment(authority: "E06000038", instant: "2026-06-15T12:00:00+01:00", inHours: true, why: "not in England"),
    ])
    func inOrOutOfHours(_ moment: Moment) {
        #expect(Self.calendar(moment.authority).isInHours(at(moment.instant)) == moment.inHours)
    }

    struct Opening: Sendable, CustomTestStringConvertible {
        let authority: String
        let from: String
        let opens: String
        let why: String
        var testDescription: String { "\(from): \(why)" }
    }

    @Test(arguments: [
        Opening(
            authority: "E06000038", from: "2026-01-23T18:00:00Z", opens: "2026-01-26T09:00:00Z",
            why: "Friday evening: Monday"),
        Opening(
            authority: "E06000038", from: "2026-08-28T17:00:00+01:00", opens: "2026-09-01T09:00:00+01:00",
            why: "Friday's close before the August bank holiday: Tuesday"),
        Opening(
            authority: "E06000038", from: "2026-04-02T17:30:00+01:00", opens: "2026-04-07T09:00:00+01:00",
            why: "Thursday evening before Easter: Tuesday"),
        Opening(
            authority: "E06000038", from: "2026-12-24T17:00:00Z", opens: "2026-12-29T09:00:00Z",
            why: "Christmas 2026: Friday 25, the weekend, Monday 28 (substitute)"),
        Opening(
            authority: "E06000038", from: "2026-01-19T09:00:00Z", opens: "2026-01-19T09:00:00Z",
            why: "exactly at an opening"),
        Opening(
            authority: "E06000038", from: "2026-01-19T07:00:00Z", opens: "2026-01-19T09:00:00Z", why: "early morning"),
        Opening(
            authority: "E06000038", from: "2026-01-19T09:00:01Z", opens: "2026-01-20T09:00:00Z",
            why: "a second after opening: the next opening is the next day's"),
        Opening(
            authority: "E06000038", from: "2026-03-28T12:00:00Z", opens: "2026-03-30T08:00:00Z",
            why: "across the spring change: Monday 09:00 BST"),
        Opening(
            authority: "E06000038", from: "2026-10-24T12:00:00+01:00", opens: "2026-10-26T09:00:00Z",
            why: "across the autumn change: Monday 09:00 GMT"),
        Opening(
            authority: "E08000011", from: "2026-12-24T17:00:00Z", opens: "2027-01-04T09:00:00Z",
            why: "Knowsley closed 29 to 31 December, New Year's Day"),
        Opening(
            authority: "S12000036", from: "2025-12-31T17:00:00Z", opens: "2026-01-05T09:00:00Z",
            why: "Scotland: 1 and 2 January"),
    ])
    func nextOpening(_ example: Opening) throws {
        let opens = try #require(Self.calendar(example.authority).nextOpening(atOrAfter: at(example.from)))
        #expect(opens == at(example.opens), "got \(opens)")
    }

    struct Holiday: Sendable, CustomTestStringConvertible {
        let date: String
        let scotland: Bool
        let england: Bool
        let why: String
        var testDescription: String { "\(date): \(why)" }
    }

    /// Bank holidays of Scotland (an authority declared in the operator's file) against England
    /// on the same dates; true means a holiday.
    @Test(arguments: [
        Holiday(date: "2026-01-01", scotland: true, england: true, why: "New Year's Day"),
        Holiday(date: "2026-01-02", scotland: true, england: false, why: "2 January, Scotland only"),
        Holiday(date: "2027-01-04", scotland: true, england: false, why: "2 January 2027 is a Saturday: Monday 4"),
        Holiday(date: "2026-04-03", scotland: true, england: true, why: "Good Friday"),
        Holiday(date: "2026-04-06", scotland: false, england: true, why: "Easter Monday, England only"),
        Holiday(date: "2026-06-15", scotland: true, england: false, why: "the 2026 one-off, Scotland only"),
        Holiday(date: "2026-08-03", scotland: true, england: false, why: "first Monday of August, Scotland"),
        Holiday(date: "2026-08-31", scotland: false, england: true, why: "last Monday of August, England"),
        Holiday(date: "2026-11-30", scotland: true, england: false, why: "St Andrew's Day (a Monday)"),
        Holiday(date: "2025-12-01", scotland: true, england: false, why: "St Andrew's Day 2025 is a Sunday: Monday 1"),
        Holiday(date: "2030-08-05", scotland: true, england: false, why: "by the rules: first Monday of August 2030"),
        Holiday(date: "2030-08-26", scotland: false, england: true, why: "by the rules: last Monday of August 2030"),
        Holiday(
            date: "2030-12-02", scotland: true, england: false, why: "St Andrew's Day 2030 is a Saturday: Monday 2"),
        Holiday(date: "2026-12-28", scotland: true, england: true, why: "the Boxing Day substitute"),
    ])
    func scotlandAgainstEngland(_ example: Holiday) {
        let date = day(example.date)
        #expect(Self.edinburgh.isWorkingDay(date) == !example.scotland, "Scotland")
        #expect(Self.reading.isWorkingDay(date) == !example.england, "England")
        #expect(Self.edinburgh.holidays.contains(date) == example.scotland)
        #expect(Self.reading.holidays.contains(date) == example.england)
    }

    /// England and Wales keep one calendar: a Welsh authority (Cardiff) with the same office
    /// hours works exactly the days an English one (Reading) does.
    @Test func englandAndWalesShareTheirBankHolidays() {
        for number in day("2024-01-01").dayNumber...day("2032-12-31").dayNumber {
            let date = CalendarDay(dayNumber: number)
            #expect(Self.cardiff.isWorkingDay(date) == Self.reading.isWorkingDay(date), "\(date)")
        }
        #expect(!Self.cardiff.isWorkingDay(day("2026-04-06")), "Easter Monday in Wales")
        #expect(!Self.cardiff.isWorkingDay(day("2027-12-28")), "the second 2027 substitute in Wales")
    }

    @Test func workingDaysOfDecember2026() {
        // December 2026: Tuesday 1 to Thursday 31. Weekdays 1-4, 7-11, 14-18, 21-24 (Christmas Day
        // Friday 25) and 29-31 (Monday 28 is the Boxing Day substitute): 4 + 5 + 5 + 4 + 3 = 21.
        let expected =
            ["01", "02", "03", "04", "07", "08", "09", "10", "11", "14", "15", "16", "17", "18"]
            + ["21", "22", "23", "24", "29", "30", "31"]
        #expect(
            Self.reading.workingDays(from: day("2026-12-01"), to: day("2026-12-31")).map(\.description)
                == expected.map { "2026-12-\($0)" })
        // Knowsley is closed 29 to 31 December 2026 as well.
        #expect(Self.knowsley.workingDays(from: day("2026-12-01"), to: day("2026-12-31")).count == 18)
        #expect(Self.reading.workingDays(from: day("2026-12-31"), to: day("2026-12-01")).isEmpty)
        #expect(Self.reading.workingDays(from: day("2026-12-25"), to: day("2026-12-25")).isEmpty)
    }

    /// An early closing at or before the day's opening leaves the office shut that day: it is
    /// not a working day, and a deadline counts past it.
    @Test(arguments: [8 * 60, 9 * 60])
    func anEarlyClosingBeforeTheOpeningShutsTheDay(closes: Int) throws {
        var hours = OfficeHours.standard
        let closing = try #require(ClockTime(minutes: closes))
        hours.datedEarlyClosing[day("2026-01-20")] = closing
        let calendar = WorkingCalendar(hours: hours, holidays: Self.reading.holidays)
        #expect(!calendar.isWorkingDay(day("2026-01-20")))
        #expect(calendar.span(on: day("2026-01-20")) == nil)
        #expect(!calendar.isInHours(at("2026-01-20T09:00:00Z")))
        // Received Monday 10:00: Tuesday is shut, so Wednesday at close.
        #expect(calendar.closeOfWorkingDays(1, after: at("2026-01-19T10:00:00Z")) == at("2026-01-21T17:00:00Z"))
        #expect(calendar.nextOpening(atOrAfter: at("2026-01-19T17:00:00Z")) == at("2026-01-21T09:00:00Z"))
        #expect(
            calendar.workingDays(from: day("2026-01-19"), to: day("2026-01-21")) == [
                day("2026-01-19"), day("2026-01-21"),
            ])
    }

    @Test func spansGiveEachDaysHours() {
        #expect(Self.reading.span(on: day("2026-01-19"))?.description == "09:00-17:00")
        #expect(Self.reading.span(on: day("2026-01-17")) == nil, "Saturday")
        #expect(Self.calderdale.span(on: day("2026-12-24"))?.description == "08:45-15:30")
        #expect(Self.calderdale.span(on: day("2026-12-31"))?.description == "08:45-15:30")
        #expect(Self.calderdale.span(on: day("2026-12-30"))?.description == "08:45-17:00")
        #expect(Self.knowsley.span(on: day("2026-12-30")) == nil, "closed")
        #expect(Self.reading.workingDay(1, after: day("2026-12-24")) == day("2026-12-29"))
        #expect(Self.reading.workingDay(2, after: day("2027-12-24")) == day("2027-12-30"))
    }
}
