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
        // Each run is a stretch of the cases array, its cases comma-separated.
        let runs = SplitWork.runs(over: cases.count, minimumRun: 64) { range in
            var run = CanonicalJSONWriter(reservingCapacity: range.count * 3_072)
            cases.withUnsafeBufferPointer { cases in
                for number in range { cases[number].write(to: &run) }
            }
            return run.bytes
        }
        // The document around its cases, written with none: they go where the array opens.
        var writer = CanonicalJSONWriter(reservingCapacity: 1_024)
        writer.beginObject()
        writer.key("authority")
        writer.string(authority.gss)
        writer.key("authorityName")
        writer.string(authority.name)
        writer.key("cases")
        writer.beginArray()
        let opening = writer.bytes.count
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
        return Self.joined(runs.filter { !$0.isEmpty }, into: writer.bytes, at: opening)
    }

    /// `document` with `runs` put at `offset`, separated by commas: the runs copied side by side
    /// on the cores (into fresh memory, whose first touch is what a copy of megabytes costs).
    static func joined(_ runs: [[UInt8]], into document: [UInt8], at offset: Int) -> [UInt8] {
        var starts: [Int] = []
        var total = offset
        for run in runs {
            if !starts.isEmpty { total += 1 }
            starts.append(total)
            total += run.count
        }
        let length = total + document.count - offset
        return [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
            guard let base = buffer.baseAddress else { return }
            document.withUnsafeBufferPointer { document in
                guard let source = document.baseAddress else { return }
                base.initialize(from: source, count: offset)
                (base + total).initialize(from: source + offset, count: document.count - offset)
            }
            for start in starts.dropFirst() { (base + start - 1).initialize(to: UInt8(ascii: ",")) }
            // Each run to its own stretch of the buffer: no two runs write the same bytes.
            let destination = Destination(base: base)
            let starts = starts
            _ = SplitWork.runs(over: runs.count, minimumRun: 1) { range in
                for number in range {
                    runs[number].withUnsafeBufferPointer { run in
                        guard let source = run.baseAddress else { return }
                        (destination.base + starts[number]).initialize(from: source, count: run.count)
                    }
                }
            }
            count = length
        }
    }

    /// Where ``joined(_:into:at:)`` copies to, shared by the threads that each copy a run to
    /// their own part of it.
    private struct Destination: @unchecked Sendable {
        let base: UnsafeMutablePointer<UInt8>
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
