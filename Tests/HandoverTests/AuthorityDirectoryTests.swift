import Foundation
import Handover
import Referrals
import Testing

/// The shipped directory: the children's services authorities of England and Wales and their
/// codes (`Sources/Handover/Data/authorities.csv`, provenance in its README).
@Suite("Authority directory")
struct AuthorityDirectoryTests {
    static let directory = AuthorityDirectory.shipped

    @Test func itHoldsEveryCurrentAuthorityOfEnglandAndWales() {
        let current = Self.directory.all.filter(\.isCurrent)
        #expect(current.count == 175)
        #expect(current.filter { $0.nation == .england }.count == 153)
        #expect(current.filter { $0.nation == .wales }.count == 22)
        #expect(current.allSatisfy { $0.nation == .england || $0.nation == .wales })
        let retired = Self.directory.all.filter { !$0.isCurrent }
        #expect(!retired.isEmpty)
        for code in ["E10000006", "E08000016", "E08000019", "E10000023", "E10000027"] {
            #expect(retired.contains { $0.gss == code }, "\(code) is kept, retired")
        }
        #expect(Self.directory.all.map(\.gss) == Self.directory.all.map(\.gss).sorted(), "in code order")
    }

    @Test(arguments: [
        ("E06000036", "867", "Bracknell Forest"), ("E06000038", "870", "Reading"), ("E10000014", "850", "Hampshire"),
        ("E08000018", "372", "Rotherham"), ("E08000009", "358", "Trafford"), ("E08000014", "343", "Sefton"),
        ("E06000037", "869", "West Berkshire"), ("E06000039", "871", "Slough"),
        ("E06000040", "868", "Windsor and Maidenhead"), ("E06000041", "872", "Wokingham"),
        ("E08000033", "381", "Calderdale"), ("E06000011", "811", "East Riding of Yorkshire"),
        ("E08000011", "340", "Knowsley"),
    ])
    func knownAuthoritiesAsGiven(code: String, dfe: String, name: String) throws {
        let authority = try #require(Self.directory.authority(code))
        #expect(authority.dfe == dfe)
        #expect(authority.name == name)
        #expect(authority.nation == .england)
        #expect(authority.isCurrent)
        #expect(Self.directory.refusal(of: code, on: day("2026-06-01")) == nil)
        // The shipped profile: 09:00 to 17:00 on weekdays, one working day, no team.
        #expect(authority.profile.hours == .standard)
        #expect(authority.profile.decision == .workingDays(1))
        #expect(authority.profile.coverage.isEmpty)
    }

    @Test func cumbriaEndedOn31March2023() throws {
        let cumbria = try #require(Self.directory.authority("E10000006"))
        #expect(cumbria.validTo == day("2023-03-31"))
        #expect(cumbria.isInForce(on: day("2023-03-31")))
        #expect(!cumbria.isInForce(on: day("2023-04-01")))
        #expect(Self.directory.refusal(of: "E10000006", on: day("2023-03-31")) == nil)
        let refusal = try #require(Self.directory.refusal(of: "E10000006", on: day("2023-04-01")))
        #expect(refusal.contains("E10000006"))
        #expect(refusal.contains("Cumbria"))
        #expect(refusal.contains("ceased on 2023-03-31"))
        // Without a day, a retired code is still known (records made under it still read).
        #expect(Self.directory.refusal(of: "E10000006", on: nil) == nil)
        // Its successors are current.
        #expect(Self.directory.authority("E06000063")?.isCurrent == true)
        #expect(Self.directory.authority("E06000064")?.isCurrent == true)
    }

    @Test func barnsleyChangedCodeOn1May2025() throws {
        let old = try #require(Self.directory.authority("E08000016"))
        let new = try #require(Self.directory.authority("E08000038"))
        #expect(old.dfe == "370" && new.dfe == "370")
        #expect(old.validTo == day("2025-04-30"))
        #expect(new.validFrom == day("2025-05-01"))
        #expect(Self.directory.refusal(of: "E08000016", on: day("2025-04-30")) == nil)
        let refusal = try #require(Self.directory.refusal(of: "E08000016", on: day("2025-05-01")))
        #expect(refusal.contains("ceased on 2025-04-30"))
        #expect(refusal.contains("E08000038"), "names its successor: \(refusal)")
        let early = try #require(Self.directory.refusal(of: "E08000038", on: day("2025-04-30")))
        #expect(early.contains("2025-05-01"), "\(early)")
        #expect(Self.directory.refusal(of: "E08000038", on: day("2025-05-01")) == nil)
    }

