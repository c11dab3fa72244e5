import Referrals
import Replication
import Testing

/// The fields of the source documents added to the referral, and the gaps that depend on what
/// else a referral says.
@Suite("Referral fields and conditional gaps")
struct ReferralFieldsAndGapsTests {
    let base = ReferralValidationTests()

    func capture(_ changes: [String: FieldValue]) throws -> ReferralCapture.Capture {
        try base.capture(base.with(changes))
    }

    func written(_ capture: ReferralCapture.Capture) -> [String: FieldValue] {
        Dictionary(uniqueKeysWithValues: capture.writes.map { ($0.path.rawValue, $0.value) })
    }

    // MARK: - Fields

    @Test func aCarersEthnicityLanguageReligionCommunicationAndSpecialNeedsAreKept() throws {
        let carer: FieldValue = .object([
            "id": .string("p1"), "name": .string("Ewa Nowak"), "ethnicity": .string("White Polish"),
            "language": .string("Polish"), "religion": .string("Roman Catholic"),
            "communicationNeeds": .string("Polish interpreter"), "specialNeeds": .string("Hearing impairment"),
        ])
        let writes = written(try capture(["parentalResponsibility": .array([carer])]))
        #expect(writes["parentalResponsibility.p1.ethnicity"] == .string("White Polish"))
        #expect(writes["parentalResponsibility.p1.language"] == .string("Polish"))
        #expect(writes["parentalResponsibility.p1.religion"] == .string("Roman Catholic"))
        #expect(writes["parentalResponsibility.p1.communicationNeeds"] == .string("Polish interpreter"))
        #expect(writes["parentalResponsibility.p1.specialNeeds"] == .string("Hearing impairment"))
    }

    @Test(arguments: ["ethnicity", "language", "religion", "communicationNeeds", "specialNeeds"])
    func aCarersNewFieldsAreTextAndOptional(_ name: String) throws {
        let wrong = base.refusal(
            base.with(["parentalResponsibility": .array([.object(["name": .string("E"), name: .integer(1)])])]))
        #expect(wrong?.path == "parentalResponsibility[0].\(name)")
        #expect(wrong?.message == "must be text")
        let gaps = try capture([
            "parentalResponsibility": .array([.object(["id": .string("p1"), "name": .string("E")])])
        ])
        .gaps
        #expect(!gaps.contains { $0.hasSuffix(name) }, "optional: never a gap")
    }

    @Test func significantEventsAreLongText() throws {
        let long = String(repeating: "x", count: 5_000)
        #expect(written(try capture(["significantEvents": .string(long)]))["significantEvents"] == .string(long))
        #expect(base.refusal(base.with(["significantEvents": .bool(true)]))?.path == "significantEvents")
        #expect(!(try capture([:]).gaps.contains("significantEvents")))
    }

    @Test func aChildsAgeWhenHarmedToldAboutTheReferralAndHopesAndFearsAreKept() throws {
        let child: FieldValue = .object([
            "id": .string("c1"), "ageWhenHarmed": .integer(6), "toldAboutReferral": .bool(false),
            "hopesAndFears": .string("Hopes to stay with her nan; scared of going home."),
        ])
        let writes = written(try capture(["children": .array([child])]))
        #expect(writes["children.c1.ageWhenHarmed"] == .integer(6))
        #expect(writes["children.c1.toldAboutReferral"] == .bool(false))
        #expect(writes["children.c1.hopesAndFears"] == .string("Hopes to stay with her nan; scared of going home."))
    }

    @Test(arguments: [
        ("ageWhenHarmed", FieldValue.integer(26), "must be a whole number from 0 to 25"),
        ("ageWhenHarmed", .integer(-1), "must be a whole number from 0 to 25"),
        ("ageWhenHarmed", .string("6"), "must be a whole number from 0 to 25"),
        ("toldAboutReferral", .string("yes"), "must be true or false"),
        ("hopesAndFears", .integer(1), "must be text"),
    ])
    func aChildsNewFieldsRefuseTheWrongType(_ name: String, _ value: FieldValue, _ message: String) {
        let error = base.refusal(base.with(["children": .array([.object([name: value])])]))
        #expect(error?.path == "children[0].\(name)")
        #expect(error?.message == message)
    }

    @Test func theAgeWhenHarmedTakesItsBounds() throws {
        for age: Int64 in [0, 25] {
            let writes = written(
                try capture(["children": .array([.object(["id": .string("c1"), "ageWhenHarmed": .integer(age)])])]))
            #expect(writes["children.c1.ageWhenHarmed"] == .integer(age))
        }
    }

