import Crypto
import Foundation
import LineProtocol
import Replication
import TestSupport
import Testing

@Suite("edt on the laptop, end to end", .serialized)
struct LaptopCommandTests {
    let edt = EDTProcess()

    func makeStore(_ directory: URL, device: String = "edt-laptop-a") throws -> String {
        let store = directory.appendingPathComponent(device).path
        let result = try edt.run(["init", "--store", store, "--device", device, "--authority", "E06000038", "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.json["device"] as? String == device)
        #expect(Data(base64Encoded: result.json["publicKey"] as? String ?? "")?.count == 32)
        return store
    }

    func digest(_ store: String) throws -> String {
        try edt.run(["store", "digest", "--store", store]).standardOutput.trimmingCharacters(
            in: .whitespacesAndNewlines)
    }

    @Test(arguments: [
        ["--help"], ["init", "--help"], ["referral", "--help"], ["referral", "new", "--help"],
        ["referral", "import", "--help"],
        ["referral", "set", "--help"], ["referral", "resolve", "--help"], ["referral", "note", "--help"],
        ["referral", "show", "--help"], ["referral", "list", "--help"], ["referral", "schema", "--help"],
        ["referral", "forward", "--help"], ["central", "case", "--help"], ["central", "backup", "--help"],
        ["central", "peer", "--help"], ["central", "peer", "add", "--help"],
        ["bundle", "export", "--help"], ["bundle", "import", "--help"], ["store", "digest", "--help"],
        ["store", "verify", "--help"], ["store", "centre-key", "--help"],
        ["demo", "--help"],
        ["sync", "--help"], ["central", "--help"], ["central", "serve", "--help"], ["central", "enroll", "--help"],
        ["central", "revoke", "--help"], ["central", "devices", "--help"],
    ])
    func everyCommandHasHelp(_ arguments: [String]) throws {
        let result = try edt.run(arguments)
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("USAGE") || result.standardOutput.contains("Usage"))
    }

    @Test func initRefusesAStoreThatExistsAndBadUsage() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try makeStore(directory)
        let again = try edt.run(["init", "--store", store, "--device", "x", "--authority", "E06000038"])
        #expect(again.status == 1)
        #expect(again.standardError.hasPrefix("error: "))
        #expect(
            try edt.run(["init", "--store", store + "2", "--device", "bad id", "--authority", "E06000038"]).status == 2)
        #expect(try edt.run(["init", "--store", store + "3", "--device", "x", "--authority", "Reading"]).status == 2)
        #expect(
            try edt.run(["referral", "list", "--store", store], environment: ["EDT_PASSPHRASE": "wrong"]).status == 1)
        #expect(try edt.run(["referral", "frobnicate"]).status == 2)
    }

    @Test func captureShowListSetNote() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try makeStore(directory)
        let created = try edt.run(["referral", "new", "--store", store, "--json"], input: minimalReferral)
        #expect(created.status == 0, "\(created.standardError)")
        let id = try #require(created.json["id"] as? String)
        let gaps = try #require(created.json["gaps"] as? [String])
        #expect(gaps.contains("homeAuthority"))
        #expect(gaps.contains("children.c1.dateOfBirth"))

        let list = try edt.run(["referral", "list", "--store", store, "--json"])
        let referrals = try #require(list.json["referrals"] as? [[String: Any]])
        #expect(referrals.count == 1)
        let verified = try edt.run(["store", "verify", "--store", store, "--json"])
        #expect(verified.status == 0, "\(verified.standardError)")
        #expect(verified.json["intact"] as? Bool == true && verified.json["records"] as? Int == 1)
        #expect(referrals.first?["id"] as? String == id)
        #expect(referrals.first?["hostAuthority"] as? String == "E06000038")
        #expect(referrals.first?["receivedAt"] as? String == "2027-03-27T02:10:00Z")
        #expect(referrals.first?["conflicts"] as? Int == 0)

        #expect(try edt.run(["referral", "set", "--store", store, id, "referrer.phone", "07700 900999"]).status == 0)
        #expect(try edt.run(["referral", "set", "--store", store, id, "immediateProtection", "true"]).status == 0)
        let badSet = try edt.run(["referral", "set", "--store", store, id, "children.c1.nhsNumber", "9434765918"])
        #expect(badSet.status == 1)
        #expect(badSet.standardError.contains("Modulus 11"))
        #expect(
            try edt.run(["referral", "set", "--store", store, id, "referrer.anonymityRequested", "true"]).status == 1,
            "a professional's referral can never be anonymous")
        #expect(try edt.run(["referral", "set", "--store", store, id, "nonsense", "1"]).status == 1)
        #expect(
            try edt.run(["referral", "resolve", "--store", store, id, "concern", "x"]).status == 1, "not in conflict")

        let note = try edt.run([
            "referral", "note", "--store", store, id, "--kind", "decision", "--text", "Strategy discussion at 09:00",
            "--by", "J. Okafor", "--role", "EDT social worker", "--json",
        ])
        #expect(note.status == 0, "\(note.standardError)")
        let noteDot = try #require(note.json["dot"] as? String)
        #expect(
            try edt.run(["referral", "note", "--store", store, id, "--kind", "note", "--text", "x"]).status == 1,
            "who is required")
        let correction = try edt.run([
            "referral", "note", "--store", store, id, "--kind", "correction", "--text", "It was 10:00",
            "--corrects", noteDot, "--by", "J. Okafor", "--role", "EDT social worker",
        ])
        #expect(correction.status == 0, "\(correction.standardError)")

        let show = try edt.run(["referral", "show", "--store", store, id, "--json"])
        #expect(show.status == 0)
        let document = try #require(show.json["document"] as? [String: Any])
        #expect(document["concern"] as? String == "Child (7) found alone at Reading station.")
        #expect((document["referrer"] as? [String: Any])?["phone"] as? String == "07700 900999")
        #expect(document["immediateProtection"] as? Bool == true)
        #expect((show.json["conflicts"] as? [Any])?.isEmpty == true)
        let entries = try #require(show.json["entries"] as? [[String: Any]])
        // Setting the referrer's phone replaced a value: that is kept as a signed replacement entry.
        #expect(entries.map { $0["kind"] as? String } == ["replacement", "decision", "correction"])
        #expect(
            entries.allSatisfy { $0["signature"] as? String == "valid" },
            "each entry made here verifies against this device's key")
        let decision = try #require(entries[1]["payload"] as? [String: Any])
        #expect(decision["by"] as? String == "J. Okafor")
        #expect(decision["role"] as? String == "EDT social worker")
        #expect((decision["signature"] as? String)?.hasPrefix("ed25519:") == true)
        #expect((entries.last?["payload"] as? [String: Any])?["corrects"] as? String == noteDot)
    }

    /// What a command prints that cannot be written (stdout on a full disk) fails the command,
    /// exit 3, said so: never exit 0 with a cut or missing document. A change made before the
    /// printing stands, and the message says so.
    @Test func aStandardOutputThatCannotBeWrittenFailsTheCommand() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try makeStore(directory)
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        let created = try edt.run(
            ["referral", "new", "--store", store, "--json"], input: minimalReferral, outputFile: full)
        #expect(created.status == 3, "\(created.standardError)")
        #expect(
            created.standardError.contains("the standard output cannot be written (No space left on device)"),
            "\(created.standardError)")
        #expect(created.standardError.contains("changed before printing stands"))
        let list = try edt.run(["referral", "list", "--store", store, "--json"])
        #expect((list.json["referrals"] as? [[String: Any]])?.count == 1, "the referral was stored before printing")
        let listed = try edt.run(["referral", "list", "--store", store, "--json"], outputFile: full)
        #expect(listed.status == 3 && listed.standardError.hasPrefix("error: the standard output cannot be written"))
    }

    @Test func refusedInputChangesNothing() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try makeStore(directory)
        let before = try digest(store)
        let invalid = minimalReferral.replacingOccurrences(of: "\"phone\",", with: "\"fax\",")
        let refused = try edt.run(["referral", "new", "--store", store], input: invalid)
        #expect(refused.status == 1)
        #expect(refused.standardError.hasPrefix("error: channel"))
        let unknown = try edt.run(
            ["referral", "new", "--store", store],
            input: minimalReferral.replacingOccurrences(of: "\"concern\"", with: "\"concerns\""))
        #expect(unknown.status == 1)
        #expect(unknown.standardError.contains("concern"))
        #expect(try edt.run(["referral", "new", "--store", store], input: "{not json").status == 1)
        let otherAuthority = try edt.run(
            ["referral", "new", "--store", store],
            input: minimalReferral.replacingOccurrences(of: "E06000038", with: "E08000018"))
        #expect(otherAuthority.status == 1, "this device does not serve that authority")
        #expect(try digest(store) == before)

        // JSON Lines import: all or nothing, naming the bad line.
        let good = minimalReferral.replacingOccurrences(of: "\n", with: " ")
        let file = directory.appendingPathComponent("batch.jsonl")
        try [good, good, invalid.replacingOccurrences(of: "\n", with: " "), good].joined(separator: "\n").write(
            to: file, atomically: true, encoding: .utf8)
        let batch = try edt.run(["referral", "import", "--store", store, "--file", file.path, "--json"])
        #expect(batch.status == 1)
        #expect(batch.standardError.contains("line 3"))
        #expect(try digest(store) == before)
        try [good, "", good].joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let imported = try edt.run(["referral", "import", "--store", store, "--file", file.path, "--json"])
        #expect(imported.json["imported"] as? Int == 2)
    }

    @Test func twoLaptopsDivergeAndMergeThroughBundles() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let a = try makeStore(directory, device: "edt-laptop-a")
        let b = try makeStore(directory, device: "edt-laptop-b")
        let id = try #require(
            try edt.run(["referral", "new", "--store", a, "--json"], input: minimalReferral).json["id"] as? String)
        let first = directory.appendingPathComponent("first.edtlp").path
        #expect(try edt.run(["bundle", "export", "--store", a, "--out", first]).status == 0)
        let imported = try edt.run(["bundle", "import", "--store", b, "--in", first, "--json"])
        #expect(imported.json["applied"] as? Int == 1)
        #expect(imported.json["rejected"] as? Int == 0)
        #expect(
            try edt.run(["bundle", "import", "--store", b, "--in", first, "--json"]).json["applied"] as? Int == 0,
            "idempotent")

        // Both edit offline: one field on both sides, other fields on one side each.
        #expect(
            try edt.run(["referral", "set", "--store", a, id, "children.c1.location", "Foster carer, Oak Road"]).status
                == 0)
        #expect(try edt.run(["referral", "set", "--store", a, id, "homeAuthority", "E06000039"]).status == 0)
        #expect(
            try edt.run(["referral", "set", "--store", b, id, "children.c1.location", "Grandmother, Slough"]).status
                == 0)
        #expect(try edt.run(["referral", "set", "--store", b, id, "referrer.phone", "07700 900999"]).status == 0)

        let fromA = directory.appendingPathComponent("a.edtlp").path
        let fromB = directory.appendingPathComponent("b.edtlp").path
        #expect(try edt.run(["bundle", "export", "--store", a, "--out", fromA]).status == 0)
        #expect(try edt.run(["bundle", "export", "--store", b, "--out", fromB]).status == 0)
        #expect(try edt.run(["bundle", "import", "--store", a, "--in", fromB]).status == 0)
        #expect(try edt.run(["bundle", "import", "--store", b, "--in", fromA]).status == 0)
        #expect(try digest(a) == digest(b))

        for store in [a, b] {
            let show = try edt.run(["referral", "show", "--store", store, id, "--json"])
            let conflicts = try #require(show.json["conflicts"] as? [[String: Any]])
            #expect(conflicts.count == 1)
            #expect(conflicts.first?["path"] as? String == "children.c1.location")
            #expect(
                Set(conflicts.first?["values"] as? [String] ?? []) == ["Foster carer, Oak Road", "Grandmother, Slough"])
            let document = try #require(show.json["document"] as? [String: Any])
            #expect(document["homeAuthority"] as? String == "E06000039")
            #expect((document["referrer"] as? [String: Any])?["phone"] as? String == "07700 900999")
            let child = (document["children"] as? [[String: Any]])?.first
            #expect(child?["location"] == nil, "the conflicted value is not chosen silently")
            #expect(
                try edt.run(["referral", "list", "--store", store, "--json"]).standardOutput.contains("\"conflicts\":1")
            )
            #expect(try edt.run(["referral", "set", "--store", store, id, "children.c1.location", "x"]).status == 1)
        }

        // A resolution on B replicates to A.
        let resolved = try edt.run([
            "referral", "resolve", "--store", b, id, "children.c1.location", "Grandmother, Slough (agreed)",
            "--by", "A. Day", "--role", "Team manager",
        ])
        #expect(resolved.status == 0, "\(resolved.standardError)")
        let afterResolution = directory.appendingPathComponent("resolved.edtlp").path
        #expect(try edt.run(["bundle", "export", "--store", b, "--out", afterResolution]).status == 0)
        #expect(try edt.run(["bundle", "import", "--store", a, "--in", afterResolution]).status == 0)
        #expect(try digest(a) == digest(b))
        let show = try edt.run(["referral", "show", "--store", a, id, "--json"])
        #expect((show.json["conflicts"] as? [Any])?.isEmpty == true)
        let child = ((show.json["document"] as? [String: Any])?["children"] as? [[String: Any]])?.first
        #expect(child?["location"] as? String == "Grandmother, Slough (agreed)")
        let entries = try #require(show.json["entries"] as? [[String: Any]])
        #expect(entries.contains { $0["kind"] as? String == "resolution" })
    }

    @Test func recordsFailingTheSchemaAreRejectedAndTheRestMerged() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try makeStore(directory, device: "edt-laptop-b")
        let sender = try DeviceID("edt-laptop-x")
        var replica = Replica(device: sender)
        let good = try RecordID("good-case")
        let bad = try RecordID("bad-case")
        replica.write(.string("Child alone at the station"), to: try FieldPath("concern"), in: good)
        replica.write(.string("9434765918"), to: try FieldPath("children.c1.nhsNumber"), in: bad)  // fails Modulus 11
        let unknown = try RecordID("unknown-authority-case")
        replica.write(.string("E06000999"), to: try FieldPath("hostAuthority"), in: unknown)  // no such authority
        let key = Curve25519.Signing.PrivateKey()
        let encoder = StreamEncoder(
            header: Header(
                kind: .bundle,
                parameters: [("device", sender.rawValue), ("key", Hex.encode(Array(key.publicKey.rawRepresentation)))]),
            signer: StreamSigner(key: key))
        encoder.append(replica.delta(since: VersionVector()))
        let bundle = String(decoding: encoder.finish(), as: UTF8.self)

        let first = try edt.run(["bundle", "import", "--store", store, "--json"], input: bundle)
        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.json["applied"] as? Int == 1)
        #expect(first.json["rejected"] as? Int == 2)
        let list = try edt.run(["referral", "list", "--store", store, "--json"]).standardOutput
        #expect(list.contains("good-case"))
        #expect(!list.contains("bad-case"), "a rejected record is not merged")
        #expect(!list.contains("unknown-authority-case"), "a case naming an unknown authority is not merged")
        let export = try edt.run(["bundle", "export", "--store", store]).standardOutput
        #expect(
            export.contains("DELTA 1 base=- knowledge=-\n"),
            "the sender's version vector must not be adopted: \(export.prefix(120))")
        // The bundle's version vector was not adopted, so the rejected record is still asked for
        // next time: importing again rejects it again rather than forgetting it.
        let again = try edt.run(["bundle", "import", "--store", store, "--json"], input: bundle)
        #expect(again.json["applied"] as? Int == 0)
        #expect(again.json["rejected"] as? Int == 2)
    }

    @Test func aBundlesClaimedKnowledgeIsNeverAdopted() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try makeStore(directory, device: "edt-laptop-b")
        // A bundle from another device whose DELTA claims far more than it carries: every write
        // of edt-laptop-a up to 1,000,000 and of edt-laptop-b (the importer) up to 5,000.
        let sender = try DeviceID("edt-laptop-x")
        var replica = Replica(device: sender)
        let id = try RecordID("carried-case")
        replica.write(.string("Child alone at the station"), to: try FieldPath("concern"), in: id)
        let key = Curve25519.Signing.PrivateKey()
        let encoder = StreamEncoder(
            header: Header(
                kind: .bundle,
                parameters: [("device", sender.rawValue), ("key", Hex.encode(Array(key.publicKey.rawRepresentation)))]),
            signer: StreamSigner(key: key))
        let inflated = try #require(Notation.vector("edt-laptop-a:1000000,edt-laptop-b:5000,edt-laptop-x:1"))
        encoder.append(
            Delta(base: VersionVector(), knowledge: inflated, records: replica.delta(since: VersionVector()).records))
        let imported = try edt.run(
            ["bundle", "import", "--store", store, "--json"], input: String(decoding: encoder.finish(), as: UTF8.self))
        #expect(imported.status == 0, "\(imported.standardError)")
        #expect(imported.json["applied"] as? Int == 1)
        let vector = try edt.run(["store", "vector", "--store", store]).standardOutput
        #expect(
            !vector.contains("edt-laptop-a"), "the claim is the sender's word, not what this laptop holds: \(vector)")
        #expect(!vector.contains("edt-laptop-b:5000"), "\(vector)")
        // This laptop's own writes go on from its own counter.
        #expect(try edt.run(["referral", "new", "--store", store], input: minimalReferral).status == 0)
        #expect(try edt.run(["store", "vector", "--store", store]).standardOutput.contains("edt-laptop-b:"))
    }

    @Test func aDamagedBundleChangesNothing() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let a = try makeStore(directory, device: "edt-laptop-a")
        let b = try makeStore(directory, device: "edt-laptop-b")
        for _ in 0..<3 { _ = try edt.run(["referral", "new", "--store", a], input: minimalReferral) }
        let bundle = try edt.run(["bundle", "export", "--store", a])
        #expect(bundle.standardOutput.hasPrefix("EDTLP 2.0 bundle device=edt-laptop-a key="))
        let before = try digest(b)
        let truncated = String(bundle.standardOutput.dropLast(30))
        let refused = try edt.run(["bundle", "import", "--store", b], input: truncated)
        #expect(refused.status == 1)
        #expect(refused.standardError.contains("truncated"))
        let corrupted = bundle.standardOutput.replacingOccurrences(of: "Reading station", with: "Readinh station")
        // Altered in a record: the exporting laptop's signature no longer verifies.
        #expect(
            try edt.run(["bundle", "import", "--store", b], input: corrupted).standardError.contains("bad-signature"))
        #expect(try digest(b) == before)
        let whole = try edt.run(["bundle", "import", "--store", b, "--json"], input: bundle.standardOutput)
        #expect(whole.json["applied"] as? Int == 3)
        #expect(try digest(b) == digest(a))
    }
}

