import Laptop
import Replication

/// Asks for a referral field by field on a terminal (`edt referral new` with no file): the
/// questions are the laptop layer's ``CaptureQuestionnaire``; this only reads and writes lines.
struct Prompter {
    let questionnaire: CaptureQuestionnaire

    func ask() throws -> FieldValue {
        print("New referral. Required fields are marked *; press Enter to skip the others.")
        var answers: [(path: FieldPath, value: FieldValue)] = []
        for question in questionnaire.questions {
            while true {
                let hint = question.suggestion.map { " [\($0)]" } ?? ""
                print("\(question.required ? "*" : " ") \(question.label)\(hint): ", terminator: "")
                guard let line = readLine() else {
                    throw Failure.refused("input ended before the referral was complete; nothing was saved")
                }
                var answer = line.trimmingWhitespace()
                if answer.isEmpty, let suggestion = question.suggestion { answer = suggestion }
                if answer.isEmpty {
                    if question.required {
                        print("  this field is required")
                        continue
                    }
                    break
                }
                do {
                    answers.append((question.path, try questionnaire.value(of: answer, for: question)))
                    break
                } catch {
                    print("  \(error)")
                }
            }
        }
        return questionnaire.document(from: answers)
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var scalars = Substring(self).unicodeScalars
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
