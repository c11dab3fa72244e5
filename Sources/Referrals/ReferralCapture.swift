public import Replication
import Synchronization

/// Validation of referral documents and of single field changes.
public enum ReferralCapture {
    /// A validated referral: the field writes to make, and the gaps to report.
    public struct Capture: Sendable {
        /// One write per field, in path order. Paths use stable item ids for collections.
        public let writes: [(path: FieldPath, value: FieldValue)]
        /// Recommended information that is missing (paths as `referral set` takes them).
        public let gaps: [String]
    }

    /// Checks a whole referral document.
    ///
    /// Refuses unknown fields (naming their path), missing required fields, wrong types, an NHS
    /// number failing its Modulus 11 check, a UPN with a wrong check letter, and a professional
    /// referrer asking for anonymity. Missing recommended information never refuses: it is
    /// returned in ``Capture/gaps``, followed by the conditional gaps
    /// (``ReferralSchema/conditionalGaps(value:children:confirmed:)``).
    /// - Parameter newItemID: makes an id for a collection item that has none, from its prefix
    ///   (`c` for children...). Must not repeat.
    public static func validate(_ document: FieldValue, newItemID: (String) -> String) throws(ReferralError) -> Capture
    {
        guard case .object(let members) = document else {
            throw ReferralError(path: "", "a referral must be a JSON object")
        }
        let (writes, gaps) = try withoutActuallyEscaping(newItemID) { (newItemID) throws(ReferralError) in
            var walker = Walker(newItemID: newItemID)
            try walker.object(members, schema: ReferralSchema.document, display: "", storage: "")
            return (walker.writes, walker.gaps)
        }
        try checkAnonymity(
            professional: members.path("referrer", "professional"),
            anonymity: members.path("referrer", "anonymityRequested"))
        var written: [String: FieldValue] = [:]
        for write in writes where write.value != .null { written[write.path.rawValue] = write.value }
        let children = written.keys.compactMap { path -> String? in
            let segments = path.split(separator: ".")
            return segments.count > 2 && segments[0] == "children" ? String(segments[1]) : nil
        }
        // A new referral has no entries yet, so no written confirmation either.
        let conditional = ReferralSchema.conditionalGaps(
            value: { written[$0] }, children: children, confirmed: false)
        return Capture(writes: writes.sorted { $0.path < $1.path }, gaps: gaps + conditional)
    }

    /// Checks one field change (`edt referral set` / `resolve`): the path must be a field of the
    /// schema (collection items by id), the value of its type; `null` clears an optional field.
    public static func validateWrite(_ value: FieldValue, at path: FieldPath, in record: Record?) throws(ReferralError)
    {
        try validateWrite(value, at: path, as: try schemaMember(at: path), in: record)
    }

    /// The member of the referral schema that `path` names; refused when it names none.
    static func schemaMember(at path: FieldPath) throws(ReferralError) -> ReferralSchema.Member {
        guard let (member, _) = ReferralSchema.leaf(for: path) else {
            throw ReferralError(path: path.rawValue, "not a field of a referral; see `edt referral schema`")
        }
        return member
    }

    /// ``validateWrite(_:at:in:)`` with the schema member `path` names already looked up.
    static func validateWrite(
        _ value: FieldValue, at path: FieldPath, as member: ReferralSchema.Member, in record: Record?
    ) throws(ReferralError) {
        guard case .scalar(let scalar) = member.shape else {
            throw ReferralError(
                path: path.rawValue,
                "not a single field; set its parts, e.g. \(path.rawValue).\(ReferralSchema.firstLeafName(member))")
        }
        if value == .null {
            guard member.requirement != .required else {
                throw ReferralError(path: path.rawValue, "is required and cannot be cleared")
            }
            return
        }
        _ = try ReferralSchema.check(value, as: scalar, path: path.rawValue)
        // Only the two referrer flags bear on each other (a professional is never anonymous).
        guard
            path == professionalField || path == anonymityField || record != nil && path.rawValue.hasPrefix("referrer.")
        else { return }
        func current(_ field: FieldPath?) -> FieldValue? {
            guard let field else { return nil }
            if path == field { return value }
            guard let register = record?.register(at: field) else { return nil }
            return register.values.contains(.bool(true)) ? .bool(true) : register.values.first
        }
        try checkAnonymity(professional: current(professionalField), anonymity: current(anonymityField))
    }

    private static let professionalField = try? FieldPath("referrer.professional")
    private static let anonymityField = try? FieldPath("referrer.anonymityRequested")

