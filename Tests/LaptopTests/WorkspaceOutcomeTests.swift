import Foundation
import Laptop
import LineProtocol
import Referrals
import Replication
import Testing

/// A referral's outcome and what follows it, recorded on a real store: happy paths, and every
/// inconsistency refused with the store left as it was.
@Suite("Workspace: outcomes")
struct WorkspaceOutcomeTests {
    static let manager = try! ReferralEntry.Author(name: "S. Patel", role: "EDT Team Manager")
    /// A professional's phone referral, received at 02:10 (the bench's clock reads 02:30).
    static let verbalProfessional = Bench.minimal.replacingOccurrences(
        of: #""concern":"#,
        with: #""verbal":true,"referrer":{"name":"PC Smith","professional":true,"phone":"07700 900123"},"concern":"#)
    /// A member of the public's referral, not verbal.
    static let fromThePublic = Bench.minimal.replacingOccurrences(
        of: #""concern":"#, with: #""referrer":{"name":"A neighbour","professional":false},"concern":"#)

    /// Expects `body` to be refused with a message containing `words`, and the store unchanged.
    func expectRefused(
        _ workspace: Workspace, _ id: RecordID, containing words: String,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () throws -> Void
    ) throws {
        let digest = try workspace.digest()
        let entries = try workspace.referral(id.rawValue).entries.count
        let refusal = #expect(throws: LaptopError.self, sourceLocation: sourceLocation) { try body() }
        #expect(refusal?.code == .refused, sourceLocation: sourceLocation)
        #expect(
            refusal?.message.contains(words) == true, "\(String(describing: refusal?.message))",
            sourceLocation: sourceLocation)
        #expect(try workspace.digest() == digest, "nothing changed", sourceLocation: sourceLocation)
        #expect(try workspace.referral(id.rawValue).entries.count == entries, sourceLocation: sourceLocation)
    }

    func payload(_ workspace: Workspace, _ id: RecordID, _ dot: Dot) throws -> [String: FieldValue] {
        let entry = try #require(try workspace.referral(id.rawValue).entries.first { $0.dot == dot })
        guard case .object(let payload) = entry.payload else { throw LaptopError(.refused, "no payload") }
        return payload
    }

    @Test func aVerbalProfessionalReferralIsAcknowledgedDecidedAuthorisedFedBackAndConfirmed() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let captured = try workspace.capture(document: Array(Self.verbalProfessional.utf8)[...], source: "test")
        let id = captured.id
        #expect(captured.gaps.contains("writtenConfirmation"))
        #expect(try workspace.referral(id.rawValue).gaps.contains("writtenConfirmation"))

        let acknowledged = try workspace.record(
            id.rawValue, .acknowledgement(method: .phone, text: "Rang PC Smith back."), by: Bench.worker,
            at: "2027-03-27T02:20:00Z")
        #expect(acknowledged.kind == .acknowledgement)
        #expect(acknowledged.at == "2027-03-27T02:20:00Z")
        let outcome = try workspace.record(
            id.rawValue,
            .outcome(
                .immediateProtection, rationale: "Father on his way to collect her.",
                measures: [.childMovedByAgreement, .policeProtection]), by: Bench.worker)
        #expect(outcome.at == "2027-03-27T02:30:00Z", "now by default")
        let authorised = try workspace.record(
            id.rawValue, .authorisation(authorises: Notation.text(outcome.dot), text: "Agreed."), by: Self.manager)
        let told = try workspace.record(
            id.rawValue, .feedback(about: Notation.text(outcome.dot), text: "Told PC Smith the child is safe."),
            by: Bench.worker)
        let confirmed = try workspace.record(
            id.rawValue, .confirmation(reference: "Email BTP-2027-0042"), by: Bench.worker)

        let detail = try workspace.referral(id.rawValue)
        #expect(
            detail.entries.map(\.kind) == [
                "acknowledgement", "outcome", "authorisation", "feedback", "confirmation",
            ])
        #expect(detail.entries.map(\.dot) == [acknowledged, outcome, authorised, told, confirmed].map(\.dot))
        #expect(detail.entries.allSatisfy { $0.signature == .valid }, "each signed by the device key")
        #expect(!detail.gaps.contains("writtenConfirmation"), "confirmed")

