import LineProtocol
import Referrals
public import Replication
import Synchronization

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
        let runs = SplitWork.runs(over: cases.count, minimumRun: Self.casesPerRun) { range in caseRun(range) }
        let (document, opening) = documentAroundCases()
        return Self.joined(runs.filter { !$0.isEmpty }, into: document, at: opening)
    }

    /// The same bytes as ``jsonBytes()``, given to `write` a stretch at a time, in order, as the
    /// runs of cases are made side by side on the cores: a stretch is written while the ones after
    /// it are still being made, and the document is never held whole. `write` is called one
    /// stretch at a time; once it throws, it is not called again and its error is thrown.
    public func writeJSON(to write: @Sendable (UnsafeRawBufferPointer) throws -> Void) throws {
        let (document, opening) = documentAroundCases()
        // The head goes with the first run delivered, so a `write` that waits (for the cases to
        // be recorded as read, say) holds up no run being made.
        let writing = JSONWriting(head: Array(document[..<opening]))
        SplitWork.deliveredInOrder(over: cases.count, minimumRun: Self.casesPerRun) { range in
            // Once a write has failed, what is left is not worth making.
            writing.failure == nil ? caseRun(range) : []
        } deliver: { run in
            writing.deliver(run, write: write)
        }
        writing.deliver([], write: write)
        if let failure = writing.failure { throw failure }
        try document[opening...].withUnsafeBytes(write)
    }

    /// Cases a run of the JSON is made of, at the least.
    private static let casesPerRun = 64

    /// The JSON of the cases in `range`, comma-separated.
    private func caseRun(_ range: Range<Int>) -> [UInt8] {
        var run = CanonicalJSONWriter(reservingCapacity: range.count * 3_072)
        cases.withUnsafeBufferPointer { cases in
            for number in range { cases[number].write(to: &run) }
        }
        return run.bytes
    }

    /// The document around its cases, written with none, and where its cases go (just after the
    /// array opens).
    private func documentAroundCases() -> (document: [UInt8], opening: Int) {
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
        return (writer.bytes, opening)
    }

    /// The runs of a document being written, given in order after its head: the commas between
    /// runs that are not empty, and the first write's failure.
    private final class JSONWriting: Sendable {
        private struct State {
            var head: [UInt8]?
            var wroteCase = false
            var failure: (any Error)?
        }
        private let state: Mutex<State>

        init(head: [UInt8]) { state = Mutex(State(head: head)) }

        /// The first failure of a write, if any.
        var failure: (any Error)? { state.withLock { $0.failure } }

        /// Writes the head if not yet written, then `run` (after a comma when a case was written
        /// before it), unless a write failed.
        func deliver(_ run: [UInt8], write: (UnsafeRawBufferPointer) throws -> Void) {
            let (failed, head, comma) = state.withLock { state in
                defer { state.head = nil }
                return (state.failure != nil, state.head, state.wroteCase)
            }
            guard !failed else { return }
            do {
                if let head { try head.withUnsafeBytes(write) }
                guard !run.isEmpty else { return }
                if comma { try [UInt8(ascii: ",")].withUnsafeBytes(write) }
                try run.withUnsafeBytes(write)
                state.withLock { $0.wroteCase = true }
            } catch {
                state.withLock { $0.failure = error }
            }
        }
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
