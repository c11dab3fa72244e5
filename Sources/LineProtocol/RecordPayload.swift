import Replication

/// The JSON payload of a `REC` frame: one record's fields (whole registers) and entries.
///
/// `{"entries":[{"dot":DOT,"kind":KIND,"payload":JSON}...],"fields":[{"context":VECTOR,
/// "path":PATH,"values":[{"dot":DOT,"value":JSON}...]}...]}`, written canonically (keys in byte
/// order, fields by path, values and entries by dot). Unknown keys are ignored, so a later minor
/// version may add some.
enum RecordPayload {
    /// The payload bytes of `record`, canonical.
    static func encode(_ record: Record) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4_096)
        write(record, to: &out)
        return out
    }

    static func write(_ record: Record, to out: inout [UInt8]) {
        JSONPayload.append(#"{"entries":["#, to: &out)
        for (index, entry) in record.entries.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONPayload.append(#"{"dot":""#, to: &out)
            Notation.append(entry.dot, to: &out)
            JSONPayload.append(#"","kind":"#, to: &out)
            JSONPayload.write(string: entry.kind, to: &out)
            JSONPayload.append(#","payload":"#, to: &out)
            JSONPayload.write(entry.payload, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        JSONPayload.append(#"],"fields":["#, to: &out)
        record.fields.withUnsafeBufferPointer { fields in
            for index in fields.indices {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONPayload.append(#"{"context":""#, to: &out)
                Notation.append(fields[index].register.context, to: &out)
                JSONPayload.append(#"","path":"#, to: &out)
                JSONPayload.write(string: fields[index].path.rawValue, to: &out)
                JSONPayload.append(#","values":["#, to: &out)
                var first = true
                fields[index].register.forEachSibling { sibling in
                    if !first { out.append(UInt8(ascii: ",")) }
                    first = false
                    JSONPayload.append(#"{"dot":""#, to: &out)
                    Notation.append(sibling.dot, to: &out)
                    JSONPayload.append(#"","value":"#, to: &out)
                    JSONPayload.write(sibling.value, to: &out)
                    out.append(UInt8(ascii: "}"))
                }
                JSONPayload.append("]}", to: &out)
            }
        }
        JSONPayload.append("]}", to: &out)
    }

    /// Reads a `REC` payload straight from its bytes (no intermediate JSON tree).
    static func read(
        _ bytes: ArraySlice<UInt8>, id: RecordID, maximumDepth: Int
    ) throws(JSONPayload.ReadError) -> Record {
        var memo = RecordReadingMemo()
        return try readNotingForm(bytes, id: id, maximumDepth: maximumDepth, memo: &memo).record
    }

    /// The keys of each object of the payload, in the order the writer puts them, and each
    /// key's place in that order.
    private enum RecordKeys {
        static let names: [StaticString] = ["entries", "fields"]
        static let entries = 0, fields = 1
    }
    private enum EntryKeys {
        static let names: [StaticString] = ["dot", "kind", "payload"]
        static let dot = 0, kind = 1, payload = 2
    }
    private enum FieldKeys {
        static let names: [StaticString] = ["context", "path", "values"]
        static let context = 0, path = 1, values = 2
    }
    private enum ValueKeys {
        static let names: [StaticString] = ["dot", "value"]
        static let dot = 0, value = 1
    }

    /// Notes whether the `index`th key of an object is the one the writer puts there (the
    /// known keys are listed in the writer's order).
    private static func note(
        _ key: JSONPayload.Reader.MemberKey, at index: inout Int, in reader: inout JSONPayload.Reader
    ) {
        if case .known(let known) = key, known == index {} else { reader.isCanonical = false }
        index += 1
    }

    /// ``read(_:id:maximumDepth:)``, also telling whether `bytes` are exactly what
    /// ``encode(_:)`` writes for the record read: then they can be kept as they are.
    static func readNotingForm(
        _ bytes: ArraySlice<UInt8>, id: RecordID, maximumDepth: Int, memo: inout RecordReadingMemo
    ) throws(JSONPayload.ReadError) -> (record: Record, isCanonical: Bool) {
        var reader = JSONPayload.Reader(bytes: bytes, maximumDepth: maximumDepth)
        var fields: [Record.Field] = []
        fields.reserveCapacity(max(memo.paths.count, 8))  // as many as the record before, most likely
        var entries: [Entry] = []
        var devices = memo.device  // the last device id read: most dots of a record name the same one
        defer { memo.device = devices }
        var keyIndex = 0
        try reader.forEachMember(depth: 1, known: RecordKeys.names) {
            (reader: inout JSONPayload.Reader, key) throws(JSONPayload.ReadError) in
            note(key, at: &keyIndex, in: &reader)
            switch key {
            case .known(RecordKeys.fields):
                try reader.forEachElement(depth: 2) {
                    (reader: inout JSONPayload.Reader) throws(JSONPayload.ReadError) in
                    fields.append(try field(&reader, at: fields.count, devices: &devices, paths: &memo.paths))
                }
            case .known(RecordKeys.entries):
                try reader.forEachElement(depth: 2) {
                    (reader: inout JSONPayload.Reader) throws(JSONPayload.ReadError) in
                    entries.append(try entry(&reader, devices: &devices))
                }
            case .known, .other:
                _ = try reader.value(depth: 1)  // a later minor version's key
            }
        }
        guard reader.isAtEnd else { throw .invalid("unexpected bytes after the JSON value") }
        guard !fields.isEmpty || !entries.isEmpty else { throw .shape("a record frame must carry a field or an entry") }
        if keyIndex != RecordKeys.names.count { reader.isCanonical = false }
        // Canonical payloads list fields by path and entries by dot, so no repeat is possible;
        // others are checked in full.
        if !Record.isInOrder(fields) {
            reader.isCanonical = false
            var paths = Set<FieldPath>()
            for field in fields where !paths.insert(field.path).inserted {
                throw .shape("field \(field.path) appears twice")
            }
        }
        if !Record.isInOrder(entries) {
            reader.isCanonical = false
            var dots = Set<Dot>()
            for entry in entries where !dots.insert(entry.dot).inserted {
                throw .shape("entry \(entry.dot) appears twice")
            }
        }
        return (Record(id: id, fields: fields, entries: entries), reader.isCanonical)
    }

    /// Reads the `index`th field; `paths` holds the paths the record before named, by position.
    private static func field(
        _ reader: inout JSONPayload.Reader, at index: Int, devices: inout DeviceID?, paths: inout [FieldPath]
    ) throws(JSONPayload.ReadError) -> Record.Field {
        var path: FieldPath?
        var context: VersionVector?
        // The first value, and an array only for a field in conflict (most fields have one).
        var first: MultiValueRegister.Sibling?
        var more: [MultiValueRegister.Sibling] = []
        var sawValues = false
        var keyIndex = 0
        try reader.forEachMember(depth: 3, known: FieldKeys.names) {
            (reader: inout JSONPayload.Reader, key) throws(JSONPayload.ReadError) in
            note(key, at: &keyIndex, in: &reader)
            switch key {
            case .known(FieldKeys.path):
                let text = try reader.asciiStringValue(for: "path")
                if index < paths.count, Notation.spells(paths[index].rawValue, text) {
                    path = paths[index]  // as the record before had it here
                } else {
                    let string = String(decoding: text, as: UTF8.self)
                    guard let parsed = try? FieldPath(string) else {
                        throw .identifier("invalid field path \"\(string)\"")
                    }
                    path = parsed
                    if index < paths.count {
                        paths[index] = parsed
                    } else if index == paths.count, index < RecordReadingMemo.maximumPaths {
                        paths.append(parsed)
                    }
                }
            case .known(FieldKeys.context):
                let text = try reader.asciiStringValue(for: "context")
                guard let parsed = Notation.vector(bytes: text, reusing: &devices) else {
                    throw .identifier("invalid context vector \"\(String(decoding: text, as: UTF8.self))\"")
                }
                context = parsed
            case .known(FieldKeys.values):
                sawValues = true
                try reader.forEachElement(depth: 4) {
                    (reader: inout JSONPayload.Reader) throws(JSONPayload.ReadError) in
                    var dot: Dot?
                    var value: FieldValue?
                    var valueKeyIndex = 0
                    try reader.forEachMember(depth: 5, known: ValueKeys.names) {
                        (reader: inout JSONPayload.Reader, key) throws(JSONPayload.ReadError) in
                        note(key, at: &valueKeyIndex, in: &reader)
                        switch key {
                        case .known(ValueKeys.dot): dot = try Self.dot(&reader, devices: &devices)
                        case .known(ValueKeys.value): value = try reader.value(depth: 5)
                        case .known, .other: _ = try reader.value(depth: 5)
                        }
                    }
                    guard let dot, let value else { throw .shape("each value must have \"dot\" and \"value\"") }
                    if valueKeyIndex != ValueKeys.names.count { reader.isCanonical = false }
                    if let last = more.last ?? first, !(last.dot < dot) { reader.isCanonical = false }  // the writer lists them by dot
                    if first == nil {
                        first = .init(dot: dot, value: value)
                    } else {
                        more.append(.init(dot: dot, value: value))
                    }
                }
            case .known, .other:
                _ = try reader.value(depth: 3)
            }
        }
        guard let path, let context, sawValues else {
            throw .shape("each field must have \"context\", \"path\" and \"values\"")
        }
        if keyIndex != FieldKeys.names.count { reader.isCanonical = false }
        guard let first else { throw .shape("field \(path) has no value") }
        // The register's context covers its values; one that did not is widened, so written differently.
        if !context.contains(first.dot) || more.contains(where: { !context.contains($0.dot) }) {
            reader.isCanonical = false
        }
        if more.isEmpty {
            return Record.Field(path: path, register: MultiValueRegister(sibling: first, context: context))
        }
        let siblings = [first] + more
        guard Set(siblings.map(\.dot)).count == siblings.count else {
            throw .shape("field \(path) lists one dot twice")
        }
        guard let register = MultiValueRegister(siblings: siblings, context: context) else {
            throw .shape("field \(path) has no value")
        }
        return Record.Field(path: path, register: register)
    }

    private static func entry(
        _ reader: inout JSONPayload.Reader, devices: inout DeviceID?
    ) throws(JSONPayload.ReadError) -> Entry {
        var dot: Dot?
        var kind: String?
        var payload: FieldValue?
        var keyIndex = 0
        try reader.forEachMember(depth: 3, known: EntryKeys.names) {
            (reader: inout JSONPayload.Reader, key) throws(JSONPayload.ReadError) in
            note(key, at: &keyIndex, in: &reader)
            switch key {
            case .known(EntryKeys.dot): dot = try Self.dot(&reader, devices: &devices)
            case .known(EntryKeys.kind): kind = try reader.stringValue(for: "kind")
            case .known(EntryKeys.payload): payload = try reader.value(depth: 3)
            case .known, .other: _ = try reader.value(depth: 3)
            }
        }
        guard let dot, let kind, let payload else {
            throw .shape("each entry must have \"dot\", \"kind\" and \"payload\"")
        }
        if keyIndex != EntryKeys.names.count { reader.isCanonical = false }
        do throws(ReplicationError) {
            return try Entry(dot: dot, kind: kind, payload: payload)
        } catch {
            throw .identifier("\(error)")
        }
    }

    private static func dot(
        _ reader: inout JSONPayload.Reader, devices: inout DeviceID?
    ) throws(JSONPayload.ReadError) -> Dot {
        let text = try reader.asciiStringValue(for: "dot")
        guard let dot = Notation.dot(bytes: text, reusing: &devices) else {
            throw .identifier("invalid dot \"\(String(decoding: text, as: UTF8.self))\"")
        }
        return dot
    }
}

/// What reading one record's payload lends the next: the last device id and the field paths it
/// named. Records of one stream mostly name the same ones, which are then reused instead of
/// validated and copied again. Owned by whoever reads a stream's records one after another
/// (``MessageDecoder``, ``UnreadRecord/Reader``).
struct RecordReadingMemo: Sendable {
    var device: DeviceID?
    /// The paths of the last record read, by position.
    var paths: [FieldPath] = []
    /// Paths remembered at most (a record with more reads the rest as usual).
    static let maximumPaths = 256
}
