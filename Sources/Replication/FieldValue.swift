/// The value of a field: the JSON data model, with integers kept apart from other numbers so the
/// canonical encoding is exact.
public enum FieldValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    /// A finite number that is not an integer. Use ``number(_:)`` to build one safely.
    case double(Double)
    case string(String)
    case array([FieldValue])
    /// Keys are unordered here; the canonical encoding sorts them.
    case object([String: FieldValue])

    /// A number, refused when NaN or infinite (no canonical encoding can carry those).
    public static func number(_ value: Double) throws(ReplicationError) -> FieldValue {
        guard value.isFinite else { throw .nonFiniteNumber }
        if value == value.rounded(), let exact = Int64(exactly: value) { return .integer(exact) }
        return .double(value)
    }

    /// True when every number inside is finite.
    public var isFinite: Bool {
        switch self {
        case .double(let value): value.isFinite
        case .array(let items): items.allSatisfy(\.isFinite)
        case .object(let members): members.values.allSatisfy(\.isFinite)
        case .null, .bool, .integer, .string: true
        }
    }
}

extension FieldValue: CustomStringConvertible {
    /// Compact JSON with sorted keys, for people reading a demo or a log.
    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): value ? "true" : "false"
        case .integer(let value): String(value)
        case .double(let value): String(value)
        case .string(let value): Self.quoted(value)
        case .array(let items): "[" + items.map(\.description).joined(separator: ",") + "]"
        case .object(let members):
            "{"
                + members.sorted { $0.key < $1.key }.map { Self.quoted($0.key) + ":" + $0.value.description }
                .joined(separator: ",") + "}"
        }
    }

    private static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
