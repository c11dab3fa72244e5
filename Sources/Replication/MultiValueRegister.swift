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

        public init(dot: Dot, value: FieldValue) {
            self.dot = dot
            self.value = value
        }
    }

    /// Never empty. A field holds one value unless it is in conflict, and that one is stored
    /// inline so that merging a record walks one contiguous buffer instead of chasing pointers.
    private enum Storage: Hashable, Sendable {
        case one(Sibling)
        /// Two or more, sorted by dot, no duplicates.
        case many([Sibling])
    }

    private var storage: Storage
    /// Every write to this field that has been seen, kept or superseded.
    public private(set) var context: VersionVector

    /// A register holding exactly the siblings and context given (as read from the wire).
    /// Siblings are sorted and de-duplicated by dot; the context is widened to cover them.
    /// Returns nil when `siblings` is empty: a register always holds a value.
    public init?(siblings: [Sibling], context: VersionVector) {
        if siblings.count == 1 {
            self.init(sibling: siblings[0], context: context)  // no conflict: nothing to sort
            return
        }
        var unique: [Sibling] = []
        for sibling in siblings.sorted(by: { $0.dot < $1.dot }) where unique.last?.dot != sibling.dot {
            unique.append(sibling)
        }
        guard !unique.isEmpty else { return nil }
        var context = context
        for sibling in unique where !context.contains(sibling.dot) { context.insert(sibling.dot) }
        self.init(sorted: unique, context: context)
    }

    /// A register holding one sibling (as read from the wire, no conflict); the context is
    /// widened to cover it. The same as ``init(siblings:context:)`` with one, without an array.
    public init(sibling: Sibling, context: VersionVector) {
        var context = context
        if !context.contains(sibling.dot) { context.insert(sibling.dot) }
        storage = .one(sibling)
        self.context = context
    }

    /// A register made by one write.
    init(value: FieldValue, dot: Dot, seen: VersionVector) {
        storage = .one(Sibling(dot: dot, value: value))
        context = seen.joined(with: VersionVector(dot))
    }

    /// Siblings known to be sorted, unique and not empty.
    private init(sorted siblings: [Sibling], context: VersionVector) {
        storage = siblings.count == 1 ? .one(siblings[0]) : .many(siblings)
        self.context = context
    }

    /// Kept values and their writes, sorted by dot: one, or several when in conflict.
    public var siblings: [Sibling] {
        switch storage {
        case .one(let sibling): [sibling]
        case .many(let siblings): siblings
        }
    }

    /// The kept values, in dot order. One value unless the field is in conflict.
    public var values: [FieldValue] { siblings.map(\.value) }

    /// Calls `body` with each kept sibling in dot order, without building an array.
    public func forEachSibling<Failure: Error>(_ body: (Sibling) throws(Failure) -> Void) throws(Failure) {
        switch storage {
        case .one(let sibling): try body(sibling)
        case .many(let siblings): for sibling in siblings { try body(sibling) }
        }
    }

    /// The value, when the field holds exactly one (not in conflict); nil while in conflict.
    /// Read where it lies, without building an array.
    public var soleValue: FieldValue? {
        if case .one(let sibling) = storage { return sibling.value }
        return nil
    }

    /// True when concurrent writes are both kept and a person must resolve them.
    public var isConflicted: Bool {
        if case .many = storage { return true }
        return false
    }

    /// Calls `body` with the siblings, without copying them into a new array.
    @inline(__always)
    private func withSiblings<Result>(_ body: (UnsafeBufferPointer<Sibling>) -> Result) -> Result {
        switch storage {
        case .one(let sibling):
            withUnsafePointer(to: sibling) { body(UnsafeBufferPointer(start: $0, count: 1)) }
        case .many(let siblings):
            siblings.withUnsafeBufferPointer(body)
        }
    }

    /// Calls `body` with the dot of every kept sibling.
    func forEachDot(_ body: (Dot) -> Void) {
        withSiblings { for sibling in $0 { body(sibling.dot) } }
    }

    /// Records a write made with knowledge `seen`: siblings `seen` covers are replaced; the rest stay.
    mutating func assign(_ value: FieldValue, dot: Dot, seen: VersionVector) {
        var kept = siblings.filter { !seen.contains($0.dot) }
        let position = kept.firstIndex { dot < $0.dot } ?? kept.endIndex
        kept.insert(Sibling(dot: dot, value: value), at: position)
        var context = self.context.joined(with: seen)
        context.insert(dot)
        self = MultiValueRegister(sorted: kept, context: context)
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
        if case .one(let mine) = storage, case .one(let theirs) = other.storage, mine.dot == theirs.dot {
            // The common case: the same single write on both sides.
            switch context.compare(to: other.context) {
            case .equal, .after: return nil
            case .before, .concurrent:
                return MultiValueRegister(sorted: [mine], context: context.joined(with: other.context))
            }
        }
        let merged: [Sibling] = withSiblings { mine in
            other.withSiblings { theirs in
                var merged: [Sibling] = []
                merged.reserveCapacity(mine.count + theirs.count)
                var i = 0
                var j = 0
                while i < mine.count || j < theirs.count {
                    if j == theirs.count || (i < mine.count && mine[i].dot < theirs[j].dot) {
                        if !other.context.contains(mine[i].dot) { merged.append(mine[i]) }
                        i += 1
                    } else if i == mine.count || theirs[j].dot < mine[i].dot {
                        if !context.contains(theirs[j].dot) { merged.append(theirs[j]) }
                        j += 1
                    } else {
                        merged.append(mine[i])
                        i += 1
                        j += 1
                    }
                }
                return merged
            }
        }
        let joinedContext = context.joined(with: other.context)
        let siblingsChanged = withSiblings { mine in
            merged.count != mine.count || !zip(merged, mine).allSatisfy { $0.dot == $1.dot }
        }
        guard siblingsChanged || joinedContext != context else { return nil }
        // A join of two non-empty registers is never empty: the newest write on either side
        // cannot be covered by the other side's context without being kept there too.
        guard !merged.isEmpty else { return nil }
        return MultiValueRegister(sorted: merged, context: joinedContext)
    }

    /// True when some sibling is an event that `knowledge` does not cover.
    func hasSibling(notCoveredBy knowledge: VersionVector) -> Bool {
        withSiblings { $0.contains { !knowledge.contains($0.dot) } }
    }
}
