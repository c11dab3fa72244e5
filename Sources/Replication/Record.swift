/// A case: a map of fields (multi-value registers keyed by path) plus a set of immutable entries.
///
/// Equality is over content (fields and entries) only; ``version`` is bookkeeping for sync.
public struct Record: Sendable, Equatable {
    /// One field of a record.
    public struct Field: Hashable, Sendable {
        public let path: FieldPath
        public internal(set) var register: MultiValueRegister

        public init(path: FieldPath, register: MultiValueRegister) {
            self.path = path
            self.register = register
        }
    }

    /// The record's identity.
    public let id: RecordID
    /// Fields, sorted by path.
    public private(set) var fields: [Field]
    /// Entries, sorted by dot.
    public private(set) var entries: [Entry]
    /// The largest counter per device of every write this record has incorporated. Only grows;
    /// used to find the records a delta must carry.
    public private(set) var version: VersionVector

    /// An empty record.
    public init(id: RecordID) {
        self.id = id
        fields = []
        entries = []
        version = VersionVector()
    }

    /// A record (or part of one, in a delta) as read from the wire. Fields are sorted by path,
    /// entries by dot; duplicates are joined, so the result is the same however they were ordered.
    public init(id: RecordID, fields: [Field], entries: [Entry]) {
        self.init(id: id)
        if Self.isInOrder(fields), Self.isInOrder(entries) {
            // Already in order without repeats, as every encoder writes them: taken as they are.
            self.fields = fields
            self.entries = entries
            recomputeVersion()
            return
        }
        for field in fields.sorted(by: { $0.path < $1.path }) {
            if let last = self.fields.indices.last, self.fields[last].path == field.path {
                self.fields[last].register.formJoin(field.register)
            } else {
                self.fields.append(field)
            }
        }
        for entry in entries.sorted(by: { $0.dot < $1.dot }) where self.entries.last?.dot != entry.dot {
            self.entries.append(entry)
        }
        recomputeVersion()
    }

    /// Whether `fields` are in the order of their paths, none repeated: as every encoder writes
    /// them. (Compared where they lie: a copy of each field would cost a reference count.)
    public static func isInOrder(_ fields: [Field]) -> Bool {
        fields.withUnsafeBufferPointer { fields in
            fields.indices.dropFirst().allSatisfy { fields[$0 - 1].path < fields[$0].path }
        }
    }

    /// Whether `entries` are in the order of their dots, none repeated.
    public static func isInOrder(_ entries: [Entry]) -> Bool {
        entries.withUnsafeBufferPointer { entries in
            entries.indices.dropFirst().allSatisfy { entries[$0 - 1].dot < entries[$0].dot }
        }
    }

    public static func == (lhs: Record, rhs: Record) -> Bool {
        lhs.id == rhs.id && lhs.fields == rhs.fields && lhs.entries == rhs.entries
    }

    /// The register at `path`, if anything was ever written there.
    public func register(at path: FieldPath) -> MultiValueRegister? {
        fieldIndex(of: path.rawValue).found.map { fields[$0].register }
    }

    /// The register at the path written `path`, found by its text (no ``FieldPath`` made
    /// first); nil when nothing was ever written there, or when `path` is not a path.
    public func register(atPath path: String) -> MultiValueRegister? {
        fieldIndex(of: path).found.map { fields[$0].register }
    }

    /// The paths of fields whose concurrent values are both kept.
    public var conflictedPaths: [FieldPath] {
        fields.filter(\.register.isConflicted).map(\.path)
    }

    /// True when the record holds no field and no entry.
    public var isEmpty: Bool { fields.isEmpty && entries.isEmpty }

    // MARK: - Changing

    /// Records a write of `value` at `path` by `dot`, made having seen `seen` of that field.
    mutating func assign(_ value: FieldValue, at path: FieldPath, dot: Dot, seen: VersionVector) {
        let position = fieldIndex(of: path.rawValue)
        if let found = position.found {
            fields[found].register.assign(value, dot: dot, seen: seen)
        } else {
            fields.insert(
                Field(path: path, register: MultiValueRegister(value: value, dot: dot, seen: seen)),
                at: position.insertion)
        }
        version.insert(dot)
    }

    /// Adds an entry; returns false when it was already there.
    @discardableResult
    mutating func insert(_ entry: Entry) -> Bool {
        let position = entryIndex(of: entry.dot)
        guard position.found == nil else { return false }
        entries.insert(entry, at: position.insertion)
        version.insert(entry.dot)
        return true
    }

    /// Joins `other` (a whole record or the part of one a delta carries) into this record.
    /// Returns true when the content (fields or entries) changed.
    @discardableResult
    public mutating func formJoin(_ other: Record) -> Bool {
        var changed = false
        if !other.fields.isEmpty {
            changed = joinFields(other.fields) || changed
        }
        if !other.entries.isEmpty {
            changed = joinEntries(other.entries) || changed
        }
        if !version.descends(other.version) { version.formJoin(other.version) }
        return changed
    }

    /// Raises ``version`` to cover `other` too (used when a whole copy replaces this one).
    mutating func keepVersion(atLeast other: VersionVector) {
        if !version.descends(other) { version.formJoin(other) }
    }

    private mutating func joinFields(_ incoming: [Field]) -> Bool {
        var changed = false
        var appended: [Field] = []
        var i = 0
        for field in incoming {
            while i < fields.count, fields[i].path < field.path { i += 1 }
            if i < fields.count, fields[i].path == field.path {
                // Ask before mutating, so fields shared with another replica are not copied.
                if let joined = fields[i].register.joined(with: field.register) {
                    fields[i].register = joined
                    changed = true
                }
            } else if i == fields.count {
                appended.append(field)
            } else {
                fields.insert(field, at: i)
                i += 1
                changed = true
            }
        }
        if !appended.isEmpty {
            fields.append(contentsOf: appended)
            changed = true
        }
        return changed
    }

    private mutating func joinEntries(_ incoming: [Entry]) -> Bool {
        var changed = false
        for entry in incoming where insert(entry) { changed = true }
        return changed
    }

    private mutating func recomputeVersion() {
        var version = VersionVector()
        for field in fields {
            field.register.forEachDot { version.insert($0) }
        }
        for entry in entries { version.insert(entry.dot) }
        self.version = version
    }

    // MARK: - Deltas

    /// The part of this record that `knowledge` does not cover: fields with a sibling it lacks
    /// (whole registers, with their contexts) and entries it lacks. Nil when nothing is missing.
    public func missing(from knowledge: VersionVector) -> Record? {
        let missingFields = fields.filter { $0.register.hasSibling(notCoveredBy: knowledge) }
        let missingEntries = entries.filter { !knowledge.contains($0.dot) }
        guard !missingFields.isEmpty || !missingEntries.isEmpty else { return nil }
        var part = Record(id: id)
        part.fields = missingFields
        part.entries = missingEntries
        part.recomputeVersion()
        return part
    }

    // MARK: - Searching

    /// Where the field whose path is written `path` is, or would go (fields are in the order of
    /// their paths' text, ``FieldPath``'s order).
    private func fieldIndex(of path: String) -> (found: Int?, insertion: Int) {
        var low = 0
        var high = fields.count
        while low < high {
            let middle = (low + high) / 2
            if fields[middle].path.rawValue < path {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return (low < fields.count && fields[low].path.rawValue == path ? low : nil, low)
    }

    func entryIndex(of dot: Dot) -> (found: Int?, insertion: Int) {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].dot < dot {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return (low < entries.count && entries[low].dot == dot ? low : nil, low)
    }
}
