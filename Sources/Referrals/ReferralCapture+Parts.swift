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
            for value in field.register.values {
                try validateWrite(value, at: field.path, in: nil)
            }
        }
    }

    /// The authorities a referral belongs to: every value of its host and home authority fields
    /// (a field in conflict counts each of its values, so neither side loses sight of the case).
    public static func authorities(of record: Record) -> Set<String> {
        var codes: Set<String> = []
        for name in [hostAuthorityPath, homeAuthorityPath] {
            guard let path = try? FieldPath(name), let register = record.register(at: path) else { continue }
            for case .string(let code) in register.values { codes.insert(code) }
        }
        return codes
    }

    /// The host authorities a referral names (several while that field is in conflict).
    public static func hostAuthorities(of record: Record) -> Set<String> {
        guard let path = try? FieldPath(hostAuthorityPath), let register = record.register(at: path) else { return [] }
        var codes: Set<String> = []
        for case .string(let code) in register.values { codes.insert(code) }
        return codes
    }
}
