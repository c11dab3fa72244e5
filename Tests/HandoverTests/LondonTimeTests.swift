import Foundation
import Handover
import Referrals
import TestSupport
import Testing

/// `LondonTime` works out Europe/London by the UK rule since 1996 (summer time from 01:00 UTC on
/// the last Sunday of March to 01:00 UTC on the last Sunday of October) without a zone
/// database; here it is checked against Foundation's `TimeZone(identifier: "Europe/London")`
/// and against instants written out by hand.
@Suite("London time")
struct LondonTimeTests {
    static let zone = TimeZone(identifier: "Europe/London")

    @Test(arguments: [1996, 2026, 2027, 2040, 2099])
    func theOffsetAgreesWithTheZoneDatabaseEveryHourOfTheYear(year: Int) throws {
        let zone = try #require(Self.zone)
        let first = Instant.daysSinceEpoch(year: year, month: 1, day: 1) * 86_400
        let end = Instant.daysSinceEpoch(year: year + 1, month: 1, day: 1) * 86_400
        var disagreements: [String] = []
        for seconds in stride(from: first, to: end, by: 3_600) {
            let expected = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
            let computed = LondonTime.offset(atSecondsSinceEpoch: seconds)
            if computed != expected { disagreements.append("\(seconds): \(computed) not \(expected)") }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
    }

    /// Every 01:00 UTC a change could fall on (the last seven days of March and October), a
    /// second and an hour either side, 1996 to 2100.
    @Test func theOffsetAgreesWithTheZoneDatabaseAroundEveryChange() throws {
        let zone = try #require(Self.zone)
        var disagreements: [String] = []
        for year in 1996...2100 {
            for month in [3, 10] {
                for date in 25...31 {
                    let oneAM = Instant.daysSinceEpoch(year: year, month: month, day: date) * 86_400 + 3_600
                    for delta: Int64 in [-3_600, -1, 0, 1, 3_599, 3_600] {
                        let seconds = oneAM + delta
                        let expected = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
                        if LondonTime.offset(atSecondsSinceEpoch: seconds) != expected {
                            disagreements.append("\(year)-\(month)-\(date) 01:00Z\(delta >= 0 ? "+" : "")\(delta)s")
                        }
                    }
                }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
    }

    @Test(arguments: [
        // The clocks go forward at 01:00 GMT: the second before is GMT, the change instant BST.
        ("2026-03-29T00:59:59Z", 0), ("2026-03-29T01:00:00Z", 3_600),
        // They go back at 01:00 GMT (02:00 BST): the second before is BST, the change instant GMT.
        ("2026-10-25T00:59:59Z", 3_600), ("2026-10-25T01:00:00Z", 0),
        ("2027-03-28T00:59:59Z", 0), ("2027-03-28T01:00:00Z", 3_600),
        ("2027-10-31T00:59:59Z", 3_600), ("2027-10-31T01:00:00Z", 0),
        // Midwinter and midsummer.
        ("2026-01-15T12:00:00Z", 0), ("2026-07-15T12:00:00Z", 3_600),
    ])
    func theOffsetAtTheChangesOf2026And2027(instant: String, offset: Int) {
        #expect(LondonTime.offset(atSecondsSinceEpoch: at(instant).secondsSinceEpoch) == offset)
    }

    /// The London day and minute of random instants 1996–2099 against Foundation's wall clock.
    @Test func theDayAndMinuteAgreeWithTheZoneDatabase() {
        let foundation = FoundationLondon()
        var random = SeededGenerator(seed: 1_996)
        let first = Instant.daysSinceEpoch(year: 1996, month: 1, day: 1) * 86_400
        let end = Instant.daysSinceEpoch(year: 2100, month: 1, day: 1) * 86_400
        for _ in 0..<5_000 {
            let instant = Instant(secondsSinceEpoch: Int64.random(in: first..<end, using: &random))
            let wall = foundation.wallClock(instant)
            #expect(LondonTime.day(of: instant) == wall.day, "\(instant)")
            #expect(LondonTime.minuteOfDay(of: instant) == wall.secondOfDay / 60, "\(instant)")
        }
    }

    struct WallClock: Sendable, CustomTestStringConvertible {
        let day: String
        let minute: Int
        let expected: String
        let why: String
        var testDescription: String { "\(day) minute \(minute): \(why)" }
    }

    /// `instant(on:minute:)`, expected instants worked out by hand. Per its doc comment, a time
    /// the spring change skips is read in the offset before the change (GMT), so it is the
    /// instant an hour later on BST clocks; a time shown twice in October is its first showing
    /// (BST).
    @Test(arguments: [
        WallClock(day: "2026-01-19", minute: 540, expected: "2026-01-19T09:00:00Z", why: "winter: GMT"),
        WallClock(day: "2026-07-01", minute: 540, expected: "2026-07-01T08:00:00Z", why: "summer: BST"),
        WallClock(day: "2026-01-19", minute: 0, expected: "2026-01-19T00:00:00Z", why: "winter midnight"),
        WallClock(day: "2026-07-01", minute: 0, expected: "2026-06-30T23:00:00Z", why: "summer midnight"),
        WallClock(day: "2026-01-19", minute: 1_440, expected: "2026-01-20T00:00:00Z", why: "24:00: the next midnight"),
        WallClock(day: "2026-07-01", minute: 1_440, expected: "2026-07-01T23:00:00Z", why: "24:00 in summer"),
        WallClock(
            day: "1990-07-01", minute: 540, expected: "1990-07-01T08:00:00Z",
            why: "before 1996: BST by the zone database"),
        // Spring 2026: clocks go from 01:00 GMT to 02:00 BST on Sunday 29 March.
        WallClock(
            day: "2026-03-29", minute: 0, expected: "2026-03-29T00:00:00Z", why: "midnight before the change is GMT"),
        WallClock(
            day: "2026-03-29", minute: 59, expected: "2026-03-29T00:59:00Z", why: "00:59 GMT, the last minute before"),
        WallClock(
            day: "2026-03-29", minute: 60, expected: "2026-03-29T01:00:00Z",
            why: "01:00 is skipped: read as GMT, shown 02:00 BST"),
        WallClock(
            day: "2026-03-29", minute: 90, expected: "2026-03-29T01:30:00Z",
            why: "01:30 is skipped: read as GMT, shown 02:30 BST"),
        WallClock(
            day: "2026-03-29", minute: 119, expected: "2026-03-29T01:59:00Z", why: "01:59 is skipped: read as GMT"),
        WallClock(
            day: "2026-03-29", minute: 120, expected: "2026-03-29T01:00:00Z", why: "02:00 BST, the change instant"),
        WallClock(day: "2026-03-29", minute: 1_020, expected: "2026-03-29T16:00:00Z", why: "17:00 BST"),
        WallClock(day: "2026-03-29", minute: 1_440, expected: "2026-03-29T23:00:00Z", why: "a 23-hour day"),
        // Autumn 2026: clocks go from 02:00 BST back to 01:00 GMT on Sunday 25 October.
        WallClock(day: "2026-10-25", minute: 0, expected: "2026-10-24T23:00:00Z", why: "midnight is still BST"),
        WallClock(
            day: "2026-10-25", minute: 60, expected: "2026-10-25T00:00:00Z", why: "01:00 is shown twice: the first, BST"
        ),
        WallClock(
            day: "2026-10-25", minute: 90, expected: "2026-10-25T00:30:00Z", why: "01:30 is shown twice: the first, BST"
        ),
        WallClock(
            day: "2026-10-25", minute: 119, expected: "2026-10-25T00:59:00Z",
            why: "01:59 BST, the last minute of summer time"),
        WallClock(day: "2026-10-25", minute: 120, expected: "2026-10-25T02:00:00Z", why: "02:00 GMT, shown once"),
        WallClock(day: "2026-10-25", minute: 1_020, expected: "2026-10-25T17:00:00Z", why: "17:00 GMT"),
        WallClock(day: "2026-10-25", minute: 1_440, expected: "2026-10-26T00:00:00Z", why: "a 25-hour day"),
        // 2027: 28 March and 31 October.
        WallClock(day: "2027-03-28", minute: 90, expected: "2027-03-28T01:30:00Z", why: "skipped: read as GMT"),
        WallClock(day: "2027-03-28", minute: 150, expected: "2027-03-28T01:30:00Z", why: "02:30 BST"),
        WallClock(day: "2027-10-31", minute: 90, expected: "2027-10-31T00:30:00Z", why: "shown twice: the first, BST"),
        WallClock(day: "2027-10-31", minute: 150, expected: "2027-10-31T02:30:00Z", why: "02:30 GMT"),
    ])
    func theInstantOfAWallClockTime(_ example: WallClock) {
        let computed = LondonTime.instant(on: day(example.day), minute: example.minute)
        #expect(computed == at(example.expected), "got \(computed.written(offsetSeconds: 0))")
    }

    /// Every minute of 2026 and 2027 read back: the day and minute are the ones asked for, but
    /// for the skipped spring hour (an hour later) and 24:00 (the next midnight).
    @Test func everyMinuteOf2026And2027ReadsBack() {
        let springDays: Set<CalendarDay> = [day("2026-03-29"), day("2027-03-28")]
        var wrong: [String] = []
        for number in day("2026-01-01").dayNumber...day("2027-12-31").dayNumber {
            let date = CalendarDay(dayNumber: number)
            for minute in 0...1_440 {
                let instant = LondonTime.instant(on: date, minute: minute)
                var expected = (date, minute)
                if minute == 1_440 { expected = (date.adding(days: 1), 0) }
                if springDays.contains(date), (60..<120).contains(minute) { expected = (date, minute + 60) }
                if LondonTime.day(of: instant) != expected.0 || LondonTime.minuteOfDay(of: instant) != expected.1 {
                    wrong.append("\(date) \(minute)")
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }
}
