import Referrals
import Replication
import Testing

/// The payloads of outcome entries, checked on their own (what they say about the stored
/// referral is the laptop layer's to check).
@Suite("Outcome entries")
struct OutcomeEntryTests {
    static let worker = try! ReferralEntry.Author(name: "J. Okafor", role: "EDT social worker")
    static let manager = try! ReferralEntry.Author(name: "S. Patel", role: "Team Manager")
    static let device = try! DeviceID("edt-laptop-a")
    static let at = "2027-03-27T03:00:00Z"
    static let recordedAt = "2027-03-27T03:05:00Z"

    func payload(
        _ event: ReferralEntry.Event, by author: ReferralEntry.Author = worker
    ) throws(ReferralError) -> [String: FieldValue] {
        try ReferralEntry.payload(event, author: author, at: Self.at, recordedAt: Self.recordedAt, device: Self.device)
    }

    func refusal(_ event: ReferralEntry.Event, by author: ReferralEntry.Author = worker) -> ReferralError? {
        do {
            _ = try payload(event, by: author)
            return nil
        } catch {
            return error
        }
    }

    @Test func theKindsAreTheWireTokensTheReplicationLayerAccepts() throws {
        #expect(
            ReferralEntry.Kind.outcomeKinds.map(\.rawValue) == [
                "outcome", "authorisation", "acknowledgement", "feedback", "confirmation", "strategy-discussion",
                "strategy-record", "challenge", "escalation", "assessment-completed", "conference-held",
            ])
        var replica = Replica(device: Self.device)
        for kind in ReferralEntry.Kind.allCases {
            try replica.append(kind: kind.rawValue, payload: .object([:]), to: try RecordID("r1"))
        }
        #expect(Set(ReferralEntry.Kind.noteKinds).isDisjoint(with: ReferralEntry.Kind.outcomeKinds))
    }

    @Test func everyEntryCarriesWhoWhenWhereAndWhenRecorded() throws {
        let made = try payload(.assessmentCompleted(text: "  Assessment done; child in need plan.  "))
        #expect(
            made == [
                "by": .string("J. Okafor"), "role": .string("EDT social worker"), "at": .string(Self.at),
                "recordedAt": .string(Self.recordedAt), "device": .string("edt-laptop-a"),
                "text": .string("Assessment done; child in need plan."),
            ])
    }

    @Test func anOutcomeCarriesItsRationaleAndForNoFurtherActionItsAdvice() throws {
        let made = try payload(
            .outcome(.noFurtherAction, rationale: "Child safe with mother.", advice: "Signposted to the GP."))
        #expect(made["outcome"] == .string("no-further-action"))
        #expect(made["rationale"] == .string("Child safe with mother."))
        #expect(made["advice"] == .string("Signposted to the GP."))
        #expect(made["measures"] == nil)
        let help = try payload(.outcome(.earlyHelp, rationale: "Needs support.", advice: "   "))
        #expect(help["advice"] == nil, "blank advice is no advice")
    }

    @Test func immediateProtectionCarriesItsMeasuresOnceEach() throws {
        let made = try payload(
            .outcome(
                .immediateProtection, rationale: "Father on his way.",
                measures: [.policeProtection, .childMovedByAgreement, .policeProtection]))
        #expect(made["outcome"] == .string("immediate-protection"))
        #expect(made["measures"] == .array([.string("police-protection"), .string("child-moved-by-agreement")]))
    }

    @Test(arguments: ReferralEntry.Outcome.allCases)
    func everyOutcomeNeedsARationale(_ outcome: ReferralEntry.Outcome) {
        let measures: [ReferralEntry.ProtectiveMeasure] = outcome == .immediateProtection ? [.abuserLeft] : []
        let error = refusal(.outcome(outcome, rationale: " \n ", measures: measures))
        #expect(error?.path == "rationale")
    }

    @Test(arguments: [ReferralEntry.Outcome.earlyHelp, .section17Assessment, .strategyDiscussion, .immediateProtection])
    func adviceBelongsToNoFurtherActionOnly(_ outcome: ReferralEntry.Outcome) {
        let measures: [ReferralEntry.ProtectiveMeasure] = outcome == .immediateProtection ? [.abuserLeft] : []
        let error = refusal(.outcome(outcome, rationale: "Why.", advice: "Leaflet.", measures: measures))
        #expect(error?.path == "advice")
        #expect(error?.message.contains("no-further-action") == true)
    }

    @Test func immediateProtectionWithoutMeasuresIsRefused() {
        let error = refusal(.outcome(.immediateProtection, rationale: "Why."))
        #expect(error?.path == "measures")
        #expect(error?.message.contains("emergency-protection-order") == true, "names the measures")
    }

    @Test(arguments: [ReferralEntry.Outcome.noFurtherAction, .earlyHelp, .section17Assessment, .strategyDiscussion])
    func measuresWithAnotherOutcomeAreRefused(_ outcome: ReferralEntry.Outcome) {
        let error = refusal(.outcome(outcome, rationale: "Why.", measures: [.policeEntry]))
        #expect(error?.path == "measures")
    }

    @Test func theVocabulariesAreAsDocumented() {
        #expect(
            ReferralEntry.Outcome.allCases.map(\.rawValue) == [
                "no-further-action", "early-help", "section-17-assessment", "strategy-discussion",
                "immediate-protection",
            ])
        #expect(
            ReferralEntry.ProtectiveMeasure.allCases.map(\.rawValue) == [
                "abuser-left", "abuser-removed", "child-moved-by-agreement", "emergency-protection-order",
                "police-protection", "police-entry",
            ])
        #expect(
            ReferralEntry.AcknowledgementMethod.allCases.map(\.rawValue) == [
                "phone", "email", "letter", "in-person", "other",
            ])
    }

    @Test(arguments: ["Team Manager", "EDT manager", "service manager", "MANAGER", "Deputy Team-Manager"])
    func aManagerAuthorises(_ role: String) throws {
        let manager = try ReferralEntry.Author(name: "S. Patel", role: role)
        #expect(manager.isManager)
        let made = try payload(.authorisation(authorises: "edt-laptop-a:7", text: "Agreed."), by: manager)
        #expect(made["authorises"] == .string("edt-laptop-a:7"))
        #expect(made["text"] == .string("Agreed."))
        #expect(made["role"] == .string(role))
    }

    @Test func aRoleIsReadAsAManagersTheSameWayOnItsBytesAsOnItsCharacters() {
        // The rule on Unicode characters, as it reads any role.
        func reference(_ role: String) -> Bool {
            role.unicodeScalars.split { !($0.properties.isAlphabetic || $0.properties.numericType != nil) }
                .contains { String($0).lowercased() == "manager" }
        }
        let pieces = [
            "manager", "Manager", "MANAGER", "mAnAgEr", "managers", "manage", "anager", "2manager", "manager2",
            "EDT", "team", "-", " ", "  ", "/", "_", "(", ")", "9", "Ma", "nager", "\t", "\n", "@", "z", "Z",
        ]
        var generator = SystemRandomNumberGenerator()
        var roles = pieces + [""]
        for _ in 0..<5_000 {
            roles.append(
                (0..<Int.random(in: 1...5, using: &generator)).map { _ in
                    pieces[Int.random(in: pieces.indices, using: &generator)]
                }.joined())
        }
        for role in roles {
            #expect(ReferralEntry.isManagerRole(role) == reference(role), "\(role)")
        }
        // Not ASCII: read by the characters.
        #expect(ReferralEntry.isManagerRole("Équipe manager"))
        #expect(!ReferralEntry.isManagerRole("manageré"))
        #expect(ReferralEntry.isManagerRole("MANAGER·de·garde") == reference("MANAGER·de·garde"))
    }

    @Test(arguments: ["EDT social worker", "Managerial assistant", "Case manage r", "Senior practitioner"])
    func someoneWhoIsNotAManagerCannotAuthorise(_ role: String) throws {
        let author = try ReferralEntry.Author(name: "J. Okafor", role: role)
        #expect(!author.isManager)
        let error = refusal(.authorisation(authorises: "edt-laptop-a:7"), by: author)
        #expect(error?.path == "role")
        #expect(error?.message.contains("only a manager authorises") == true)
    }

    @Test(arguments: ["7", "edt-laptop-a", "edt-laptop-a:", "edt-laptop-a:x", ":7", ""])
    func anEntryReferenceMustBeADot(_ reference: String) {
        #expect(refusal(.authorisation(authorises: reference), by: Self.manager)?.path == "authorises")
        #expect(refusal(.feedback(about: reference, text: "Told.", confidentialityWeighed: true))?.path == "about")
        #expect(refusal(.strategyRecord(discussion: reference, recipients: ["Police"]))?.path == "discussion")
        #expect(refusal(.challenge(about: reference, text: "Disagree."))?.path == "about")
        #expect(refusal(.escalation(challenge: reference, to: "Head of Service", text: "x"))?.path == "challenge")
    }

    @Test func anAcknowledgementCarriesItsMethod() throws {
        let made = try payload(.acknowledgement(method: .inPerson))
        #expect(made["method"] == .string("in-person"))
        #expect(made["text"] == nil)
    }

    @Test func feedbackNeedsWhatWasToldAndRecordsWhetherConfidentialityWasWeighed() throws {
        #expect(refusal(.feedback(about: "edt-laptop-a:7", text: " "))?.path == "text")
        let made = try payload(.feedback(about: "edt-laptop-a:7", text: "Told of the assessment."))
        #expect(made["confidentialityWeighed"] == .bool(false))
        #expect(made["about"] == .string("edt-laptop-a:7"))
        let weighed = try payload(.feedback(about: "edt-laptop-a:7", text: "Told.", confidentialityWeighed: true))
        #expect(weighed["confidentialityWeighed"] == .bool(true))
    }

    @Test func aConfirmationNeedsItsReference() throws {
        #expect(refusal(.confirmation(reference: ""))?.path == "reference")
        #expect(refusal(.confirmation(reference: String(repeating: "r", count: 501)))?.path == "reference")
        #expect(try payload(.confirmation(reference: "EM-2027-0042"))["reference"] == .string("EM-2027-0042"))
    }

    @Test func aStrategyDiscussionRecordsSection47AndWhoWasPresent() throws {
        let made = try payload(
            .strategyDiscussion(section47: true, present: ["DS Brown", " ", "Dr Rees"], text: "Section 47 to start."))
        #expect(made["section47"] == .bool(true))
        #expect(made["present"] == .array([.string("DS Brown"), .string("Dr Rees")]))
        let none = try payload(.strategyDiscussion(section47: false, text: "No enquiries."))
        #expect(none["section47"] == .bool(false))
        #expect(none["present"] == nil)
        #expect(refusal(.strategyDiscussion(section47: true, text: ""))?.path == "text")
    }

    @Test func aStrategyRecordNeedsItsRecipients() throws {
        #expect(refusal(.strategyRecord(discussion: "edt-laptop-a:9", recipients: []))?.path == "recipients")
        #expect(refusal(.strategyRecord(discussion: "edt-laptop-a:9", recipients: ["  "]))?.path == "recipients")
        let made = try payload(.strategyRecord(discussion: "edt-laptop-a:9", recipients: ["Police", "School"]))
        #expect(made["recipients"] == .array([.string("Police"), .string("School")]))
        #expect(made["discussion"] == .string("edt-laptop-a:9"))
    }

    @Test func challengesEscalationsAssessmentsAndConferencesNeedTheirText() {
        #expect(refusal(.challenge(about: "edt-laptop-a:7", text: ""))?.path == "text")
        #expect(refusal(.escalation(challenge: "edt-laptop-a:8", to: "", text: "Why."))?.path == "to")
        #expect(refusal(.escalation(challenge: "edt-laptop-a:8", to: "Head of Service", text: ""))?.path == "text")
        #expect(refusal(.assessmentCompleted(text: ""))?.path == "text")
        #expect(refusal(.conferenceHeld(text: " "))?.path == "text")
        #expect(refusal(.conferenceHeld(text: String(repeating: "x", count: 100_001)))?.path == "text")
    }

    @Test func instantsNeedAnOffset() {
        #expect(throws: ReferralError.self) {
            try ReferralEntry.payload(
                .assessmentCompleted(text: "Done."), author: Self.worker, at: "2027-03-27T03:00:00",
                recordedAt: Self.recordedAt, device: Self.device)
        }
        #expect(throws: ReferralError.self) {
            try ReferralEntry.payload(
                .assessmentCompleted(text: "Done."), author: Self.worker, at: Self.at, recordedAt: "now",
                device: Self.device)
        }
    }
}
