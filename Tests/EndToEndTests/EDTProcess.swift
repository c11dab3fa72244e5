import Foundation
import TestSupport

/// Runs the built `edt` program as a user or a script would.
struct EDTProcess {
    struct Result {
        let status: Int32
        let standardOutput: String
        let standardError: String

        /// The single JSON document on stdout, as a dictionary.
        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(standardOutput.utf8))) as? [String: Any] ?? [:]
        }
    }

    static var binary: URL { productsDirectory().appendingPathComponent("edt") }

    var passphrase = "correct horse battery staple"

    /// Runs `edt` (or `executable`, e.g. script(1) wrapping it) with `arguments`, feeding `input`;
    /// its standard output goes to `outputFile` when given (the result's is then empty).
    @discardableResult
    func run(
        _ arguments: [String], input: String? = nil, environment: [String: String] = [:], executable: URL? = nil,
        outputFile: FileHandle? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = executable ?? Self.binary
        process.arguments = arguments
        var env = ["EDT_PASSPHRASE": passphrase, "PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
        env.merge(environment) { $1 }
        process.environment = env
        let output = Pipe()
        let error = Pipe()
        let standardInput = Pipe()
        process.standardOutput = outputFile ?? output
        process.standardError = error
        process.standardInput = standardInput
        try process.run()
        if outputFile != nil { try output.fileHandleForWriting.close() }
        if let input { standardInput.fileHandleForWriting.write(Data(input.utf8)) }
        try standardInput.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, standardOutput: String(decoding: out, as: UTF8.self),
            standardError: String(decoding: err, as: UTF8.self))
    }
}

let minimalReferral = """
    {"receivedAt": "2027-03-27T02:10:00Z", "receivedBy": {"name": "J. Okafor", "role": "EDT social worker"},
     "hostAuthority": "E06000038", "channel": "phone", "concern": "Child (7) found alone at Reading station.",
     "children": [{"id": "c1", "name": "Amy Nowak", "location": "BTP office"}],
     "referrer": {"name": "PC Smith", "professional": true, "phone": "07700 900123"}}
    """
