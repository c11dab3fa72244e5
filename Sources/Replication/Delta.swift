/// Exactly what one replica has that a version vector says another lacks.
///
/// Made by ``Replica/delta(since:)`` and taken in by ``Replica/apply(_:)``. Carries whole
/// registers (values plus contexts) of the fields that changed and the new entries, never the
/// rest of a record. Applying a delta twice changes nothing the second time; applying it out of
/// order merges its content but leaves the receiver's version vector where it was, so nothing
/// the receiver has not seen is ever claimed as seen.
public struct Delta: Sendable, Equatable {
    /// The version vector the delta was computed against (what the receiver was known to have).
    public let base: VersionVector
    /// The sender's version vector when it made the delta.
    public let knowledge: VersionVector
    /// The changed parts of records, sorted by id.
    public let records: [Record]

    /// A delta as read from the wire. Records are sorted by id and parts of one record joined.
    public init(base: VersionVector, knowledge: VersionVector, records: [Record]) {
        var sorted: [Record] = []
        for record in records.sorted(by: { $0.id < $1.id }) {
            if let last = sorted.indices.last, sorted[last].id == record.id {
                sorted[last].formJoin(record)
            } else {
                sorted.append(record)
            }
        }
        self.base = base
        self.knowledge = knowledge
        self.records = sorted
    }

    /// True when the receiver lacks nothing.
    public var isEmpty: Bool { records.isEmpty }

    /// How many field registers the delta carries.
    public var fieldCount: Int { records.reduce(0) { $0 + $1.fields.count } }

    /// How many entries the delta carries.
    public var entryCount: Int { records.reduce(0) { $0 + $1.entries.count } }
}

/// What applying a delta did.
public struct DeltaOutcome: Sendable, Hashable {
    /// Records whose content changed.
    public let changedRecords: Int
    /// True when the receiver's version vector rose to include the sender's. False when the delta
    /// arrived out of order (the receiver had not seen its base): its content was still merged,
    /// and a later delta computed against the receiver's vector will bring what is missing.
    public let advancedKnowledge: Bool
}
