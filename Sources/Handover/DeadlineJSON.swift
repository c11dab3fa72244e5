import Referrals
public import Replication

/// Deadlines and open tasks as JSON values: the one shape the laptop (`edt referral
/// deadlines`), the centre (`edt central case ID deadlines`) and the handover package print, so
/// they agree. Instants are written in London's offset.
public enum DeadlineJSON {
    /// `{NAME: {"due", "status", "metBy", "metAt", "startsAt", "late", "overdueSeconds"}}`.
    public static func deadlines(_ deadlines: [Deadlines.Deadline]) -> FieldValue {
        var writer = CanonicalJSONWriter()
        write(deadlines, to: &writer)
        return writer.value
    }

    /// Writes ``deadlines(_:)`` (the last deadline of a name, when two share it).
    static func write(_ deadlines: [Deadlines.Deadline], to writer: inout CanonicalJSONWriter) {
        // In the order of their names' bytes (a stable sort: of two of a name, the later one
        // comes last and is the one written).
        let order = deadlines.indices.sorted { first, second in
            let (one, other) = (deadlines[first].name.rawValue, deadlines[second].name.rawValue)
            return one == other ? first < second : one.utf8.lexicographicallyPrecedes(other.utf8)
        }
        writer.beginObject()
        for (position, index) in order.enumerated() {
            let deadline = deadlines[index]
            if position + 1 < order.count, deadlines[order[position + 1]].name == deadline.name { continue }
            writer.key(deadline.name.rawValue)
            writer.beginObject()
            writer.key("due")
            writer.londonTime(deadline.due)
            writer.key("late")
            writer.bool(deadline.isLate)
            writer.key("metAt")
            writer.londonTime(deadline.metAt)
            writer.key("metBy")
            writer.string(deadline.metBy)
            writer.key("overdueSeconds")
            writer.integer(deadline.overdueSeconds)
            writer.key("startsAt")
            writer.londonTime(deadline.startsAt)
            writer.key("status")
            writer.string(deadline.status.rawValue)
            writer.endObject()
        }
        writer.endObject()
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
