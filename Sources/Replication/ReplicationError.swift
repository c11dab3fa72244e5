/// A value given to the replication core that it cannot accept, with a message a person can act on.
public struct ReplicationError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case invalidDeviceID(String)
        case invalidRecordID(String)
        case invalidFieldPath(String)
        case invalidEntryKind(String)
        case nonFiniteNumber
        case invalidCounter
    }

    private let code: Code

    /// A device identifier that is empty, too long, or uses characters outside `A-Z a-z 0-9 . _ -`.
    public static func invalidDeviceID(_ raw: String) -> Self { Self(code: .invalidDeviceID(raw)) }
    /// A record identifier that is empty, too long, or uses characters outside `A-Z a-z 0-9 . _ -`.
    public static func invalidRecordID(_ raw: String) -> Self { Self(code: .invalidRecordID(raw)) }
    /// A field path that is not a dotted list of segments of `A-Z a-z 0-9 _ -`.
    public static func invalidFieldPath(_ raw: String) -> Self { Self(code: .invalidFieldPath(raw)) }
    /// An entry kind that is empty, too long, or not a plain lowercase token.
    public static func invalidEntryKind(_ raw: String) -> Self { Self(code: .invalidEntryKind(raw)) }
    /// A number that is NaN or infinite, which no canonical encoding can carry.
    public static var nonFiniteNumber: Self { Self(code: .nonFiniteNumber) }
    /// A dot counter of zero; counters start at 1.
    public static var invalidCounter: Self { Self(code: .invalidCounter) }

    public var description: String {
        switch code {
        case .invalidDeviceID(let raw):
            "invalid device id \"\(raw)\": use 1 to \(Identifier.maximumLength) characters from A-Z a-z 0-9 . _ -"
        case .invalidRecordID(let raw):
            "invalid record id \"\(raw)\": use 1 to \(Identifier.maximumLength) characters from A-Z a-z 0-9 . _ -"
        case .invalidFieldPath(let raw):
            "invalid field path \"\(raw)\": use dotted segments of A-Z a-z 0-9 _ - (for example child.c1.dateOfBirth)"
        case .invalidEntryKind(let raw):
            "invalid entry kind \"\(raw)\": use a lowercase word of a-z 0-9 - (for example decision)"
        case .nonFiniteNumber:
            "a number must be finite: NaN and infinity cannot be stored"
        case .invalidCounter:
            "a dot's counter is a whole number from 1 to 2^53"
        }
    }
}

/// Shared rules for the ASCII identifiers of the core (devices, records, paths).
enum Identifier {
    static let maximumLength = 128

    /// True for `A-Z a-z 0-9 _ -`, and for `.` unless `allowingDot` is false (field path segments).
    @inline(__always)
    static func isPlain(_ byte: UInt8, allowingDot: Bool = true) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        case UInt8(ascii: "."):
            allowingDot
        default:
            false
        }
    }

    static func isValidToken(_ raw: String) -> Bool {
        let bytes = raw.utf8
        return !bytes.isEmpty && bytes.count <= maximumLength && bytes.allSatisfy { isPlain($0) }
    }
}
