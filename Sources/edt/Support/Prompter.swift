import Referrals
import Replication

/// Asks for a referral field by field on a terminal (`edt referral new` with no file).
/// Required fields are asked until valid; others may be skipped with an empty answer.
struct Prompter {
    let authorities: [String]

    private struct Question {
        let path: String
        let label: String
        let required: Bool
        var suggestion: String?
    }

    func ask() throws -> FieldValue {
        print("New referral. Required fields are marked *; press Enter to skip the others.")
        let questions = [
            Question(path: "receivedAt", label: "Received at (ISO 8601)", required: true, suggestion: Clock.now()),
            Question(path: "receivedBy.name", label: "Your name", required: true),
            Question(path: "receivedBy.role", label: "Your role", required: true),
            Question(path: "hostAuthority", label: "Authority where the child is (GSS code)", required: true, suggestion: authorities.first),
            Question(path: "channel", label: "Received by (phone, written, in-person, police, other)", required: true, suggestion: "phone"),
            Question(path: "concern", label: "Cause for concern", required: true),
            Question(path: "immediateProtection", label: "Immediate protection needed? (true/false)", required: false),
            Question(path: "homeAuthority", label: "Authority where the child lives (GSS code)", required: false),
            Question(path: "children.c1.name", label: "Child's full name", required: false),
            Question(path: "children.c1.dateOfBirth", label: "Child's date of birth (YYYY-MM-DD)", required: false),
            Question(path: "children.c1.location", label: "Where the child is now", required: false),
            Question(path: "referrer.name", label: "Referrer's name", required: false),
            Question(path: "referrer.phone", label: "Referrer's phone", required: false),
            Question(path: "referrer.professional", label: "Referrer is a professional? (true/false)", required: false),
            Question(path: "recordCheck", label: "Child's record checked? (checked, not-checked-offline, not-checked)", required: false,
                     suggestion: "not-checked-offline"),
        ]
        var document: [String: FieldValue] = [:]
        for question in questions {
            while true {
                let hint = question.suggestion.map { " [\($0)]" } ?? ""
                print("\(question.required ? "*" : " ") \(question.label)\(hint): ", terminator: "")
                guard let line = readLine() else { throw Failure.refused("input ended before the referral was complete; nothing was saved") }
                var answer = line.trimmingCharacters()
                if answer.isEmpty, let suggestion = question.suggestion { answer = suggestion }
                if answer.isEmpty {
                    if question.required {
                        print("  this field is required")
                        continue
                    }
                    break
                }
                do {
                    let path = try FieldPath(question.path)
                    let typed = ReferralCapture.value(typed: answer, parsed: LaptopReferrals.parsed(answer), for: path)
                    try ReferralCapture.validateWrite(typed, at: path, in: nil)
                    document.insert(typed, at: question.path.split(separator: ".").map(String.init))
                    break
                } catch {
                    print("  \(error)")
                }
            }
        }
        if case .object(let children)? = document["children"] {
            document["children"] = .array(children.map { id, child in
                guard case .object(var fields) = child else { return child }
                fields["id"] = .string(id)
                return .object(fields)
            })
        }
        return .object(document)
    }
}

private extension Dictionary where Key == String, Value == FieldValue {
    mutating func insert(_ value: FieldValue, at segments: [String]) {
        guard let first = segments.first else { return }
        if segments.count == 1 {
            self[first] = value
            return
        }
        var inner: [String: FieldValue]
        if case .object(let existing)? = self[first] { inner = existing } else { inner = [:] }
        inner.insert(value, at: Array(segments.dropFirst()))
        self[first] = .object(inner)
    }
}

private extension String {
    func trimmingCharacters() -> String {
        var scalars = Substring(self).unicodeScalars
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
