import Foundation
import TestSupport
import Testing

/// The outcome commands of `edt referral`, run as a user would: a verbal referral from a
/// professional acknowledged, decided, authorised, fed back and confirmed; and refusals (exit 1,
/// nothing changed) and usage errors (exit 2).
@Suite("edt referral outcomes, end to end", .serialized)
struct OutcomeCommandTests {
    let edt = EDTProcess()
    let worker = ["--by", "J. Okafor", "--role", "EDT social worker"]
    let manager = ["--by", "S. Patel", "--role", "Team Manager"]

    /// A referral received an hour ago (the program reads the real clock: an event may not be
    /// said to happen before the referral was received, nor in the future).
    func referral(verbal: Bool, professional: Bool) -> String {
        let received = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-3_600))
        return """
            {"receivedAt": "\(received)", "receivedBy": {"name": "J. Okafor", "role": "EDT social worker"},
             "hostAuthority": "E06000038", "channel": "phone", "concern": "Child (7) found alone at Reading station.",
             "verbal": \(verbal), "referrer": {"name": "PC Smith", "professional": \(professional)}}
            """
    }

    func makeStore(_ directory: URL) throws -> String {
        let store = directory.appendingPathComponent("edt-laptop-a").path
        let result = try edt.run(["init", "--store", store, "--device", "edt-laptop-a", "--authority", "E06000038"])
        #expect(result.status == 0, "\(result.standardError)")
        return store
    }

    func capture(_ store: String, _ document: String) throws -> String {
        let created = try edt.run(["referral", "new", "--store", store, "--json"], input: document)
        #expect(created.status == 0, "\(created.standardError)")
        return try #require(created.json["id"] as? String)
    }

    func digest(_ store: String) throws -> String {
        try edt.run(["store", "digest", "--store", store]).standardOutput
    }

    /// Runs `edt referral SUBCOMMAND --store STORE ID ARGUMENTS --json` and returns the entry it recorded.
    func record(_ subcommand: String, _ store: String, _ id: String, _ arguments: [String]) throws -> String {
        let result = try edt.run(["referral", subcommand, "--store", store, id] + arguments + ["--json"])
        #expect(result.status == 0, "\(subcommand): \(result.standardError)")
        #expect(result.json["id"] as? String == id)
        #expect(result.json["kind"] as? String != nil)
        #expect((result.json["at"] as? String)?.isEmpty == false)
        return try #require(result.json["entry"] as? String)
    }

    @Test(arguments: [
        ("outcome", "--rationale"), ("authorise", "--outcome-entry"), ("acknowledge", "--method"),
        ("feedback", "--confidentiality-weighed"), ("confirm", "--reference"), ("strategy-discussion", "--section-47"),
        ("strategy-record", "--recipient"), ("challenge", "--about"), ("escalate", "--to"),
        ("assessment-completed", "--text"), ("conference-held", "--text"),
    ])
    func everyOutcomeCommandHasHelpNamingItsOptions(_ subcommand: String, _ option: String) throws {
        let result = try edt.run(["referral", subcommand, "--help"])
        #expect(result.status == 0)
        for named in [option, "--by", "--role", "--at", "--json", "--store"] {
            #expect(result.standardOutput.contains(named), "\(subcommand) --help names \(named)")
        }
    }

    @Test func aVerbalProfessionalReferralFromAcknowledgementToConfirmation() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try makeStore(directory)
        let id = try capture(store, referral(verbal: true, professional: true))
        let before = try edt.run(["referral", "show", "--store", store, id, "--json"])
        #expect((before.json["gaps"] as? [String])?.contains("writtenConfirmation") == true)

        let acknowledged = try edt.run(
            ["referral", "acknowledge", "--store", store, id, "--method", "phone", "--json"] + worker)
        #expect(acknowledged.status == 0, "\(acknowledged.standardError)")
        #expect(Set(acknowledged.json.keys) == ["id", "entry", "kind", "at"])
        #expect(acknowledged.json["kind"] as? String == "acknowledgement")
        let outcome = try record(
            "outcome", store, id,
            [
                "--outcome", "immediate-protection", "--rationale", "Father on his way to collect her.", "--measure",
                "police-protection", "--measure", "child-moved-by-agreement",
            ] + worker)
        let authorised = try record(
            "authorise", store, id, ["--outcome-entry", outcome, "--text", "Agreed."] + manager)
        let told = try record("feedback", store, id, ["--about", outcome, "--text", "Child safe; EPO next."] + worker)
        let confirmed = try record("confirm", store, id, ["--reference", "Email BTP-2027-0042"] + worker)
        #expect(Set([outcome, authorised, told, confirmed]).count == 4)

        let show = try edt.run(["referral", "show", "--store", store, id, "--json"])
        let entries = try #require(show.json["entries"] as? [[String: Any]])
        #expect(
            entries.map { $0["kind"] as? String } == [
                "acknowledgement", "outcome", "authorisation", "feedback", "confirmation",
            ])
        #expect(entries.allSatisfy { $0["signature"] as? String == "valid" })
        let decision = try #require(entries[1]["payload"] as? [String: Any])
        #expect(decision["outcome"] as? String == "immediate-protection")
        #expect(decision["measures"] as? [String] == ["police-protection", "child-moved-by-agreement"])
        #expect(decision["recordedAt"] as? String != nil)
        #expect((entries[2]["payload"] as? [String: Any])?["authorises"] as? String == outcome)
        #expect((show.json["gaps"] as? [String])?.contains("writtenConfirmation") == false)

        let text = try edt.run(["referral", "show", "--store", store, id])
        #expect(text.status == 0)
        #expect(text.standardOutput.contains("\(outcome) outcome at "))
        #expect(
            text.standardOutput.contains(
                "outcome: immediate-protection; measures: police-protection, child-moved-by-agreement"))
        #expect(text.standardOutput.contains("authorises: \(outcome); text: Agreed.; by S. Patel (Team Manager)"))
        #expect(!text.standardOutput.contains("ed25519:"), "the outcome lines are for people, not the signature")

        // The entries meet the deadlines they answer, each by the entry that recorded it.
        let acknowledgement = try #require(acknowledged.json["entry"] as? String)
        let deadlines = try edt.run(["referral", "deadlines", "--store", store, id, "--json"])
        #expect(deadlines.status == 0, "\(deadlines.standardError)")
        let due = try #require(deadlines.json["deadlines"] as? [String: [String: Any]])
        #expect(due["acknowledge"]?["status"] as? String == "met")
        #expect(due["acknowledge"]?["metBy"] as? String == acknowledgement)
        #expect(due["referrerChase"]?["metBy"] as? String == acknowledgement)
        #expect(due["decision"]?["metBy"] as? String == authorised)
        #expect(due["writtenConfirmation"]?["metBy"] as? String == confirmed)
        #expect(due["outcomeFeedback"]?["metBy"] as? String == told)
        // Immediate protection calls for an assessment, not yet done.
        #expect(due["assessment"]?["status"] as? String == "pending")
        // What is left: a strategy discussion after immediate protection.
        let tasks = (deadlines.json["openTasks"] as? [[String: Any]] ?? []).compactMap { $0["task"] as? String }
        #expect(tasks == ["hold-strategy-discussion"])

        let human = try edt.run(["referral", "assessment-completed", "--store", store, id, "--text", "Done."] + worker)
        #expect(human.status == 0)
        #expect(human.standardOutput.hasPrefix("Recorded assessment-completed edt-laptop-a:"))
        let assessed = try edt.run(["referral", "deadlines", "--store", store, id, "--json"])
        let after = try #require(assessed.json["deadlines"] as? [String: [String: Any]])
        #expect(after["assessment"]?["status"] as? String == "met")
    }

    @Test func inconsistentEntriesAreRefusedAndChangeNothing() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try makeStore(directory)
        let id = try capture(store, referral(verbal: false, professional: false))
        let outcome = try record("outcome", store, id, ["--outcome", "early-help", "--rationale", "Support."] + worker)
        _ = try record("authorise", store, id, ["--outcome-entry", outcome] + manager)
        let before = try digest(store)
        let future = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3_600))
        let refusals: [([String], String)] = [
            (["authorise", "--store", store, id, "--outcome-entry", outcome] + manager, "already authorised"),
            (
                [
                    "authorise", "--store", store, id, "--outcome-entry", outcome, "--by", "X", "--role",
                    "Social worker",
                ],
                "only a manager authorises"
            ),
            (
                [
                    "feedback", "--store", store, id, "--about", "edt-laptop-a:999", "--text", "x",
                    "--confidentiality-weighed",
                ]
                    + worker, "feedback on an outcome never recorded"
            ),
            (["feedback", "--store", store, id, "--about", outcome, "--text", "x"] + worker, "confidentiality"),
            (["confirm", "--store", store, id, "--reference", "L1"] + worker, "not recorded as verbal"),
            (["acknowledge", "--store", store, id, "--method", "email", "--at", future] + worker, "in the future"),
            (
                ["outcome", "--store", store, id, "--outcome", "immediate-protection", "--rationale", "x"] + worker,
                "measures"
            ),
            (["conference-held", "--store", store, id, "--text", "x"] + worker, "section 47"),
            (["acknowledge", "--store", store, id, "--method", "email"], "--by NAME --role ROLE"),
            (["acknowledge", "--store", store, "no-such-id", "--method", "email"] + worker, "no referral"),
        ]
        for (arguments, reason) in refusals {
            let result = try edt.run(["referral"] + arguments)
            #expect(result.status == 1, "\(arguments): \(result.standardError)")
            #expect(result.standardError.hasPrefix("error: "), "\(arguments)")
            #expect(result.standardError.contains(reason), "\(arguments): \(result.standardError)")
            #expect(result.standardOutput.isEmpty)
        }
        #expect(try digest(store) == before, "nothing changed")
    }

    @Test func badUsageExitsTwoAndChangesNothing() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try makeStore(directory)
        let id = try capture(store, referral(verbal: true, professional: true))
        let before = try digest(store)
        let usage: [[String]] = [
            ["outcome", "--store", store, id, "--outcome", "adoption", "--rationale", "x"],
            ["outcome", "--store", store, id, "--outcome", "early-help"],
            [
                "outcome", "--store", store, id, "--outcome", "immediate-protection", "--rationale", "x", "--measure",
                "curfew",
            ],
            ["acknowledge", "--store", store, id, "--method", "fax"],
            ["authorise", "--store", store, id],
            ["strategy-discussion", "--store", store, id, "--text", "x"],
            ["strategy-discussion", "--store", store, id, "--section-47", "maybe", "--text", "x"],
            ["strategy-record", "--store", store, id, "--discussion", "edt-laptop-a:1"],
            ["note", "--store", store, id, "--kind", "outcome", "--text", "x"],
            ["referral-outcome", "--store", store, id],
        ]
        for arguments in usage {
            let result = try edt.run(["referral"] + arguments + worker)
            #expect(result.status == 2, "\(arguments): \(result.standardError)")
        }
        #expect(try digest(store) == before)
    }
}
