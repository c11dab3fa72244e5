import ArgumentParser

/// The `edt` command-line program: one executable, subcommands per job (see README.md).
@main
struct EDT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edt",
        abstract: "Offline-first sync core for out-of-hours children's social care.",
        version: "0.1.0",
        subcommands: [Demo.self]
    )
}
