import Foundation
public import Referrals

/// Europe/London wall-clock arithmetic, exact and fast: the offset in force at an instant, the
/// civil day an instant falls on, and the instant of a wall-clock time on a civil day.
///
/// Since 1996 the UK keeps British Summer Time from 01:00 UTC on the last Sunday of March to
/// 01:00 UTC on the last Sunday of October (the Summer Time Order 2002 and its predecessors);
/// those years are worked out here without a time-zone database, as deadline arithmetic runs
/// for every open case at each opening. Earlier years ask the system's time-zone database.
public enum LondonTime {
    /// The first year worked out by the rule.
    static let firstRuleYear = 1996

    /// The offset from UTC, in seconds, in force at `seconds` since the epoch (0 or 3600).
    public static func offset(atSecondsSinceEpoch seconds: Int64) -> Int {
        let days = floorDivide(seconds, 86_400)
        let year = Instant.civil(fromDays: days).year
        guard year >= firstRuleYear else {
            return Instant.london.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
        }
        let (start, end) = summerTime(in: year)
        return seconds >= start && seconds < end ? 3_600 : 0
    }

    /// `instant` written with the offset London had at that instant (`Z` in winter, `+01:00` in
    /// summer): the same text as ``Instant/london``, without asking the time-zone database for
    /// the years the rule covers.
    public static func text(_ instant: Instant) -> String {
        instant.written(offsetSeconds: offset(atSecondsSinceEpoch: instant.secondsSinceEpoch))
    }

    /// Appends the UTF-8 of ``text(_:)`` to `out`, with no string made.
    public static func write(_ instant: Instant, to out: inout [UInt8]) {
        instant.write(offsetSeconds: offset(atSecondsSinceEpoch: instant.secondsSinceEpoch), to: &out)
    }

    /// The London civil day of an instant.
    public static func day(of instant: Instant) -> CalendarDay {
        day(ofSecondsSinceEpoch: instant.secondsSinceEpoch)
    }

    static func day(ofSecondsSinceEpoch seconds: Int64) -> CalendarDay {
        CalendarDay(dayNumber: floorDivide(seconds + Int64(offset(atSecondsSinceEpoch: seconds)), 86_400))
    }

    /// Minutes since local midnight of an instant, on its London civil day.
    public static func minuteOfDay(of instant: Instant) -> Int {
        let local = instant.secondsSinceEpoch + Int64(offset(atSecondsSinceEpoch: instant.secondsSinceEpoch))
        return Int((local - floorDivide(local, 86_400) * 86_400) / 60)
    }

    /// The instant at which London clocks show `minute` minutes past midnight on `day`
    /// (`minute` may be 1440: the next midnight). A time the spring change skips (01:30 on the
    /// last Sunday of March) is taken in the offset before the change, which is the instant an
    /// hour later in the new offset; a time shown twice in October is taken the first time.
    public static func instant(on day: CalendarDay, minute: Int) -> Instant {
        let local = day.dayNumber * 86_400 + Int64(minute) * 60
        // The offsets in force a few hours either side: around a change they differ.
        let before = Int64(offset(atSecondsSinceEpoch: local - 14_400))
        let after = Int64(offset(atSecondsSinceEpoch: local + 14_400))
        // A reading is right when the offset at the instant it gives is the one assumed; of two
        // right readings (autumn) the earlier instant is the first showing.
        let readings = [max(before, after), min(before, after)].filter {
            Int64(offset(atSecondsSinceEpoch: local - $0)) == $0
        }
        return Instant(secondsSinceEpoch: local - (readings.first ?? before))
    }

    /// The instants summer time starts and ends in `year` (seconds since the epoch, UTC).
    static func summerTime(in year: Int) -> (start: Int64, end: Int64) {
        if year >= firstRuleYear, year <= lastTabulatedYear { return table[year - firstRuleYear] }
        return (lastSundayOneAM(year: year, month: 3), lastSundayOneAM(year: year, month: 10))
    }

    private static let lastTabulatedYear = 2200
    private static let table: [(start: Int64, end: Int64)] = (firstRuleYear...lastTabulatedYear).map {
        (lastSundayOneAM(year: $0, month: 3), lastSundayOneAM(year: $0, month: 10))
    }

    private static func lastSundayOneAM(year: Int, month: Int) -> Int64 {
        let last = Instant.daysSinceEpoch(year: year, month: month, day: 31)
        let weekday = CalendarDay(dayNumber: last).weekday  // 7 is Sunday
        return (last - Int64(weekday % 7)) * 86_400 + 3_600
    }

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }
}
