/// A comma-separated table as the shipped reference data writes it (RFC 4180: fields that hold
/// a comma or quote are quoted, a quote inside doubled), with a header row naming the columns.
struct CSVTable {
    /// Data rows with their line numbers (1 is the header).
    let rows: [(line: Int, fields: [String: String])]

    /// Parses `text`; a row whose field count differs from the header's is an error naming it.
    init(_ text: String) throws(DirectoryError) {
        var lines: [[String]] = []
        // "\r\n" is one Character in Swift: split on it as well as on "\n".
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = line.hasSuffix("\r") ? line.dropLast() : line
            lines.append(Self.fields(of: line))
        }
        guard let header = lines.first else { throw DirectoryError(source: "table", line: 0, field: "", "is empty") }
        var rows: [(line: Int, fields: [String: String])] = []
        for (index, fields) in lines.enumerated().dropFirst() where fields != [""] {
            guard fields.count == header.count else {
                throw DirectoryError(
                    source: "table", line: index + 1, field: "",
                    "has \(fields.count) fields where the header names \(header.count)")
            }
            rows.append((index + 1, Dictionary(uniqueKeysWithValues: zip(header, fields))))
        }
        self.rows = rows
    }

    private static func fields(of line: Substring) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            if quoted {
                if character == "\"" {
                    let next = line.index(after: index)
                    if next < line.endIndex, line[next] == "\"" {
                        current.append("\"")
                        index = next
                    } else {
                        quoted = false
                    }
                } else {
                    current.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == "," {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
            index = line.index(after: index)
        }
        fields.append(current)
        return fields
    }
}
