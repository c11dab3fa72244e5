import Foundation
import Referrals
import Testing

/// Forwarding between centrals, end to end: two central processes, one per authority, enrolled
/// as peers on both sides, with a laptop on each; a Slough EDT referral for a Hampshire child
/// reaches Hampshire's centre and laptop, Hampshire's written acceptance comes back, and every
/// replica agrees on `homeResponsible`; through the fault proxy between the centrals nothing is
/// lost or duplicated.
extension SyncEndToEndTests {
    /// A centre's device and key, as `edt central identity --json` prints them.
    func identity(_ world: World) throws -> (device: String, key: String) {
        let shown = try edt.run(["central", "identity", "--db", world.database.path, "--json"])
        #expect(shown.status == 0, "\(shown.standardError)")
        return (shown.json["device"] as? String ?? "", shown.json["publicKey"] as? String ?? "")
    }

    /// Enrols `peer` (reached at `url`, serving `authority`) as a peer of `world`'s centre.
    func addPeer(_ world: World, _ peer: World, url: String, authority: String) throws {
        let (device, key) = try identity(peer)
        let added = try edt.run([
            "central", "peer", "add", "--db", world.database.path, "--device", device, "--public-key", key, "--url",
            url, "--authority", authority, "--json",
        ])
        #expect(added.status == 0, "\(added.standardError)")
    }

    /// `edt central peer list --json` of `world`, each peer's row.
    func peerRows(_ world: World) throws -> [[String: Any]] {
        let listed = try edt.run(["central", "peer", "list", "--db", world.database.path, "--json"])
        #expect(listed.status == 0, "\(listed.standardError)")
        return listed.json["peers"] as? [[String: Any]] ?? []
    }

    /// Runs `attempt` until it says it is done, for up to `seconds`.
    func eventually(_ seconds: Double = 20, _ attempt: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try attempt() { return true }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return false
    }

    /// Slough's and Hampshire's centres, each enrolled as the other's peer, with a laptop at each.
    struct PeeredCentres {
        let slough: World
        let hampshire: World
        let sloughCentre: ServerProcess
        let hampshireCentre: ServerProcess
        /// Slough's laptop, and Hampshire's.
        let s: Laptop
        let h: Laptop
    }

    /// Two centres that forward to each other every `forwardInterval` seconds on their own, and a
    /// laptop at each; Slough's serves `sloughServes` (Slough unless told).
    func peeredCentres(forwardInterval: String, sloughServes: [String] = [slough]) throws -> PeeredCentres {
        let sloughWorld = World()
        let hampshireWorld = World()
        let sloughCentre = try sloughWorld.startCentral(extra: ["--forward-interval", forwardInterval])
        let hampshireCentre = try hampshireWorld.startCentral(extra: ["--forward-interval", forwardInterval])
        try addPeer(sloughWorld, hampshireWorld, url: hampshireCentre.url, authority: Self.hampshire)
        try addPeer(hampshireWorld, sloughWorld, url: sloughCentre.url, authority: Self.slough)
        return PeeredCentres(
            slough: sloughWorld, hampshire: hampshireWorld, sloughCentre: sloughCentre,
            hampshireCentre: hampshireCentre,
            s: try laptop(sloughWorld, "edt-laptop-s", serves: sloughServes, enrolFor: sloughServes),
            h: try laptop(hampshireWorld, "edt-laptop-h", serves: [Self.hampshire], enrolFor: [Self.hampshire]))
    }

