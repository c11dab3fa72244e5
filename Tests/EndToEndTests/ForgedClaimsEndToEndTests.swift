import Crypto
import Foundation
import LineProtocol
import Replication
import TestSupport
import Testing

/// A dishonest enrolled device against its colleagues: it signs its own requests and bundles
/// correctly, but what it sends claims another laptop's writes. A context claiming laptop B's
/// writes up to the largest counter, a value stamped with B's dot, entries forged at B's next
/// dots: each is refused (`NAK unseen-writes`, `NAK unproven-write`, or a bundle's refusal),
/// nothing of it is merged, and B's later edits and decisions reach everyone, with equal digests.
extension SyncEndToEndTests {
    /// A part of case `id` whose `concern` is `value`, written at `dot`, with `context`.
    func forgedConcern(_ id: String, value: String, dot: Dot, context: VersionVector) throws -> Record {
        let register = MultiValueRegister(
            sibling: .init(dot: dot, value: .string(value)), context: context)
        return Record(
            id: try RecordID(id), fields: [Record.Field(path: try FieldPath("concern"), register: register)],
            entries: [])
    }

    /// A part of case `id` holding decisions forged at `device`'s counters `counters`.
    func forgedDecisions(_ id: String, device: String, counters: ClosedRange<UInt64>) throws -> Record {
        let entries = try counters.map { counter in
            try Entry(
                dot: try Dot(try DeviceID(device), counter), kind: "decision",
                payload: .object([
                    "text": .string("No further action."), "by": .string("Nobody"), "device": .string(device),
                    "at": .string("2026-11-28T03:00:00Z"), "role": .string("EDT social worker"),
                ]))
        }
        return Record(id: try RecordID(id), fields: [], entries: entries)
    }

