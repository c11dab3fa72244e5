/// The globally unique identity of a record (a case), made offline (a UUID in practice).
public struct RecordID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The identifier as written.
    public let rawValue: String

    /// Validates `rawValue`; throws ``ReplicationError/invalidRecordID(_:)`` when it is not plain.
    public init(_ rawValue: String) throws(ReplicationError) {
        guard Identifier.isValidToken(rawValue) else { throw .invalidRecordID(rawValue) }
        self.rawValue = rawValue
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}