    @Test func aSloughReferralReachesHampshiresOwnCentreAndHampshiresAcceptanceComesBack() throws {
        let pair = try peeredCentres(forwardInterval: "0.2")
        let (sloughWorld, hampshireWorld) = (pair.slough, pair.hampshire)
        let (sloughCentre, hampshireCentre, s, h) = (pair.sloughCentre, pair.hampshireCentre, pair.s, pair.h)

        let id = try sloughReferral(s, receivedAt: hoursAgo(2).text)
        // Not forwarded yet: Hampshire's centre is sent nothing.
        #expect(try sync(s, sloughCentre.url).status == 0)
        Thread.sleep(forTimeInterval: 1)
        #expect(count(try sync(h, hampshireCentre.url).json, "pulled") == 0)

        #expect(try forward(s, id, to: Self.hampshire).status == 0)
        #expect(try sync(s, sloughCentre.url).status == 0)
        let reached = try eventually {
            _ = try sync(h, hampshireCentre.url)
            return try ids(h) == [id]
        }
        #expect(reached, "Hampshire's laptop got the case from Hampshire's centre")
        #expect(try crossAuthority(h, id)["state"] as? String == "forwardedToHome")

        // Hampshire accepts at its own centre, with its written reference.
        let accepted = try act(
            hampshireWorld, id, "accept", authority: Self.hampshire, ["--written-ref", "HCC/2026/114"])
        #expect(accepted.status == 0, "\(accepted.standardError)")
        #expect(accepted.json["crossAuthority"] as? String == "homeResponsible")
        // Slough's centre takes it back; Slough's laptop sees it, verified with Hampshire's key
        // as Slough's centre vouches for it.
        let agreed = try eventually {
            #expect(try sync(s, sloughCentre.url).status == 0)
            return try crossAuthority(s, id)["state"] as? String == "homeResponsible"
        }
        let sloughView = try crossAuthority(s, id)
        #expect(agreed, "Slough's laptop agrees: \(sloughView)")
        #expect(try sync(h, hampshireCentre.url).status == 0)
        for laptop in [s, h] {
            let cross = try crossAuthority(laptop, id)
            #expect(cross["state"] as? String == "homeResponsible")
            #expect(cross["responsible"] as? String == Self.hampshire)
            let history = cross["history"] as? [[String: Any]] ?? []
            #expect(history.compactMap { $0["event"] as? String } == ["forward", "accept"])
        }
        // Slough's centre itself holds the acceptance: a second one there is refused.
        let again = try act(sloughWorld, id, "accept", authority: Self.hampshire, ["--written-ref", "HCC/2"])
        #expect(again.status == 1 && again.standardError.contains("not allowed"), "\(again.standardError)")
        for world in [sloughWorld, hampshireWorld] {
            let rows = try peerRows(world)
            #expect(rows.count == 1)
            #expect(rows.first?["problem"] is NSNull, "\(rows)")
        }
        // A case Slough never forwarded stays Slough's alone.
        let local = try sloughReferral(s, receivedAt: hoursAgo(1).text)
        #expect(try sync(s, sloughCentre.url).status == 0)
        Thread.sleep(forTimeInterval: 1)
        _ = try sync(h, hampshireCentre.url)
        let hampshireHas = try ids(h)
        #expect(!hampshireHas.contains(local))
        // Slough's audit log records the case as read by Hampshire's centre when it was sent there.
        let hampshireDevice = try identity(hampshireWorld).device
        let audit = try edt.run(["central", "audit", "show", "--db", sloughWorld.database.path, "--case", id, "--json"])
        let entries = audit.json["entries"] as? [[String: Any]] ?? []
        #expect(
            entries.contains {
                $0["who"] as? String == hampshireDevice && $0["action"] as? String == "forward-to-peer"
            },
            "\(audit.standardOutput)")
        #expect(
            !(try edt.run(["central", "audit", "show", "--db", sloughWorld.database.path, "--case", local, "--json"])
                .json[
                    "entries"] as? [[String: Any]] ?? []).contains { $0["who"] as? String == hampshireDevice },
            "a case never forwarded was never read by the peer")
    }

    @Test(arguments: ["drop", "truncate", "503"])
    func forwardingBetweenCentralsSurvivesFaultsWithNothingLostOrDuplicated(_ fault: String) throws {
        let sloughWorld = World()
        let hampshireWorld = World()
        // Slough's centre forwards only when told here (`edt central peer sync`), so the faults
        // meet the forwarding itself.
        let sloughCentre = try sloughWorld.startCentral(extra: ["--forward-interval", "3600"])
        let hampshireCentre = try hampshireWorld.startCentral(extra: ["--forward-interval", "3600"])
        let proxy = try ServerProcess.faultProxy(
            upstream: hampshireCentre.port,
            arguments: ["--faults", fault, "--rate", "0.7", "--seed", "7", "--fault-limit", "4"],
            log: sloughWorld.directory.appendingPathComponent("proxy.log"))
        defer { proxy.terminate() }
        try addPeer(sloughWorld, hampshireWorld, url: proxy.url, authority: Self.hampshire)
        try addPeer(hampshireWorld, sloughWorld, url: sloughCentre.url, authority: Self.slough)
        let s = try laptop(sloughWorld, "edt-laptop-s", serves: Self.slough, enrolFor: [Self.slough])
        let h = try laptop(hampshireWorld, "edt-laptop-h", serves: Self.hampshire, enrolFor: [Self.hampshire])
        // Three rounds, each its own forwarding through the proxy (and its retries).
        var forwarded: [String] = []
        for _ in 0..<3 {
            for _ in 0..<2 {
                let id = try sloughReferral(s, receivedAt: hoursAgo(2).text)
                #expect(try forward(s, id, to: Self.hampshire).status == 0)
                forwarded.append(id)
            }
            #expect(try sync(s, sloughCentre.url).status == 0)
            let done = try eventually(60) {
                _ = try edt.run(["central", "peer", "sync", "--db", sloughWorld.database.path, "--json"])
                let row = try peerRows(sloughWorld).first ?? [:]
                return row["pending"] as? Int == 0 && row["problem"] is NSNull
            }
            let rows = try peerRows(sloughWorld)
            #expect(done, "forwarding converged: \(rows)")
        }
        #expect(proxy.logText.contains(": \(fault)"), "the proxy injected no \(fault): \(proxy.logText)")
        #expect(try sync(h, hampshireCentre.url).status == 0)
        let received = try ids(h)
        #expect(received.count == 6 && Set(received) == Set(forwarded), "\(received)")
    }
}