    @Test func unknownAndMalformedCodesAreRefusedDifferently() throws {
        let unknown = try #require(Self.directory.refusal(of: "E06999999", on: nil))
        let malformed = try #require(Self.directory.refusal(of: "E0600003", on: nil))
        #expect(unknown != malformed)
        #expect(unknown.contains("not a known children's services authority"))
        #expect(malformed.contains("not an authority's GSS code"))
        #expect(Self.directory.refusal(of: "e06000038", on: nil)?.contains("not an authority's GSS code") == true)
        #expect(Self.directory.refusal(of: "X06000038", on: nil)?.contains("not an authority's GSS code") == true)
        #expect(Self.directory.refusal(of: "", on: nil) != nil)
        // A well-shaped Scottish code is not in the shipped data.
        #expect(Self.directory.refusal(of: "S12000036", on: nil)?.contains("not a known") == true)
    }

    @Test func theShippedDataIsWellFormed() {
        for authority in Self.directory.all {
            #expect(Identifiers.isAuthorityCode(authority.gss), "\(authority.gss)")
            #expect(!authority.name.isEmpty, "\(authority.gss)")
            if let dfe = authority.dfe {
                #expect(dfe.count == 3 && dfe.allSatisfy { $0.isASCII && $0.isNumber }, "\(authority.gss): \(dfe)")
            }
            if authority.isCurrent { #expect(authority.dfe != nil, "\(authority.gss) has a DfE number") }
            if let from = authority.validFrom, let to = authority.validTo { #expect(from <= to, "\(authority.gss)") }
            switch authority.nation {
            case .wales: #expect(authority.gss.hasPrefix("W06"), "\(authority.gss)")
            case .england: #expect(authority.gss.hasPrefix("E"), "\(authority.gss)")
            default: Issue.record("\(authority.gss) is neither English nor Welsh")
            }
        }
        // Every Welsh code is W06, and the Welsh LA numbers run 660 to 681.
        let welsh = Self.directory.all.filter { $0.gss.hasPrefix("W") }
        #expect(welsh.count == 22)
        #expect(welsh.allSatisfy { $0.gss.hasPrefix("W06") && $0.nation == .wales })
        #expect(Set(welsh.compactMap(\.dfe)) == Set((660...681).map(String.init)))
        // No DfE number is shared by two current authorities.
        let numbers = Self.directory.all.filter(\.isCurrent).compactMap(\.dfe)
        #expect(Set(numbers).count == numbers.count)
    }

    /// The reference tables read the same with Windows line endings.
    @Test func theTablesReadWithWindowsLineEndings() throws {
        let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/Handover/Data")
        let authorities = try String(contentsOf: data.appendingPathComponent("authorities.csv"), encoding: .utf8)
        let holidays = try String(contentsOf: data.appendingPathComponent("bank-holidays.csv"), encoding: .utf8)
        func crlf(_ text: String) -> String { text.replacingOccurrences(of: "\n", with: "\r\n") }
        let plain = try AuthorityDirectory(authoritiesCSV: authorities, bankHolidaysCSV: holidays)
        let windows = try AuthorityDirectory(authoritiesCSV: crlf(authorities), bankHolidaysCSV: crlf(holidays))
        #expect(plain.all == Self.directory.all)
        #expect(windows.all == Self.directory.all)
        #expect(windows.holidays[.scotland]?.holidays(in: 2026).count == 10)
        #expect(windows.authority("E06000010")?.name == "Kingston upon Hull, City of")
    }

    @Test func theShippedBankHolidaysAreThePublishedOnes() throws {
        let england = try #require(Self.directory.holidays[.englandAndWales])
        #expect(
            england.holidays(in: 2026).map(\.day.description) == [
                "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25",
                "2026-12-28",
            ])
        #expect(england.holidays(in: 2026).allSatisfy { $0.source == .published })
        #expect(
            england.holidays(in: 2027).map(\.day.description) == [
                "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30", "2027-12-27",
                "2027-12-28",
            ])
        #expect(england.holidays(in: 2030).allSatisfy { $0.source == .rules })
        let scotland = try #require(Self.directory.holidays[.scotland])
        #expect(scotland.contains(day("2026-06-15")))
        let northernIreland = try #require(Self.directory.holidays[.northernIreland])
        #expect(northernIreland.contains(day("2026-03-17")))
        #expect(northernIreland.contains(day("2026-07-13")), "12 July 2026 is a Sunday: Monday 13")
    }
}
