import Foundation
import Referrals
import Testing

/// Host and home authorities end to end, with the real centre and laptops on loopback: a Slough
/// EDT referral for a Hampshire child reaches Hampshire only once forwarded, Hampshire accepts
/// with its written reference at the centre, and every replica agrees on `homeResponsible`; a
/// case forwarded anew leaves the laptop of the home it left; a dispute is escalated by the
/// centre's clock at exactly referral + 24 hours.
extension SyncEndToEndTests {
    static let slough = "E06000039"
    static let hampshire = "E10000014"

    /// A Slough referral for a child whose home is `home`, received `hoursAgo` hours ago.
    func sloughReferral(_ laptop: Laptop, home: String = hampshire, receivedAt: String) throws -> String {
        let document = minimalReferral.replacingOccurrences(of: "2027-03-27T02:10:00Z", with: receivedAt)
            .replacingOccurrences(
                of: "\"hostAuthority\": \"E06000038\"",
                with: "\"hostAuthority\": \"\(Self.slough)\", \"homeAuthority\": \"\(home)\"")
        let result = try edt.run(["referral", "new", "--store", laptop.store, "--json"], input: document)
        #expect(result.status == 0, "\(result.standardError)")
        return try #require(result.json["id"] as? String)
    }

    /// An instant `hours` before now, whole seconds, as ISO 8601.
    func hoursAgo(_ hours: Int) -> (text: String, seconds: Int64) {
        let seconds = Int64(Date().timeIntervalSince1970) - Int64(hours) * 3_600
        return (Instant(secondsSinceEpoch: seconds).description, seconds)
    }

    /// `edt central case ID <verb>` on `world`'s database, as `authority`.
    func act(
        _ world: World, _ id: String, _ verb: String, authority: String, _ extra: [String] = []
    ) throws -> EDTProcess.Result {
        try edt.run(
            [
                "central", "case", id, verb, "--db", world.database.path, "--by", "H. Patel", "--role", "Team manager",
                "--authority", authority, "--json",
            ] + extra)
    }

    /// `edt referral forward` on `laptop`.
    func forward(_ laptop: Laptop, _ id: String, to home: String, _ extra: [String] = []) throws -> EDTProcess.Result {
        try edt.run(
            [
                "referral", "forward", "--store", laptop.store, id, "--to", home, "--by", "J. Okafor", "--role",
                "EDT social worker", "--json",
            ] + extra)
    }

    /// The `crossAuthority` object of `edt referral show --json` on `laptop`.
    func crossAuthority(_ laptop: Laptop, _ id: String) throws -> [String: Any] {
        let shown = try edt.run(["referral", "show", "--store", laptop.store, id, "--json"])
        #expect(shown.status == 0, "\(shown.standardError)")
        return shown.json["crossAuthority"] as? [String: Any] ?? [:]
    }

    @Test func aSloughReferralForAHampshireChildIsForwardedAcceptedAndAgreedOnEverywhere() throws {
        let world = World()
        let server = try world.startCentral()
        let s = try laptop(world, "edt-laptop-s", serves: Self.slough, enrolFor: [Self.slough])
        let h = try laptop(world, "edt-laptop-h", serves: Self.hampshire, enrolFor: [Self.hampshire])
        let id = try sloughReferral(s, receivedAt: hoursAgo(2).text)
        #expect(try sync(s, server.url).status == 0)
        // The homeAuthority field alone: Hampshire is sent nothing, and cannot act at the centre.
        let before = try sync(h, server.url)
        #expect(count(before.json, "pulled") == 0, "\(before.standardOutput)")
        let early = try act(world, id, "accept", authority: Self.hampshire, ["--written-ref", "HCC/1"])
        #expect(early.status == 1 && early.standardError.contains("never forwarded"), "\(early.standardError)")

        // Bad forwardings change nothing.
        for (to, reason) in [(Self.slough, "host authority itself"), ("E06999999", "E06999999")] {
            let refused = try forward(s, id, to: to)
            #expect(refused.status == 1 && refused.standardError.contains(reason), "\(refused.standardError)")
        }
        let forwarded = try forward(s, id, to: Self.hampshire)
        #expect(forwarded.status == 0, "\(forwarded.standardError)")
        #expect(forwarded.json["crossAuthority"] as? String == "forwardedToHome")
        // Once forwarded, the field follows the act: setting it alone is refused.
        let set = try edt.run(["referral", "set", "--store", s.store, id, "homeAuthority", "E06000038"])
        #expect(set.status == 1 && set.standardError.contains("edt referral forward"), "\(set.standardError)")
        #expect(try sync(s, server.url).status == 0)
        let after = try sync(h, server.url)
        #expect(count(after.json, "pulled") == 1, "\(after.standardOutput)")
        #expect(try crossAuthority(h, id)["state"] as? String == "forwardedToHome")

        // The host cannot accept for the home; the home needs its written reference.
        let byHost = try act(world, id, "accept", authority: Self.slough, ["--written-ref", "SBC/1"])
        #expect(
            byHost.status == 1 && byHost.standardError.contains("only the home authority"), "\(byHost.standardError)")
        let noReference = try act(world, id, "accept", authority: Self.hampshire)
        #expect(noReference.status == 2, "\(noReference.standardError)")
        let accepted = try act(world, id, "accept", authority: Self.hampshire, ["--written-ref", "HCC/2026/114"])
        #expect(accepted.status == 0, "\(accepted.standardError)")
        #expect(accepted.json["crossAuthority"] as? String == "homeResponsible")
        #expect(accepted.json["responsible"] as? String == Self.hampshire)
        let settled = try act(world, id, "dispute", authority: Self.slough)
        #expect(settled.status == 1 && settled.standardError.contains("not allowed"), "\(settled.standardError)")