extension SyncEndToEndTests {
    @Test func aBacklogIsForwardedARoundAtATimeInOneSyncAndCountedWithoutBeingRead() throws {
        // Slough's centre forwards only when told here, a case per request.
        let pair = try peeredCentres(forwardInterval: "3600")
        let (sloughWorld, hampshireWorld) = (pair.slough, pair.hampshire)
        let (sloughCentre, hampshireCentre, s, h) = (pair.sloughCentre, pair.hampshireCentre, pair.s, pair.h)
        var forwarded: [String] = []
        for _ in 0..<3 {
            let id = try sloughReferral(s, receivedAt: hoursAgo(2).text)
            #expect(try forward(s, id, to: Self.hampshire).status == 0)
            forwarded.append(id)
        }
        // One Slough keeps to itself is not counted.
        _ = try sloughReferral(s, receivedAt: hoursAgo(1).text)
        #expect(try sync(s, sloughCentre.url).status == 0)
        #expect(try peerRows(sloughWorld).first?["pending"] as? Int == 3)

        let refused = try edt.run([
            "central", "peer", "sync", "--db", sloughWorld.database.path, "--cases-per-round", "0",
        ])
        #expect(refused.status != 0 && refused.standardError.contains("--cases-per-round"), "\(refused.standardError)")
        let synced = try edt.run([
            "central", "peer", "sync", "--db", sloughWorld.database.path, "--cases-per-round", "1", "--json",
        ])
        #expect(synced.status == 0, "\(synced.standardError)")
        let outcome = (synced.json["peers"] as? [[String: Any]])?.first ?? [:]
        #expect(outcome["pushed"] as? Int == 3, "every round in the one sync: \(synced.standardOutput)")
        #expect(outcome["problem"] is NSNull)
        #expect(try peerRows(sloughWorld).first?["pending"] as? Int == 0)
        // Three requests, one case each, in Slough's audit log as three reads by Hampshire's centre.
        let hampshireDevice = try identity(hampshireWorld).device
        for id in forwarded {
            let audit = try edt.run([
                "central", "audit", "show", "--db", sloughWorld.database.path, "--case", id, "--json",
            ])
            let reads = (audit.json["entries"] as? [[String: Any]] ?? []).filter {
                $0["who"] as? String == hampshireDevice && $0["action"] as? String == "forward-to-peer"
            }
            #expect(reads.count == 1, "\(audit.standardOutput)")
        }
        #expect(try sync(h, hampshireCentre.url).status == 0)
        #expect(Set(try ids(h)) == Set(forwarded))
        // Nothing more to forward: a sync with nothing to push ends after one request.
        let again = try edt.run(["central", "peer", "sync", "--db", sloughWorld.database.path, "--json"])
        #expect((again.json["peers"] as? [[String: Any]])?.first?["pushed"] as? Int == 0, "\(again.standardOutput)")
    }

