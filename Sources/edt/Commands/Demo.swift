import ArgumentParser
import Laptop

/// `edt demo`: two laptops diverge on one referral, merge, show the kept conflict, resolve it.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Show two replicas diverging, merging, keeping a conflict and resolving it; then the referral's deadlines.",
        discussion: """
            Runs entirely in memory: nothing is written to disk and no network is used. Two EDT \
            laptops record changes to the same referral while offline; their deltas are exchanged \
            (in both directions, one of them twice, to show that re-sending is harmless); the \
            concurrent edits to one field are kept side by side until a worker resolves them.
            """
    )

    func run() async throws {
        let script = try Demonstration()
        for line in try script.run() { print(line) }
    }
}
