public import Replication

extension ReferralSchema {
    /// The gap of a professional's verbal referral until its written confirmation is recorded
    /// (a `confirmation` entry, `edt referral confirm`).
    public static let writtenConfirmationGap = "writtenConfirmation"

    /// Information missing because of what else the referral says, listed among the gaps after
    /// the recommended fields:
    /// - `consent.reason` when the parents were not informed or do not agree
    ///   (`consent.parentsInformed` or `consent.parentsAgree` false) and no reason is given;
    /// - `children.ID.expectedDate` for an unborn child (`unborn` true) with no expected date;
    /// - ``writtenConfirmationGap`` for a verbal referral (`verbal` true) from a professional
    ///   (`referrer.professional` true) while no `confirmation` entry exists.
    ///
    /// - Parameters:
    ///   - value: the single value stored at a field path, nil when absent, null or in conflict.
    ///   - children: the item ids of the referral's children.
    ///   - confirmed: whether a `confirmation` entry has been recorded.
    static func conditionalGaps(
        value: (String) -> FieldValue?, children: some Sequence<String>, confirmed: Bool
    ) -> [String] {
        var gaps: [String] = []
        func isFalse(_ path: String) -> Bool { value(path) == .bool(false) }
        func isTrue(_ path: String) -> Bool { value(path) == .bool(true) }
        func isBlank(_ path: String) -> Bool {
            guard let given = value(path) else { return true }
            if case .string(let text) = given { return text.trimmingSpaces.isEmpty }
            return false
        }
        if isFalse("consent.parentsInformed") || isFalse("consent.parentsAgree"), isBlank("consent.reason") {
            gaps.append("consent.reason")
        }
        for child in Set(children).sorted() where isTrue("children.\(child).unborn") {
            if isBlank("children.\(child).expectedDate") { gaps.append("children.\(child).expectedDate") }
        }
        if isTrue("verbal"), isTrue("referrer.professional"), !confirmed { gaps.append(writtenConfirmationGap) }
        return gaps
    }

    /// The information a stored referral still lacks, as ``ReferralView/gaps`` lists it
    /// (recommended fields missing, then the conditional gaps), without building its document:
    /// what the handover package lists for each case.
    public static func gaps(of record: Record) -> [String] {
        var memo = GapsMemo()
        return gaps(of: record, memo: &memo)
    }

    /// ``gaps(of:)`` for records read one after another: the recommended members missing are
    /// worked out once per set of fields present and taken from `memo` after that (the records
    /// of one package mostly hold the same fields); the conditional gaps are read from each.
    public static func gaps(of record: Record, memo: inout GapsMemo) -> [String] {
        // The paths present, in the record's order: records read one after another share their
        // paths' storage, so comparing this with a set seen before is cheap.
        var present: [String] = []
        present.reserveCapacity(record.fields.count)
        record.fields.withUnsafeBufferPointer { fields in
            for index in fields.indices {
                let register = fields[index].register
                var holds = false
                register.forEachSibling { if $0.value != .null { holds = true } }
                if holds || register.isConflicted { present.append(fields[index].path.rawValue) }
            }
        }
        let missing: [String]
        if let last = memo.last, last.present == present {
            missing = last.missing  // as the record before: no hashing
        } else if let known = memo.missing[present] {
            missing = known
        } else {
            missing = ReferralView.gaps(present: Set(present))
            if memo.missing.count < GapsMemo.maximumSets { memo.missing[present] = missing }
        }
        memo.last = (present, missing)
        return missing + conditionalGaps(of: record)
    }

    /// What ``gaps(of:memo:)`` lends one record from those before: the recommended members
    /// missing for each set of present fields seen, for at most ``maximumSets`` sets (records
    /// that each hold fields of their own cost no more than without it).
    public struct GapsMemo: Sendable {
        /// Keyed by the paths present, in the order of the record's fields.
        var missing: [[String]: [String]] = [:]
        /// The record before's paths present and members missing.
        var last: (present: [String], missing: [String])?
        static let maximumSets = 256

        public init() {}
    }

    /// The item and the member of a child's path (`children.ITEM.member` → `ITEM`, `member`,
    /// which may hold dots itself); nil for any other path. Read off the path's bytes: most
    /// paths are not a child's, and splitting every path into segments is what this avoids.
    public static func childPath(_ path: String) -> (item: String, member: Substring)? {
        // Compared as bytes: a string's own prefix test works on characters, at many times the
        // cost, for every path of every record.
        let bytes = path.utf8
        let prefix = "children.".utf8
        guard bytes.starts(with: prefix) else { return nil }
        let rest = bytes.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: UInt8(ascii: ".")), dot > rest.startIndex else { return nil }
        let memberStart = bytes.index(after: dot)
        guard memberStart < bytes.endIndex else { return nil }
        // The dot is a character of its own: both sides begin and end on characters.
        return (String(Substring(bytes[rest.startIndex..<dot])), Substring(bytes[memberStart...]))
    }

    /// The conditional gaps of a stored referral (see ``conditionalGaps(value:children:confirmed:)``):
    /// each value the rules read is found by its path's text (no path parsed, no array of
    /// values made).
    static func conditionalGaps(of record: Record) -> [String] {
        var children: Set<String> = []
        record.fields.withUnsafeBufferPointer { fields in
            for index in fields.indices {
                if let child = childPath(fields[index].path.rawValue) { children.insert(child.item) }
            }
        }
        let confirmed = record.entries.contains { $0.kind == ReferralEntry.Kind.confirmation.rawValue }
        return conditionalGaps(
            value: { path in record.register(atPath: path)?.soleValue.flatMap { $0 == .null ? nil : $0 } },
            children: children, confirmed: confirmed)
    }

}