    @Test func recentlyArrivedMeansNewToTheAreaNotTheCountry() throws {
        let family = try #require(ReferralSchema.document.first { $0.name == "family" })
        guard case .object(let members) = family.shape else {
            Issue.record("family is not an object")
            return
        }
        let arrived = try #require(members.first { $0.name == "recentlyArrived" })
        #expect(arrived.summary.contains("area"))
        #expect(!arrived.summary.contains("country"))
        let abroad = try #require(members.first { $0.name == "timeAbroad" })
        #expect(abroad.summary.contains("abroad"))
    }

    @Test func theNewFieldsAreFieldsOfTheSchema() throws {
        for path in [
            "significantEvents", "children.c1.ageWhenHarmed", "children.c1.toldAboutReferral",
            "children.c1.hopesAndFears", "parentalResponsibility.p1.ethnicity", "parentalResponsibility.p1.language",
            "parentalResponsibility.p1.religion", "parentalResponsibility.p1.communicationNeeds",
            "parentalResponsibility.p1.specialNeeds",
        ] {
            #expect(ReferralSchema.member(at: try FieldPath(path)) != nil, "\(path)")
        }
        try ReferralCapture.validateWrite(.integer(3), at: FieldPath("children.c1.ageWhenHarmed"), in: nil)
        #expect(throws: ReferralError.self) {
            try ReferralCapture.validateWrite(.integer(30), at: FieldPath("children.c1.ageWhenHarmed"), in: nil)
        }
    }

    // MARK: - Conditional gaps

    @Test(arguments: [
        (["parentsInformed": FieldValue.bool(false)], true),
        (["parentsAgree": .bool(false)], true),
        (["parentsInformed": .bool(true), "parentsAgree": .bool(false)], true),
        (["parentsInformed": .bool(false), "reason": .string("   ")], true),
        (["parentsInformed": .bool(false), "reason": .string("Telling them would put the child at risk.")], false),
        (["parentsAgree": .bool(false), "reason": .string("Significant harm suspected.")], false),
        (["parentsInformed": .bool(true), "parentsAgree": .bool(true)], false),
        (["parentsInformed": .bool(true)], false),
    ])
    func theConsentReasonIsAGapWhenParentsAreNotInformedOrDoNotAgree(
        _ consent: [String: FieldValue], _ isGap: Bool
    ) throws {
        let gaps = try capture(["consent": .object(consent)]).gaps
        #expect(gaps.contains("consent.reason") == isGap, "\(consent): \(gaps)")
    }

    @Test func noConsentReasonGapWithoutConsentAnswers() throws {
        let gaps = try capture([:]).gaps
        #expect(gaps.contains("consent"))
        #expect(!gaps.contains("consent.reason"))
    }

    @Test func anUnbornChildsExpectedDateIsAGapUntilGiven() throws {
        let children: FieldValue = .array([
            .object(["id": .string("c1"), "unborn": .bool(true)]),
            .object(["id": .string("c2"), "unborn": .bool(true), "expectedDate": .string("2027-06-01")]),
            .object(["id": .string("c3"), "unborn": .bool(false)]),
            .object(["id": .string("c4"), "name": .string("Amy")]),
        ])
        let gaps = try capture(["children": children]).gaps
        #expect(gaps.contains("children.c1.expectedDate"))
        #expect(!gaps.contains("children.c2.expectedDate"))
        #expect(!gaps.contains("children.c3.expectedDate"))
        #expect(!gaps.contains("children.c4.expectedDate"))
    }

    @Test(arguments: [
        (FieldValue.bool(true), FieldValue.bool(true), true),
        (.bool(true), .bool(false), false),
        (.bool(false), .bool(true), false),
        (.null, .bool(true), false),
        (.bool(true), .null, false),
    ])
    func aProfessionalsVerbalReferralWantsWrittenConfirmation(
        _ verbal: FieldValue, _ professional: FieldValue, _ isGap: Bool
    ) throws {
        var changes: [String: FieldValue] = [
            "referrer": .object(["name": .string("PC Smith"), "professional": professional])
        ]
        changes["verbal"] = verbal
        let gaps = try capture(changes).gaps
        #expect(gaps.contains("writtenConfirmation") == isGap, "\(gaps)")
    }

    /// The stored referral's gaps (what `edt referral show` lists) are worked out again from the
    /// record: the same conditional gaps, and the written confirmation leaves them once a
    /// `confirmation` entry is recorded.
    @Test func aStoredReferralShowsTheSameConditionalGapsUntilConfirmed() throws {
        let capture = try capture([
            "verbal": .bool(true), "referrer": .object(["name": .string("PC Smith"), "professional": .bool(true)]),
            "consent": .object(["parentsInformed": .bool(false)]),
            "children": .array([.object(["id": .string("c1"), "unborn": .bool(true)])]),
        ])
        for gap in ["consent.reason", "children.c1.expectedDate", "writtenConfirmation"] {
            #expect(capture.gaps.contains(gap), "\(gap)")
        }
        var replica = Replica(device: try DeviceID("edt-laptop-a"))
        let id = try RecordID("r1")
        replica.write(capture.writes, in: id)
        let stored = ReferralView(try #require(replica[id]))
        #expect(stored.gaps == capture.gaps)
        try replica.append(kind: "note", payload: .object(["text": .string("x")]), to: id)
        #expect(ReferralView(try #require(replica[id])).gaps.contains("writtenConfirmation"))
        try replica.append(
            kind: ReferralEntry.Kind.confirmation.rawValue, payload: .object(["reference": .string("EM-1")]), to: id)
        let confirmed = ReferralView(try #require(replica[id])).gaps
        #expect(!confirmed.contains("writtenConfirmation"))
        #expect(confirmed.contains("consent.reason") && confirmed.contains("children.c1.expectedDate"))
        replica.write(.string("2027-06-01"), to: try FieldPath("children.c1.expectedDate"), in: id)
        replica.write(.string("Risk of flight."), to: try FieldPath("consent.reason"), in: id)
        let filled = ReferralView(try #require(replica[id])).gaps
        #expect(!filled.contains("consent.reason") && !filled.contains("children.c1.expectedDate"))
    }

    /// Records read one after another with one memo get the gaps each gets alone: the same
    /// fields present with different values (the conditional gaps differ), other fields present,
    /// a field in conflict, a child of another id, a confirmation recorded.
    @Test func gapsLentFromOneRecordToTheNextAreEachRecordsOwn() throws {
        let choices: [(String, [FieldValue])] = [
            ("concern", [.string("Child alone"), .null]),
            ("verbal", [.bool(true), .bool(false)]),
            ("referrer.professional", [.bool(true), .bool(false)]),
            ("referrer.name", [.string("PC Smith")]),
            ("consent.parentsInformed", [.bool(false), .bool(true)]),
            ("consent.reason", [.string("Risk of flight."), .string(" ")]),
            ("children.c1.name", [.string("Amy")]),
            ("children.c1.unborn", [.bool(true), .bool(false)]),
            ("children.c2.unborn", [.bool(true)]),
            ("children.c1.expectedDate", [.string("2027-06-01")]),
            ("hostAuthority", [.string("E06000038")]),
        ]
        var memo = ReferralSchema.GapsMemo()
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
        var differing = Set<[String]>()
        for number in 0..<600 {
            var replica = Replica(device: try DeviceID("edt-laptop-a"))
            let id = try RecordID("r\(number)")
            for (path, values) in choices where next(3) > 0 {
                replica.write(values[next(values.count)], to: try FieldPath(path), in: id)
            }
            replica.write(.string("x"), to: try FieldPath("receivedAt"), in: id)
            if next(5) == 0 {
                // A second device's write of the same field, concurrent: a conflict.
                var other = Replica(device: try DeviceID("edt-laptop-b"))
                other.write(.string("Other concern"), to: try FieldPath("concern"), in: id)
                replica.merge(other)
            }
            if next(4) == 0 {
                try replica.append(
                    kind: ReferralEntry.Kind.confirmation.rawValue, payload: .object(["reference": .string("EM-1")]),
                    to: id)
            }
            let record = try #require(replica[id])
            let alone = ReferralSchema.gaps(of: record)
            #expect(ReferralSchema.gaps(of: record, memo: &memo) == alone, "record \(number)")
            #expect(alone == ReferralView(record).gaps)
            differing.insert(alone)
        }
        #expect(differing.count > 20, "the records should not all lack the same")
    }
}

extension ReferralFieldsAndGapsTests {
    @Test func aChildsPathIsReadAsItsItemAndMember() {
        #expect(ReferralSchema.childPath("children.c00000001.name")?.item == "c00000001")
        #expect(
            ReferralSchema.childPath("children.c1.allocatedSocialWorker.team")?.member == "allocatedSocialWorker.team")
        let accented = ReferralSchema.childPath("children.élodie.nom.complet")
        #expect(accented?.item == "élodie")
        #expect(accented?.member == "nom.complet")
        for other in [
            "concern", "children", "children.", "children.c1", "children..name", "children.c1.", "childrenX.c1.name",
            "Children.c1.name", "child.c1.name", "",
        ] {
            #expect(ReferralSchema.childPath(other) == nil, "\(other)")
        }
    }
}
