import ArgumentParser

@main
struct EDTBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "edt-bench", subcommands: [])
}
