import Foundation
import TestSupport
import Testing

/// `edt authority`, `edt calendar` and deadlines on the laptop, as a user or script runs them.
@Suite("Authorities, calendars and deadlines, end to end")
struct AuthorityAndCalendarCommandTests {
    let edt = EDTProcess()

    /// An operator's file: Reading with Friday closing at 16:30, Christmas Eve closing at
    /// 15:30, a closure day, a 24-hour decision standard, and the Berkshire team.
    static let operatorFile = """
        # Test operator file
        [authority E06000038]
        hours = fri 09:00-16:30
        early-closing = 12-24 15:30
        closed = 2026-12-31
        decision = 24 hours

        [team berkshire-eds]
        name = Berkshire Emergency Duty Service
        hosted-by = E06000036
        covers = E06000038 children
        """

    func writeOperatorFile(_ text: String = operatorFile) throws -> URL {
        let file = temporaryDirectory().appendingPathComponent("authorities.conf")
        try FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    // MARK: - Authorities

    @Test func theShippedAuthoritiesAreListedAndShown() throws {
        let list = try edt.run(["authority", "list", "--json"])
        #expect(list.status == 0, "\(list.standardError)")
        let authorities = list.json["authorities"] as? [[String: Any]] ?? []
        #expect(authorities.count == 175)
        #expect(authorities.filter { $0["nation"] as? String == "Wales" }.count == 22)
        let reading = authorities.first { $0["gss"] as? String == "E06000038" }
        #expect(reading?["dfe"] as? String == "870")
        #expect(reading?["name"] as? String == "Reading")
        let all = try edt.run(["authority", "list", "--include-retired", "--json"])
        let retired = (all.json["authorities"] as? [[String: Any]] ?? []).first { $0["gss"] as? String == "E10000006" }
        #expect(retired?["validTo"] as? String == "2023-03-31")

        // A DfE number names the current authority, or the ceased one when no current one has it.
        let cumbria = try edt.run(["authority", "show", "909", "--json"])
        #expect(cumbria.json["gss"] as? String == "E10000006")
        let show = try edt.run(["authority", "show", "870", "--json"])
        #expect(show.status == 0, "\(show.standardError)")
        #expect(show.json["gss"] as? String == "E06000038")
        let hours = show.json["officeHours"] as? [String: Any] ?? [:]
        #expect((hours["monday"] as? [String: String]) == ["opens": "09:00", "closes": "17:00"])
        #expect(hours["saturday"] is NSNull)
        #expect((show.json["closures"] as? [Any])?.isEmpty == true)
        #expect((show.json["decisionStandard"] as? [String: Int]) == ["workingDays": 1])
    }

    @Test func anUnknownAuthorityIsRefused() throws {
        let unknown = try edt.run(["authority", "show", "E06000999"])
        #expect(unknown.status == 1)
        #expect(unknown.standardError.contains("E06000999 is not a known"))
        let malformed = try edt.run([
            "calendar", "working-days", "--authority", "Reading", "--from", "2026-12-01", "--to", "2026-12-02",
        ])
        #expect(malformed.status == 1)
        #expect(malformed.standardError.hasPrefix("error:"))
    }

    @Test func theOperatorsFileOverridesTheDefaultsFromConfigOrTheEnvironment() throws {
        let file = try writeOperatorFile()
        for (arguments, environment) in [
            (["--config", file.path], [String: String]()), ([], ["EDT_AUTHORITIES": file.path]),
        ] {
            let show = try edt.run(["authority", "show", "E06000038", "--json"] + arguments, environment: environment)
            #expect(show.status == 0, "\(show.standardError)")
            let hours = show.json["officeHours"] as? [String: Any] ?? [:]
            #expect((hours["friday"] as? [String: String]) == ["opens": "09:00", "closes": "16:30"])
            #expect((show.json["closures"] as? [String]) == ["2026-12-31"])
            #expect((show.json["decisionStandard"] as? [String: Int]) == ["hours": 24])
            let coverage = show.json["coverage"] as? [[String: Any]] ?? []
            #expect(coverage.first?["team"] as? String == "berkshire-eds")
            #expect(coverage.first?["hostedBy"] as? String == "E06000036")
        }
        // Christmas Eve 2026 is a Thursday: Reading closes at 15:30, so 15:45 is out of hours and
        // handed over at the next opening, Tuesday 29 (25 and 28 are bank holidays).
        let deadlines = try edt.run([
            "calendar", "deadlines", "--authority", "E06000038", "--received", "2026-12-24T15:45:00Z", "--config",
            file.path, "--json",
        ])
        #expect(deadlines.status == 0, "\(deadlines.standardError)")
        #expect(deadlines.json["outOfHours"] as? Bool == true)
        #expect(deadlines.json["handoverAt"] as? String == "2026-12-29T09:00:00Z")
        let due = deadlines.json["deadlines"] as? [String: String] ?? [:]
        #expect(due["acknowledge"] == "2026-12-29T17:00:00Z")
        // 24 hours, not a working day.
        #expect(due["decision"] == "2026-12-25T15:45:00Z")
        // Three working days: 29, 30 and (31 closed) Monday 4 January 2027 (1 January a holiday).
        #expect(due["referrerChase"] == "2027-01-04T17:00:00Z")
        #expect(due["writtenConfirmation"] == nil)
    }

    @Test func aBadOperatorsFileIsRefusedNamingItsLineAndField() throws {
        let file = try writeOperatorFile("[authority E06000038]\nhours = fri 17:00-09:00\n")
        let result = try edt.run(["authority", "list", "--config", file.path])
        #expect(result.status == 1)
        #expect(result.standardError.contains("\(file.path):2: hours:"), "\(result.standardError)")
        let missing = try edt.run(["authority", "list", "--config", "/nonexistent/authorities.conf"])
        #expect(missing.status == 3)
        #expect(missing.standardError.contains("cannot read the authorities file"))
    }

    // MARK: - Calendars

    @Test func workingDaysAndHolidays() throws {
        let days = try edt.run([
            "calendar", "working-days", "--authority", "E06000038", "--from", "2026-12-23", "--to", "2027-01-05",
            "--json",
        ])
        #expect(days.status == 0, "\(days.standardError)")
        #expect(
            days.json["days"] as? [String] == [
                "2026-12-23", "2026-12-24", "2026-12-29", "2026-12-30", "2026-12-31", "2027-01-04", "2027-01-05",
            ])
        let scotland = try edt.run(["calendar", "holidays", "--calendar", "scotland", "--year", "2026", "--json"])
        let holidays = scotland.json["holidays"] as? [[String: String]] ?? []
        #expect(holidays.contains { $0["date"] == "2026-06-15" && $0["source"] == "published" })
        #expect(holidays.contains { $0["date"] == "2026-11-30" })
        let later = try edt.run(["calendar", "holidays", "--year", "2031", "--json"])
        let computed = later.json["holidays"] as? [[String: String]] ?? []
        #expect(computed.map { $0["date"] ?? "" }.contains("2031-04-14"))  // Easter Monday, from the rules
        #expect(computed.allSatisfy { $0["source"] == "rules" })
    }

