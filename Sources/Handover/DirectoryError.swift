/// A refused authorities or calendar file: where (file, line, field) and why.
public struct DirectoryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file (or `shipped authorities.csv` for the shipped data).
    public let source: String
    /// The 1-based line; 0 for the file as a whole.
    public let line: Int
    /// The field or setting the line was about; empty when the line is wrong as a whole.
    public let field: String
    public let message: String

    public init(source: String, line: Int, field: String, _ message: String) {
        self.source = source
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        var text = source
        if line > 0 { text += ":\(line)" }
        if !field.isEmpty { text += ": \(field)" }
        return text + ": " + message
    }

    func located(in source: String) -> DirectoryError {
        DirectoryError(source: source, line: line, field: field, message)
    }
}