@Suite("edt referral new on a terminal")
struct PromptTests {
    /// `referral new` with no file on a terminal asks field by field, re-asks bad answers, and
    /// saves what was given. The terminal is a pseudo-terminal made by `script` (util-linux).
    @Test func promptsFieldByFieldAndReasksBadAnswers() throws {
        let script = URL(fileURLWithPath: "/usr/bin/script")
        try #require(FileManager.default.isExecutableFile(atPath: script.path), "needs script(1) from bsdutils")
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let edt = EDTProcess()
        let store = directory.appendingPathComponent("store").path
        #expect(
            try edt.run(["init", "--store", store, "--device", "edt-laptop-a", "--authority", "E06000038"]).status == 0)

        let answers =
            [
                "2027-03-27T02:10", "2027-03-27T02:10:00Z",  // first answer lacks an offset: asked again
                "Sam Patel", "EDT social worker", "", "", "Toddler heard crying alone for hours",
                "maybe", "true",  // not a boolean: asked again
                "", "",  // child safe now, home authority: skipped
                "Tom Brown", "2024-02-30", "2024-02-28",  // 30 February: asked again
                "", "", "", "", "",
            ].joined(separator: "\n") + "\n"
        let session = try edt.run(
            ["-qec", "\(EDTProcess.binary.path) referral new --store \(store)", "/dev/null"],
            input: answers, environment: ["TERM": "dumb"], executable: script)
        let transcript = session.standardOutput + session.standardError
        #expect(session.status == 0, "\(transcript)")
        #expect(transcript.contains("receivedAt: must be an ISO 8601 instant"))
        #expect(transcript.contains("immediateProtection: must be true or false"))
        #expect(transcript.contains("children.c1.dateOfBirth: must be a date"))
        #expect(transcript.contains("Saved referral"))

