import Central
import Crypto
import Foundation
import LineProtocol
import Referrals
import Replication
import TestSupport
import Testing

/// The day team's acceptance, end to end: `edt central case ID accept-handover` on the centre's
/// database while it serves, the acceptance reaching the laptop that holds the case at its next
/// `edt sync`, a new laptop's first sync leaving the accepted case out, and an acceptance a laptop
/// made itself refused from a real signed push.
extension SyncEndToEndTests {
    /// `edt central case ID accept-handover` on `world`'s database.
    func acceptHandover(
        _ world: World, _ id: String, authority: String = "E06000038", at: String = "2026-11-23T09:05:00Z"
    ) throws -> EDTProcess.Result {
        try edt.run([
            "central", "case", id, "accept-handover", "--db", world.database.path, "--by", "A. Day", "--role",
            "Day team manager", "--authority", authority, "--at", at, "--json",
        ])
    }

    @Test func aDayTeamsAcceptanceIsRecordedOnceAndReachesTheLaptopThatHoldsTheCase() async throws {
        let world = World()
        let server = try world.startCentral()
        let b = try laptop(world, "edt-laptop-b")
        // Received on Friday 20 November 2026 after Reading's close: handed over on Monday the 23rd.
        let created = try edt.run(
            ["referral", "new", "--store", b.store, "--json"],
            input: referralDocument(
                receivedAt: "2026-11-20T22:15:00Z", concern: "Child (7) found alone at Reading station."))
        let id = try #require(created.json["id"] as? String)
        #expect(try sync(b, server.url).status == 0)

        let never = try acceptHandover(world, id)
        #expect(never.status == 1 && never.standardError.contains("never handed over"), "\(never.standardError)")
        // The package builder keeps the package it built; here it is kept by hand.
        let storage = try SQLiteCentralStorage(path: world.database.path)
        let opening = try #require(Instant(iso8601: "2026-11-23T09:00:00Z"))
        let kept = try await storage.keep(
            KeptPackage(
                authority: "E06000038", opensAt: opening, builtAt: opening, cases: [try RecordID(id)],
                json: Array("{}".utf8)))
        #expect(kept)
        // Kept without its printable page (by hand, as above): --html says so rather than print nothing.
        let page = try edt.run([
            "central", "handover", "--db", world.database.path, "--authority", "E06000038", "--at",
            "2026-11-23T09:00:00Z", "--html",
        ])
        #expect(page.status == 1 && page.standardError.contains("without its printable page"), "\(page.standardError)")
        #expect(page.standardOutput.isEmpty)

        let accepted = try acceptHandover(world, id)
        #expect(accepted.status == 0, "\(accepted.standardError)")
        #expect(accepted.json["id"] as? String == id)
        #expect(accepted.json["acceptedAt"] as? String == "2026-11-23T09:05:00Z")
        let by = accepted.json["acceptedBy"] as? [String: Any] ?? [:]
        #expect(by["name"] as? String == "A. Day" && by["role"] as? String == "Day team manager")
        #expect(by["authority"] as? String == "E06000038")

        for (result, reason) in [
            (try acceptHandover(world, id), "already"),
            (try acceptHandover(world, id, at: "2099-01-01T09:00:00Z"), "in the future"),
            (try acceptHandover(world, id, authority: "E09000033"), "not E09000033's"),
            (try acceptHandover(world, "no-such-case"), "no case"),
        ] {
            #expect(result.status == 1 && result.standardError.contains(reason), "\(result.standardError)")
            #expect(result.standardOutput.isEmpty)
        }
        let help = try edt.run(["central", "case", "--help"])
        #expect(help.status == 0 && help.standardOutput.contains("accept-handover"))

        // The laptop that holds the case is sent the centre's acceptance, and drops its copy: the
        // centre holds the case and its day team has accepted it.
        let pulled = try sync(b, server.url)
        #expect(pulled.status == 0, "\(pulled.standardError)")
        #expect(count(pulled.json, "pulled") == 1, "\(pulled.standardOutput)")
        #expect(count(pulled.json, "purged") == 1, "\(pulled.standardOutput)")
        #expect(try ids(b).isEmpty)
        #expect(try edt.run(["referral", "show", "--store", b.store, id]).status == 1)
        let verified = try edt.run(["store", "verify", "--store", b.store, "--json"])
        #expect(verified.status == 0 && verified.json["intact"] as? Bool == true, "\(verified.standardOutput)")

        // A laptop syncing for the first time is not sent the accepted case, but is sent the others.
        let other = try capture(b, concern: "Child (9) found alone at Reading bus station.")
        #expect(try sync(b, server.url).status == 0)
        let c = try laptop(world, "edt-laptop-c")
        let first = try sync(c, server.url)
        #expect(first.status == 0, "\(first.standardError)")
        #expect(try ids(c) == [other])
    }

    @Test func anAcceptanceALaptopMadeIsRefusedAndNoLaptopMayBeEnrolledAsTheCentre() throws {
        let world = World()
        let server = try world.startCentral()
        let b = try laptop(world, "edt-laptop-b")
        let id = try capture(b)
        #expect(try sync(b, server.url).status == 0)
        let m = CraftedDevice()
        let enrolled = try edt.run([
            "central", "enroll", "--db", world.database.path, "--device", m.id, "--public-key", m.publicKey,
            "--authority", "E06000038",
        ])
        #expect(enrolled.status == 0, "\(enrolled.standardError)")

        // Its own acceptance, at its own dot, naming itself, signed with its own key.
        let record = try RecordID(id)
        let payload = try HandoverAcceptance.sign(
            [
                "authority": .string("E06000038"), "by": .string("A. Day"), "role": .string("Day team manager"),
                "at": .string("2027-03-29T09:05:00+01:00"), "recordedAt": .string("2027-03-29T09:05:00+01:00"),
                "device": .string(m.id),
            ], record: record
        ) { Array(try m.key.signature(for: $0)) }
        let part = Record(
            id: record, fields: [],
            entries: [
                try Entry(
                    dot: try Dot(try DeviceID(m.id), 1), kind: HandoverAcceptance.kind, payload: .object(payload))
            ])
        let centre = try centreIdentity(world)
        let (status, reply) = try post(
            pushBody([part], device: m.id, counter: 1, centre: centre, signer: m.key),
            authorization: try header(device: m, counter: 1, centre: centre), to: server.url, in: world.directory)
        #expect(status == 200, "\(reply)")
        #expect(reply.contains("NAK 1 \(id) forbidden "), "\(reply)")
        #expect(reply.contains("only the centre records a day team"), "\(reply)")
        #expect(try sync(b, server.url).json["pulled"] as? Int == 0, "nothing of the case changed")
        #expect(!(try shown(b, id).contains("handover-acceptance")))

        let centreNamed = try edt.run([
            "central", "enroll", "--db", world.database.path, "--device", "central.x", "--public-key",
            CraftedDevice().publicKey, "--authority", "E06000038",
        ])
        #expect(centreNamed.status == 1, "\(centreNamed.standardError)")
        #expect(centreNamed.standardError.contains("centre's own"), "\(centreNamed.standardError)")
    }
}