    @Test(arguments: [
        ["calendar", "deadlines", "--authority", "E06000038", "--received", "yesterday"],
        ["calendar", "working-days", "--authority", "E06000038", "--from", "2026-12-31", "--to", "2026-12-01"],
        ["calendar", "holidays", "--calendar", "wales", "--year", "2026"],
        ["calendar", "holidays", "--calendar", "scotland", "--authority", "E06000038", "--year", "2026"],
    ])
    func badCalendarArgumentsAreUsageErrors(_ arguments: [String]) throws {
        let result = try edt.run(arguments)
        #expect(result.status == 2, "\(result.standardError)")
    }

    // MARK: - Referrals

    @Test func aReferralNamingAnUnknownOrCeasedAuthorityIsRefusedAndNothingSaved() throws {
        let store = temporaryDirectory().appendingPathComponent("store").path
        #expect(
            try edt.run(["init", "--store", store, "--device", "edt-laptop-a", "--authority", "E06000038"]).status == 0)
        for (home, reason) in [("E10000006", "ceased on 2023-03-31"), ("E06000999", "not a known")] {
            let document = minimalReferral.replacingOccurrences(
                of: "\"hostAuthority\": \"E06000038\"",
                with: "\"hostAuthority\": \"E06000038\", \"homeAuthority\": \"\(home)\"")
            let result = try edt.run(["referral", "new", "--store", store], input: document)
            #expect(result.status == 1)
            #expect(result.standardError.contains("homeAuthority: \(home)"))
            #expect(result.standardError.contains(reason))
        }
        let list = try edt.run(["referral", "list", "--store", store, "--json"])
        #expect((list.json["referrals"] as? [Any])?.isEmpty == true)
        let malformed = try edt.run([
            "referral", "acknowledge", "--store", store, "x", "--method", "phone", "--at", "Monday", "--by", "A",
            "--role", "B",
        ])
        #expect(malformed.status == 2, "\(malformed.standardError)")
        // A device cannot be set up for an authority that ceased.
        // Moving a referral's receipt to a day its host authority was not in force is refused too.
        let created = try edt.run(["referral", "new", "--store", store, "--json"], input: minimalReferral)
        let id = created.json["id"] as? String ?? ""
        let moved = try edt.run(["referral", "set", "--store", store, id, "receivedAt", "2005-01-01T10:00:00Z"])
        #expect(moved.status == 1)
        #expect(
            moved.standardError.contains(
                "receivedAt: hostAuthority: E06000038 (Reading) came into force only on 2009-01-01"),
            "\(moved.standardError)")
        let ceased = try edt.run([
            "init", "--store", temporaryDirectory().appendingPathComponent("old").path, "--device", "edt-laptop-b",
            "--authority", "E10000006",
        ])
        #expect(ceased.status == 1)
        #expect(ceased.standardError.contains("E10000006 (Cumbria) ceased"))
    }

    @Test func aReferralsDeadlinesAreShownAsOfAnyInstant() throws {
        let store = temporaryDirectory().appendingPathComponent("store").path
        #expect(
            try edt.run(["init", "--store", store, "--device", "edt-laptop-a", "--authority", "E06000038"]).status == 0)
        // Received Saturday 27 March 2027 02:10 GMT, verbal from a professional; Monday 29 is
        // Easter Monday and the clocks go forward on Sunday 28.
        let document = minimalReferral.replacingOccurrences(
            of: "\"channel\": \"phone\"", with: "\"channel\": \"phone\", \"verbal\": true")
        let created = try edt.run(["referral", "new", "--store", store, "--json"], input: document)
        #expect(created.status == 0, "\(created.standardError)")
        let id = created.json["id"] as? String ?? ""
        let result = try edt.run([
            "referral", "deadlines", "--store", store, id, "--at", "2027-03-29T12:00:00+01:00", "--json",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.json["id"] as? String == id)
        let deadlines = result.json["deadlines"] as? [String: [String: Any]] ?? [:]
        #expect(Set(deadlines.keys) == ["acknowledge", "decision", "referrerChase", "writtenConfirmation"])
        #expect(deadlines["acknowledge"]?["due"] as? String == "2027-03-30T17:00:00+01:00")
        #expect(deadlines["acknowledge"]?["status"] as? String == "pending")
        #expect(deadlines["acknowledge"]?["metBy"] is NSNull)
        #expect(deadlines["referrerChase"]?["due"] as? String == "2027-04-01T17:00:00+01:00")
        // 48 real hours from 02:10 GMT on Saturday is 03:10 BST on Monday: overdue at noon.
        #expect(deadlines["writtenConfirmation"]?["due"] as? String == "2027-03-29T03:10:00+01:00")
        #expect(deadlines["writtenConfirmation"]?["status"] as? String == "overdue")
        #expect(deadlines["writtenConfirmation"]?["overdueSeconds"] as? Int == 31_800)
        // `show` carries the same deadlines.
        let show = try edt.run(["referral", "show", "--store", store, id, "--json"])
        let shown = show.json["deadlines"] as? [String: [String: Any]] ?? [:]
        #expect(shown["acknowledge"]?["due"] as? String == "2027-03-30T17:00:00+01:00")
        let bad = try edt.run(["referral", "deadlines", "--store", store, id, "--at", "Monday"])
        #expect(bad.status == 2)
    }
}

extension SyncEndToEndTests {
    @Test func theLaptopAndTheCentreShowTheSameDeadlines() throws {
        let world = World()
        let server = try world.startCentral()
        let laptop = try laptop(world, "edt-laptop-a")
        let id = try capture(laptop)
        #expect(try sync(laptop, server.url).status == 0)
        for at in ["2027-03-27T03:00:00Z", "2027-03-31T12:00:00+01:00"] {
            let onLaptop = try edt.run(["referral", "deadlines", "--store", laptop.store, id, "--at", at, "--json"])
            let atCentre = try edt.run([
                "central", "case", "--db", world.database.path, id, "deadlines", "--at", at, "--json",
            ])
            #expect(onLaptop.status == 0, "\(onLaptop.standardError)")
            #expect(atCentre.status == 0, "\(atCentre.standardError)")
            #expect(onLaptop.standardOutput == atCentre.standardOutput)
            #expect((onLaptop.json["deadlines"] as? [String: Any])?.isEmpty == false)
        }
        let unknown = try edt.run([
            "central", "case", "--db", world.database.path, "00000000-0000-4000-8000-000000000000", "deadlines",
        ])
        #expect(unknown.status == 1)
    }
}
