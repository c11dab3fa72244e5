import Referrals
public import Replication

/// Deadlines and open tasks as JSON values: the one shape the laptop (`edt referral
/// deadlines`), the centre (`edt central case ID deadlines`) and the handover package print, so
/// they agree. Instants are written in London's offset.
public enum DeadlineJSON {
    /// `{NAME: {"due", "status", "metBy", "metAt", "startsAt", "late", "overdueSeconds"}}`.
    public static func deadlines(_ deadlines: [Deadlines.Deadline]) -> FieldValue {
        var members: [String: FieldValue] = [:]
        members.reserveCapacity(deadlines.count)
        for deadline in deadlines {
            members[deadline.name.rawValue] = .object([
                "due": .string(LondonTime.text(deadline.due)),
                "startsAt": .string(LondonTime.text(deadline.startsAt)),
                "status": .string(deadline.status.rawValue),
                "metBy": deadline.metBy.map(FieldValue.string) ?? .null,
                "metAt": deadline.metAt.map { .string(LondonTime.text($0)) } ?? .null,
                "late": .bool(deadline.isLate),
                "overdueSeconds": deadline.overdueSeconds.map { .integer($0) } ?? .null,
            ])
        }
        return .object(members)
    }

    /// `[{"task", "entry", "summary"}]`.
    public static func openTasks(_ tasks: [OpenTasks.Task]) -> FieldValue {
        .array(
            tasks.map { task in
                .object([
                    "task": .string(task.kind.rawValue), "entry": task.entry.map(FieldValue.string) ?? .null,
                    "summary": .string(task.summary),
                ])
            })
    }

    /// The document `edt referral deadlines --json` and `edt central case ID deadlines --json`
    /// print: `{"id", "asOf", "authority", "deadlines", "uncertain", "openTasks"}`.
    public static func report(_ report: DeadlineReport) -> FieldValue {
        .object([
            "id": .string(report.id.rawValue),
            "asOf": .string(LondonTime.text(report.asOf)),
            "authority": .string(report.authority.gss),
            "deadlines": deadlines(report.deadlines),
            "uncertain": .array(report.uncertain.map(FieldValue.string)),
            "openTasks": openTasks(report.openTasks),
        ])
    }
}
