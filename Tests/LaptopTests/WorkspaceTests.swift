import Foundation
import Laptop
import LineProtocol
import Referrals
import Replication
import TestSupport
import Testing

/// A workspace on a real encrypted store in a temporary directory, with a fixed clock.
struct Bench {
    static let clock = FixedClock(Instant(iso8601: "2027-03-27T02:30:00Z")!)
    static let minimal =
        #"{"receivedAt":"2027-03-27T02:10:00Z","receivedBy":{"name":"J. Okafor","role":"EDT social worker"},"hostAuthority":"E06000038","channel":"phone","concern":"Child alone at the station.","children":[{"id":"c1","location":"BTP office"}]}"#
    static let worker = try! ReferralEntry.Author(name: "J. Okafor", role: "EDT social worker")

    let directory = temporaryDirectory()

    func workspace(
        _ name: String = "a", authorities: [String] = ["E06000038"], clock: any InstantSource = Bench.clock
    ) throws -> Workspace {
        try Workspace.create(
            at: directory.appendingPathComponent(name), device: try DeviceID("edt-laptop-\(name)"),
            authorities: authorities,
            passphrase: "pass phrase", clock: clock)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }

    /// Laptop a after two laptops set the child's location concurrently ("Foster carer" on a,
    /// "Grandmother" on b, both replacing "BTP office") and a took in b's bundle: a conflict.
    func conflictOnTheChildsLocation() throws -> (Workspace, RecordID) {
        let a = try workspace("a")
        let b = try workspace("b")
        let id = try Bench.capture(a)
        _ = try b.importBundle(a.exportBundle(), source: "a")
        try a.set(id.rawValue, path: "children.c1.location", value: "Foster carer", by: nil)
        try b.set(id.rawValue, path: "children.c1.location", value: "Grandmother", by: nil)
        _ = try a.importBundle(b.exportBundle(), source: "b")
        return (a, id)
    }

    static func capture(_ workspace: Workspace, _ document: String = minimal) throws -> RecordID {
        try workspace.capture(document: Array(document.utf8)[...], source: "test").id
    }
}

@Suite("Workspace: capture")
struct CaptureTests {
    @Test func aCapturedReferralIsThereWithItsGaps() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let captured = try workspace.capture(document: Array(Bench.minimal.utf8)[...], source: "test")
        #expect(captured.gaps.contains("referrer"))
        #expect(captured.gaps.contains("children.c1.name"))
        let detail = try workspace.referral(captured.id.rawValue)
        guard case .object(let document) = detail.document else {
            Issue.record("no document")
            return
        }
        #expect(document["concern"] == .string("Child alone at the station."))
        #expect(detail.gaps == captured.gaps)
        #expect(detail.entries.isEmpty && detail.history.isEmpty && detail.conflicts.isEmpty)
    }

    @Test func aReferralForAnAuthorityThisDeviceDoesNotServeIsRefusedAndNothingSaved() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let elsewhere = Bench.minimal.replacingOccurrences(of: "E06000038", with: "E06000037")
        let refusal = #expect(throws: LaptopError.self) { try Bench.capture(workspace, elsewhere) }
        #expect(refusal?.code == .refused)
        #expect(refusal?.message.contains("serves E06000038, not E06000037") == true)
        #expect(try workspace.referrals().isEmpty)
    }

    @Test(arguments: [
        ("{", "not valid JSON"),
        ("[1]", "a referral must be a JSON object"),
        (#"{"receivedAt":"2027-03-27T02:10:00Z"}"#, "receivedBy"),
        (Bench.minimal.replacingOccurrences(of: #""channel":"phone""#, with: #""channel":"fax""#), "channel"),
    ])
    func badDocumentsAreRefusedNamingTheProblem(document: String, named: String) throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let before = try workspace.digest()
        let refusal = #expect(throws: LaptopError.self) { try Bench.capture(workspace, document) }
        #expect(refusal?.code == .refused)
        #expect(refusal?.message.contains(named) == true, "\(String(describing: refusal))")
        #expect(try workspace.digest() == before)
    }

    @Test func anImportIsAllOrNothingAndNamesTheBadLine() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let bad = Bench.minimal.replacingOccurrences(of: #""concern":"Child alone at the station.","#, with: "")
        let refusal = #expect(throws: LaptopError.self) {
            try workspace.importReferrals(jsonLines: Array((Bench.minimal + "\n\n" + bad + "\n").utf8))
        }
        #expect(refusal?.message.hasPrefix("line 3: ") == true, "\(String(describing: refusal))")
        #expect(try workspace.referrals().isEmpty)
        let imported = try workspace.importReferrals(
            jsonLines: Array((Bench.minimal + "\n  \n" + Bench.minimal + "\n").utf8))
        #expect(imported.count == 2)
        #expect(Set(imported.map(\.id)).count == 2)
        #expect(try workspace.referrals().count == 2)
    }

    @Test func aDeviceMustServeAtLeastOneRealAuthority() throws {
        #expect(throws: LaptopError.self) { try DevicePolicy(authorities: []) }
        #expect(throws: LaptopError.self) { try DevicePolicy(authorities: ["E0600003"]) }
        let policy = try DevicePolicy(authorities: ["E06000038", "E06000037", "E06000038"])
        #expect(policy.authorities == ["E06000037", "E06000038"])
        #expect(policy.serves("E06000037") && !policy.serves("E06000039"))
    }
}

