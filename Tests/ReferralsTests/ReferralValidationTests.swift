import Foundation
import LineProtocol
import Referrals
import Replication
import Testing

@Suite("Referral validation")
struct ReferralValidationTests {
    static let minimal: [String: FieldValue] = [
        "receivedAt": .string("2027-03-27T02:10:00Z"),
        "receivedBy": .object(["name": .string("J. Okafor"), "role": .string("EDT social worker")]),
        "hostAuthority": .string("E06000038"),
        "channel": .string("phone"),
        "concern": .string("Child (7) found alone at Reading station."),
    ]

    func capture(_ document: [String: FieldValue]) throws(ReferralError) -> ReferralCapture.Capture {
        var next = 0
        return try ReferralCapture.validate(.object(document)) { prefix in
            next += 1
            return "\(prefix)\(next)"
        }
    }

    func refusal(_ document: [String: FieldValue]) -> ReferralError? {
        do {
            _ = try capture(document)
            return nil
        } catch {
            return error
        }
    }

    func with(_ changes: [String: FieldValue]) -> [String: FieldValue] {
        Self.minimal.merging(changes) { $1 }
    }

    @Test func aMinimalReferralIsAcceptedWithItsGapsListed() throws {
        let result = try capture(Self.minimal)
        #expect(
            result.writes.map(\.path.rawValue) == [
                "channel", "concern", "hostAuthority", "receivedAt", "receivedBy.name", "receivedBy.role",
            ])
        for gap in ["children", "homeAuthority", "referrer", "immediateProtection", "recordCheck", "consent", "family"]
        {
            #expect(result.gaps.contains(gap), "\(gap) should be a gap")
        }
    }

    @Test(arguments: ["receivedAt", "receivedBy", "hostAuthority", "channel", "concern"])
    func everyRequiredFieldIsRequired(_ name: String) {
        var document = Self.minimal
        document[name] = nil
        #expect(refusal(document)?.path == name)
        document[name] = .null
        #expect(refusal(document)?.path == name)
    }

    @Test func theReceivingWorkersNameAndRoleAreRequired() {
        #expect(refusal(with(["receivedBy": .object(["name": .string("J. Okafor")])]))?.path == "receivedBy.role")
    }

    @Test func unknownFieldsAreRefusedWithTheirPath() {
        #expect(refusal(with(["concerns": .string("x")]))?.path == "concerns")
        let error = refusal(with(["children": .array([.object(["name": .string("A"), "nikname": .string("B")])])]))
        #expect(error?.path == "children[0].nikname")
        #expect(error?.message.contains("dateOfBirth") == true, "the message lists the known fields")
        #expect(
            refusal(with(["referrer": .object(["phone": .string("1"), "pager": .string("2")])]))?.path
                == "referrer.pager")
        #expect(refusal(with(["id": .string("x")]))?.path == "id", "only collection items carry an id")
    }

    @Test(arguments: [
        ("receivedAt", FieldValue.string("27/03/2027 02:10")),
        ("receivedAt", .string("2027-03-27T02:10:00")),  // no offset
        ("receivedAt", .string("2027-02-30T02:10:00Z")),
        ("hostAuthority", .string("Reading")),
        ("hostAuthority", .string("E0600003")),
        ("channel", .string("fax")),
        ("concern", .integer(3)),
        ("verbal", .string("yes")),
    ])
    func wrongTypesAreRefused(_ name: String, _ value: FieldValue) {
        #expect(refusal(with([name: value]))?.path == name)
    }

    @Test func instantsNeedAnOffsetAndDatesMustExist() {
        #expect(Identifiers.isInstant("2027-03-30T09:00:00+01:00"))
        #expect(Identifiers.isInstant("2027-03-25T18:00Z"))
        #expect(Identifiers.isInstant("2027-03-25T18:00:00.123Z"))
        #expect(!Identifiers.isInstant("2027-03-25T24:00:00Z"))
        #expect(!Identifiers.isInstant("2027-03-25 18:00:00Z"))
        #expect(Identifiers.isDate("2028-02-29"))
        #expect(!Identifiers.isDate("2027-02-29"))
        #expect(!Identifiers.isDate("2027-13-01"))
    }

    @Test(arguments: ["9434765919", "943 476 5919", "4010232137", "0000000000"])
    func validNHSNumbersAreAccepted(_ number: String) throws {
        let result = try capture(with(["children": .array([.object(["nhsNumber": .string(number)])])]))
        let stored = result.writes.first { $0.path.rawValue.hasSuffix("nhsNumber") }?.value
        #expect(stored == .string(number.replacingSpaces()), "stored as 10 digits")
    }

    @Test(arguments: ["9434765918", "943476591", "94347659190", "943476591X", "1000000010"])
    func invalidNHSNumbersAreRefused(_ number: String) {
        let error = refusal(with(["children": .array([.object(["nhsNumber": .string(number)])])]))
        #expect(error?.path == "children[0].nhsNumber")
        #expect(error?.message.contains("Modulus 11") == true)
    }

    @Test func nhsCheckDigitOfTenIsNeverValid() {
        // 1000000010: weights give remainder 1, check 10, which no number may use.
        #expect(Identifiers.nhsNumber("1000000010") == nil)
        #expect(Identifiers.nhsNumber("1000000011") == nil)
    }

    @Test func upnCheckLetters() {
        // Checked against python-stdnum's stdnum.gb.upn.
        #expect(Identifiers.isValidUPN("P207000016049"))
        #expect(Identifiers.isValidUPN("B801200005001"))
        #expect(Identifiers.isValidUPN("E20700001604D"), "a temporary UPN")
        #expect(!Identifiers.isValidUPN("Q207000016049"), "wrong check letter")
        #expect(!Identifiers.isValidUPN("B207000016049"), "wrong check letter")
        #expect(!Identifiers.isValidUPN("A801200005001"))
        #expect(!Identifiers.isValidUPN("P20700001604"), "too short")
        #expect(!Identifiers.isValidUPN("I207000016049"), "I is never a check letter")
        #expect(
            refusal(with(["children": .array([.object(["upn": .string("B207000016049")])])]))?.path == "children[0].upn"
        )
    }

    @Test func aTemporaryUPNEndsInALetter() {
        // Digits 2..12 then a letter worth its position in the check alphabet.
        let body = Array("20700001604".utf8).map { Int($0 - 48) }
        var sum = 0
        for (index, digit) in body.enumerated() { sum += digit * (index + 2) }
        let letters = Array("ABCDEFGHJKLMNPQRTUVWXYZ")
        sum += 3 * 13  // final letter D = 3
        let upn = String(letters[sum % 23]) + "20700001604D"
        #expect(Identifiers.isValidUPN(upn))
    }

    @Test func aProfessionalReferrerCanNeverBeAnonymous() {
        let error = refusal(
            with([
                "referrer": .object([
                    "name": .string("PC Smith"), "professional": .bool(true), "anonymityRequested": .bool(true),
                ])
            ]))
        #expect(error?.path == "referrer.anonymityRequested")
        #expect(error?.message.contains("never be anonymous") == true)
    }

    @Test func aPublicReferrersAnonymityRequestIsRecorded() throws {
        let result = try capture(
            with([
                "referrer": .object([
                    "professional": .bool(false), "anonymityRequested": .bool(true), "phone": .string("07700 900123"),
                ])
            ]))
        #expect(result.writes.contains { $0.path.rawValue == "referrer.anonymityRequested" && $0.value == .bool(true) })
        #expect(result.gaps.contains("referrer.name"))
    }

    @Test func collectionItemsGetStableIdsOrKeepTheirOwn() throws {
        let result = try capture(
            with([
                "children": .array([
                    .object(["name": .string("A")]),
                    .object(["id": .string("sibling-2"), "name": .string("B")]),
                ])
            ]))
        let paths = result.writes.map(\.path.rawValue)
        #expect(paths.contains("children.c1.name"))
        #expect(paths.contains("children.sibling-2.name"))
        #expect(result.gaps.contains("children.c1.dateOfBirth"))
        #expect(
            refusal(with(["children": .array([.object(["id": .string("x")]), .object(["id": .string("x")])])]))?.path
                == "children[1].id")
        #expect(refusal(with(["children": .array([.object(["id": .string("has space")])])]))?.path == "children[0].id")
        #expect(refusal(with(["children": .object([:])]))?.path == "children")
    }

    @Test func singleWritesAreCheckedAgainstTheSchema() throws {
        #expect(throws: Never.self) {
            try ReferralCapture.validateWrite(.string("07700 900123"), at: try FieldPath("referrer.phone"), in: nil)
        }
        #expect(throws: Never.self) {
            try ReferralCapture.validateWrite(
                .string("9434765919"), at: try FieldPath("children.c1.nhsNumber"), in: nil)
        }
        #expect(throws: ReferralError.self) {
            try ReferralCapture.validateWrite(
                .string("9434765918"), at: try FieldPath("children.c1.nhsNumber"), in: nil)
        }
        #expect(throws: ReferralError.self) {
            try ReferralCapture.validateWrite(.string("x"), at: try FieldPath("referrer.pager"), in: nil)
        }
        #expect(throws: ReferralError.self) {
            try ReferralCapture.validateWrite(.string("x"), at: try FieldPath("referrer"), in: nil)
        }
        #expect(throws: ReferralError.self) {
            try ReferralCapture.validateWrite(.null, at: try FieldPath("concern"), in: nil)
        }
        #expect(throws: Never.self) {
            try ReferralCapture.validateWrite(.null, at: try FieldPath("referrer.phone"), in: nil)
        }
    }

    @Test func settingAnonymityOnAProfessionalsReferralIsRefused() throws {
        var replica = Replica(device: try DeviceID("edt-laptop-a"))
        let id = try RecordID("case-1")
        replica.write(.bool(true), to: try FieldPath("referrer.professional"), in: id)
        #expect(throws: ReferralError.self) {
            try ReferralCapture.validateWrite(
                .bool(true), at: try FieldPath("referrer.anonymityRequested"), in: replica[id])
        }
        #expect(throws: Never.self) {
            try ReferralCapture.validateWrite(
                .bool(false), at: try FieldPath("referrer.anonymityRequested"), in: replica[id])
        }
    }

    @Test func theViewRebuildsTheDocumentAndKeepsConflictsApart() throws {
        let result = try capture(
            with(["children": .array([.object(["name": .string("A"), "location": .string("station")])])]))
        var a = Replica(device: try DeviceID("a"))
        let id = try RecordID("case-1")
        for write in result.writes { a.write(write.value, to: write.path, in: id) }
        var b = Replica(device: try DeviceID("b"))
        b.merge(a)
        a.write(.string("foster carer"), to: try FieldPath("children.c1.location"), in: id)
        b.write(.string("grandmother"), to: try FieldPath("children.c1.location"), in: id)
        a.merge(b)
        let view = ReferralView(try #require(a[id]))
        #expect(view.conflicts.map(\.path.rawValue) == ["children.c1.location"])
        #expect(view.conflicts.first?.values == [.string("foster carer"), .string("grandmother")])
        guard case .object(let document) = view.document, case .array(let children)? = document["children"],
            case .object(let child)? = children.first
        else {
            Issue.record("children missing from \(view.document)")
            return
        }
        #expect(child["id"] == .string("c1"))
        #expect(child["name"] == .string("A"))
        #expect(child["location"] == nil, "a conflicted value is not chosen silently")
        #expect(document["concern"] == Self.minimal["concern"])
        #expect(!view.gaps.contains("children.c1.location"), "a conflicted field is not missing")
        #expect(view.gaps.contains("children.c1.dateOfBirth"))
    }

    @Test func entriesNeedTextAuthorAndInstant() throws {
        let author = try ReferralEntry.Author(name: "J. Okafor", role: "EDT social worker")
        let device = try DeviceID("edt-laptop-a")
        let payload = try ReferralEntry.payload(
            kind: .note, text: " Called police. ", author: author, at: "2027-03-27T02:30:00Z", device: device)
        #expect(payload["text"] == .string("Called police."))
        #expect(throws: ReferralError.self) { try ReferralEntry.Author(name: " ", role: "x") }
        #expect(throws: ReferralError.self) {
            try ReferralEntry.payload(kind: .note, text: "", author: author, at: "2027-03-27T02:30:00Z", device: device)
        }
        #expect(throws: ReferralError.self) {
            try ReferralEntry.payload(
                kind: .correction, text: "wrong time", author: author, at: "2027-03-27T02:30:00Z", device: device)
        }
        let talk = try ReferralEntry.payload(
            kind: .conversation, text: "Mum said she would be home by 04:00", author: author,
            at: "2027-03-27T03:00:00Z", device: device,
            conversation: .init(
                start: "2027-03-27T02:40:00Z", end: "2027-03-27T02:55:00Z", setting: "phone", present: ["mother", " "]))
        #expect(talk["start"] == .string("2027-03-27T02:40:00Z"))
        #expect(talk["present"] == .array([.string("mother")]))
        #expect(throws: ReferralError.self) {
            try ReferralEntry.payload(
                kind: .conversation, text: "x", author: author, at: "2027-03-27T03:00:00Z", device: device,
                conversation: .init(start: "02:40"))
        }
        #expect(throws: ReferralError.self) {
            try ReferralEntry.payload(
                kind: .note, text: "x", author: author, at: "2027-03-27T03:00:00Z", device: device,
                conversation: .init(setting: "phone"))
        }
    }
}

