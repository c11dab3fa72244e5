import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// The `edt` command-line program: one executable, subcommands per job. It parses arguments,
/// calls the `Laptop` layer (or `Central`) and prints; the contract is `Docs/CLI.md`.
/// Exit status: 0 done; 1 refused (with an `error:` line); 2 usage; 3 I/O.
///
/// Every command names itself (`commandName:` in its configuration). Without one, the argument
/// parser derives the name from the type's, with `String(describing:)`, for every command of the
/// tree on every run, and each of those asks Swift's runtime whether a type conforms to a
/// protocol: a search of every conformance the program holds. That was about a third of what
/// `edt --version` cost.
@main
struct EDT: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edt",
        abstract: "Offline-first sync core for out-of-hours children's social care.",
        version: "0.3.0",
        subcommands: [
            Init.self, ReferralCommand.self, BundleCommand.self, StoreCommand.self, SyncCommand.self,
            AuthorityCommand.self, CalendarCommand.self, CentralCommand.self, Demo.self,
        ]
    )

    /// The commands under `command` (itself included) whose configuration gives no `commandName`.
    static func unnamedCommands(under command: any ParsableCommand.Type) -> [String] {
        let own = command.configuration.commandName == nil ? ["\(command)"] : []
        return own + command.configuration.subcommands.flatMap { unnamedCommands(under: $0) }
    }

    /// Maps failures to the exit statuses of the contract: usage errors exit 2 (not 64).
    static func main() async {
        // Debug builds (the ones the tests run) refuse to start with a command that lacks its name.
        assert(
            unnamedCommands(under: Self.self).isEmpty,
            "commands without commandName: \(unnamedCommands(under: Self.self))")
        do {
            var command = try parseAsRoot()
            AllocatorProfile.of(command).apply()
            // Every command is async (`AsyncParsableCommand`); a plain one would run as is.
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let failure as Failure {
            failure.exit()
        } catch {
            if exitCode(for: error) == .validationFailure {
                let message = fullMessage(for: error)
                FileHandleOutput.standardError(message.hasPrefix("Error:") ? message : "error: " + message)
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }
}