@Suite("Workspace: changing fields keeps what was replaced")
struct HistoryTests {
    @Test func settingAFieldKeepsTheValueItReplacedWithWhoWhenAndWhere() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let id = try Bench.capture(workspace)
        try workspace.set(
            id.rawValue, path: "children.c1.location", value: "Foster carer, 12 Oak Road", by: Bench.worker)
        try workspace.set(id.rawValue, path: "children.c1.location", value: "Grandmother, 4 Elm Close", by: nil)
        let detail = try workspace.referral(id.rawValue)
        #expect(detail.history.map(\.value) == [.string("BTP office"), .string("Foster carer, 12 Oak Road")])
        let first = try #require(detail.history.first)
        #expect(first.path == "children.c1.location")
        #expect(
            first.replacedAt == "2027-03-27T02:30:00Z",
            "the injected clock's instant, in London's offset (GMT in March before the change)")
        #expect(first.device == "edt-laptop-a")
        #expect(first.name == "J. Okafor" && first.role == "EDT social worker")
        #expect(detail.history.last?.name == nil && detail.history.last?.role == nil, "who is optional for set")
        #expect(detail.entries.map(\.kind) == ["replacement", "replacement"])
        #expect(detail.entries.allSatisfy { $0.signature == .valid })
    }

    @Test func settingAnEmptyFieldOrTheSameValueReplacesNothing() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let id = try Bench.capture(workspace)
        try workspace.set(id.rawValue, path: "referrer.phone", value: "07700 900123", by: nil)
        try workspace.set(id.rawValue, path: "children.c1.location", value: "BTP office", by: nil)
        let detail = try workspace.referral(id.rawValue)
        #expect(detail.history.isEmpty)
        #expect(detail.entries.isEmpty)
    }

    @Test func aBadValueChangesNothing() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let id = try Bench.capture(workspace)
        let before = try workspace.digest()
        #expect(throws: LaptopError.self) {
            try workspace.set(id.rawValue, path: "children.c1.nhsNumber", value: "9434765918", by: nil)
        }
        #expect(throws: LaptopError.self) { try workspace.set(id.rawValue, path: "nonsense", value: "1", by: nil) }
        #expect(throws: LaptopError.self) { try workspace.set(id.rawValue, path: "concern", value: "null", by: nil) }
        #expect(throws: LaptopError.self) {
            try workspace.set("no-such-referral", path: "concern", value: "x", by: nil)
        }
        #expect(throws: LaptopError.self) { try workspace.set(id.rawValue, path: "not a path", value: "x", by: nil) }
        #expect(try workspace.digest() == before)
    }

    @Test func aConflictIsRefusedBySetAndSettledByAResolutionThatNamesEveryValue() throws {
        let bench = Bench()
        defer { bench.remove() }
        let (a, id) = try bench.conflictOnTheChildsLocation()

        let conflicted = try a.referral(id.rawValue)
        #expect(conflicted.conflicts.map(\.path.rawValue) == ["children.c1.location"])
        let refusal = #expect(throws: LaptopError.self) {
            try a.set(id.rawValue, path: "children.c1.location", value: "x", by: nil)
        }
        #expect(refusal?.message.contains("in conflict between 2 values") == true)
        #expect(throws: LaptopError.self) { try a.resolve(id.rawValue, path: "concern", value: "x", by: nil) }

        try a.resolve(id.rawValue, path: "children.c1.location", value: "Grandmother (agreed)", by: Bench.worker)
        let resolved = try a.referral(id.rawValue)
        #expect(resolved.conflicts.isEmpty)
        let resolution = try #require(resolved.entries.first { $0.kind == "resolution" })
        guard case .object(let payload) = resolution.payload else {
            Issue.record("no payload")
            return
        }
        #expect(payload["replaced"] == .array([.string("Foster carer"), .string("Grandmother")]))
        #expect(payload["value"] == .string("Grandmother (agreed)"))
        // Both the values each laptop replaced and the two the resolution settled are history.
        #expect(
            Set(resolved.history.map(\.value)) == [
                .string("BTP office"), .string("Foster carer"), .string("Grandmother"),
            ])
        #expect(
            resolved.history.filter { $0.value == .string("BTP office") }.map(\.device).sorted() == [
                "edt-laptop-a", "edt-laptop-b",
            ])
    }

    @Test func aResolutionThatKeepsOneOfTheValuesDoesNotCallItReplaced() throws {
        let bench = Bench()
        defer { bench.remove() }
        let (a, id) = try bench.conflictOnTheChildsLocation()
        try a.resolve(id.rawValue, path: "children.c1.location", value: "Grandmother", by: Bench.worker)
        let history = try a.referral(id.rawValue).history
        #expect(
            history.filter { $0.entry.device.rawValue == "edt-laptop-a" && $0.name == "J. Okafor" }.map(\.value) == [
                .string("Foster carer")
            ],
            "the resolution replaced only the value it did not keep")
        #expect(!history.contains { $0.value == .string("Grandmother") })
    }

    @Test func historyIsReadOnlyFromEntriesThatSpeakForTheirOwnDevice() throws {
        let id = try RecordID("c9d0683d-422a-4193-81b9-85fd7b0e3711")
        let payload: [String: FieldValue] = [
            "path": .string("concern"), "value": .string("new"), "replaced": .array([.string("old"), .null]),
            "at": .string("2027-03-27T02:30:00Z"), "device": .string("edt-laptop-a"),
        ]
        let own = try Entry(
            dot: try Dot(try DeviceID("edt-laptop-a"), 3), kind: "replacement", payload: .object(payload))
        let forged = try Entry(
            dot: try Dot(try DeviceID("edt-laptop-x"), 1), kind: "replacement", payload: .object(payload))
        let changes = FieldHistory.changes(in: Record(id: id, fields: [], entries: [own, forged]))
        #expect(
            changes.map(\.value) == [.string("old")], "null is no value; the entry naming another device is not history"
        )
        #expect(changes.first?.device == "edt-laptop-a")
    }

    @Test func historyTravelsWithTheReferralToAnotherReplica() throws {
        let bench = Bench()
        defer { bench.remove() }
        let a = try bench.workspace("a")
        let b = try bench.workspace("b")
        let id = try Bench.capture(a)
        try a.set(id.rawValue, path: "concern", value: "Child found; mother located at 03:00", by: Bench.worker)
        let outcome = try b.importBundle(a.exportBundle(), source: "a")
        #expect(outcome.applied == 1 && outcome.rejected == 0)
        let onB = try b.referral(id.rawValue)
        #expect(onB.history.map(\.value) == [.string("Child alone at the station.")])
        #expect(onB.history.first?.device == "edt-laptop-a")
        #expect(onB.entries.first?.signature == nil, "another device's entry: its key is not held on b")
        #expect(try b.digest() == (try a.digest()))
    }
}

