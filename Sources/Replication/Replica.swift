/// A replica of the referral store: records, the version vector of everything incorporated, and
/// the device that writes here.
///
/// A value type: copies are independent. Writing, merging and applying deltas are mutating.
public struct Replica: Sendable {
    /// The device whose writes this replica stamps.
    public let device: DeviceID
    /// Every event this replica has incorporated, per device.
    public private(set) var knowledge: VersionVector
    /// The records, by id.
    public private(set) var records: [RecordID: Record]
    /// The highest counter this device has used; never reused, even if knowledge was restored low.
    private var lastCounter: UInt64
    private var index: ChangeIndex
    /// How many fields are in conflict, per record that has any: kept as records change, so
    /// counting conflicts costs nothing in a large replica.
    private var conflictedFields: [RecordID: Int] = [:]
    /// The sum of ``conflictedFields``.
    public private(set) var conflictCount = 0
    /// The records changed since ``clearChangeLog()`` (by writes, appends and merges).
    public private(set) var changeLog: Set<RecordID> = []

    /// An empty replica for `device`.
    public init(device: DeviceID) {
        self.device = device
        knowledge = VersionVector()
        records = [:]
        lastCounter = 0
        index = ChangeIndex()
    }

    /// A replica restored from storage: its records and its version vector as they were saved.
    ///
    /// The version vector must be one the replica really reached (saved together with the
    /// records, atomically): it claims that every event it covers is in `records`.
    public init(device: DeviceID, knowledge: VersionVector, records: [Record]) {
        self.init(device: device)
        for record in records where !record.isEmpty {
            self.records[record.id] = record
            index.noteChange(of: record.id, from: VersionVector(), to: record.version)
            noteConflicts(of: record.id)
        }
        index.flush()
        self.knowledge = knowledge
        lastCounter = knowledge[device]
    }

    /// The record with `id`, if this replica has it.
    public subscript(id: RecordID) -> Record? { records[id] }

    /// Record ids in canonical order.
    public var recordIDs: [RecordID] { records.keys.sorted() }

    /// Every conflicted field, in canonical order.
    public var conflicts: [(record: RecordID, path: FieldPath, values: [FieldValue])] {
        conflictedFields.keys.sorted().flatMap { id in
            records[id].map { record in
                record.fields.filter(\.register.isConflicted).map { (id, $0.path, $0.register.values) }
            } ?? []
        }
    }

    // MARK: - Reading and writing

    /// What a person sees of a field, and the context to write back with.
    public struct FieldRead: Sendable, Hashable {
        /// The kept values: one, or several when the field is in conflict.
        public let values: [FieldValue]
        /// What the reader has seen of this field. Pass it to ``Replica/write(_:to:in:seen:)`` so
        /// the write replaces exactly what was seen and keeps anything that arrived since.
        public let context: VersionVector
    }

    /// The field at `path` of record `id`, or nil when nothing was written there.
    public func read(_ path: FieldPath, in id: RecordID) -> FieldRead? {
        records[id]?.register(at: path).map { FieldRead(values: $0.values, context: $0.context) }
    }

    /// Writes `value` at `path` of record `id` (created when new) with the next dot of ``device``.
    ///
    /// - Parameter seen: the context of the read the write is based on. Nil means "everything
    ///   this replica holds now", which replaces the current value(s); resolving a conflict is such
    ///   a write. A stale context keeps whatever it did not see, so that is never lost.
    /// - Returns: the write's dot.
    @discardableResult
    public mutating func write(
        _ value: FieldValue, to path: FieldPath, in id: RecordID, seen: VersionVector? = nil
    ) -> Dot {
        let dot = nextDot()
        let context = seen ?? records[id]?.register(at: path)?.context ?? VersionVector()
        update(id) { $0.assign(value, at: path, dot: dot, seen: context) }
        return dot
    }

    /// Writes several fields of record `id` (created when new) at once, each with its own dot
    /// and with everything this replica holds as its context: a new referral's capture.
    /// - Returns: the dots, in the order of `values`.
    @discardableResult
    public mutating func write(_ values: [(path: FieldPath, value: FieldValue)], in id: RecordID) -> [Dot] {
        var dots: [Dot] = []
        dots.reserveCapacity(values.count)
        for _ in values { dots.append(nextDot()) }
        update(id) { record in
            for ((path, value), dot) in zip(values, dots) {
                let context = record.register(at: path)?.context ?? VersionVector()
                record.assign(value, at: path, dot: dot, seen: context)
            }
        }
        return dots
    }

    /// The records holding a change that `knowledge` does not cover, found through the change
    /// index (cost follows the change, not the replica's size).
    public func recordIDs(changedSince knowledge: VersionVector) -> [RecordID] {
        index.records(notCoveredBy: knowledge, isLive: isLive).filter { id in
            records[id].map { !knowledge.descends($0.version) } ?? false
        }
    }

    /// Appends an immutable entry to record `id` (created when new); returns its dot.
    @discardableResult
    public mutating func append(kind: String, payload: FieldValue, to id: RecordID) throws(ReplicationError) -> Dot {
        try Entry.validate(kind: kind)
        guard payload.isFinite else { throw .nonFiniteNumber }
        let dot = nextDot()
        let entry = try Entry(dot: dot, kind: kind, payload: payload)
        update(id) { $0.insert(entry) }
        return dot
    }

    private mutating func nextDot() -> Dot {
        lastCounter = max(lastCounter, knowledge[device]) + 1
        let dot = Dot(unchecked: device, lastCounter)
        knowledge.insert(dot)
        return dot
    }

