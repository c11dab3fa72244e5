import Foundation
import Handover
import Referrals
import Testing

/// The morning handover package, end to end: laptops sync a night's referrals to the centre,
/// `edt central handover` hands them to the authority's day team at its opening (JSON, the
/// printable page, and the kept package shown unchanged afterwards), and the day team accepts
/// a case with `edt central case ID accept-handover`.
extension SyncEndToEndTests {
    /// `minimalReferral` received at `receivedAt`, about `concern`.
    func referralDocument(receivedAt: String, concern: String) -> String {
        minimalReferral.replacingOccurrences(of: "2027-03-27T02:10:00Z", with: receivedAt)
            .replacingOccurrences(of: "Child (7) found alone at Reading station.", with: concern)
    }

    func handover(_ world: World, _ arguments: [String]) throws -> EDTProcess.Result {
        try edt.run(["central", "handover", "--db", world.database.path] + arguments)
    }

    @Test func aNightsReferralsAreHandedToTheDayTeamAtItsOpeningAndAccepted() throws {
        // On today's clock: the package kept is the one of Reading's last opening, so the night
        // is the out-of-hours window that ended then.
        let directory = AuthorityDirectory.shipped
        let calendar = directory.calendar(for: try #require(directory.authority("E06000038")))
        let opening = try #require(calendar.previousOpening(atOrBefore: Instant(Date())))
        let window = calendar.outOfHoursWindow(endingAt: opening)
        let closing = try #require(window.closedAt)
        func written(_ seconds: Int64) -> String { Instant(secondsSinceEpoch: seconds).description }
        let night = written(closing.secondsSinceEpoch + 5 * 3_600 + 15 * 60)
        let world = World()
        let server = try world.startCentral()
        let b = try laptop(world, "edt-laptop-b")
        // After Reading's close, exactly at the close, and exactly at the opening.
        var captured: [String: String] = [:]
        for (name, receivedAt) in [
            ("night", night), ("at-closing", written(closing.secondsSinceEpoch)),
            ("at-opening", written(opening.secondsSinceEpoch)),
        ] {
            let created = try edt.run(
                ["referral", "new", "--store", b.store, "--json"],
                input: referralDocument(receivedAt: receivedAt, concern: "Child found alone (\(name))."))
            #expect(created.status == 0, "\(created.standardError)")
            captured[name] = created.json["id"] as? String
        }
        #expect(try sync(b, server.url).status == 0)

        let before = written(closing.secondsSinceEpoch + 60)
        let package = try handover(world, ["--authority", "E06000038", "--at", before, "--json"])
        #expect(package.status == 0, "\(package.standardError)")
        #expect(package.standardError.isEmpty, "an opening that has come: kept, no preview note")
        #expect(package.json["authority"] as? String == "E06000038")
        #expect(package.json["opensAt"] as? String == LondonTime.text(opening))
        let cases = package.json["cases"] as? [[String: Any]] ?? []
        let handed = cases.compactMap { $0["id"] as? String }
        #expect(Set(handed) == Set([captured["night"], captured["at-closing"]].compactMap { $0 }))
        #expect(!handed.contains(captured["at-opening"] ?? "-"), "received exactly at the opening: not an EDT case")
        for item in cases {
            for key in [
                "id", "receivedAt", "deadlines", "openTasks", "crossAuthority", "routedTo", "carriedOver", "overdue",
            ] {
                #expect(item.keys.contains(key), "\(key) missing from \(item.keys.sorted())")
            }
            #expect((item["routedTo"] as? [String: Any])?["rule"] as? String == "front-door")
        }

        // Looked at later, the same package; and as the printable page.
        let again = try handover(
            world, ["--authority", "E06000038", "--at", written(opening.secondsSinceEpoch), "--json"])
        #expect(again.standardOutput == package.standardOutput)
        let page = world.directory.appendingPathComponent("package.html")
        let html = try handover(
            world, ["--authority", "E06000038", "--html", "--out", page.path])
        #expect(html.status == 0, "\(html.standardError)")
        let text = try String(contentsOf: page, encoding: .utf8)
        #expect(text.hasPrefix("<!DOCTYPE html>") || text.lowercased().hasPrefix("<!doctype html>"))
        #expect(text.contains(captured["night"] ?? "-"))
        #expect(!text.contains("<script"), "no script in the page")
        #expect(!text.contains("src=\"http") && !text.contains("href=\"http"), "no external asset")

        // An earlier opening none was kept for is only shown, said so, and not kept.
        let earlier = try handover(world, ["--authority", "E06000038", "--at", "2026-01-05T00:00:00Z", "--json"])
        #expect(earlier.status == 0 && earlier.standardError.contains("no package was kept"))

        // A future opening is a preview, said so on stderr, and not kept.
        let preview = try handover(world, ["--authority", "E06000038", "--at", "2099-01-01T00:00:00Z", "--json"])
        #expect(preview.status == 0, "\(preview.standardError)")
        #expect(preview.standardError.contains("preview"))
        // Printed as it is made, it is the document the same preview writes to a file whole.
        let file = world.directory.appendingPathComponent("preview.json")
        let toFile = try handover(
            world, ["--authority", "E06000038", "--at", "2099-01-01T00:00:00Z", "--json", "--out", file.path])
        #expect(toFile.status == 0, "\(toFile.standardError)")
        #expect(try Data(contentsOf: file) == Data(preview.standardOutput.utf8))
        #expect((preview.json["cases"] as? [Any])?.isEmpty == false)
        // A standard output that cannot be written (a full disk) fails the command, said so.
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        let failed = try edt.run(
            [
                "central", "handover", "--db", world.database.path, "--authority", "E06000038", "--at",
                "2099-01-01T00:00:00Z", "--json",
            ], outputFile: full)
        #expect(failed.status == 3, "\(failed.standardError)")
        #expect(failed.standardError.contains("cannot write the package"), "\(failed.standardError)")

        // The day team accepts one case; the next package no longer has it, and carries the other.
        // Ten minutes after the opening, or now when the opening was less than that ago (an
        // acceptance cannot be dated in the future).
        let acceptedAt = min(opening.secondsSinceEpoch + 600, Instant(Date()).secondsSinceEpoch)
        let accepted = try acceptHandover(world, captured["night"] ?? "-", at: written(acceptedAt))
        #expect(accepted.status == 0, "\(accepted.standardError)")
        // The laptop drops the accepted case at its next sync, and keeps the others.
        let synced = try sync(b, server.url)
        #expect(synced.status == 0, "\(synced.standardError)")
        #expect(count(synced.json, "purged") == 1, "\(synced.standardOutput)")
        #expect(Set(try ids(b)) == Set([captured["at-closing"], captured["at-opening"]].compactMap { $0 }))

        // The next opening's package (a preview until it comes) no longer has the accepted case,
        // and carries the other over.
        let following = try handover(
            world, ["--authority", "E06000038", "--at", written(opening.secondsSinceEpoch + 1), "--json"])
        let next = following.json["cases"] as? [[String: Any]] ?? []
        #expect(!next.contains { $0["id"] as? String == captured["night"] })
        let carried = next.first { $0["id"] as? String == captured["at-closing"] }
        #expect(carried?["carriedOver"] as? Bool == true)
        #expect(carried?["overdue"] as? Bool == true, "acknowledgement due at the close of the day it was handed over")

        // Without --at: the package of the last opening that has come.
        let latest = try handover(world, ["--authority", "E06000038"])
        #expect(latest.status == 0, "\(latest.standardError)")
        #expect(latest.standardOutput.hasPrefix("Handover to E06000038 at "))

        for bad in [["--authority", "nonsense"], ["--authority", "E06000038", "--at", "yesterday"]] {
            #expect(try handover(world, bad).status == 2)
        }
        let unknown = try handover(world, ["--authority", "E06999999"])
        #expect(unknown.status == 1 && unknown.standardError.contains("not a known authority"))
    }
}