        let list = try edt.run(["referral", "list", "--store", store, "--json"])
        let id = try #require((list.json["referrals"] as? [[String: Any]])?.first?["id"] as? String)
        let show = try edt.run(["referral", "show", "--store", store, id, "--json"])
        let document = try #require(show.json["document"] as? [String: Any])
        #expect(document["concern"] as? String == "Toddler heard crying alone for hours")
        #expect(document["receivedAt"] as? String == "2027-03-27T02:10:00Z")
        #expect(document["immediateProtection"] as? Bool == true)
        #expect(document["hostAuthority"] as? String == "E06000038")
        #expect((document["children"] as? [[String: Any]])?.first?["dateOfBirth"] as? String == "2024-02-28")
    }
}

extension LaptopCommandTests {
    @Test func aCentreKeyIsCheckedBeforeAnythingChanges() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A bad key on init: refused, and no store is left behind.
        let store = directory.appendingPathComponent("fresh").path
        let refused = try edt.run([
            "init", "--store", store, "--device", "edt-laptop-a", "--authority", "E06000038", "--centre-key",
            "not-a-key",
        ])
        #expect(refused.status == 1)
        #expect(refused.standardError.contains("is not a centre's key"), "\(refused.standardError)")
        #expect(!FileManager.default.fileExists(atPath: store + "/replica.sqlite"))

