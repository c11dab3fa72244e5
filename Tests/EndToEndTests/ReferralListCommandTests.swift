import Foundation
import TestSupport
import Testing

/// `edt referral list` as a worker and a script use it at night: filtered by authority, status
/// and receipt, paged with `--limit` and `--after`, with clear refusals of bad options.
@Suite("edt referral list: filters and pages, end to end", .serialized)
struct ReferralListCommandTests {
    let edt = EDTProcess()
    let worker = ["--by", "J. Okafor", "--role", "EDT social worker"]

    /// A referral received at `received` for `host` (and `home`, when given).
    func referral(received: Date, host: String = "E06000038", home: String? = nil) -> String {
        let instant = ISO8601DateFormatter().string(from: received)
        return """
            {"receivedAt": "\(instant)", "receivedBy": {"name": "J. Okafor", "role": "EDT social worker"},
             "hostAuthority": "\(host)", \(home.map { "\"homeAuthority\": \"\($0)\"," } ?? "")
             "channel": "phone", "concern": "Child (7) found alone at Reading station.",
             "children": [{"id": "c1", "name": "Amy Nowak", "location": "BTP office"}]}
            """
    }

    func ids(_ arguments: [String], store: String) throws -> [String] {
        let result = try edt.run(["referral", "list", "--store", store, "--json"] + arguments)
        #expect(result.status == 0, "\(arguments): \(result.standardError)")
        let referrals = try #require(result.json["referrals"] as? [[String: Any]])
        return referrals.compactMap { $0["id"] as? String }
    }

    @Test func filtersPagesAndRefusals() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = directory.appendingPathComponent("store").path
        let made = try edt.run([
            "init", "--store", store, "--device", "edt-laptop-a", "--authority", "E06000038",
            "--authority", "E06000037",
        ])
        #expect(made.status == 0, "\(made.standardError)")
        // Five referrals received an hour apart, the oldest first in the list whatever the
        // order of capture; the third is for West Berkshire, the fourth's child lives there.
        let now = Date()
        var captured: [(hoursAgo: Int, id: String)] = []
        for hoursAgo in [2, 5, 3, 4, 1] {
            let host = hoursAgo == 3 ? "E06000037" : "E06000038"
            let home = hoursAgo == 4 ? "E06000037" : nil
            let result = try edt.run(
                ["referral", "new", "--store", store, "--json"],
                input: referral(received: now.addingTimeInterval(-3_600 * Double(hoursAgo)), host: host, home: home))
            #expect(result.status == 0, "\(result.standardError)")
            captured.append((hoursAgo, try #require(result.json["id"] as? String)))
        }
        let oldestFirst = captured.sorted { $0.hoursAgo > $1.hoursAgo }.map(\.id)
        func id(_ hoursAgo: Int) -> String { captured.first { $0.hoursAgo == hoursAgo }?.id ?? "" }

        let all = try edt.run(["referral", "list", "--store", store, "--json"])
        let rows = try #require(all.json["referrals"] as? [[String: Any]])
        #expect(rows.compactMap { $0["id"] as? String } == oldestFirst)
        for row in rows {
            #expect(
                Set(row.keys) == [
                    "id", "hostAuthority", "homeAuthority", "receivedAt", "conflicts", "status", "pending", "refused",
                ])
            #expect(row["pending"] as? Bool == true, "never synced")
            #expect(row["status"] as? String == "open")
        }
        #expect(rows.first { $0["id"] as? String == id(4) }?["homeAuthority"] as? String == "E06000037")

        #expect(try ids(["--authority", "E06000037"], store: store) == [id(4), id(3)])
        #expect(try ids(["--authority", "E06000038"], store: store) == [id(5), id(4), id(2), id(1)])
        let since = ISO8601DateFormatter().string(from: now.addingTimeInterval(-3_600 * 3 - 60))
        #expect(try ids(["--since", since], store: store) == [id(3), id(2), id(1)])
        #expect(try ids(["--conflicts"], store: store).isEmpty)
        #expect(try ids(["--pending", "--limit", "2"], store: store) == [id(5), id(4)])

        // Pages of two, each after the last id of the one before, give the whole list once.
        var paged: [String] = []
        var after: [String] = []
        while true {
            let page = try ids(["--limit", "2"] + after, store: store)
            if page.isEmpty { break }
            paged += page
            after = ["--after", page[page.count - 1]]
        }
        #expect(paged == oldestFirst)

        // An outcome recorded, then authorised by a manager: the status follows.
        let outcome = try edt.run(
            [
                "referral", "outcome", "--store", store, id(2), "--outcome", "early-help", "--rationale",
                "Family agreed to support.", "--json",
            ] + worker)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(try ids(["--status", "awaiting-authorisation"], store: store) == [id(2)])
        let entry = try #require(outcome.json["entry"] as? String)
        let authorised = try edt.run([
            "referral", "authorise", "--store", store, id(2), "--outcome-entry", entry, "--by", "S. Patel", "--role",
            "Team Manager",
        ])
        #expect(authorised.status == 0, "\(authorised.standardError)")
        #expect(try ids(["--status", "authorised"], store: store) == [id(2)])
        #expect(try ids(["--status", "open"], store: store) == [id(5), id(4), id(3), id(1)])

        // Text for people: one line each, and a clear word when nothing matches.
        let text = try edt.run(["referral", "list", "--store", store, "--status", "authorised"])
        #expect(text.standardOutput.contains(id(2)) && text.standardOutput.contains("authorised"))
        let none = try edt.run(["referral", "list", "--store", store, "--conflicts"])
        #expect(none.standardOutput == "No referrals.\n")

        // Bad options are usage errors (exit 2); an --after naming no referral is refused (exit 1).
        for bad in [
            ["--since", "last night"], ["--status", "closed"], ["--limit", "-1"], ["--after", "not an id!"],
        ] {
            let result = try edt.run(["referral", "list", "--store", store] + bad)
            #expect(result.status == 2, "\(bad): \(result.standardError)")
        }
        let unknown = try edt.run([
            "referral", "list", "--store", store, "--after", "00000000-0000-4000-8000-000000000000",
        ])
        #expect(unknown.status == 1)
        #expect(unknown.standardError.contains("no referral with this id"))
    }
}
