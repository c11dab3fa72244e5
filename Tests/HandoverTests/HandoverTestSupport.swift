import Foundation
import Handover
import LineProtocol
import Referrals
import Testing

/// An instant written out by hand in a test (`2026-03-30T17:00:00+01:00`); a typo stops the test.
func at(_ text: String) -> Instant {
    guard let instant = Instant(iso8601: text) else { preconditionFailure("\(text) is not an ISO 8601 instant") }
    return instant
}

/// A date written out by hand in a test (`2026-12-28`); a typo stops the test.
func day(_ text: String) -> CalendarDay {
    guard let day = CalendarDay(iso8601: text) else { preconditionFailure("\(text) is not a date YYYY-MM-DD") }
    return day
}

/// The instant `seconds` later (or earlier, when negative).
func later(_ instant: Instant, by seconds: Int64) -> Instant {
    Instant(secondsSinceEpoch: instant.secondsSinceEpoch + seconds)
}

/// Foundation's reading of an instant on London clocks, from the system's time-zone database:
/// the independent check of ``LondonTime``.
struct FoundationLondon {
    let calendar: Calendar

    init() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/London") ?? TimeZone(secondsFromGMT: 0) ?? .current
        self.calendar = calendar
    }

    /// The civil date, ISO weekday (1 Monday … 7 Sunday) and seconds since local midnight.
    func wallClock(_ instant: Instant) -> (day: CalendarDay?, weekday: Int, secondOfDay: Int) {
        let parts = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second, .weekday], from: instant.date)
        let day = CalendarDay(year: parts.year ?? 0, month: parts.month ?? 0, day: parts.day ?? 0)
        // Foundation counts weekdays from Sunday (1) to Saturday (7).
        let weekday = ((parts.weekday ?? 1) + 5) % 7 + 1
        return (day, weekday, (parts.hour ?? 0) * 3_600 + (parts.minute ?? 0) * 60 + (parts.second ?? 0))
    }
}

/// Expects the package's JSON to be canonical: read back and written again, the same bytes (its
/// keys in byte order at every level, nothing but the value).
func expectCanonicalJSON(_ package: HandoverPackage, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let bytes = package.jsonBytes()
    var again: [UInt8] = []
    JSONPayload.write(try JSONPayload.read(bytes[...]), to: &again)
    #expect(again == bytes, sourceLocation: sourceLocation)
}