    /// The centre's identity (hex), as a request must name it.
    func centreIdentity(_ world: World) throws -> String {
        let identity = try edt.run(["central", "identity", "--db", world.database.path])
        let key = try #require(
            Data(base64Encoded: identity.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
        return SyncContract.centreIdentity(publicKey: Array(key))
    }

    /// The centre's certificate of `device`'s key (hex), as the header of a reply to its request
    /// `counter` carries it.
    func certificate(of device: CraftedDevice, counter: UInt64, world: World, server: ServerProcess) throws -> String {
        let centre = try centreIdentity(world)
        let (status, reply) = try post(
            pushBody([], device: device.id, counter: counter, centre: centre, signer: device.key),
            authorization: try header(device: device, counter: counter, centre: centre), to: server.url,
            in: world.directory)
        #expect(status == 200, "\(reply)")
        let header = reply.prefix { $0 != "\n" }
        let token = try #require(header.split(separator: " ").first { $0.hasPrefix("cert=") })
        return String(token.dropFirst(5))
    }

    /// `edt referral show --json` of case `id` on `laptop`.
    func shown(_ laptop: Laptop, _ id: String) throws -> String {
        try edt.run(["referral", "show", "--store", laptop.store, id, "--json"]).standardOutput
    }

    @Test func forgedClaimsOnAColleaguesCaseAreRefusedAndTheColleaguesLaterWorkReachesEveryone() throws {
        let world = World()
        let server = try world.startCentral()
        let centre = try centreIdentity(world)
        let b = try laptop(world, "edt-laptop-b")
        let c = try laptop(world, "edt-laptop-c")
        let m = CraftedDevice()
        let enrolled = try edt.run([
            "central", "enroll", "--db", world.database.path, "--device", m.id, "--public-key", m.publicKey,
            "--authority", "E06000038",
        ])
        #expect(enrolled.status == 0, "\(enrolled.standardError)")
        let id = try capture(b)
        #expect(try sync(b, server.url).status == 0)
        #expect(try sync(c, server.url).status == 0)
        let mine = try DeviceID(m.id)

        // 1. A context claiming every write laptop B will ever make to the field.
        var claimsAll = VersionVector()
        claimsAll.raise(try DeviceID(b.device), to: Dot.maximumCounter)
        claimsAll.raise(mine, to: 1)
        let everything = try forgedConcern(
            id, value: "Nothing to worry about.", dot: try Dot(mine, 1), context: claimsAll)
        // 2. A value stamped with laptop B's dot.
        var asB = VersionVector()
        asB.raise(try DeviceID(b.device), to: 1_000)
        let stampedAsB = try forgedConcern(
            id, value: "Child returned home.", dot: try Dot(try DeviceID(b.device), 1_000), context: asB)
        // 3. Decisions at every one of laptop B's next hundred dots.
        let decisions = try forgedDecisions(id, device: b.device, counters: 1...100)
        for (counter, (part, reason)) in zip(
            UInt64(1)...,
            [(everything, "unseen-writes"), (stampedAsB, "unproven-write"), (decisions, "unproven-write")])
        {
            let body = pushBody([part], device: m.id, counter: counter, centre: centre, signer: m.key)
            let (status, reply) = try post(
                body, authorization: try header(device: m, counter: counter, centre: centre), to: server.url,
                in: world.directory)
            #expect(status == 200, "\(reply)")
            #expect(reply.contains("NAK 1 \(id) \(reason) "), "\(reason): \(reply)")
        }

        // Laptop B goes on working on its case: an edit of the field and a decision.
        let edited = try edt.run([
            "referral", "set", "--store", b.store, id, "concern", "\"Child (7) found alone; mother now reached.\"",
        ])
        #expect(edited.status == 0, "\(edited.standardError)")
        let decided = try edt.run([
            "referral", "note", "--store", b.store, id, "--kind", "decision", "--text",
            "Place with grandmother tonight.",
            "--by", "J. Okafor", "--role", "EDT social worker",
        ])
        #expect(decided.status == 0, "\(decided.standardError)")
        #expect(try sync(b, server.url).status == 0)
        #expect(try sync(c, server.url).status == 0)
        let onC = try shown(c, id)
        #expect(onC.contains("mother now reached"), "B's edit reached C: \(onC)")
        #expect(onC.contains("Place with grandmother tonight."), "B's decision reached C: \(onC)")
        #expect(!onC.contains("Nothing to worry about"))
        #expect(!onC.contains("Child returned home"))
        #expect(!onC.contains("No further action"))
        #expect(try digest(b) == digest(c))
    }

    @Test func aBundleOfForgedClaimsIsRefusedAndAnotherDevicesNameCannotBeBorrowed() throws {
        let world = World()
        let server = try world.startCentral()
        let b = try laptop(world, "edt-laptop-b")
        let c = try laptop(world, "edt-laptop-c")
        let id = try capture(b)
        #expect(try sync(b, server.url).status == 0)
        #expect(try sync(c, server.url).status == 0)
        let m = CraftedDevice()
        let mine = try DeviceID(m.id)
        let enrolled = try edt.run([
            "central", "enroll", "--db", world.database.path, "--device", m.id, "--public-key", m.publicKey,
            "--authority", "E06000038",
        ])
        #expect(enrolled.status == 0, "\(enrolled.standardError)")
        // M is an enrolled device: the centre vouches for its key, so its bundles are taken as M's.
        let certificateOfM = try certificate(of: m, counter: 1, world: world, server: server)

        func bundle(
            _ records: [Record], device: String, key: [UInt8], signer: Curve25519.Signing.PrivateKey
        )
            -> String
        {
            let header = Header(
                kind: .bundle,
                parameters: [
                    (Header.deviceParameter, device), (Header.keyParameter, Hex.encode(key)),
                    (Header.certificateParameter, certificateOfM),
                ])
            var messages: [Message] = [.delta(base: VersionVector(), knowledge: VersionVector())]
            messages += records.map(Message.record)
            return String(
                decoding: StreamEncoder.encode(header: header, messages: messages, signer: StreamSigner(key: signer)),
                as: UTF8.self)
        }
        let mKey = Array(m.key.publicKey.rawRepresentation)
        var claimsAll = VersionVector()
        claimsAll.raise(try DeviceID(b.device), to: Dot.maximumCounter)
        claimsAll.raise(mine, to: 1)
        let forgedContext = try forgedConcern(
            id, value: "Nothing to worry about.", dot: try Dot(mine, 1), context: claimsAll)
        let forgedEntries = try forgedDecisions(id, device: b.device, counters: 1...100)
        let before = try digest(c)
        for (part, reason) in [(forgedContext, "unseen-writes"), (forgedEntries, "unproven-write")] {
            let imported = try edt.run(
                ["bundle", "import", "--store", c.store, "--json"],
                input: bundle([part], device: m.id, key: mKey, signer: m.key))
            #expect(imported.status == 0, "\(imported.standardError)")
            #expect(count(imported.json, "applied") == 0, "\(imported.standardOutput)")
            #expect(count(imported.json, "rejected") == 1, "\(imported.standardOutput)")
            let refusals = imported.json["refusals"] as? [[String: Any]] ?? []
            #expect(refusals.compactMap { $0["reason"] as? String } == [reason], "\(imported.standardOutput)")
            #expect(refusals.compactMap { $0["id"] as? String } == [id])
            #expect(try digest(c) == before, "nothing of the forged bundle was merged")
        }

        // B's genuine bundle is taken; a bundle naming B, signed by M's key (under M's certificate),
        // is refused: the centre vouches for M's key as M's, not B's.
        #expect(try sync(b, server.url).status == 0, "B's certificate comes with a reply")
        let edited = try edt.run(["referral", "set", "--store", b.store, id, "concern", "\"Mother now reached.\""])
        #expect(edited.status == 0, "\(edited.standardError)")
        let genuine = try edt.run(["bundle", "export", "--store", b.store])
        #expect(
            try edt.run(["bundle", "import", "--store", c.store, "--json"], input: genuine.standardOutput).status == 0)
        let posing = try edt.run(
            ["bundle", "import", "--store", c.store, "--json"],
            input: bundle(
                [try forgedDecisions(id, device: b.device, counters: 900...901)], device: b.device, key: mKey,
                signer: m.key))
        #expect(posing.status == 1, "\(posing.standardOutput)")
        #expect(posing.standardError.contains("bad-signature"), "\(posing.standardError)")
        #expect(posing.standardError.contains("does not vouch"), "\(posing.standardError)")

        // B's edit came through the genuine bundle; after syncing, every copy agrees.
        #expect(try shown(c, id).contains("Mother now reached."))
        #expect(try sync(b, server.url).status == 0)
        #expect(try sync(c, server.url).status == 0)
        #expect(try digest(b) == digest(c))
        #expect(!(try shown(c, id)).contains("No further action"))
    }
}

