import Handover
import Laptop
import Referrals
import Replication

/// How deadlines are printed: JSON for scripts, one line each for people.
enum DeadlineOutput {
    /// `{NAME: {"due", "status", "metBy", "metAt", "startsAt", "late", "overdueSeconds"}}`
    /// (``DeadlineJSON``, shared with the handover package).
    static func json(_ deadlines: [Deadlines.Deadline]) -> FieldValue { DeadlineJSON.deadlines(deadlines) }

    /// The document `edt referral deadlines --json` and `edt central case ID deadlines --json`
    /// print.
    static func json(_ report: DeadlineReport) -> FieldValue { DeadlineJSON.report(report) }

    /// `[{"task", "entry", "summary"}]`.
    static func json(_ tasks: [OpenTasks.Task]) -> FieldValue { DeadlineJSON.openTasks(tasks) }

    /// The text `edt referral deadlines` and `edt central case ID deadlines` print.
    static func printText(_ report: DeadlineReport, title: String) {
        print("\(title) (\(report.authority.name) calendar, as of \(report.asOf.london)):")
        for line in lines(report.deadlines) { print("  " + line) }
        if !report.uncertain.isEmpty {
            print("  worked out from fields in conflict: \(report.uncertain.joined(separator: ", "))")
        }
        if !report.openTasks.isEmpty {
            print("Open tasks:")
            for task in report.openTasks { print("  - \(task.summary)") }
        }
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
