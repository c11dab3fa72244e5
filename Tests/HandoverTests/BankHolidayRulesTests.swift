import Foundation
import Handover
import Testing

/// The standing bank-holiday rules against the published lists for 2025–2028
/// (`Fixtures/bank-holidays.csv`: the UK government's bank-holidays feed for 2025–2027 and 2028
/// worked out from the rules, as gathered for the project), and against worked examples.
@Suite("Bank holiday rules")
struct BankHolidayRulesTests {
    /// The published days: calendar → year → days.
    static let published: [BankHolidayRules.Calendar: [Int: Set<String>]] = {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/bank-holidays.csv")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return [:] }
        var days: [BankHolidayRules.Calendar: [Int: Set<String>]] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let columns = line.split(separator: ",", maxSplits: 2)
            guard columns.count == 3, let calendar = BankHolidayRules.Calendar(rawValue: String(columns[0])),
                let year = Int(columns[1].prefix(4))
            else { continue }
            days[calendar, default: [:]][year, default: []].insert(String(columns[1]))
        }
        return days
    }()

    /// One-off days a proclamation added, which no rule can know.
    static let oneOff: [BankHolidayRules.Calendar: Set<String>] = [.scotland: ["2026-06-15"]]

    @Test(arguments: BankHolidayRules.Calendar.allCases, 2025...2028)
    func theRulesGiveThePublishedDays(calendar: BankHolidayRules.Calendar, year: Int) throws {
        let published = try #require(Self.published[calendar]?[year], "the list holds \(calendar.rawValue) \(year)")
        let computed = Set(BankHolidayRules.holidays(in: year, calendar: calendar).map(\.description))
        #expect(computed == published.subtracting(Self.oneOff[calendar] ?? []))
    }

    @Test(arguments: [
        (2024, "2024-03-31"), (2025, "2025-04-20"), (2026, "2026-04-05"), (2027, "2027-03-28"), (2028, "2028-04-16"),
        (2038, "2038-04-25"), (2285, "2285-03-22"), (2000, "2000-04-23"),
    ])
    func easterSunday(year: Int, expected: String) {
        #expect(BankHolidayRules.easterSunday(year)?.description == expected)
    }

    @Test func substitutesFollowTheWeekendInDateOrder() {
        // 2027: Christmas Saturday, Boxing Day Sunday: taken Monday 27 and Tuesday 28.
        let england2027 = BankHolidayRules.holidays(in: 2027, calendar: .englandAndWales).map(\.description)
        #expect(england2027.suffix(2) == ["2027-12-27", "2027-12-28"])
        // 2022: Christmas Sunday; Boxing Day Monday 26 stands, Christmas taken Tuesday 27.
        #expect(
            BankHolidayRules.holidays(in: 2022, calendar: .englandAndWales).map(\.description).contains("2022-12-27"))
        // Scotland 2022: 1 January Saturday, 2 January Sunday: Monday 3 and Tuesday 4.
        let scotland2022 = BankHolidayRules.holidays(in: 2022, calendar: .scotland).map(\.description)
        #expect(scotland2022.prefix(2) == ["2022-01-03", "2022-01-04"])
        // Scotland 2023: 1 January Sunday, 2 January Monday stands: New Year taken Tuesday 3.
        #expect(
            BankHolidayRules.holidays(in: 2023, calendar: .scotland).map(\.description).prefix(2) == [
                "2023-01-02", "2023-01-03",
            ])
        // St Andrew's Day 2030 is a Saturday: taken Monday 2 December.
        #expect(BankHolidayRules.holidays(in: 2030, calendar: .scotland).map(\.description).contains("2030-12-02"))
    }

    @Test func everyComputedDayIsAWeekdayAndTheCountIsTheRulesCount() {
        for year in 2029...2060 {
            for calendar in BankHolidayRules.Calendar.allCases {
                let days = BankHolidayRules.holidays(in: year, calendar: calendar)
                #expect(days.allSatisfy { !$0.isWeekend }, "\(calendar) \(year)")
                let expected = calendar == .englandAndWales ? 8 : calendar == .scotland ? 9 : 10
                #expect(days.count == expected, "\(calendar) \(year): \(days)")
            }
        }
    }

    @Test func calendarDaysReadOnlyRealDates() {
        #expect(CalendarDay(iso8601: "2028-02-29")?.weekday == 2)
        #expect(CalendarDay(iso8601: "2027-02-29") == nil)
        #expect(CalendarDay(iso8601: "2027-13-01") == nil)
        #expect(CalendarDay(iso8601: "27-03-01") == nil)
        #expect(CalendarDay(iso8601: "1970-01-01")?.weekday == 4)
    }
}
