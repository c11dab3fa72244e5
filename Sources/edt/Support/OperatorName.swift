import Foundation

/// Who is at a central command, as the audit log records them: `operator:` and the login name
/// (`USER`, or `LOGNAME`; `unknown` when neither is set).
enum OperatorName {
    static var current: String {
        let environment = ProcessInfo.processInfo.environment
        let name = environment["USER"] ?? environment["LOGNAME"] ?? ""
        return "operator:" + (name.isEmpty ? "unknown" : name)
    }
}
