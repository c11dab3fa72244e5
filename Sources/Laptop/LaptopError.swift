/// Why a laptop operation was refused or failed, with what to do next. A failed operation
/// changed nothing.
public struct LaptopError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Stable codes, for scripts and tests.
    public enum Code: String, Sendable, Hashable {
        /// The input or the request was refused (validation, policy, a conflict): exit 1.
        case refused
        /// The disk, the store's files or the network failed: exit 3.
        case inputOutput = "input-output"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    static func refused(_ message: String) -> LaptopError { LaptopError(.refused, message) }
    static func inputOutput(_ message: String) -> LaptopError { LaptopError(.inputOutput, message) }

    public var description: String { message }
}
