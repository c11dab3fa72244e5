import LineProtocol
import Referrals
public import Replication

/// The package as the JSON `edt central handover --json` prints (`Docs/CLI.md`):
/// `{"authority", "opensAt", "cases": [{"id", "receivedAt", "deadlines", "openTasks",
/// "crossAuthority", "routedTo", "carriedOver", "overdue", ...}]}`, with these keys besides:
/// `authorityName`, `frontDoor`, `outOfHoursFrom` (the closing that began the window, or null),
/// `unreadable` (ids), and per case `hostAuthority`, `homeAuthority`, `summary`, `actionsTaken`,
/// `missingInformation`, `conflicts`, `uncertain`. Deadlines have the shape of
/// ``DeadlineJSON/deadlines(_:)``; instants are in London's offset; the bytes are canonical
/// (keys sorted, no spaces), so the same package gives the same bytes.
extension HandoverPackage {
    /// The package as a JSON value (``jsonBytes()`` read back).
    public var json: FieldValue { CanonicalJSONWriter.readBack(jsonBytes()) }

    /// The canonical JSON bytes of the package (no newline after it), written straight from the
    /// package with runs of cases side by side on the machine's cores.
    public func jsonBytes() -> [UInt8] {
        // Each run is a stretch of the cases array, its cases comma-separated, joined in order.
        let runs = SplitWork.runs(over: cases.count, minimumRun: 64) { range in
            var run = CanonicalJSONWriter(reservingCapacity: range.count * 3_072)
            cases.withUnsafeBufferPointer { cases in
                for number in range { cases[number].write(to: &run) }
            }
            return run.bytes
        }
        var writer = CanonicalJSONWriter(reservingCapacity: 1_024 + runs.reduce(0) { $0 + $1.count })
        writer.beginObject()
        writer.key("authority")
        writer.string(authority.gss)
        writer.key("authorityName")
        writer.string(authority.name)
        writer.key("cases")
        writer.beginArray()
        for run in runs { writer.items(run) }
        writer.endArray()
        writer.key("frontDoor")
        writer.string(frontDoor)
        writer.key("opensAt")
        writer.londonTime(opensAt)
        writer.key("outOfHoursFrom")
        writer.londonTime(window.closedAt)
        writer.key("unreadable")
        writer.strings(unreadable.map(\.rawValue))
        writer.endObject()
        return writer.bytes
    }
}

extension HandoverPackage.Case: CanonicalJSONWritable {
    /// One case as a JSON value.
    public var json: FieldValue { writtenJSON }

    /// Writes the case's members, in the order of their keys' bytes (the canonical order).
    func write(to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        writer.key("actionsTaken")
        writer.array(actionsTaken)
        writer.key("carriedOver")
        writer.bool(carriedOver)
        writer.key("conflicts")
        writer.strings(conflicts)
        writer.key("crossAuthority")
        if let crossAuthority { crossAuthority.write(to: &writer) } else { writer.null() }
        writer.key("deadlines")
        DeadlineJSON.write(deadlines, to: &writer)
        writer.key("homeAuthority")
        writer.string(homeAuthority)
        writer.key("hostAuthority")
        writer.string(hostAuthority)
        writer.key("id")
        writer.string(id.rawValue)
        writer.key("missingInformation")
        writer.strings(missingInformation)
        writer.key("openTasks")
        writer.array(openTasks)
        writer.key("overdue")
        writer.bool(overdue)
        writer.key("receivedAt")
        writer.londonTime(receivedAt)
        writer.key("routedTo")
        routedTo.write(to: &writer)
        writer.key("summary")
        summary.write(to: &writer)
        writer.key("uncertain")
        writer.strings(uncertain)
        writer.endObject()
    }
}

extension HandoverPackage.Summary: CanonicalJSONWritable {
    /// `{"children": [...], "concern", "childSafeNow", "immediateProtection"}`.
    public var json: FieldValue { writtenJSON }

    func write(to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        writer.key("childSafeNow")
        writer.bool(childSafeNow)
        writer.key("children")
        writer.array(children)
        writer.key("concern")
        writer.string(concern)
        writer.key("immediateProtection")
        writer.bool(immediateProtection)
        writer.endObject()
    }
}

extension HandoverPackage.Child: CanonicalJSONWritable {
    /// `{"id", "name", "dateOfBirth", "ageEstimate", "unborn", "expectedDate", "location"}`.
    public var json: FieldValue { writtenJSON }

    func write(to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        writer.key("ageEstimate")
        writer.integer(ageEstimate)
        writer.key("dateOfBirth")
        writer.string(dateOfBirth)
        writer.key("expectedDate")
        writer.string(expectedDate)
        writer.key("id")
        writer.string(id)
        writer.key("location")
        writer.string(location)
        writer.key("name")
        writer.string(name)
        writer.key("unborn")
        writer.bool(unborn)
        writer.endObject()
    }
}

extension HandoverPackage.Action: CanonicalJSONWritable {
    /// `{"entry", "kind", "at", "by", "role", "text", "measures"}`.
    public var json: FieldValue { writtenJSON }

    func write(to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        writer.key("at")
        writer.londonTime(at)
        writer.key("by")
        writer.string(by)
        writer.key("entry")
        writer.string(entry)
        writer.key("kind")
        writer.string(kind)
        writer.key("measures")
        writer.strings(measures)
        writer.key("role")
        writer.string(role)
        writer.key("text")
        writer.string(text)
        writer.endObject()
    }
}

extension HandoverPackage.Task: CanonicalJSONWritable {
    /// `{"task", "entry", "field", "summary"}`: the open tasks' shape, with the field.
    public var json: FieldValue { writtenJSON }

    func write(to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        writer.key("entry")
        writer.string(entry)
        writer.key("field")
        writer.string(field)
        writer.key("summary")
        writer.string(summary)
        writer.key("task")
        writer.string(kind.name)
        writer.endObject()
    }
}

extension Route: CanonicalJSONWritable {
    /// `{"destination": "team"|"worker"|"front-door", "name", "team", "rule", "child", "reason"}`.
    public var json: FieldValue { writtenJSON }

    func write(to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        writer.key("child")
        writer.string(child)
        writer.key("destination")
        writer.string(destination.rawValue)
        writer.key("name")
        writer.string(name)
        writer.key("reason")
        writer.string(reason)
        writer.key("rule")
        writer.string(rule.rawValue)
        writer.key("team")
        writer.string(team)
        writer.endObject()
    }
}