    private mutating func update(_ id: RecordID, _ change: (inout Record) -> Void) {
        var record = records.removeValue(forKey: id) ?? Record(id: id)
        let previous = record.version
        change(&record)
        index.noteChange(of: id, from: previous, to: record.version)
        index.flush()
        records[id] = record
        noteConflicts(of: id)
        changeLog.insert(id)
        compactIndexIfNeeded()
    }

    /// Starts a new ``changeLog``: a store clears it before a change, then saves what it names.
    public mutating func clearChangeLog() {
        changeLog.removeAll(keepingCapacity: true)
    }

    /// Brings the conflict count of record `id` up to date after it changed.
    private mutating func noteConflicts(of id: RecordID) {
        var count = 0
        for field in records[id]?.fields ?? [] where field.register.isConflicted { count += 1 }
        let before = conflictedFields[id] ?? 0
        guard count != before else { return }
        conflictCount += count - before
        conflictedFields[id] = count == 0 ? nil : count
    }

    // MARK: - Merging

    /// Joins another replica's whole state into this one. Commutative, associative, idempotent.
    /// - Returns: how many records changed.
    @discardableResult
    public mutating func merge(_ other: Replica) -> Int {
        var changed = 0
        let known = knowledge
        for record in other.records.values
        where join(record, known: known, senderKnowledge: other.knowledge) {
            changed += 1
        }
        index.flush()
        knowledge.formJoin(other.knowledge)
        lastCounter = max(lastCounter, other.knowledge[device])
        compactIndexIfNeeded()
        return changed
    }

    /// Everything this replica has that `other` (a version vector) does not cover.
    public func delta(since other: VersionVector) -> Delta {
        let ids = index.records(notCoveredBy: other, isLive: isLive)
        let parts = ids.compactMap { records[$0]?.missing(from: other) }
        return Delta(base: other, knowledge: knowledge, records: parts)
    }

    /// Takes in a delta from another replica. Its content is always merged (joins are safe in any
    /// order); this replica's version vector rises to the sender's only when it had already seen
    /// the delta's base, so a delta that arrives early or twice does no harm.
    @discardableResult
    public mutating func apply(_ delta: Delta) -> DeltaOutcome {
        var changed = 0
        let known = knowledge
        for part in delta.records where join(part, known: known, senderKnowledge: nil) { changed += 1 }
        index.flush()
        let advance = knowledge.descends(delta.base)
        if advance { knowledge.formJoin(delta.knowledge) }
        lastCounter = max(lastCounter, delta.knowledge[device])
        compactIndexIfNeeded()
        return DeltaOutcome(changedRecords: changed, advancedKnowledge: advance)
    }

    /// Merges record parts (as a delta carries them) without raising the version vector: for
    /// taking in part of a delta, when some of its records were refused. A later delta, computed
    /// against this replica's unchanged vector, brings what was left out.
    /// - Returns: how many records changed.
    @discardableResult
    public mutating func merge(parts: [Record]) -> Int {
        var changed = 0
        let known = knowledge
        for part in parts where join(part, known: known, senderKnowledge: nil) { changed += 1 }
        index.flush()
        for part in parts { lastCounter = max(lastCounter, part.version[device]) }
        compactIndexIfNeeded()
        return changed
    }

    /// Joins one record (or part of one) in place; returns true when its content changed.
    ///
    /// Two shortcuts rest on the knowledge invariant (this replica has incorporated every event
    /// its ``knowledge`` covers) and on a record's version covering every event it holds or has
    /// superseded:
    /// - an incoming record whose version `known` covers brings nothing new;
    /// - when the sender's knowledge covers this replica's copy, the sender's copy already holds
    ///   everything this one does, so it is the join and is taken as it is.
    /// So merging a copy of state already seen costs a lookup per record, not a walk of its fields.
    ///
    /// - Parameters:
    ///   - known: this replica's knowledge before the merge began.
    ///   - senderKnowledge: the sender's knowledge when `incoming` is a whole record (a full
    ///     merge); nil for the part of a record that a delta carries.
    private mutating func join(_ incoming: Record, known: VersionVector, senderKnowledge: VersionVector?) -> Bool {
        if known.descends(incoming.version) { return false }
        guard let position = records.index(forKey: incoming.id) else {
            guard !incoming.isEmpty else { return false }
            records[incoming.id] = incoming
            index.noteChange(of: incoming.id, from: VersionVector(), to: incoming.version)
            noteConflicts(of: incoming.id)
            changeLog.insert(incoming.id)
            return true
        }
        let before = records.values[position].version
        let changed: Bool
        if let senderKnowledge, senderKnowledge.descends(before) {
            changed = before != incoming.version || records.values[position] != incoming
            var replacement = incoming
            replacement.keepVersion(atLeast: before)  // versions only grow; the index relies on it
            records.values[position] = replacement
        } else {
            changed = records.values[position].formJoin(incoming)
        }
        let after = records.values[position].version
        if before != after { index.noteChange(of: incoming.id, from: before, to: after) }
        if changed { noteConflicts(of: incoming.id) }
        if changed || before != after { changeLog.insert(incoming.id) }
        return changed
    }

    private func isLive(_ device: DeviceID, _ counter: UInt64, _ id: RecordID) -> Bool {
        records[id]?.version[device] == counter
    }

    private mutating func compactIndexIfNeeded() {
        let records = self.records
        index.compact { device, counter, id in records[id]?.version[device] == counter }
    }
}
