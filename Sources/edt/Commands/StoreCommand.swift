import ArgumentParser
import Laptop

/// `edt store`: facts about the replica store.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Inspect the replica store.",
        subcommands: [Digest.self, Vector.self]
    )

    struct Digest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print one line: the digest (SHA-256) of the replica's canonical content.",
            discussion:
                "Replicas that have seen the same updates print the same digest, whatever the order they saw them in."
        )

        @OptionGroup var options: StoreOptions

        func run() async throws {
            print(try options.open().digest)
        }
    }

    struct Vector: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print one line: the replica's version vector (every write it has incorporated).",
            discussion: "Give it to `edt bundle export --since` on another laptop to carry only what this one lacks."
        )

        @OptionGroup var options: StoreOptions

        func run() async throws {
            print(try options.open().versionVector)
        }
    }
}