@Suite("Workspace: entries")
struct EntryTests {
    @Test func notesAreSignedAndKindsRecordedByActsAreRefusedAsNotes() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let id = try Bench.capture(workspace)
        let dot = try workspace.note(
            id.rawValue, .init(kind: .decision, text: "Place with foster carer tonight.", author: Bench.worker))
        #expect(dot.device.rawValue == "edt-laptop-a")
        for kind in [ReferralEntry.Kind.resolution, .replacement] {
            let refusal = #expect(throws: LaptopError.self) {
                try workspace.note(id.rawValue, .init(kind: kind, text: "x", author: Bench.worker))
            }
            #expect(refusal?.code == .refused)
        }
        #expect(throws: LaptopError.self) {
            try workspace.note(
                id.rawValue, .init(kind: .correction, text: "x", author: Bench.worker, corrects: "edt-laptop-a:999"))
        }
        try workspace.note(
            id.rawValue,
            .init(kind: .correction, text: "It was 10:00", author: Bench.worker, corrects: Notation.text(dot)))
        let detail = try workspace.referral(id.rawValue)
        #expect(detail.entries.map(\.kind) == ["decision", "correction"])
        #expect(detail.entries.allSatisfy { $0.signature == .valid })
        guard case .object(let decision) = detail.entries[0].payload else {
            Issue.record("no payload")
            return
        }
        #expect(decision["at"] == .string("2027-03-27T02:30:00Z"), "the clock's now when no --at is given")
        #expect(decision["by"] == .string("J. Okafor"))
    }

    @Test func instantsAreShownInLondonsOffsetOfThatInstant() throws {
        let bench = Bench()
        defer { bench.remove() }
        let summer = FixedClock(Instant(iso8601: "2027-06-12T23:00:00Z")!)
        let workspace = try bench.workspace(clock: summer)
        let winter = try Bench.capture(workspace)
        let june = try Bench.capture(
            workspace, Bench.minimal.replacingOccurrences(of: "2027-03-27T02:10:00Z", with: "2027-06-12T22:40:00-01:00")
        )
        try workspace.note(
            june.rawValue, .init(kind: .note, text: "x", author: Bench.worker, at: "2027-06-13T00:05:00+02:00"))
        let detail = try workspace.referral(june.rawValue)
        guard case .object(let document) = detail.document, case .object(let note) = detail.entries[0].payload else {
            Issue.record("no document")
            return
        }
        #expect(document["receivedAt"] == .string("2027-06-13T00:40:00+01:00"), "BST")
        // The payload is shown as signed (its instant as written); the entry's time is in London's offset.
        #expect(note["at"] == .string("2027-06-13T00:05:00+02:00"))
        #expect(detail.entries[0].at == "2027-06-12T23:05:00+01:00")
        let shown = try Entry(
            dot: detail.entries[0].dot, kind: detail.entries[0].kind, payload: detail.entries[0].payload)
        #expect(
            EntrySignature.verify(shown, in: june, publicKey: workspace.publicKey) == .valid, "what is shown verifies")
        #expect(
            try workspace.referral(winter.rawValue).document.objectValue?["receivedAt"]
                == .string("2027-03-27T02:10:00Z"), "GMT")
        // The list is in order of the instants themselves, whatever offsets they were written in.
        #expect(try workspace.referrals().map(\.id) == [winter, june])
        #expect(try workspace.referrals().last?.receivedAt == .string("2027-06-13T00:40:00+01:00"))
    }
}

extension FieldValue {
    var objectValue: [String: FieldValue]? { if case .object(let members) = self { members } else { nil } }
}