    @Test func aCaseThePeerRefusesDoesNotHoldUpTheCasesAfterIt() throws {
        // Slough's EDT also covers Reading; Hampshire's centre knows Slough's centre for Slough only.
        let reading = "E06000038"
        let pair = try peeredCentres(forwardInterval: "3600", sloughServes: [Self.slough, reading])
        let sloughWorld = pair.slough
        let (sloughCentre, hampshireCentre, s, h) = (pair.sloughCentre, pair.hampshireCentre, pair.s, pair.h)
        let created = try edt.run(
            ["referral", "new", "--store", s.store, "--json"],
            input: minimalReferral.replacingOccurrences(of: "2027-03-27T02:10:00Z", with: hoursAgo(3).text)
                .replacingOccurrences(
                    of: "\"hostAuthority\": \"E06000038\"",
                    with: "\"hostAuthority\": \"E06000038\", \"homeAuthority\": \"\(Self.hampshire)\""))
        let readings = try #require(created.json["id"] as? String)
        #expect(try forward(s, readings, to: Self.hampshire).status == 0)
        #expect(try sync(s, sloughCentre.url).status == 0)
        let sloughs = try sloughReferral(s, receivedAt: hoursAgo(2).text)
        #expect(try forward(s, sloughs, to: Self.hampshire).status == 0)
        #expect(try sync(s, sloughCentre.url).status == 0)
        #expect(try peerRows(sloughWorld).first?["pending"] as? Int == 2)

        // A case a round: the first (Reading's, the oldest) is refused, the second still goes.
        let synced = try edt.run([
            "central", "peer", "sync", "--db", sloughWorld.database.path, "--cases-per-round", "1", "--json",
        ])
        let outcome = (synced.json["peers"] as? [[String: Any]])?.first ?? [:]
        #expect(synced.status == 3, "a refused case leaves the peer pending: \(synced.standardOutput)")
        #expect(outcome["pushed"] as? Int == 1, "\(synced.standardOutput)")
        #expect((outcome["problem"] as? String)?.contains(readings) == true, "\(synced.standardOutput)")
        #expect(try peerRows(sloughWorld).first?["pending"] as? Int == 1, "the refused case stays to forward")
        #expect(try sync(h, hampshireCentre.url).status == 0)
        #expect(try ids(h) == [sloughs])
    }

    @Test func peerEnrolmentRefusesWhatIsNotAPeerCentreAndAPeerThatIsDownIsShownPending() throws {
        let world = World()
        let other = World()
        let (device, key) = try identity(other)
        let own = try identity(world)
        func add(
            _ device: String, key: String, url: String = "http://127.0.0.1:9", authority: String = "E10000014"
        )
            throws -> EDTProcess.Result
        {
            try edt.run([
                "central", "peer", "add", "--db", world.database.path, "--device", device, "--public-key", key,
                "--url", url, "--authority", authority,
            ])
        }
        for (result, status) in [
            (try add("edt-laptop-x", key: key), Int32(2)),  // not a centre's device
            (try add(device, key: "c2hvcnQ="), 2),  // not a 32-byte key
            (try add(device, key: key, url: "ftp://example.org"), 2),
            (try add(device, key: key, authority: "E06999999"), 1),  // not a known authority
            (try add(own.device, key: own.key), 1),  // this centre itself
        ] {
            #expect(result.status == status, "\(result.standardError)")
            #expect(!result.standardError.isEmpty)
        }
        #expect(try peerRows(world).isEmpty, "nothing was enrolled")

        // A peer that is down (nothing listens at port 9): pending, with its problem, never dropped.
        #expect(try add(device, key: key).status == 0)
        let synced = try edt.run(["central", "peer", "sync", "--db", world.database.path, "--json"])
        #expect(synced.status == 3, "\(synced.standardError)")
        let outcome = (synced.json["peers"] as? [[String: Any]])?.first ?? [:]
        #expect(outcome["problem"] is String, "\(synced.standardOutput)")
        #expect(outcome["retryAt"] is String)
        let row = try #require(try peerRows(world).first)
        #expect(row["device"] as? String == device)
        #expect(row["problem"] is String)
        #expect(row["removed"] as? Bool == false)

        let removed = try edt.run(["central", "peer", "remove", "--db", world.database.path, "--device", device])
        #expect(removed.status == 0, "\(removed.standardError)")
        #expect(try peerRows(world).first?["removed"] as? Bool == true)
        let twice = try edt.run(["central", "peer", "remove", "--db", world.database.path, "--device", device])
        #expect(twice.status == 1, "\(twice.standardError)")
        let none = try edt.run(["central", "peer", "sync", "--db", world.database.path, "--json"])
        #expect(none.status == 0 && (none.json["peers"] as? [Any])?.isEmpty == true, "\(none.standardOutput)")
    }
}
