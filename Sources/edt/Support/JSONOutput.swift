import LineProtocol
import Replication

/// JSON for `--json` output: exactly one document on stdout, canonical (keys sorted).
enum JSONOutput {
    static func print(_ value: FieldValue) {
        var bytes: [UInt8] = []
        JSONPayload.write(value, to: &bytes)
        bytes.append(0x0A)
        FileHandleOutput.standardOutput(bytes)
    }

    /// Pretty, indented JSON for people (`show` without --json).
    static func pretty(_ value: FieldValue, indent: String = "") -> String {
        switch value {
        case .array(let items) where !items.isEmpty:
            let inner = items.map { indent + "  " + pretty($0, indent: indent + "  ") }.joined(separator: ",\n")
            return "[\n" + inner + "\n" + indent + "]"
        case .object(let members) where !members.isEmpty:
            let inner = members.sorted { $0.key < $1.key }.map { member -> String in
                var key: [UInt8] = []
                JSONPayload.write(string: member.key, to: &key)
                return indent + "  " + String(decoding: key, as: UTF8.self) + ": "
                    + pretty(member.value, indent: indent + "  ")
            }.joined(separator: ",\n")
            return "{\n" + inner + "\n" + indent + "}"
        default:
            var bytes: [UInt8] = []
            JSONPayload.write(value, to: &bytes)
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}

extension Dot {
    var notation: String { Notation.text(self) }
}
