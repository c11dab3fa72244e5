import Handover
import Laptop
import Referrals
import Replication

/// How `edt referral show` prints a referral: one JSON document, or text for people.
enum ReferralOutput {
    static func json(_ referral: Workspace.ReferralDetail, history: Bool) -> FieldValue {
        var output: [String: FieldValue] = [
            "id": .string(referral.id.rawValue), "document": referral.document,
            "conflicts": .array(
                referral.conflicts.map { .object(["path": .string($0.path.rawValue), "values": .array($0.values)]) }),
            "entries": .array(
                referral.entries.map { entry in
                    .object([
                        "dot": .string(entry.dot.notation), "kind": .string(entry.kind), "payload": entry.payload,
                        "at": entry.at.map(FieldValue.string) ?? .null,
                        "signature": entry.signature.map { .string($0.word) } ?? .null,
                    ])
                }),
            "gaps": .array(referral.gaps.map(FieldValue.string)),
            "deadlines": referral.deadlines.map { DeadlineOutput.json($0.deadlines) } ?? .null,
            "openTasks": referral.deadlines.map { DeadlineOutput.json($0.openTasks) } ?? .null,
            "crossAuthority": referral.crossAuthority?.json ?? .null,
        ]
        if let unavailable = referral.deadlinesUnavailable { output["deadlinesUnavailable"] = .string(unavailable) }
        if history {
            output["history"] = .array(
                referral.history.map { change in
                    .object([
                        "path": .string(change.path), "value": change.value, "replacedAt": .string(change.replacedAt),
                        "replacedBy": .object([
                            "device": .string(change.device), "name": change.name.map(FieldValue.string) ?? .null,
                            "role": change.role.map(FieldValue.string) ?? .null,
                        ]),
                        "entry": .string(change.entry.notation),
                    ])
                })
        }
        return .object(output)
    }

    static func printText(_ referral: Workspace.ReferralDetail, history: Bool) {
        print("Referral \(referral.id)")
        print(JSONOutput.pretty(referral.document))
        for conflict in referral.conflicts {
            print(
                "CONFLICT \(conflict.path): \(conflict.values.map(\.description).joined(separator: " | "))  (edt referral resolve)"
            )
        }
        for entry in referral.entries {
            let signature = entry.signature.map { " [signature \($0.word)]" } ?? ""
            let content = outcomeSummary(entry) ?? entry.payload.description
            print("\(entry.dot.notation) \(entry.kind)\(entry.at.map { " at \($0)" } ?? ""): \(content)\(signature)")
        }
        if !referral.gaps.isEmpty { print("Missing: \(referral.gaps.joined(separator: ", "))") }
        if let deadlines = referral.deadlines {
            print("Deadlines (\(deadlines.authority.name) calendar, as of \(deadlines.asOf.london)):")
            for line in DeadlineOutput.lines(deadlines.deadlines) { print("  " + line) }
            if !deadlines.uncertain.isEmpty {
                print("  worked out from fields in conflict: \(deadlines.uncertain.joined(separator: ", "))")
            }
            for task in deadlines.openTasks { print("To do: \(task.summary)") }
        } else if let unavailable = referral.deadlinesUnavailable {
            print("Deadlines: \(unavailable)")
        }
        if let cross = referral.crossAuthority {
            print("Host and home: \(cross.summary)")
            for step in cross.steps { print("  " + step.line) }
        }
        if history {
            if referral.history.isEmpty { print("History: no value has been replaced.") }
            for change in referral.history {
                let who = [change.name, change.role].compactMap { $0 }.joined(separator: ", ")
                print(
                    "\(change.replacedAt) \(change.path) was \(change.value), replaced on \(change.device)\(who.isEmpty ? "" : " by \(who)")"
                )
            }
        }
    }

    /// The payload members an outcome entry shows, in order, by kind.
    private static let shownMembers: [String: [String]] = [
        "outcome": ["outcome", "measures", "advice", "rationale"],
        "authorisation": ["authorises", "text"],
        "acknowledgement": ["method", "text"],
        "feedback": ["about", "confidentialityWeighed", "text"],
        "confirmation": ["reference"],
        "strategy-discussion": ["section47", "present", "text"],
        "strategy-record": ["discussion", "recipients"],
        "challenge": ["about", "text"],
        "escalation": ["challenge", "to", "text"],
        "assessment-completed": ["text"],
        "conference-held": ["text"],
    ]

    /// An outcome entry in one line for people: its members (`outcome: early-help; rationale:
    /// ...`), who recorded it, and when it was recorded when that was after the event. Nil for
    /// other kinds.
    static func outcomeSummary(_ entry: Workspace.EntryDetail) -> String? {
        guard let keys = shownMembers[entry.kind], case .object(let payload) = entry.payload else { return nil }
        func text(_ value: FieldValue) -> String {
            switch value {
            case .string(let text): text
            case .bool(let flag): flag ? "yes" : "no"
            case .array(let items): items.map(text).joined(separator: ", ")
            default: value.description
            }
        }
        var parts = keys.compactMap { key in payload[key].map { "\(key): \(text($0))" } }
        if case .string(let name)? = payload["by"], case .string(let role)? = payload["role"] {
            parts.append("by \(name) (\(role))")
        }
        if case .string(let recorded)? = payload["recordedAt"], let recordedAt = Instant(iso8601: recorded),
            case .string(let happened)? = payload["at"], let at = Instant(iso8601: happened), recordedAt != at
        {
            parts.append("recorded \(recordedAt.london)")
        }
        return parts.joined(separator: "; ")
    }
}
