import LineProtocol
public import Replication

/// The outcome of a referral and what follows it, as typed entries (`Docs/domain.md`, "Outcomes
/// of a referral"): the outcome and its rationale, a manager's authorisation, the acknowledgement
/// and the feedback to the referrer, the written confirmation of a verbal referral, the strategy
/// discussion and its record, a challenge and its escalation, the assessment completed and the
/// initial conference held.
///
/// This file checks what an entry says on its own (pure); what it says about the referral (the
/// entry it names exists and is of the right kind, the referral is verbal...) is checked by the
/// laptop layer against the stored record.
extension ReferralEntry {
    /// The outcome of a referral.
    public enum Outcome: String, Sendable, Hashable, CaseIterable {
        /// No further action, possibly with advice, information or signposting.
        case noFurtherAction = "no-further-action"
        /// Early help: an early help assessment, or a targeted or multi-agency plan.
        case earlyHelp = "early-help"
        /// A Child and Family Assessment under section 17 of the Children Act 1989.
        case section17Assessment = "section-17-assessment"
        /// A strategy discussion to consider section 47 enquiries.
        case strategyDiscussion = "strategy-discussion"
        /// Immediate protection (emergency action), with the measures taken.
        case immediateProtection = "immediate-protection"
    }

    /// A measure of immediate protection.
    public enum ProtectiveMeasure: String, Sendable, Hashable, CaseIterable {
        /// The alleged abuser left the household.
        case abuserLeft = "abuser-left"
        /// The alleged abuser was removed.
        case abuserRemoved = "abuser-removed"
        /// The child moved to a safer place by agreement.
        case childMovedByAgreement = "child-moved-by-agreement"
        /// An Emergency Protection Order was applied for.
        case emergencyProtectionOrder = "emergency-protection-order"
        /// The police used their powers of police protection.
        case policeProtection = "police-protection"
        /// The police used their powers to enter the household.
        case policeEntry = "police-entry"
    }

    /// How a referral was acknowledged to the referrer.
    public enum AcknowledgementMethod: String, Sendable, Hashable, CaseIterable {
        case phone
        case email
        case letter
        case inPerson = "in-person"
        case other
    }

    /// What an outcome entry records, by kind. An entry it names (`authorises`, `about`,
    /// `discussion`, `challenge`) is written `DEVICE:COUNTER`, its dot, as `corrects` is.
    public enum Event: Sendable, Hashable {
        /// `outcome`: `advice` only with no further action; `measures` required with immediate
        /// protection and refused with any other outcome.
        case outcome(Outcome, rationale: String, advice: String? = nil, measures: [ProtectiveMeasure] = [])
        /// `authorisation` of the `outcome` entry `authorises`, by a manager (``Author/isManager``).
        case authorisation(authorises: String, text: String? = nil)
        /// `acknowledgement` of the referral to the referrer.
        case acknowledgement(method: AcknowledgementMethod, text: String? = nil)
        /// `feedback`: what the referrer was told of the outcome entry `about`;
        /// `confidentialityWeighed` records that the child's confidentiality was weighed.
        case feedback(about: String, text: String, confidentialityWeighed: Bool = false)
        /// `confirmation`: the written confirmation of a verbal referral, by its reference.
        case confirmation(reference: String)
        /// `strategy-discussion`: held; whether it decided to start section 47 enquiries.
        case strategyDiscussion(section47: Bool, present: [String] = [], text: String)
        /// `strategy-record`: the record of the discussion entry `discussion` sent to `recipients`.
        case strategyRecord(discussion: String, recipients: [String])
        /// `challenge`: the referrer challenges the outcome entry `about`.
        case challenge(about: String, text: String)
        /// `escalation` of the challenge entry `challenge`, to whom.
        case escalation(challenge: String, to: String, text: String)
        /// `assessment-completed`: the Child and Family Assessment completed.
        case assessmentCompleted(text: String)
        /// `conference-held`: the initial child protection conference held.
        case conferenceHeld(text: String)