/// Writes carried by hand reach the centre with their author's proof: a laptop that imported a
/// colleague's bundle relays it, as signed, before it pushes its own records, which hold those
/// writes too.
extension SyncEndToEndTests {
    @Test func aColleaguesBundleIsRelayedSoItsWritesReachTheCentreWithTheirAuthorsProof() throws {
        let world = World()
        let server = try world.startCentral()
        let a = try laptop(world, "edt-laptop-a")
        let b = try laptop(world, "edt-laptop-b")
        let c = try laptop(world, "edt-laptop-c")
        // A synced once at the office (its certificate came with the reply); then, with no
        // network, its referral goes to B on a USB stick, and B works on it.
        #expect(try sync(a, server.url).status == 0)
        let id = try capture(a)
        let carried = try edt.run(["bundle", "export", "--store", a.store])
        let imported = try edt.run(["bundle", "import", "--store", b.store, "--json"], input: carried.standardOutput)
        #expect(count(imported.json, "applied") == 1, "\(imported.standardOutput)")
        let edited = try edt.run(["referral", "set", "--store", b.store, id, "concern", "\"Seen by B at 04:00.\""])
        #expect(edited.status == 0, "\(edited.standardError)")

        let synced = try sync(b, server.url)
        #expect(synced.status == 0, "\(synced.standardError)")
        #expect(count(synced.json, "relayed") == 1, "\(synced.standardOutput)")
        #expect(count(synced.json, "rejected") == 0, "\(synced.standardOutput)")
        #expect(count(synced.json, "pushed") == 1, "\(synced.standardOutput)")
        // Relayed once: the next sync has nothing to relay.
        #expect(count(try sync(b, server.url).json, "relayed") == 0)

        #expect(try sync(c, server.url).status == 0)
        #expect(try shown(c, id).contains("Seen by B at 04:00."))
        #expect(try sync(a, server.url).status == 0)
        #expect(try digest(a) == digest(b))
        #expect(try digest(b) == digest(c))
    }

    @Test func aRevokedDevicesBundleIsNotRelayedAndItsWritesStayPending() throws {
        let world = World()
        let server = try world.startCentral()
        let lost = try laptop(world, "edt-laptop-s")
        let b = try laptop(world, "edt-laptop-b")
        #expect(try sync(lost, server.url).status == 0)
        let id = try capture(lost)
        let carried = try edt.run(["bundle", "export", "--store", lost.store])
        let imported = try edt.run(["bundle", "import", "--store", b.store, "--json"], input: carried.standardOutput)
        #expect(count(imported.json, "applied") == 1, "\(imported.standardOutput)")
        // The laptop is reported lost and revoked before B syncs.
        #expect(try edt.run(["central", "revoke", "--db", world.database.path, "--device", lost.device]).status == 0)

        let synced = try sync(b, server.url)
        #expect(synced.status == 0, "\(synced.standardError)")
        #expect(count(synced.json, "relayed") == 0, "\(synced.standardOutput)")
        let relayRefusals = synced.json["relayRefusals"] as? [String] ?? []
        #expect(relayRefusals.count == 1, "\(synced.standardOutput)")
        #expect(relayRefusals.first?.contains("revoked") == true, "\(synced.standardOutput)")
        // B's copy of the case carries writes only their revoked author could prove: refused, and
        // kept on B, flagged, pending.
        let refusals = synced.json["refusals"] as? [[String: Any]] ?? []
        #expect(refusals.map { $0["reason"] as? String } == ["unproven-write"], "\(synced.standardOutput)")
        #expect(refusals.map { $0["id"] as? String } == [id])
        #expect(try !centreHolds(id, world: world))
        #expect(try ids(b) == [id])
        // The refused bundle is forgotten: the next sync does not send it again.
        let again = try sync(b, server.url)
        #expect((again.json["relayRefusals"] as? [String] ?? []).isEmpty, "\(again.standardOutput)")
    }
}
