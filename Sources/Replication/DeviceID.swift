/// The identity of a device (a laptop or a central endpoint) that writes to replicas.
///
/// Plain ASCII (`A-Z a-z 0-9 . _ -`, at most 128 characters), so that ordering by `<` is the
/// same as ordering by bytes everywhere, which the canonical encoding relies on.
public struct DeviceID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The identifier as written.
    public let rawValue: String

    /// Validates `rawValue`; throws ``ReplicationError/invalidDeviceID(_:)`` when it is not plain.
    public init(_ rawValue: String) throws(ReplicationError) {
        guard Identifier.isValidToken(rawValue) else { throw .invalidDeviceID(rawValue) }
        self.rawValue = rawValue
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}