    /// The value a person typed for `path` on a command line: JSON when it parses (`true`, `7`,
    /// `null`, `"text"`), else the text itself; and the text itself when the field holds text but
    /// the JSON reading gave a number or a boolean (an NHS number typed as digits stays text).
    public static func value(typed text: String, parsed: FieldValue?, for path: FieldPath) -> FieldValue {
        guard let parsed else { return .string(text) }
        guard let (member, _) = ReferralSchema.leaf(for: path.segments.map(String.init)),
            case .scalar(let scalar) = member.shape
        else {
            return parsed
        }
        switch (scalar, parsed) {
        case (.boolean, _), (.integer, _), (.textList, _), (_, .string), (_, .null): return parsed
        default: return .string(text)
        }
    }

    /// A professional's referral can never be anonymous.
    static func checkAnonymity(professional: FieldValue?, anonymity: FieldValue?) throws(ReferralError) {
        if professional == .bool(true), anonymity == .bool(true) {
            throw ReferralError(
                path: "referrer.anonymityRequested",
                "a professional's referral can never be anonymous: record the referrer's name and agency, or set professional to false if they are a member of the public"
            )
        }
    }

    /// Walks a document against the schema, collecting writes and gaps.
    struct Walker {
        let newItemID: (String) -> String
        var writes: [(path: FieldPath, value: FieldValue)] = []
        var gaps: [String] = []

        mutating func object(
            _ members: [String: FieldValue], schema: [ReferralSchema.Member], display: String, storage: String
        ) throws(ReferralError) {
            let unknown = members.keys.filter { key in !schema.contains { $0.name == key } }
            if let first = unknown.min() {
                throw ReferralError(
                    path: join(display, first),
                    "unknown field; fields here are: \(schema.map(\.name).joined(separator: ", "))")
            }
            for member in schema {
                guard let value = members[member.name], value != .null else {
                    switch member.requirement {
                    case .required:
                        throw ReferralError(
                            path: join(display, member.name), "is required: \(member.summary.lowercased())")
                    case .recommended: gaps.append(join(storage, member.name))
                    case .optional: break
                    }
                    continue
                }
                let displayPath = join(display, member.name)
                let storagePath = join(storage, member.name)
                switch member.shape {
                case .scalar(let scalar):
                    let checked = try ReferralSchema.check(value, as: scalar, path: displayPath)
                    guard let path = try? FieldPath(storagePath) else {
                        throw ReferralError(path: displayPath, "cannot be stored under this path")
                    }
                    writes.append((path, checked))
                case .object(let inner):
                    guard case .object(let innerMembers) = value else {
                        throw ReferralError(path: displayPath, "must be an object")
                    }
                    try object(innerMembers, schema: inner, display: displayPath, storage: storagePath)
                case .collection(let prefix, let item):
                    guard case .array(let items) = value else {
                        throw ReferralError(path: displayPath, "must be a list of objects")
                    }
                    var seen: Set<String> = []
                    for (index, element) in items.enumerated() {
                        let itemDisplay = "\(displayPath)[\(index)]"
                        guard case .object(var itemMembers) = element else {
                            throw ReferralError(path: itemDisplay, "must be an object")
                        }
                        let id: String
                        if let given = itemMembers.removeValue(forKey: "id") {
                            guard case .string(let text) = given, ReferralSchema.isItemID(text) else {
                                throw ReferralError(
                                    path: itemDisplay + ".id", "an item id is 1 to 32 of A-Z a-z 0-9 _ -")
                            }
                            id = text
                        } else {
                            id = newItemID(prefix)
                        }
                        guard seen.insert(id).inserted else {
                            throw ReferralError(path: itemDisplay + ".id", "two items have the id \(id)")
                        }
                        try object(itemMembers, schema: item, display: itemDisplay, storage: join(storagePath, id))
                    }
                    if items.isEmpty, member.requirement == .recommended { gaps.append(storagePath) }
                }
            }
        }

        private func join(_ prefix: String, _ name: String) -> String { prefix.isEmpty ? name : prefix + "." + name }
    }
}

extension Dictionary where Key == String, Value == FieldValue {
    /// The value at a path of nested objects, if every step is an object.
    func path(_ first: String, _ rest: String...) -> FieldValue? {
        var current = self[first]
        for name in rest {
            guard case .object(let members)? = current else { return nil }
            current = members[name]
        }
        return current
    }
}

extension ReferralSchema {
    /// An item id: 1 to 32 of `A-Z a-z 0-9 _ -`.
    static func isItemID(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.count <= 32
            && text.utf8.allSatisfy {
                ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F
                    || $0 == 0x2D
            }
    }

