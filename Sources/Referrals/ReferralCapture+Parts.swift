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
        for field in part.fields {
            try field.register.forEachSibling { (sibling) throws(ReferralError) in
                try validateWrite(sibling.value, at: field.path, in: nil)
            }
        }
    }

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
