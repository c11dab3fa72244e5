import Foundation
import Referrals
import Testing

/// An instant written in a fixed offset: the text every document and log line carries.
struct InstantWritingTests {
    @Test func anInstantIsWrittenWithItsOffsetSecondsAndFraction() throws {
        let summer = try #require(Instant(iso8601: "2026-07-01T08:05:09.250+01:00"))
        #expect(summer.written(offsetSeconds: 3_600) == "2026-07-01T08:05:09.250+01:00")
        #expect(summer.written(offsetSeconds: 0) == "2026-07-01T07:05:09.250Z")
        #expect(summer.written(offsetSeconds: -19_800) == "2026-07-01T01:35:09.250-05:30")
        // Years before 1000 keep four digits (no such instant is read, 1900 is the first year).
        let early = Instant(secondsSinceEpoch: Instant.daysSinceEpoch(year: 999, month: 1, day: 2) * 86_400 + 11_045)
        #expect(early.written(offsetSeconds: 0) == "0999-01-02T03:04:05Z")
        // Written into bytes, the same text, after what the bytes held.
        var bytes = Array("at ".utf8)
        summer.write(offsetSeconds: 3_600, to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "at 2026-07-01T08:05:09.250+01:00")
    }

    @Test func writtenInstantsAgreeWithFoundationAndReadBack() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(secondsFromGMT: 0))
        for step in 0..<2_000 {
            // Seconds spread from 1901 to 2100 (every time of day, every day of the month), in
            // whole-minute offsets of up to 14 hours either way.
            let seconds = -2_177_452_800 + Int64(step) * 3_155_693
            let offset = ((step * 37) % 1_681 - 840) * 60
            let instant = Instant(secondsSinceEpoch: seconds)
            let text = instant.written(offsetSeconds: offset)
            let parts = calendar.dateComponents(
                [.year, .month, .day, .hour, .minute, .second],
                from: Date(timeIntervalSince1970: TimeInterval(seconds + Int64(offset))))
            let zone =
                offset == 0
                ? "Z"
                : String(format: "%@%02d:%02d", offset < 0 ? "-" : "+", abs(offset) / 3_600, abs(offset) / 60 % 60)
            let expected =
                String(
                    format: "%04d-%02d-%02dT%02d:%02d:%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0,
                    parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0) + zone
            #expect(text == expected)
            #expect(Instant(iso8601: text) == instant, "\(text)")
        }
    }
}