        let decision = try payload(workspace, id, outcome.dot)
        #expect(decision["outcome"] == .string("immediate-protection"))
        #expect(decision["measures"] == .array([.string("child-moved-by-agreement"), .string("police-protection")]))
        #expect(decision["by"] == .string("J. Okafor") && decision["role"] == .string("EDT social worker"))
        #expect(decision["device"] == .string("edt-laptop-a"))
        #expect(decision["at"] == .string("2027-03-27T02:30:00Z"))
        #expect(decision["recordedAt"] == .string("2027-03-27T02:30:00Z"))
        #expect(try payload(workspace, id, authorised.dot)["authorises"] == .string(Notation.text(outcome.dot)))
        #expect(try payload(workspace, id, authorised.dot)["role"] == .string("EDT Team Manager"))
        let ack = try payload(workspace, id, acknowledged.dot)
        #expect(ack["at"] == .string("2027-03-27T02:20:00Z"))
        #expect(ack["recordedAt"] == .string("2027-03-27T02:30:00Z"), "a back-dated event shows when it was written")
    }

    @Test func anInstantGivenInAnotherOffsetIsWrittenInLondons() throws {
        let bench = Bench()
        defer { bench.remove() }
        let summer = FixedClock(Instant(iso8601: "2027-06-01T12:00:00Z")!)
        let workspace = try bench.workspace(clock: summer)
        let id = try Bench.capture(workspace)
        let recorded = try workspace.record(
            id.rawValue, .assessmentCompleted(text: "Completed."), by: Bench.worker, at: "2027-06-01T10:00:00Z")
        #expect(recorded.at == "2027-06-01T11:00:00+01:00")
        let written = try payload(workspace, id, recorded.dot)
        #expect(written["at"] == .string("2027-06-01T11:00:00+01:00"))
        #expect(written["recordedAt"] == .string("2027-06-01T13:00:00+01:00"))
    }

    @Test func anInstantInTheFutureOrBeforeTheReferralIsRefused() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let id = try Bench.capture(workspace)
        let event = ReferralEntry.Event.acknowledgement(method: .email)
        try expectRefused(workspace, id, containing: "is in the future") {
            try workspace.record(id.rawValue, event, by: Bench.worker, at: "2027-03-27T02:35:01Z")
        }
        try expectRefused(workspace, id, containing: "before the referral was received") {
            try workspace.record(id.rawValue, event, by: Bench.worker, at: "2027-03-27T02:09:59Z")
        }
        try expectRefused(workspace, id, containing: "not an ISO 8601 instant with an offset") {
            try workspace.record(id.rawValue, event, by: Bench.worker, at: "2027-03-27T02:20:00")
        }
        // Within five minutes of the clock (another machine's clock may be a little ahead), and
        // exactly when the referral was received, are accepted.
        try workspace.record(id.rawValue, event, by: Bench.worker, at: "2027-03-27T02:35:00Z")
        try workspace.record(id.rawValue, event, by: Bench.worker, at: "2027-03-27T02:10:00Z")
        #expect(try workspace.referral(id.rawValue).entries.count == 2)
    }

    @Test func onlyAManagerAuthorisesAndOnlyOnce() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let id = try Bench.capture(workspace)
        let outcome = try workspace.record(
            id.rawValue, .outcome(.section17Assessment, rationale: "Needs assessing."), by: Bench.worker)
        let reference = Notation.text(outcome.dot)
        try expectRefused(workspace, id, containing: "only a manager authorises") {
            try workspace.record(id.rawValue, .authorisation(authorises: reference), by: Bench.worker)
        }
        try workspace.record(id.rawValue, .authorisation(authorises: reference), by: Self.manager)
        let other = try ReferralEntry.Author(name: "T. Grey", role: "Service Manager")
        try expectRefused(workspace, id, containing: "is already authorised") {
            try workspace.record(id.rawValue, .authorisation(authorises: reference), by: other)
        }
        // A changed decision is a new outcome, authorised in its turn.
        let changed = try workspace.record(
            id.rawValue, .outcome(.strategyDiscussion, rationale: "New information."), by: Bench.worker)
        try workspace.record(id.rawValue, .authorisation(authorises: Notation.text(changed.dot)), by: other)
    }

    @Test func authorisingWhatNoOneDecidedIsRefused() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let id = try Bench.capture(workspace)
        let note = try workspace.note(id.rawValue, .init(kind: .decision, text: "Visit.", author: Bench.worker))
        try expectRefused(workspace, id, containing: "an authorisation of an outcome never recorded") {
            try workspace.record(id.rawValue, .authorisation(authorises: "edt-laptop-a:999"), by: Self.manager)
        }
        try expectRefused(workspace, id, containing: "is a decision entry, not outcome") {
            try workspace.record(id.rawValue, .authorisation(authorises: Notation.text(note)), by: Self.manager)
        }
        try expectRefused(workspace, id, containing: "authorises") {
            try workspace.record(id.rawValue, .authorisation(authorises: "the outcome"), by: Self.manager)
        }
        // An outcome of another referral is not an entry of this one.
        let other = try Bench.capture(workspace)
        let elsewhere = try workspace.record(
            other.rawValue, .outcome(.earlyHelp, rationale: "Support."), by: Bench.worker)
        try expectRefused(workspace, id, containing: "not an entry of this referral") {
            try workspace.record(
                id.rawValue, .authorisation(authorises: Notation.text(elsewhere.dot)), by: Self.manager)
        }
    }

    @Test func feedbackOnAnOutcomeNeverRecordedIsRefused() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let id = try Bench.capture(workspace)
        let ack = try workspace.record(id.rawValue, .acknowledgement(method: .letter), by: Bench.worker)
        try expectRefused(workspace, id, containing: "feedback on an outcome never recorded") {
            try workspace.record(
                id.rawValue, .feedback(about: "edt-laptop-a:77", text: "Told.", confidentialityWeighed: true),
                by: Bench.worker)
        }
        try expectRefused(workspace, id, containing: "feedback on an outcome never recorded") {
            try workspace.record(
                id.rawValue, .feedback(about: Notation.text(ack.dot), text: "Told.", confidentialityWeighed: true),
                by: Bench.worker)
        }
    }

    @Test(arguments: [WorkspaceOutcomeTests.fromThePublic, Bench.minimal])
    func aMemberOfThePublicIsToldTheOutcomeOnlyOnceConfidentialityIsWeighed(_ document: String) throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let id = try Bench.capture(workspace, document)
        let outcome = try workspace.record(
            id.rawValue, .outcome(.noFurtherAction, rationale: "Safe.", advice: "Leaflet."), by: Bench.worker)
        let about = Notation.text(outcome.dot)
        try expectRefused(workspace, id, containing: "--confidentiality-weighed") {
            try workspace.record(id.rawValue, .feedback(about: about, text: "No further action."), by: Bench.worker)
        }
        let told = try workspace.record(
            id.rawValue, .feedback(about: about, text: "No further action.", confidentialityWeighed: true),
            by: Bench.worker)
        #expect(try payload(workspace, id, told.dot)["confidentialityWeighed"] == .bool(true))
    }

    @Test func aProfessionalIsToldWithoutTheConfidentialityFlag() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let id = try Bench.capture(workspace, Self.verbalProfessional)
        let outcome = try workspace.record(id.rawValue, .outcome(.earlyHelp, rationale: "x"), by: Bench.worker)
        let told = try workspace.record(
            id.rawValue, .feedback(about: Notation.text(outcome.dot), text: "Early help."), by: Bench.worker)
        #expect(try payload(workspace, id, told.dot)["confidentialityWeighed"] == .bool(false))
    }

    @Test func aConfirmationOfAReferralNotRecordedAsVerbalIsRefused() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let id = try Bench.capture(workspace)
        try expectRefused(workspace, id, containing: "not recorded as verbal: set it first") {
            try workspace.record(id.rawValue, .confirmation(reference: "Letter 12"), by: Bench.worker)
        }
        try workspace.set(id.rawValue, path: "verbal", value: "false", by: Bench.worker)
        try expectRefused(workspace, id, containing: "not recorded as verbal") {
            try workspace.record(id.rawValue, .confirmation(reference: "Letter 12"), by: Bench.worker)
        }
        try workspace.set(id.rawValue, path: "verbal", value: "true", by: Bench.worker)
        try workspace.record(id.rawValue, .confirmation(reference: "Letter 12"), by: Bench.worker)
    }

    @Test func strategyRecordsChallengesEscalationsAndConferencesNameWhatTheyFollow() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let id = try Bench.capture(workspace)
        let outcome = try workspace.record(
            id.rawValue, .outcome(.strategyDiscussion, rationale: "Reasonable cause."), by: Bench.worker)
        let outcomeRef = Notation.text(outcome.dot)
        try expectRefused(workspace, id, containing: "a strategy record of a strategy discussion never recorded") {
            try workspace.record(
                id.rawValue, .strategyRecord(discussion: outcomeRef, recipients: ["Police"]), by: Bench.worker)
        }
        try expectRefused(workspace, id, containing: "no strategy discussion of this referral started section 47") {
            try workspace.record(id.rawValue, .conferenceHeld(text: "Held."), by: Bench.worker)
        }
        let noEnquiries = try workspace.record(
            id.rawValue, .strategyDiscussion(section47: false, text: "No enquiries yet."), by: Bench.worker)
        try expectRefused(workspace, id, containing: "no strategy discussion of this referral started section 47") {
            try workspace.record(id.rawValue, .conferenceHeld(text: "Held."), by: Bench.worker)
        }
        try workspace.record(
            id.rawValue, .strategyRecord(discussion: Notation.text(noEnquiries.dot), recipients: ["Police", "GP"]),
            by: Bench.worker)
        try workspace.record(
            id.rawValue, .strategyDiscussion(section47: true, present: ["DS Brown"], text: "Section 47 starts."),
            by: Bench.worker)
        try workspace.record(id.rawValue, .conferenceHeld(text: "Child protection plan."), by: Bench.worker)

        try expectRefused(workspace, id, containing: "an escalation of a challenge never recorded") {
            try workspace.record(
                id.rawValue, .escalation(challenge: outcomeRef, to: "Head of Service", text: "x"), by: Bench.worker)
        }
        let challenge = try workspace.record(
            id.rawValue, .challenge(about: outcomeRef, text: "The school disagrees."), by: Bench.worker)
        try expectRefused(workspace, id, containing: "a challenge of an outcome never recorded") {
            try workspace.record(
                id.rawValue, .challenge(about: Notation.text(challenge.dot), text: "x"), by: Bench.worker)
        }
        try workspace.record(
            id.rawValue, .escalation(challenge: Notation.text(challenge.dot), to: "Head of Service", text: "Review."),
            by: Bench.worker)
        try workspace.record(id.rawValue, .assessmentCompleted(text: "Done."), by: Bench.worker)
        let kinds = try workspace.referral(id.rawValue).entries.map(\.kind)
        #expect(
            kinds == [
                "outcome", "strategy-discussion", "strategy-record", "strategy-discussion", "conference-held",
                "challenge", "escalation", "assessment-completed",
            ])
    }

    @Test func aPayloadRefusedOnItsOwnChangesNothing() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let id = try Bench.capture(workspace)
        try expectRefused(workspace, id, containing: "measures") {
            try workspace.record(id.rawValue, .outcome(.immediateProtection, rationale: "x"), by: Bench.worker)
        }
        try expectRefused(workspace, id, containing: "advice belongs to no-further-action") {
            try workspace.record(
                id.rawValue, .outcome(.earlyHelp, rationale: "x", advice: "Leaflet."), by: Bench.worker)
        }
        let refusal = #expect(throws: LaptopError.self) {
            try workspace.record("no-such-referral", .assessmentCompleted(text: "x"), by: Bench.worker)
        }
        #expect(refusal?.message.contains("no referral no-such-referral") == true)
    }

    @Test func theOutcomeKindsAreNotNotes() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let id = try Bench.capture(workspace)
        for kind in ReferralEntry.Kind.outcomeKinds {
            try expectRefused(workspace, id, containing: "not as a note") {
                try workspace.note(id.rawValue, .init(kind: kind, text: "x", author: Bench.worker))
            }
        }
    }

    @Test func anEntryMayNotBeDatedBeforeTheEntryItNames() throws {
        let bench = Bench()
        defer { bench.remove() }
        let workspace = try bench.workspace()
        let id = try Bench.capture(workspace)
        let outcome = try workspace.record(
            id.rawValue, .outcome(.strategyDiscussion, rationale: "Concerns."), by: Bench.worker,
            at: "2027-03-27T02:20:00Z")
        let reference = Notation.text(outcome.dot)
        // An authorisation dated before the outcome it authorises would forge a met decision.
        try expectRefused(workspace, id, containing: "before the outcome entry") {
            try workspace.record(
                id.rawValue, .authorisation(authorises: reference), by: Self.manager, at: "2027-03-27T02:15:00Z")
        }
        try expectRefused(workspace, id, containing: "before the outcome entry") {
            try workspace.record(
                id.rawValue, .feedback(about: reference, text: "Told.", confidentialityWeighed: true), by: Bench.worker,
                at: "2027-03-27T02:19:59Z")
        }
        // A conference before the discussion that started section 47 enquiries.
        try workspace.record(
            id.rawValue, .strategyDiscussion(section47: true, text: "Enquiries."), by: Bench.worker,
            at: "2027-03-27T02:25:00Z")
        try expectRefused(workspace, id, containing: "before the strategy discussion that started section 47") {
            try workspace.record(
                id.rawValue, .conferenceHeld(text: "Held."), by: Bench.worker, at: "2027-03-27T02:24:00Z")
        }
        // At or after, they are recorded.
        try workspace.record(
            id.rawValue, .authorisation(authorises: reference), by: Self.manager, at: "2027-03-27T02:20:00Z")
        try workspace.record(id.rawValue, .conferenceHeld(text: "Held."), by: Bench.worker, at: "2027-03-27T02:25:00Z")
    }

    @Test func anEntryMayNotPrecedeTheEarliestReceiptWhenReceiptIsInConflict() throws {
        let bench = Bench()
        defer { bench.remove() }
        let a = try bench.workspace("a")
        let b = try bench.workspace("b")
        let id = try Bench.capture(a)
        _ = try b.importBundle(a.exportBundle(), source: "a")
        try a.set(id.rawValue, path: "receivedAt", value: "2027-03-27T02:00:00Z", by: Bench.worker)
        try b.set(id.rawValue, path: "receivedAt", value: "2027-03-27T02:05:00Z", by: Bench.worker)
        _ = try a.importBundle(b.exportBundle(), source: "b")
        #expect(try a.referral(id.rawValue).conflicts.map(\.path.rawValue) == ["receivedAt"])
        try expectRefused(a, id, containing: "before the referral was received (2027-03-27T02:00:00Z)") {
            try a.record(id.rawValue, .acknowledgement(method: .phone), by: Bench.worker, at: "1990-01-01T00:00:00Z")
        }
        try a.record(id.rawValue, .acknowledgement(method: .phone), by: Bench.worker, at: "2027-03-27T02:00:00Z")
    }
}
