import Laptop
import Referrals
import Replication
import Testing

/// The questions `edt referral new` asks on a terminal come from the referral schema.
@Suite("Capture questionnaire")
struct CaptureQuestionnaireTests {
    let questionnaire: CaptureQuestionnaire

    init() throws {
        questionnaire = CaptureQuestionnaire(
            policy: try DevicePolicy(authorities: ["E06000038", "E06000037"]),
            now: try #require(Instant(iso8601: "2027-06-12T23:00:00Z")))
    }

    @Test func everyRequiredFieldOfTheSchemaIsAskedFirstAndMarkedRequired() {
        // The schema's required fields (Docs/domain.md, "The referral record").
        let required = ["receivedAt", "receivedBy.name", "receivedBy.role", "hostAuthority", "channel", "concern"]
        let asked = questionnaire.questions.map(\.path.rawValue)
        #expect(Array(asked.prefix(required.count)) == required)
        #expect(questionnaire.questions.filter(\.required).map(\.path.rawValue) == required)
        #expect(asked.contains("children.c1.name") && asked.contains("recordCheck"))
    }

    @Test func labelsAndChoicesComeFromTheSchemaAndSuggestionsFromTheDevice() throws {
        let channel = try #require(questionnaire.questions.first { $0.path.rawValue == "channel" })
        #expect(channel.label.contains("phone, written, in-person, police, other"))
        let received = try #require(questionnaire.questions.first { $0.path.rawValue == "receivedAt" })
        #expect(received.suggestion == "2027-06-13T00:00:00+01:00", "now, in London's offset")
        #expect(questionnaire.questions.first { $0.path.rawValue == "hostAuthority" }?.suggestion == "E06000037")
        // A field inside an object says what it belongs to.
        #expect(
            questionnaire.questions.first { $0.path.rawValue == "referrer.name" }?.label
                == "Who made the referral: Name")
        #expect(
            questionnaire.questions.first { $0.path.rawValue == "children.c1.name" }?.label
                == "The child or children: Full name")
    }

    @Test func answersAreCheckedAndMakeAValidDocument() throws {
        let questions = Dictionary(uniqueKeysWithValues: questionnaire.questions.map { ($0.path.rawValue, $0) })
        let protection = try #require(questions["immediateProtection"])
        #expect(throws: LaptopError.self) { try questionnaire.value(of: "maybe", for: protection) }
        #expect(try questionnaire.value(of: "true", for: protection) == .bool(true))
        let birth = try #require(questions["children.c1.dateOfBirth"])
        #expect(throws: LaptopError.self) { try questionnaire.value(of: "2024-02-30", for: birth) }
        var answers: [(path: FieldPath, value: FieldValue)] = []
        for (path, text) in [
            ("receivedAt", "2027-03-27T02:10:00Z"), ("receivedBy.name", "Sam Patel"),
            ("receivedBy.role", "EDT social worker"),
            ("hostAuthority", "E06000038"), ("channel", "phone"), ("concern", "Toddler alone"),
            ("children.c1.name", "Tom Brown"),
        ] {
            let question = try #require(questions[path])
            answers.append((question.path, try questionnaire.value(of: text, for: question)))
        }
        let document = questionnaire.document(from: answers)
        let capture = try ReferralCapture.validate(document) { $0 + "00000000" }
        #expect(capture.writes.map(\.path.rawValue).contains("children.c1.name"))
        guard case .object(let members) = document, case .array(let children)? = members["children"] else {
            Issue.record("children should be a list: \(document)")
            return
        }
        #expect(children == [.object(["id": .string("c1"), "name": .string("Tom Brown")])])
    }
}