        /// The entry kind this event is recorded as.
        public var kind: Kind {
            switch self {
            case .outcome: .outcome
            case .authorisation: .authorisation
            case .acknowledgement: .acknowledgement
            case .feedback: .feedback
            case .confirmation: .confirmation
            case .strategyDiscussion: .strategyDiscussion
            case .strategyRecord: .strategyRecord
            case .challenge: .challenge
            case .escalation: .escalation
            case .assessmentCompleted: .assessmentCompleted
            case .conferenceHeld: .conferenceHeld
            }
        }

        /// The entries this event names, with the payload key naming each and the kind it must
        /// be of.
        public var references: [(key: String, reference: String, kind: Kind)] {
            switch self {
            case .authorisation(let authorises, _): [("authorises", authorises, .outcome)]
            case .feedback(let about, _, _): [("about", about, .outcome)]
            case .strategyRecord(let discussion, _): [("discussion", discussion, .strategyDiscussion)]
            case .challenge(let about, _): [("about", about, .outcome)]
            case .escalation(let challenge, _, _): [("challenge", challenge, .challenge)]
            default: []
            }
        }
    }

    /// The payload of an outcome entry before it is signed: what the event says, who
    /// (`by`, `role`), when it happened (`at`), on which device, and when it was written
    /// (`recordedAt`, so an event recorded after the fact shows as such).
    ///
    /// Refused: required text missing or longer than 100,000 characters; `advice` with an outcome
    /// other than no further action; immediate protection without measures, or measures with
    /// another outcome; an authorisation by someone whose role is not a manager's; an entry
    /// reference that is not `DEVICE:COUNTER`; a strategy record with no recipients; instants
    /// without an offset.
    public static func payload(
        _ event: Event, author: Author, at instant: String, recordedAt: String, device: DeviceID
    ) throws(ReferralError) -> [String: FieldValue] {
        for (key, value) in [("at", instant), ("recordedAt", recordedAt)] where !Identifiers.isInstant(value) {
            throw ReferralError(path: key, "must be an ISO 8601 instant with an offset")
        }
        var payload: [String: FieldValue] = [
            "by": .string(author.name), "role": .string(author.role), "at": .string(instant),
            "recordedAt": .string(recordedAt), "device": .string(device.rawValue),
        ]
        for (key, reference, _) in event.references {
            guard let dot = Notation.dot(Substring(reference.trimmingSpaces)) else {
                throw ReferralError(
                    path: key, "\"\(reference)\" is not an entry's dot DEVICE:COUNTER (see `edt referral show`)")
            }
            payload[key] = .string(Notation.text(dot))
        }
        switch event {
        case .outcome(let outcome, let rationale, let advice, let measures):
            payload["outcome"] = .string(outcome.rawValue)
            payload["rationale"] = try required(rationale, "rationale", "the rationale of the outcome is required")
            if let advice = try optional(advice, "advice") {
                guard outcome == .noFurtherAction else {
                    throw ReferralError(
                        path: "advice",
                        "advice belongs to no-further-action; for \(outcome.rawValue) write it in the rationale")
                }
                payload["advice"] = advice
            }
            if outcome == .immediateProtection {
                guard !measures.isEmpty else {
                    throw ReferralError(
                        path: "measures",
                        "immediate protection needs the measures taken: one or more of \(ProtectiveMeasure.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                var seen: Set<ProtectiveMeasure> = []
                payload["measures"] = .array(measures.filter { seen.insert($0).inserted }.map { .string($0.rawValue) })
            } else if !measures.isEmpty {
                throw ReferralError(
                    path: "measures", "measures belong to immediate-protection, not to \(outcome.rawValue)")
            }
        case .authorisation(_, let text):
            guard author.isManager else {
                throw ReferralError(
                    path: "role",
                    "only a manager authorises an outcome: \"\(author.role)\" is not a manager's role (a role naming the word manager, e.g. Team Manager)"
                )
            }
            if let text = try optional(text, "text") { payload["text"] = text }
        case .acknowledgement(let method, let text):
            payload["method"] = .string(method.rawValue)
            if let text = try optional(text, "text") { payload["text"] = text }
        case .feedback(_, let text, let confidentialityWeighed):
            payload["text"] = try required(text, "text", "say what the referrer was told")
            payload["confidentialityWeighed"] = .bool(confidentialityWeighed)
        case .confirmation(let reference):
            payload["reference"] = try required(
                reference, "reference", "the reference of the written confirmation (letter, email or form) is required",
                maximumLength: 500)
        case .strategyDiscussion(let section47, let present, let text):
            payload["section47"] = .bool(section47)
            payload["text"] = try required(text, "text", "say what the strategy discussion decided")
            let names = present.map(\.trimmingSpaces).filter { !$0.isEmpty }
            if !names.isEmpty { payload["present"] = .array(names.map(FieldValue.string)) }
        case .strategyRecord(_, let recipients):
            let names = recipients.map(\.trimmingSpaces).filter { !$0.isEmpty }
            guard !names.isEmpty else {
                throw ReferralError(path: "recipients", "name everyone the record was sent to")
            }
            payload["recipients"] = .array(names.map(FieldValue.string))
        case .challenge(_, let text):
            payload["text"] = try required(text, "text", "say what the referrer challenges and why")
        case .escalation(_, let to, let text):
            payload["to"] = try required(to, "to", "say to whom the challenge was escalated", maximumLength: 500)
            payload["text"] = try required(text, "text", "say why and what was asked")
        case .assessmentCompleted(let text):
            payload["text"] = try required(text, "text", "say what the assessment concluded")
        case .conferenceHeld(let text):
            payload["text"] = try required(text, "text", "say what the conference decided")
        }
        return payload
    }

    /// Text that must be given: trimmed, not empty, at most `maximumLength` characters.
    private static func required(
        _ text: String, _ key: String, _ missing: String, maximumLength: Int = 100_000
    ) throws(ReferralError) -> FieldValue {
        guard let value = try optional(text, key, maximumLength: maximumLength) else {
            throw ReferralError(path: key, missing)
        }
        return value
    }

    /// Text that may be given: nil when absent or blank.
    private static func optional(
        _ text: String?, _ key: String, maximumLength: Int = 100_000
    ) throws(ReferralError) -> FieldValue? {
        guard let text = text?.trimmingSpaces, !text.isEmpty else { return nil }
        guard text.unicodeScalars.count <= maximumLength else {
            throw ReferralError(path: key, "is longer than \(maximumLength) characters")
        }
        return .string(text)
    }
}

extension ReferralEntry.Author {
    /// Whether the role is a manager's: it contains the word "manager" in any case, as a whole
    /// word ("Team Manager", "EDT manager", "service manager"; not "Managerial assistant").
    /// Only a manager authorises an outcome.
    public var isManager: Bool { ReferralEntry.isManagerRole(role) }
}

extension ReferralEntry {
    /// Whether `role` is a manager's (see ``Author/isManager``): what an authorisation read from
    /// another replica is checked against before it counts.
    public static func isManagerRole(_ role: String) -> Bool {
        if let ascii = isASCIIManagerRole(role) { return ascii }
        return role.unicodeScalars.split { !($0.properties.isAlphabetic || $0.properties.numericType != nil) }
            .contains { String($0).lowercased() == "manager" }
    }

    /// ``isManagerRole(_:)`` read off the bytes of an ASCII role (whose letters and digits are
    /// its only alphabetic and numeric characters), with no Unicode tables; nil for any other.
    static func isASCIIManagerRole(_ role: String) -> Bool? {
        let manager: StaticString = "manager"
        var matched = 0  // how much of the current word matches "manager"; -1 once it cannot
        for byte in role.utf8 {
            guard byte < 0x80 else { return nil }
            let folded = byte | 0x20  // an ASCII letter in lower case
            let isLetter = folded >= UInt8(ascii: "a") && folded <= UInt8(ascii: "z")
            if isLetter || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) {
                guard matched >= 0 else { continue }
                matched = matched < manager.utf8CodeUnitCount && folded == manager.utf8Start[matched] ? matched + 1 : -1
            } else {
                if matched == manager.utf8CodeUnitCount { return true }
                matched = 0
            }
        }
        return matched == manager.utf8CodeUnitCount
    }
}