        let made = try makeStore(directory, device: "edt-laptop-b")
        let none = try edt.run(["store", "centre-key", "--store", made, "--json"])
        #expect(none.status == 0)
        #expect(none.json["centreKey"] is NSNull)
        #expect((none.json["peerCentres"] as? [Any])?.isEmpty == true, "no peer centre vouched for yet")
        let bad = try edt.run(["store", "centre-key", "--store", made, "AAAA"])
        #expect(bad.status == 1)
        let key = Data(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation).base64EncodedString()
        #expect(try edt.run(["store", "centre-key", "--store", made, key]).status == 0)
        #expect(try edt.run(["store", "centre-key", "--store", made, "--json"]).json["centreKey"] as? String == key)
        // A second bad key leaves the recorded one as it was.
        #expect(try edt.run(["store", "centre-key", "--store", made, "AAAA"]).status == 1)
        #expect(try edt.run(["store", "centre-key", "--store", made]).standardOutput.contains(key))
    }
}

extension LaptopCommandTests {
    @Test func howLongAcceptedCasesAreKeptIsSetAndShown() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let made = try makeStore(directory, device: "edt-laptop-a")
        let unset = try edt.run(["store", "keep-accepted", "--store", made, "--json"])
        #expect(unset.status == 0, "\(unset.standardError)")
        #expect(unset.json["keepAcceptedDays"] as? Int == 0)
        #expect(try edt.run(["store", "keep-accepted", "--store", made]).standardOutput.contains("at the next sync"))
        #expect(try edt.run(["store", "keep-accepted", "--store", made, "--days", "-1"]).status == 2)
        #expect(try edt.run(["store", "keep-accepted", "--store", made, "--days", "3651"]).status == 2)
        let set = try edt.run(["store", "keep-accepted", "--store", made, "--days", "7", "--json"])
        #expect(set.json["keepAcceptedDays"] as? Int == 7)
        #expect(
            try edt.run(["store", "keep-accepted", "--store", made]).standardOutput.contains(
                "7 days after their acceptance"))
        #expect(try edt.run(["store", "verify", "--store", made, "--json"]).json["intact"] as? Bool == true)
    }
}
