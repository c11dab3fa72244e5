public import Replication

extension ReferralCapture {
    /// The field that names the authority where the child was found.
    public static let hostAuthorityPath = "hostAuthority"
    /// The field that names the authority where the child lives.
    public static let homeAuthorityPath = "homeAuthority"

    /// Checks a record part received from another replica (a bundle, a sync push): every value
    /// it carries must be a valid value of a referral field (`null` clears an optional field,
    /// never a required one). Throws the first problem found, naming its path.
    public static func validatePart(_ part: Record) throws(ReferralError) {
        var memo = PartCheckMemo()
        try validatePart(part, memo: &memo)
    }

    /// ``validatePart(_:)`` for one of many parts checked in a row (a push's segment), each
    /// lending the next the schema members of its fields (`memo`).
    public static func validatePart(_ part: Record, memo: inout PartCheckMemo) throws(ReferralError) {
        for (index, field) in part.fields.enumerated() {
            let member = try memo.member(at: field.path, index: index)
            try field.register.forEachSibling { (sibling) throws(ReferralError) in
                try validateWrite(sibling.value, at: field.path, as: member, in: nil)
            }
        }
    }

    /// What checking one part lends the next: the schema member each field path named, by the
    /// field's position. The parts of one stream mostly carry the same fields in the same
    /// places, with paths the stream's reader shares between them, so the next part's paths are
    /// matched here without hashing them or taking the schema's lock.
    public struct PartCheckMemo: Sendable {
        private var members: [(path: FieldPath, member: ReferralSchema.Member)] = []
        /// Positions remembered at most (a part with more fields looks the rest up as usual).
        private static let maximumFields = 256

        public init() {}

        /// The member `path`, the part's `index`th field, names; throws when it names none.
        mutating func member(at path: FieldPath, index: Int) throws(ReferralError) -> ReferralSchema.Member {
            if index < members.count, members[index].path == path { return members[index].member }
            let member = try ReferralCapture.schemaMember(at: path)
            if index < members.count {
                members[index] = (path, member)
            } else if index == members.count, index < Self.maximumFields {
                members.append((path, member))
            }
            return member
        }
    }

    /// The required fields of a referral (`receivedAt`, `receivedBy.name`, ...) that `record` does
    /// not hold, in schema order: none for a whole referral. A case new to a replica must arrive
    /// whole; a later part may carry one field.
    public static func missingRequiredFields(of record: Record) -> [String] {
        requiredPaths.filter { record.register(at: $0) == nil }.map(\.rawValue)
    }

    /// Every required scalar field of the schema, with the objects that hold them.
    private static let requiredPaths: [FieldPath] = {
        var paths: [FieldPath] = []
        func walk(_ members: [ReferralSchema.Member], prefix: String) {
            for member in members where member.requirement == .required {
                let path = prefix.isEmpty ? member.name : prefix + "." + member.name
                switch member.shape {
                case .scalar: if let field = try? FieldPath(path) { paths.append(field) }
                case .object(let inner): walk(inner, prefix: path)
                case .collection: break
                }
            }
        }
        walk(ReferralSchema.document, prefix: "")
        return paths
    }()

    /// The authorities a referral belongs to: every value of its host and home authority fields
    /// (a field in conflict counts each of its values, so neither side loses sight of the case).
    public static func authorities(of record: Record) -> Set<String> {
        var codes: Set<String> = []
        for path in [hostAuthorityField, homeAuthorityField] { codes.formUnion(strings(at: path, in: record)) }
        return codes
    }

    /// The host authorities a referral names (several while that field is in conflict).
    public static func hostAuthorities(of record: Record) -> Set<String> {
        strings(at: hostAuthorityField, in: record)
    }

    private static let hostAuthorityField = try? FieldPath(hostAuthorityPath)
    private static let homeAuthorityField = try? FieldPath(homeAuthorityPath)

    /// The text values kept at `path` (none when the field is absent).
    private static func strings(at path: FieldPath?, in record: Record) -> Set<String> {
        guard let path, let register = record.register(at: path) else { return [] }
        var codes: Set<String> = []
        register.forEachSibling { sibling in
            if case .string(let code) = sibling.value { codes.insert(code) }
        }
        return codes
    }
}