        // Both laptops agree with the centre, and both see every act.
        for laptop in [s, h] {
            #expect(try sync(laptop, server.url).status == 0)
            let cross = try crossAuthority(laptop, id)
            #expect(cross["state"] as? String == "homeResponsible", "\(cross)")
            #expect(cross["responsible"] as? String == Self.hampshire)
            let history = cross["history"] as? [[String: Any]] ?? []
            #expect(history.compactMap { $0["event"] as? String } == ["forward", "accept"])
            #expect(history.last?["reference"] as? String == "HCC/2026/114")
        }
        // Both authorities' packages show it with its state.
        for authority in [Self.slough, Self.hampshire] {
            let package = try edt.run([
                "central", "handover", "--db", world.database.path, "--authority", authority, "--json",
            ])
            #expect(package.status == 0, "\(package.standardError)")
        }
    }

    @Test func aCaseForwardedAnewLeavesTheLaptopOfTheHomeItLeft() throws {
        let world = World()
        let server = try world.startCentral()
        let s = try laptop(world, "edt-laptop-s", serves: Self.slough, enrolFor: [Self.slough])
        let h = try laptop(world, "edt-laptop-h", serves: Self.hampshire, enrolFor: [Self.hampshire])
        let r = try laptop(world, "edt-laptop-r", serves: "E06000038", enrolFor: ["E06000038"])
        let id = try sloughReferral(s, receivedAt: hoursAgo(3).text)
        #expect(try forward(s, id, to: Self.hampshire).status == 0)
        #expect(try sync(s, server.url).status == 0)
        #expect(count(try sync(h, server.url).json, "pulled") == 1)
        #expect(try ids(h) == [id])

        // The child lives in Reading after all: forwarded anew, and something written since.
        let again = try forward(s, id, to: "E06000038")
        #expect(again.status == 0, "\(again.standardError)")
        let note = try edt.run([
            "referral", "note", "--store", s.store, id, "--kind", "note", "--text", "Reading's placement details",
            "--by", "J. Okafor", "--role", "EDT social worker",
        ])
        #expect(note.status == 0, "\(note.standardError)")
        #expect(try sync(s, server.url).status == 0)
        let left = try sync(h, server.url)
        #expect(left.status == 0, "\(left.standardError)")
        #expect(
            count(left.json, "pulled") == 0, "Hampshire's laptop is not sent the case again: \(left.standardOutput)")
        #expect(count(left.json, "purged") == 1, "\(left.standardOutput)")
        #expect(try ids(h).isEmpty, "Hampshire's laptop dropped its copy")
        let verified = try edt.run(["store", "verify", "--store", h.store, "--json"])
        #expect(verified.status == 0 && verified.json["intact"] as? Bool == true, "\(verified.standardOutput)")
        #expect(count(try sync(r, server.url).json, "pulled") == 1)
        #expect(try crossAuthority(r, id)["home"] as? String == "E06000038")
        let stale = try act(world, id, "accept", authority: Self.hampshire, ["--written-ref", "HCC/9"])
        #expect(stale.status == 1 && stale.standardError.contains("neither"), "\(stale.standardError)")
    }

    @Test func casesForwardedAnewAreToldGoneAPageAtATimeAndAllDroppedInOneSync() throws {
        let world = World()
        let server = try world.startCentral(extra: ["--page", "1"])  // one case, and one departure, a reply
        let s = try laptop(world, "edt-laptop-s", serves: Self.slough, enrolFor: [Self.slough])
        let h = try laptop(world, "edt-laptop-h", serves: Self.hampshire, enrolFor: [Self.hampshire])
        var cases: [String] = []
        for hours in 1...3 {
            let id = try sloughReferral(s, receivedAt: hoursAgo(hours + 2).text)
            #expect(try forward(s, id, to: Self.hampshire).status == 0)
            cases.append(id)
        }
        #expect(try sync(s, server.url).status == 0)
        #expect(count(try sync(h, server.url).json, "pulled") == 3)
        #expect(try ids(h).sorted() == cases.sorted())

        for id in cases { #expect(try forward(s, id, to: "E06000038").status == 0) }
        #expect(try sync(s, server.url).status == 0)
        let left = try sync(h, server.url)
        #expect(left.status == 0, "\(left.standardError)")
        #expect(count(left.json, "purged") == 3, "every departure told: \(left.standardOutput)")
        #expect(count(left.json, "requests") == 3, "a departure a page: \(left.standardOutput)")
        #expect(try ids(h).isEmpty, "Hampshire's laptop dropped every copy")
        let again = try sync(h, server.url)
        #expect(again.status == 0 && count(again.json, "purged") == 0, "\(again.standardOutput)")
    }

    @Test func aDisputeIsEscalatedByTheCentresClockAtExactlyTwentyFourHours() throws {
        let world = World()
        var server = try world.startCentral()
        let s = try laptop(world, "edt-laptop-s", serves: Self.slough, enrolFor: [Self.slough])
        let h = try laptop(world, "edt-laptop-h", serves: Self.hampshire, enrolFor: [Self.hampshire])
        let received = hoursAgo(30)
        let id = try sloughReferral(s, receivedAt: received.text)
        #expect(try forward(s, id, to: Self.hampshire, ["--at", hoursAgo(29).text]).status == 0)
        #expect(try sync(s, server.url).status == 0)
        let disputed = try act(world, id, "dispute", authority: Self.hampshire, ["--at", hoursAgo(28).text])
        #expect(disputed.status == 0, "\(disputed.standardError)")
        #expect(disputed.json["crossAuthority"] as? String == "disputed")
        // Asking for the escalation as a party records the clock's event, dated when it fell due.
        // Here the centre's own clock does it: on starting again, it escalates what fell due.
        #expect(server.terminate() == 0)
        server = try world.startCentral()
        var cross: [String: Any] = [:]
        for _ in 0..<100 {
            #expect(try sync(h, server.url).status == 0)
            cross = try crossAuthority(h, id)
            if cross["state"] as? String == "escalatedToSeniorManagers" { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(cross["state"] as? String == "escalatedToSeniorManagers", "\(cross)")
        let history = cross["history"] as? [[String: Any]] ?? []
        let clock = try #require(history.last)
        #expect(clock["party"] as? String == "clock")
        #expect(clock["role"] as? String == "clock", "recorded as the clock's event")
        let due = Instant(secondsSinceEpoch: received.seconds + 86_400)
        #expect(clock["at"] as? String == due.description, "exactly 24 hours after the referral")
        #expect((clock["entry"] as? String)?.hasPrefix("central.") == true)
        #expect(server.logText.contains("escalated to senior managers"), "\(server.logText)")

        // Senior managers decide; the home authority can no longer simply accept.
        let accept = try act(world, id, "accept", authority: Self.hampshire, ["--written-ref", "HCC/3"])
        #expect(accept.status == 1, "\(accept.standardError)")
        let decided = try act(
            world, id, "decide", authority: Self.slough, ["--lead", "host", "--written-ref", "SM/12"])
        #expect(decided.status == 0, "\(decided.standardError)")
        #expect(decided.json["crossAuthority"] as? String == "hostLeadsByAgreement")
    }
}
