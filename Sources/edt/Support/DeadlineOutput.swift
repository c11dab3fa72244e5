import Handover
import Laptop
import Referrals
import Replication

/// How deadlines are printed: JSON for scripts, one line each for people.
enum DeadlineOutput {
    /// `{NAME: {"due", "status", "metBy", "metAt", "startsAt", "late", "overdueSeconds"}}`.
    static func json(_ deadlines: [Deadlines.Deadline]) -> FieldValue {
        var members: [String: FieldValue] = [:]
        for deadline in deadlines {
            members[deadline.name.rawValue] = .object([
                "due": .string(deadline.due.london),
                "startsAt": .string(deadline.startsAt.london),
                "status": .string(deadline.status.rawValue),
                "metBy": deadline.metBy.map(FieldValue.string) ?? .null,
                "metAt": deadline.metAt.map { .string($0.london) } ?? .null,
                "late": .bool(deadline.isLate),
                "overdueSeconds": deadline.overdueSeconds.map { .integer($0) } ?? .null,
            ])
        }
        return .object(members)
    }

    /// The document `edt referral deadlines --json` prints.
    static func json(_ result: Workspace.ReferralDeadlines) -> FieldValue {
        .object([
            "id": .string(result.id.rawValue),
            "asOf": .string(result.asOf.london),
            "authority": .string(result.authority.gss),
            "deadlines": json(result.deadlines),
            "uncertain": .array(result.uncertain.map(FieldValue.string)),
        ])
    }

    /// One line a deadline: name, due instant, where it stands.
    static func lines(_ deadlines: [Deadlines.Deadline]) -> [String] {
        let width = deadlines.map(\.name.rawValue.count).max() ?? 0
        return deadlines.map { deadline in
            let name = deadline.name.rawValue.padding(toLength: width)
            switch deadline.status {
            case .pending: return "\(name)  due \(deadline.due.london)  pending"
            case .met:
                let late = deadline.isLate ? " (late)" : ""
                return
                    "\(name)  due \(deadline.due.london)  met\(late) by \(deadline.metBy ?? "?") at \(deadline.metAt?.london ?? "?")"
            case .overdue:
                return "\(name)  due \(deadline.due.london)  OVERDUE by \(duration(deadline.overdueSeconds ?? 0))"
            }
        }
    }

    /// `2 d 3 h 5 min`, `45 min`, `10 s`.
    static func duration(_ seconds: Int64) -> String {
        let days = seconds / 86_400
        let hours = seconds % 86_400 / 3_600
        let minutes = seconds % 3_600 / 60
        var parts: [String] = []
        if days > 0 { parts.append("\(days) d") }
        if hours > 0 { parts.append("\(hours) h") }
        if minutes > 0 { parts.append("\(minutes) min") }
        return parts.isEmpty ? "\(seconds) s" : parts.joined(separator: " ")
    }
}

extension String {
    func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}
