import Replication

/// The JSON payload of a `REC` frame: one record's fields (whole registers) and entries.
///
/// `{"entries":[{"dot":DOT,"kind":KIND,"payload":JSON}...],"fields":[{"context":VECTOR,
/// "path":PATH,"values":[{"dot":DOT,"value":JSON}...]}...]}`, written canonically (keys in byte
/// order, fields by path, values and entries by dot). Unknown keys are ignored, so a later minor
/// version may add some.
enum RecordPayload {
    static func write(_ record: Record, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"entries":["#.utf8)
        for (index, entry) in record.entries.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"dot":""#.utf8)
            out.append(contentsOf: Notation.text(entry.dot).utf8)
            out.append(contentsOf: #"","kind":"#.utf8)
            JSONPayload.write(string: entry.kind, to: &out)
            out.append(contentsOf: #","payload":"#.utf8)
            JSONPayload.write(entry.payload, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: #"],"fields":["#.utf8)
        for (index, field) in record.fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"context":""#.utf8)
            out.append(contentsOf: Notation.text(field.register.context).utf8)
            out.append(contentsOf: #"","path":"#.utf8)
            JSONPayload.write(string: field.path.rawValue, to: &out)
            out.append(contentsOf: #","values":["#.utf8)
            for (position, sibling) in field.register.siblings.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: #"{"dot":""#.utf8)
                out.append(contentsOf: Notation.text(sibling.dot).utf8)
                out.append(contentsOf: #"","value":"#.utf8)
                JSONPayload.write(sibling.value, to: &out)
                out.append(UInt8(ascii: "}"))
            }
            out.append(contentsOf: "]}".utf8)
        }
        out.append(contentsOf: "]}".utf8)
    }

    enum ReadError: Error {
        case shape(String)
        case identifier(String)
    }

    static func read(_ value: FieldValue, id: RecordID) throws(ReadError) -> Record {
        guard case .object(let members) = value else { throw .shape("the payload must be a JSON object") }
        var fields: [Record.Field] = []
        var entries: [Entry] = []
        for item in try array(members["fields"], "fields") {
            guard case .object(let field) = item else { throw .shape("each field must be an object") }
            let path = try text(field["path"], "path")
            guard let fieldPath = try? FieldPath(path) else { throw .identifier("invalid field path \"\(path)\"") }
            let contextText = try text(field["context"], "context")
            guard let context = Notation.vector(Substring(contextText)) else {
                throw .identifier("invalid context vector \"\(contextText)\" for \(path)")
            }
            var siblings: [MultiValueRegister.Sibling] = []
            for value in try array(field["values"], "values") {
                guard case .object(let sibling) = value, let content = sibling["value"] else {
                    throw .shape("each value of \(path) must be an object with \"dot\" and \"value\"")
                }
                siblings.append(.init(dot: try dot(sibling["dot"]), value: content))
            }
            guard Set(siblings.map(\.dot)).count == siblings.count else {
                throw .shape("field \(path) lists one dot twice")
            }
            guard let register = MultiValueRegister(siblings: siblings, context: context) else {
                throw .shape("field \(path) has no value")
            }
            fields.append(Record.Field(path: fieldPath, register: register))
        }
        guard Set(fields.map(\.path)).count == fields.count else { throw .shape("a field path appears twice") }
        for item in try array(members["entries"], "entries") {
            guard case .object(let entry) = item, let payload = entry["payload"] else {
                throw .shape("each entry must be an object with \"dot\", \"kind\" and \"payload\"")
            }
            let kind = try text(entry["kind"], "kind")
            let entryDot = try dot(entry["dot"])
            do throws(ReplicationError) {
                entries.append(try Entry(dot: entryDot, kind: kind, payload: payload))
            } catch {
                throw .identifier("\(error)")
            }
        }
        guard !fields.isEmpty || !entries.isEmpty else { throw .shape("a record frame must carry a field or an entry") }
        return Record(id: id, fields: fields, entries: entries)
    }

    private static func array(_ value: FieldValue?, _ key: String) throws(ReadError) -> [FieldValue] {
        switch value {
        case nil: return []
        case .array(let items)?: return items
        default: throw .shape("\"\(key)\" must be an array")
        }
    }

    private static func text(_ value: FieldValue?, _ key: String) throws(ReadError) -> String {
        guard case .string(let text)? = value else { throw .shape("\"\(key)\" must be a string") }
        return text
    }

    private static func dot(_ value: FieldValue?) throws(ReadError) -> Dot {
        let raw = try text(value, "dot")
        guard let dot = Notation.dot(Substring(raw)) else { throw .identifier("invalid dot \"\(raw)\"") }
        return dot
    }
}
