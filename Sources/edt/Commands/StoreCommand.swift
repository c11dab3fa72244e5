import ArgumentParser
import Foundation
import Laptop
import LineProtocol
import Replication

/// `edt store`: facts about the replica store.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Inspect the replica store.",
        subcommands: [Digest.self, Vector.self, CentreKey.self, KeepAccepted.self, Verify.self]
    )

    struct Digest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "digest",
            abstract: "Print one line: the digest (SHA-256) of the replica's canonical content.",
            discussion:
                "Replicas that have seen the same updates print the same digest, whatever the order they saw them in."
        )

        @OptionGroup var options: StoreOptions

        func run() async throws {
            let workspace = try options.open()
            print(try laptop { () throws(LaptopError) in try workspace.digest() })
        }
    }

    struct CentreKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "centre-key",
            abstract: "Record the central endpoint's public key (or, with no KEY, print the one recorded).",
            discussion: """
                Every sync reply must be signed by this key: a reply altered or forged on the way \
                is refused and changes nothing. An administrator prints it with \
                `edt central identity --db ...`; it can also be given to `edt init --centre-key`. \
                Also lists the peer centres the centre vouched for in its replies (a home \
                authority's own central, whose entries reach this laptop through its centre), \
                each with the key its entries are verified with.
                """
        )

        @OptionGroup var options: StoreOptions
        @Argument(
            help: ArgumentHelp(
                "The centre's public key (base64), as `edt central identity` prints it.", valueName: "KEY"))
        var key: String?
        @Flag(
            help:
                "Print one JSON object: {\"centreKey\": BASE64|null, \"peerCentres\": [{\"device\": ID, \"key\": HEX}]}."
        )
        var json = false

        func run() async throws {
            let workspace = try options.open()
            if let key { try laptop { () throws(LaptopError) in try workspace.setCentreKey(base64: key) } }
            let recorded = try laptop { () throws(LaptopError) in try workspace.centreKey() }
            let peers = try laptop { () throws(LaptopError) in try workspace.peerCentres() }.sorted { $0.key < $1.key }
            let text = recorded.map { Data($0).base64EncodedString() }
            if json {
                JSONOutput.print(
                    .object([
                        "centreKey": text.map(FieldValue.string) ?? .null,
                        "peerCentres": .array(
                            peers.map {
                                .object(["device": .string($0.key.rawValue), "key": .string(Hex.encode($0.value))])
                            }
                        ),
                    ]))
            } else {
                print(text ?? "no centre key recorded: `edt store centre-key --store DIR KEY`")
                for (device, key) in peers { print("peer centre \(device): \(Hex.encode(key))") }
            }
        }
    }

    struct KeepAccepted: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keep-accepted",
            abstract:
                "Set how many days accepted cases stay on this laptop after their acceptance (or, with no --days, print it).",
            discussion: """
                At each sync, once the centre's replies are applied, a case the centre holds \
                (nothing of it waiting to be synced) whose day team accepted it (the centre's \
                signed acceptance, for the case's host authority) is dropped from this laptop, \
                gone from the store's files, once this many days (of 24 hours) have passed since \
                the acceptance. 0, the default, drops it at the next sync.
                """
        )

        @OptionGroup var options: StoreOptions
        @Option(
            help: ArgumentHelp("Keep accepted cases this many days after their acceptance (0 to 3650).", valueName: "N")
        )
        var days: Int?
        @Flag(help: "Print one JSON object: {\"keepAcceptedDays\": N}.") var json = false

        func validate() throws {
            if let days, !(0...3_650).contains(days) {
                throw ValidationError("--days must be 0 to 3650, not \(days)")
            }
        }

        func run() async throws {
            let workspace = try options.open()
            if let days { try laptop { () throws(LaptopError) in try workspace.setKeepAcceptedDays(days) } }
            let kept = try laptop { () throws(LaptopError) in try workspace.keepAcceptedDays() }
            if json {
                JSONOutput.print(.object(["keepAcceptedDays": .integer(Int64(kept))]))
            } else if kept == 0 {
                print("Accepted cases are dropped from this laptop at the next sync after their acceptance.")
            } else {
                print(
                    "Accepted cases stay on this laptop \(kept) day\(kept == 1 ? "" : "s") after their acceptance, then are dropped at the next sync."
                )
            }
        }
    }

    struct Vector: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "vector",
            abstract: "Print one line: the replica's version vector (every write it has incorporated).",
            discussion: "Give it to `edt bundle export --since` on another laptop to carry only what this one lacks."
        )

        @OptionGroup var options: StoreOptions

        func run() async throws {
            print(try options.open().versionVector)
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check the whole store against its integrity seal, and open every referral.",
            discussion: """
                Each command checks what it reads; this reads everything: every row of every \
                table against the seal, every referral and summary opened. Exit 0 when intact; \
                exit 3 naming what was altered outside edt (restore the store from a backup).
                """
        )

        @OptionGroup var options: StoreOptions
        @Flag(help: "Print one JSON object: {\"intact\": true, \"records\": N}.") var json = false

        func run() async throws {
            let workspace = try options.open()
            let records = try laptop { () throws(LaptopError) in try workspace.verifyStore() }
            if json {
                JSONOutput.print(.object(["intact": .bool(true), "records": .integer(Int64(records))]))
            } else {
                print("The store is intact: \(records) referral(s) checked against its integrity seal.")
            }
        }
    }
}
