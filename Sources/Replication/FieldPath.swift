/// Where a field lives in a record: dotted segments such as `concern` or `child.c1.dateOfBirth`.
///
/// Items of collections carry stable ids as path segments (`children.c1.name`), so concurrent
/// edits to different items, or different fields of one item, merge cleanly.
public struct FieldPath: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The dotted path as written.
    public let rawValue: String

    /// Validates `rawValue`: 1 to 128 characters, segments of `A-Z a-z 0-9 _ -` separated by
    /// single dots. Throws ``ReplicationError/invalidFieldPath(_:)`` otherwise.
    public init(_ rawValue: String) throws(ReplicationError) {
        let bytes = rawValue.utf8
        var previousWasDot = true
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard !previousWasDot else { throw .invalidFieldPath(rawValue) }
                previousWasDot = true
            } else {
                guard Identifier.isPlain(byte, allowingDot: false) else { throw .invalidFieldPath(rawValue) }
                previousWasDot = false
            }
        }
        guard !bytes.isEmpty, bytes.count <= Identifier.maximumLength, !previousWasDot else {
            throw .invalidFieldPath(rawValue)
        }
        self.rawValue = rawValue
    }

    /// The path's segments (`child.c1.name` → `["child", "c1", "name"]`).
    public var segments: [Substring] { rawValue.split(separator: ".") }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}
