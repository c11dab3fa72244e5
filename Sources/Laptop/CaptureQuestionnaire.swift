public import Referrals
public import Replication

/// The questions asked, one field at a time, to capture a referral on a terminal (`edt referral
/// new` with no file): every required field of the referral schema, then the recommended
/// fields a night worker most often has. Labels, choices and whether a field is required come
/// from ``ReferralSchema``; answers are checked as `referral set` checks a value.
public struct CaptureQuestionnaire: Sendable {
    /// One question: a field, how to ask for it, and what it suggests when nothing is typed.
    public struct Question: Sendable {
        public let path: FieldPath
        public let label: String
        /// Asked again until answered.
        public let required: Bool
        /// Taken when the answer is empty.
        public let suggestion: String?
    }

    public let questions: [Question]

    /// The child asked about: the first item of the `children` collection.
    static let firstChild = "c1"
    /// Recommended fields asked after the required ones, in this order.
    static let recommendedPaths = [
        "immediateProtection", "childSafeNow", "homeAuthority", "children.\(firstChild).name",
        "children.\(firstChild).dateOfBirth",
        "children.\(firstChild).location", "referrer.name", "referrer.phone", "referrer.professional", "recordCheck",
    ]

    /// The questions for a device serving `policy`'s authorities, suggesting `now` for when the
    /// referral was received.
    public init(policy: DevicePolicy, now: Instant) {
        var paths: [String] = []
        func requiredLeaves(_ members: [ReferralSchema.Member], prefix: String) {
            for member in members where member.requirement == .required {
                let path = prefix + member.name
                switch member.shape {
                case .scalar: paths.append(path)
                case .object(let inner): requiredLeaves(inner, prefix: path + ".")
                case .collection: break
                }
            }
        }
        requiredLeaves(ReferralSchema.document, prefix: "")
        let suggestions: [String: String] = [
            "receivedAt": now.london, ReferralCapture.hostAuthorityPath: policy.authorities.first ?? "",
            "channel": "phone",
            "recordCheck": "not-checked-offline",
        ]
        questions = (paths + Self.recommendedPaths).compactMap { text in
            guard let path = try? FieldPath(text), let member = ReferralSchema.member(at: path),
                case .scalar(let scalar) = member.shape
            else { return nil }
            return Question(
                path: path, label: Self.context(of: path) + member.summary + Self.hint(for: scalar),
                required: paths.contains(text),
                suggestion: suggestions[text])
        }
    }

    /// For a field inside an object or a list item, what it belongs to (`Who made the referral: `).
    private static func context(of path: FieldPath) -> String {
        guard path.segments.count > 1, let parent = try? FieldPath(String(path.segments[0])),
            let member = ReferralSchema.member(at: parent)
        else { return "" }
        return member.summary + ": "
    }

    private static func hint(for scalar: ReferralSchema.Scalar) -> String {
        switch scalar {
        case .choice(let choices): " (\(choices.joined(separator: ", ")))"
        case .boolean: " (true/false)"
        default: ""
        }
    }

    /// The value of an answer to `question`, or why it is not one.
    public func value(of answer: String, for question: Question) throws(LaptopError) -> FieldValue {
        let value = ReferralCapture.value(typed: answer, parsed: Workspace.parsedValue(answer), for: question.path)
        do {
            try ReferralCapture.validateWrite(value, at: question.path, in: nil)
        } catch {
            throw .refused(error.description)
        }
        return value
    }

    /// The referral document the answers make (collection items as lists with their `id`).
    public func document(from answers: [(path: FieldPath, value: FieldValue)]) -> FieldValue {
        var document: [String: FieldValue] = [:]
        for (path, value) in answers { document.insert(value, at: path.segments.map(String.init)) }
        for member in ReferralSchema.document {
            guard case .collection = member.shape, case .object(let items)? = document[member.name] else { continue }
            document[member.name] = .array(
                items.keys.sorted().map { id in
                    guard case .object(var fields)? = items[id] else { return .object(["id": .string(id)]) }
                    fields["id"] = .string(id)
                    return .object(fields)
                })
        }
        return .object(document)
    }
}

extension Dictionary where Key == String, Value == FieldValue {
    fileprivate mutating func insert(_ value: FieldValue, at segments: [String]) {
        guard let first = segments.first else { return }
        if segments.count == 1 {
            self[first] = value
            return
        }
        var inner: [String: FieldValue] = [:]
        if case .object(let existing)? = self[first] { inner = existing }
        inner.insert(value, at: Array(segments.dropFirst()))
        self[first] = .object(inner)
    }
}
