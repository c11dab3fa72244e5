public import Replication

/// A record seen as a referral document: what a person reads in `edt referral show`.
public struct ReferralView: Sendable {
    /// One conflicted field: concurrent values, all kept, none chosen.
    public struct Conflict: Sendable, Hashable {
        public let path: FieldPath
        public let values: [FieldValue]

        public init(path: FieldPath, values: [FieldValue]) {
            self.path = path
            self.values = values
        }
    }

    /// The document, collections as lists of items with their `id`. A conflicted field does not
    /// appear here: it is only in ``conflicts``, so no value is ever chosen silently.
    public let document: FieldValue
    public let conflicts: [Conflict]
    /// Recommended information still missing, then the conditional gaps
    /// (``ReferralSchema/conditionalGaps(value:children:confirmed:)``).
    public let gaps: [String]

    public init(_ record: Record) {
        var tree = Node.object([:])
        var conflicts: [Conflict] = []
        var present: Set<String> = []
        for field in record.fields {
            if field.register.isConflicted {
                conflicts.append(Conflict(path: field.path, values: field.register.values))
                present.insert(field.path.rawValue)
                continue
            }
            guard let value = field.register.soleValue, value != .null else { continue }
            present.insert(field.path.rawValue)
            tree.insert(value, at: field.path.segments.map(String.init), schema: ReferralSchema.document)
        }
        document = tree.value
        self.conflicts = conflicts
        gaps = Self.gaps(present: present) + ReferralSchema.conditionalGaps(of: record)
    }

    /// The value of one field when it holds exactly one.
    public static func value(of record: Record, at path: String) -> FieldValue? {
        record.register(atPath: path)?.soleValue
    }

    /// The recommended members missing from a record whose present field paths are `present`
    /// (a field in conflict counts as present: it holds values).
    static func gaps(present: Set<String>) -> [String] {
        // What follows each prefix of a present path ("children" → {"c1"}, "children.c1" →
        // {"name"}): which objects hold anything and which items a collection has, found once
        // rather than by scanning every path for every member.
        var following: [String: Set<String>] = [:]
        for key in present {
            // At each dot: the path up to it, and the segment after it.
            let bytes = key.utf8
            var dot = bytes.firstIndex(of: UInt8(ascii: "."))
            while let here = dot {
                let after = bytes.index(after: here)
                let next = bytes[after...].firstIndex(of: UInt8(ascii: "."))
                following[String(key[..<here]), default: []].insert(String(key[after..<(next ?? key.endIndex)]))
                dot = next
            }
        }
        var gaps: [String] = []
        func walk(_ members: [ReferralSchema.Member], prefix: String) {
            for member in members {
                let path = prefix.isEmpty ? member.name : prefix + "." + member.name
                switch member.shape {
                case .scalar:
                    if member.requirement != .optional, !present.contains(path) { gaps.append(path) }
                case .object(let inner):
                    if following[path] != nil {
                        walk(inner, prefix: path)
                    } else if member.requirement != .optional {
                        gaps.append(path)
                    }
                case .collection(_, let item):
                    if let items = following[path] {
                        for id in items.sorted() { walk(item, prefix: path + "." + id) }
                    } else if member.requirement != .optional {
                        gaps.append(path)
                    }
                }
            }
        }
        walk(ReferralSchema.document, prefix: "")
        return gaps
    }

    /// A document under construction: collections are kept by item id until the end.
    private indirect enum Node {
        case leaf(FieldValue)
        case object([String: Node])
        case collection([String: Node])

        mutating func insert(_ value: FieldValue, at segments: [String], schema: [ReferralSchema.Member]?) {
            guard let first = segments.first else {
                self = .leaf(value)
                return
            }
            let member = schema?.first { $0.name == first }
            var members: [String: Node]
            if case .object(let existing) = self { members = existing } else { members = [:] }
            var child = members[first] ?? .object([:])
            let rest = Array(segments.dropFirst())
            switch member?.shape {
            case .collection(_, let item)? where !rest.isEmpty:
                var items: [String: Node]
                if case .collection(let existing) = child { items = existing } else { items = [:] }
                var itemNode = items[rest[0]] ?? .object([:])
                itemNode.insert(value, at: Array(rest.dropFirst()), schema: item)
                items[rest[0]] = itemNode
                child = .collection(items)
            case .object(let inner)?:
                child.insert(value, at: rest, schema: inner)
            default:
                child.insert(value, at: rest, schema: nil)
            }
            members[first] = child
            self = .object(members)
        }

        var value: FieldValue {
            switch self {
            case .leaf(let value): value
            case .object(let members): .object(members.mapValues(\.value))
            case .collection(let items):
                .array(
                    items.keys.sorted().map { id in
                        guard case .object(var fields) = items[id]?.value ?? .null else {
                            return .object(["id": .string(id)])
                        }
                        fields["id"] = .string(id)
                        return .object(fields)
                    })
            }
        }
    }
}