extension String {
    func replacingSpaces() -> String { String(filter { $0 != " " }) }
}

@Suite("Typed values")
struct TypedValueTests {
    @Test func digitsForATextFieldStayText() throws {
        let nhs = try FieldPath("children.c1.nhsNumber")
        #expect(
            ReferralCapture.value(typed: "9434765919", parsed: .integer(9_434_765_919), for: nhs)
                == .string("9434765919"))
        let flag = try FieldPath("immediateProtection")
        #expect(ReferralCapture.value(typed: "true", parsed: .bool(true), for: flag) == .bool(true))
        let age = try FieldPath("children.c1.ageEstimate")
        #expect(ReferralCapture.value(typed: "7", parsed: .integer(7), for: age) == .integer(7))
        let phone = try FieldPath("referrer.phone")
        #expect(ReferralCapture.value(typed: "07700 900123", parsed: nil, for: phone) == .string("07700 900123"))
        #expect(ReferralCapture.value(typed: "null", parsed: .null, for: phone) == .null)
    }
}

@Suite("Schema document")
struct SchemaDocumentTests {
    /// The committed JSON Schema is the one the code enforces: regenerate it with
    /// `edt referral schema > Docs/referral.schema.json` when the schema changes.
    @Test func theCommittedJSONSchemaMatchesTheCode() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Docs/referral.schema.json")
        let committed = try #require(
            FileManager.default.contents(atPath: file.path), "Docs/referral.schema.json is missing")
        let parsed = try JSONPayload.read(Array(committed)[...], maximumDepth: 32, allowingWhitespace: true)
        #expect(parsed == ReferralSchema.jsonSchema())
    }

    @Test func theSchemaListsEveryRequiredField() {
        guard case .object(let root) = ReferralSchema.jsonSchema(), case .array(let required)? = root["required"] else {
            Issue.record("no required list")
            return
        }
        #expect(
            Set(required)
                == Set(["receivedAt", "receivedBy", "hostAuthority", "channel", "concern"].map(FieldValue.string)))
    }
}

