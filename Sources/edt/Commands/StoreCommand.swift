import ArgumentParser
import ReplicaStore
import Replication

/// `edt store`: facts about the replica store.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Inspect the replica store.",
        subcommands: [Digest.self]
    )

    struct Digest: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print one line: the digest (SHA-256) of the replica's canonical content.",
            discussion: "Replicas that have seen the same updates print the same digest, whatever the order they saw them in."
        )

        @OptionGroup var options: StoreOptions

        func run() throws {
            let store = try options.open()
            print(store.replica.digest())
        }
    }
}
