/// A field's value: every concurrent write is kept until a write that saw them all.
///
/// The register holds *siblings* (value plus the dot of the write that made it) and a causal
/// *context*: every write to this field it has seen, kept or superseded. Joining two registers
/// keeps a sibling unless the other side's context covers it without keeping it, which means the
/// other side saw it and a later write replaced it. So:
/// - a write that saw the other value replaces it;
/// - concurrent writes are both kept and the field is in conflict (``isConflicted``);
/// - a write whose context covers all siblings (a resolution) leaves one value.
///
/// The context is a version vector over writes to this field. The invariant that makes this
/// safe: every write the context covers is either kept here or was replaced by a write that saw
/// it. A write keeps it (its dot is the device's newest, and the device's earlier writes to the
/// field are already in the context), and so does a join; so a join never drops a value that no
/// later write saw.
public struct MultiValueRegister: Hashable, Sendable {
    /// One kept value and the write that made it.
    public struct Sibling: Hashable, Sendable {
        public let dot: Dot
        public let value: FieldValue
    }

    /// Kept values, sorted by dot. Never empty in a register that exists.
    public private(set) var siblings: [Sibling]
    /// Every write to this field that has been seen, kept or superseded.
    public private(set) var context: VersionVector

    /// A register holding exactly the siblings and context given (as read from the wire).
    /// Siblings are sorted and de-duplicated by dot; the context is widened to cover them.
    public init(siblings: [Sibling], context: VersionVector) {
        var unique: [Sibling] = []
        for sibling in siblings.sorted(by: { $0.dot < $1.dot }) where unique.last?.dot != sibling.dot {
            unique.append(sibling)
        }
        var context = context
        for sibling in unique where !context.contains(sibling.dot) { context.insert(sibling.dot) }
        self.siblings = unique
        self.context = context
    }

    /// A register made by one write.
    init(value: FieldValue, dot: Dot, seen: VersionVector) {
        siblings = [Sibling(dot: dot, value: value)]
        var context = seen
        context.insert(dot)
        self.context = context
    }

    /// The kept values, in dot order. One value unless the field is in conflict.
    public var values: [FieldValue] { siblings.map(\.value) }

    /// True when concurrent writes are both kept and a person must resolve them.
    public var isConflicted: Bool { siblings.count > 1 }

    /// The dots of the kept siblings.
    var siblingDots: some Sequence<Dot> { siblings.lazy.map(\.dot) }

    /// Records a write made with knowledge `seen`: siblings `seen` covers are replaced; the rest stay.
    mutating func assign(_ value: FieldValue, dot: Dot, seen: VersionVector) {
        siblings.removeAll { seen.contains($0.dot) }
        let position = siblings.firstIndex { dot < $0.dot } ?? siblings.endIndex
        siblings.insert(Sibling(dot: dot, value: value), at: position)
        context.formJoin(seen)
        context.insert(dot)
    }

    /// Joins `other` into this register; returns true when anything changed.
    @discardableResult
    mutating func formJoin(_ other: MultiValueRegister) -> Bool {
        guard let joined = joined(with: other) else { return false }
        self = joined
        return true
    }

    /// The join of this register and `other`, or nil when it would equal this register.
    ///
    /// Non-mutating on purpose: a record's fields are usually shared with another copy of the
    /// replica, and asking "would this change?" first avoids copying them when it would not.
    func joined(with other: MultiValueRegister) -> MultiValueRegister? {
        if siblings.count == other.siblings.count, context == other.context,
            zip(siblings, other.siblings).allSatisfy({ $0.dot == $1.dot })
        {
            return nil
        }
        var merged: [Sibling] = []
        merged.reserveCapacity(siblings.count + other.siblings.count)
        var i = 0
        var j = 0
        while i < siblings.count || j < other.siblings.count {
            if j == other.siblings.count || (i < siblings.count && siblings[i].dot < other.siblings[j].dot) {
                if !other.context.contains(siblings[i].dot) { merged.append(siblings[i]) }
                i += 1
            } else if i == siblings.count || other.siblings[j].dot < siblings[i].dot {
                if !context.contains(other.siblings[j].dot) { merged.append(other.siblings[j]) }
                j += 1
            } else {
                merged.append(siblings[i])
                i += 1
                j += 1
            }
        }
        let joinedContext = context.joined(with: other.context)
        let siblingsChanged =
            merged.count != siblings.count || !zip(merged, siblings).allSatisfy({ $0.dot == $1.dot })
        guard siblingsChanged || joinedContext != context else { return nil }
        var result = self
        result.siblings = merged
        result.context = joinedContext
        return result
    }

    /// True when some sibling is an event that `knowledge` does not cover.
    func hasSibling(notCoveredBy knowledge: VersionVector) -> Bool {
        siblings.contains { !knowledge.contains($0.dot) }
    }
}