/// Parts checked one after another with one memo (a push's segment at the centre) are each
/// checked in full: what the memo remembers of the part before never lets a field pass.
@Suite("Referral parts checked in a row")
struct PartsCheckedInARowTests {
    func part(_ fields: [(String, FieldValue)], id: String) throws -> Record {
        var replica = Replica(device: try DeviceID("edt-laptop-a"))
        let record = try RecordID(id)
        for (path, value) in fields { replica.write(value, to: try FieldPath(path), in: record) }
        return try #require(replica[record])
    }

    func refusal(_ part: Record, memo: inout ReferralCapture.PartCheckMemo) -> ReferralError? {
        do {
            try ReferralCapture.validatePart(part, memo: &memo)
            return nil
        } catch {
            return error
        }
    }

    @Test func eachPartIsCheckedInFullWhateverThePartBeforeIt() throws {
        var memo = ReferralCapture.PartCheckMemo()
        let valid = try part([("channel", .string("phone")), ("concern", .string("Found alone."))], id: "r-1")
        #expect(refusal(valid, memo: &memo) == nil)
        // The same paths in the same places: the values are still checked.
        let badValue = try part([("channel", .integer(7)), ("concern", .string("Found alone."))], id: "r-2")
        #expect(refusal(badValue, memo: &memo)?.path == "channel")
        // Another path where "channel" was: looked up, and refused when it names no field.
        let unknown = try part([("bogus", .string("x")), ("concern", .string("Found alone."))], id: "r-3")
        let unknownRefusal = refusal(unknown, memo: &memo)
        #expect(unknownRefusal?.path == "bogus")
        #expect(unknownRefusal?.description.contains("not a field of a referral") == true)
        // A field of another type where "channel" was: checked as that field.
        let moved = try part([("concern", .bool(true))], id: "r-4")
        #expect(refusal(moved, memo: &memo)?.path == "concern")
        #expect(refusal(valid, memo: &memo) == nil)
        // The memo changes nothing: each part alone gives the same verdict.
        for part in [valid, badValue, unknown, moved] {
            var alone: ReferralError?
            do {
                try ReferralCapture.validatePart(part)
            } catch {
                alone = error
            }
            var afterAnother = ReferralCapture.PartCheckMemo()
            _ = refusal(valid, memo: &afterAnother)
            #expect(refusal(part, memo: &afterAnother) == alone)
        }
    }
}