    /// Paths already looked up, so checking a record's fields does not walk the schema for each
    /// one: every path outside collections (a few dozen), and paths inside collection items
    /// until ``knownLeavesLimit`` are kept (item ids vary, so those are bounded).
    private static let knownLeaves = Mutex<[String: (Member, inCollection: Bool)]>([:])
    private static let knownLeavesLimit = 4_096

    /// The member of the referral schema that `path` names (collection items by id), if any.
    public static func member(at path: FieldPath) -> Member? {
        leaf(for: path)?.0
    }

    /// The member `path` names, and whether it sits inside a collection item.
    static func leaf(for path: FieldPath) -> (Member, inCollection: Bool)? {
        if let known = knownLeaves.withLock({ $0[path.rawValue] }) { return known }
        guard let found = leaf(for: path.segments) else { return nil }
        knownLeaves.withLock { leaves in
            if !found.inCollection || leaves.count < knownLeavesLimit { leaves[path.rawValue] = found }
        }
        return found
    }

    /// The member a stored path names, and whether it sits inside a collection item.
    static func leaf(for segments: [some StringProtocol]) -> (Member, inCollection: Bool)? {
        var members = document
        var index = 0
        var inCollection = false
        while index < segments.count {
            guard let member = members.first(where: { $0.name == segments[index] }) else { return nil }
            index += 1
            switch member.shape {
            case .scalar:
                return index == segments.count ? (member, inCollection) : nil
            case .object(let inner):
                if index == segments.count { return (member, inCollection) }
                members = inner
            case .collection(_, let item):
                guard index < segments.count, isItemID(segments[index]) else {
                    return index == segments.count ? (member, inCollection) : nil
                }
                index += 1
                inCollection = true
                if index == segments.count { return nil }
                members = item
            }
        }
        return nil
    }

    static func firstLeafName(_ member: Member) -> String {
        switch member.shape {
        case .object(let inner): inner.first?.name ?? "name"
        case .collection(let prefix, let item): "\(prefix)1.\(item.first?.name ?? "name")"
        case .scalar: member.name
        }
    }

    /// Checks `value` against `scalar`; returns it normalised (NHS numbers without spaces).
    static func check(_ value: FieldValue, as scalar: Scalar, path: String) throws(ReferralError) -> FieldValue {
        switch scalar {
        case .text(let maximumLength):
            guard case .string(let text) = value else { throw ReferralError(path: path, "must be text") }
            guard text.utf8.count <= maximumLength || text.unicodeScalars.count <= maximumLength else {
                throw ReferralError(path: path, "is longer than \(maximumLength) characters")
            }
            return value
        case .instant:
            guard case .string(let text) = value, Identifiers.isInstant(text) else {
                throw ReferralError(
                    path: path,
                    "must be an ISO 8601 instant with an offset, e.g. 2027-03-27T02:10:00Z or 2027-03-30T09:00:00+01:00"
                )
            }
            return value
        case .date:
            guard case .string(let text) = value, Identifiers.isDate(text) else {
                throw ReferralError(path: path, "must be a date YYYY-MM-DD")
            }
            return value
        case .boolean:
            guard case .bool = value else { throw ReferralError(path: path, "must be true or false") }
            return value
        case .integer(let range):
            guard case .integer(let number) = value, range.contains(number) else {
                throw ReferralError(
                    path: path, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return value
        case .choice(let choices):
            guard case .string(let text) = value, choices.contains(text) else {
                throw ReferralError(path: path, "must be one of: \(choices.joined(separator: ", "))")
            }
            return value
        case .authority:
            guard case .string(let text) = value, Identifiers.isAuthorityCode(text) else {
                throw ReferralError(path: path, "must be an authority's GSS code, e.g. E06000038")
            }
            return value
        case .nhsNumber:
            guard case .string(let text) = value else { throw ReferralError(path: path, "must be text of 10 digits") }
            guard let digits = Identifiers.nhsNumber(text) else {
                throw ReferralError(
                    path: path,
                    "\"\(text)\" is not a valid NHS number (10 digits with a Modulus 11 check digit): check it with the referrer"
                )
            }
            return .string(digits)
        case .upn:
            guard case .string(let text) = value, Identifiers.isValidUPN(text) else {
                throw ReferralError(
                    path: path, "is not a valid UPN (13 characters, check letter first): check it with the school")
            }
            return value
        case .textList:
            guard case .array(let items) = value, items.allSatisfy({ if case .string = $0 { true } else { false } })
            else {
                throw ReferralError(path: path, "must be a list of texts")
            }
            return value
        }
    }
}
