public import Replication

/// The immutable entries of a referral: every conversation, decision and note is recorded, timed,
/// dated and signed by who made it; a correction is a new entry pointing at what it corrects.
public enum ReferralEntry {
    /// The kinds of entry.
    public enum Kind: String, Sendable, CaseIterable {
        case conversation
        case decision
        case note
        case correction
        /// A conflict settled by a person: the value chosen and every value it replaced.
        case resolution
        /// A field set anew: the value(s) it replaced, kept as evidence (a field's history).
        case replacement
        /// The outcome decided for the referral, with its rationale (``Outcome``).
        case outcome
        /// A manager's authorisation of an outcome entry.
        case authorisation
        /// The referral acknowledged to the referrer.
        case acknowledgement
        /// The referrer told the outcome.
        case feedback
        /// The written confirmation of a verbal referral received.
        case confirmation
        /// A strategy discussion held (whether it started section 47 enquiries).
        case strategyDiscussion = "strategy-discussion"
        /// The strategy discussion's record sent to all parties.
        case strategyRecord = "strategy-record"
        /// The referrer challenges an outcome.
        case challenge
        /// A challenge escalated.
        case escalation
        /// The Child and Family Assessment completed.
        case assessmentCompleted = "assessment-completed"
        /// The initial child protection conference held.
        case conferenceHeld = "conference-held"

        /// The kinds a person writes as a note (`edt referral note --kind`); the others are
        /// recorded by the act they document (resolving a conflict, setting a field, an outcome
        /// and what follows it: ``outcomeKinds``).
        public static let noteKinds: [Kind] = [.conversation, .decision, .note, .correction]

        /// The kinds recorded by the outcome commands (`edt referral outcome`, `authorise`...),
        /// each with its own typed payload (``ReferralEntry/Event``).
        public static let outcomeKinds: [Kind] = [
            .outcome, .authorisation, .acknowledgement, .feedback, .confirmation, .strategyDiscussion,
            .strategyRecord, .challenge, .escalation, .assessmentCompleted, .conferenceHeld,
        ]
    }

    /// Who made an entry.
    public struct Author: Sendable, Hashable {
        public let name: String
        public let role: String

        public init(name: String, role: String) throws(ReferralError) {
            let name = name.trimmingSpaces
            let role = role.trimmingSpaces
            guard !name.isEmpty else {
                throw ReferralError(path: "by", "the name of the person making the entry is required")
            }
            guard !role.isEmpty else {
                throw ReferralError(path: "role", "the role of the person making the entry is required")
            }
            self.name = name
            self.role = role
        }
    }

    /// What a conversation record holds besides what was said (`Docs/domain.md`, "Records that must be kept": "start and end time,
    /// setting, who was present").
    public struct Conversation: Sendable, Hashable {
        public var start: String?
        public var end: String?
        public var setting: String?
        public var present: [String]

        public init(start: String? = nil, end: String? = nil, setting: String? = nil, present: [String] = []) {
            self.start = start
            self.end = end
            self.setting = setting
            self.present = present
        }

        var isEmpty: Bool { start == nil && end == nil && setting == nil && present.isEmpty }
    }

    /// The payload of an entry before it is signed: text, author, instant, device, for a
    /// correction the entry it corrects, and for a conversation its times, setting and who was
    /// present.
    public static func payload(
        kind: Kind, text: String, author: Author, at instant: String, device: DeviceID, corrects: Dot? = nil,
        conversation: Conversation = Conversation()
    ) throws(ReferralError) -> [String: FieldValue] {
        let text = text.trimmingSpaces
        guard !text.isEmpty else { throw ReferralError(path: "text", "an entry needs text") }
        guard text.unicodeScalars.count <= 100_000 else {
            throw ReferralError(path: "text", "is longer than 100,000 characters")
        }
        guard Identifiers.isInstant(instant) else {
            throw ReferralError(path: "at", "must be an ISO 8601 instant with an offset")
        }
        if kind == .correction, corrects == nil {
            throw ReferralError(
                path: "corrects", "a correction must name the entry it corrects (its dot, e.g. edt-laptop-a:12)")
        }
        var payload: [String: FieldValue] = [
            "text": .string(text),
            "by": .string(author.name),
            "role": .string(author.role),
            "at": .string(instant),
            "device": .string(device.rawValue),
        ]
        if let corrects { payload["corrects"] = .string("\(corrects.device.rawValue):\(corrects.counter)") }
        if !conversation.isEmpty {
            guard kind == .conversation else {
                throw ReferralError(path: "start", "start, end, setting and present belong to a conversation record")
            }
            for (name, value) in [("start", conversation.start), ("end", conversation.end)] {
                guard let value else { continue }
                guard Identifiers.isInstant(value) else {
                    throw ReferralError(path: name, "must be an ISO 8601 instant with an offset")
                }
                payload[name] = .string(value)
            }
            if let setting = conversation.setting?.trimmingSpaces, !setting.isEmpty {
                payload["setting"] = .string(setting)
            }
            let present = conversation.present.map(\.trimmingSpaces).filter { !$0.isEmpty }
            if !present.isEmpty { payload["present"] = .array(present.map(FieldValue.string)) }
        }
        return payload
    }
}

extension ReferralEntry {
    /// The payload of a ``Kind/resolution`` or ``Kind/replacement`` entry: the field, its new
    /// value, every value it replaced (for a resolution, all the conflicting ones), when, on which
    /// device, and by whom when known.
    public static func changePayload(
        path: FieldPath, value: FieldValue, replaced: [FieldValue], author: Author?, at instant: String,
        device: DeviceID
    ) throws(ReferralError) -> [String: FieldValue] {
        guard Identifiers.isInstant(instant) else {
            throw ReferralError(path: "at", "must be an ISO 8601 instant with an offset")
        }
        var payload: [String: FieldValue] = [
            "path": .string(path.rawValue), "value": value, "replaced": .array(replaced),
            "at": .string(instant), "device": .string(device.rawValue),
        ]
        if let author {
            payload["by"] = .string(author.name)
            payload["role"] = .string(author.role)
        }
        return payload
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self).unicodeScalars
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
