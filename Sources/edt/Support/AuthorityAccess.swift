import ArgumentParser
import Foundation
import Handover

/// `--config FILE` (or `EDT_AUTHORITIES`): the operator's authorities file, applied over the
/// shipped defaults, for every command that uses authorities.
struct AuthorityOptions: ParsableArguments {
    @Option(
        name: .customLong("config"),
        help: ArgumentHelp(
            "The operator's authorities file (office hours, closures, teams, one-off holidays); default EDT_AUTHORITIES, else the shipped defaults. Format: Docs/authorities.md.",
            valueName: "FILE"))
    var file: String?

    /// The shipped directory with the operator's file applied; a file that cannot be read fails
    /// (exit 3), a bad one is refused naming its line and field (exit 1).
    func load() throws(Failure) -> AuthorityDirectory {
        guard let path = file ?? ProcessInfo.processInfo.environment["EDT_AUTHORITIES"], !path.isEmpty else {
            return .shipped
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .inputOutput("cannot read the authorities file \(path): check the path and its permissions")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .refused("\(path): the authorities file is not UTF-8 text")
        }
        do {
            return try AuthorityDirectory.shipped.applying(operatorFile: text, source: path)
        } catch {
            throw .refused(error.description)
        }
    }

    /// The authority named by `code`: a GSS code, or a DfE number when one current authority has it.
    static func authority(_ code: String, in directory: AuthorityDirectory) throws(Failure) -> Authority {
        if let authority = directory.authority(code) { return authority }
        // A DfE number: the one current authority with it, else the one retired authority.
        let byNumber = directory.all.filter { $0.dfe == code }
        let current = byNumber.filter(\.isCurrent)
        if current.count == 1 { return current[0] }
        if current.isEmpty, byNumber.count == 1 { return byNumber[0] }
        throw .refused(directory.refusal(of: code, on: nil) ?? "\(code) is not a known authority")
    }
}
