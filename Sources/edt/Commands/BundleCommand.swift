import ArgumentParser
import Foundation
import Laptop
import LineProtocol
import Replication

/// `edt bundle`: sync two replicas with no network, through a file in the line protocol.
struct BundleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Carry a replica's content by file (USB stick) in the EDT line protocol.",
        subcommands: [Export.self, Import.self]
    )

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write the replica's content as an EDTLP bundle (to stdout when no --out).",
            discussion:
                "With --since VECTOR (the recipient's version vector, e.g. edt-laptop-a:12,edt-laptop-b:3), only what the recipient lacks."
        )

        @OptionGroup var options: StoreOptions
        @Option(help: ArgumentHelp("The bundle file to write.", valueName: "F")) var out: String?
        @Option(help: ArgumentHelp("Only what a replica with this version vector lacks.", valueName: "VECTOR"))
        var since: String?

        func run() async throws {
            let workspace = try options.open()
            var base = VersionVector()
            if let since {
                guard let vector = Notation.vector(Substring(since)) else {
                    throw Failure.refused(
                        "--since \"\(since)\" is not a version vector (e.g. edt-laptop-a:12,edt-laptop-b:3, or -)")
                }
                base = vector
            }
            let bytes = try laptop { () throws(LaptopError) in try workspace.exportBundle(since: base) }
            if let out {
                let temporary = out + ".partial"
                guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
                    throw Failure.inputOutput("cannot write \(out): check the directory exists and is writable")
                }
                do {
                    if FileManager.default.fileExists(atPath: out) { try FileManager.default.removeItem(atPath: out) }
                    try FileManager.default.moveItem(atPath: temporary, toPath: out)
                } catch {
                    throw Failure.inputOutput("cannot write \(out): \(error.localizedDescription)")
                }
            } else {
                FileHandleOutput.standardOutput(bytes)
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Merge an EDTLP bundle into the replica (from stdin when no --in): all or nothing, idempotent.",
            discussion: """
                The whole bundle is verified first (its signature, frame count, checksum, every \
                record); a damaged or forged bundle changes nothing. The first bundle from a device \
                pins its key: a later one naming that device under another key is refused. A bundle \
                proves only its own device's writes: a record whose fields are not valid referral \
                fields, or that carries another device's write this laptop does not hold or claims \
                writes it has not seen, is rejected, counted and listed with its reason; the rest are \
                merged. A colleague's bundle is kept and relayed to the centre at the next sync, so \
                its writes reach the centre with their author's proof. Importing the same bundle \
                twice changes nothing.
                """
        )

        @OptionGroup var options: StoreOptions
        @Option(name: .customLong("in"), help: ArgumentHelp("The bundle file to read.", valueName: "F")) var input:
            String?
        @Flag(
            help:
                "Print one JSON object: {\"applied\": N, \"rejected\": N, \"refusals\": [{\"id\", \"reason\", \"message\"}]}."
        )
        var json = false

        func run() async throws {
            let workspace = try options.open()
            let bytes = try InputFile.read(input)
            let outcome = try laptop { () throws(LaptopError) in
                try workspace.importBundle(bytes, source: input ?? "stdin")
            }
            let (applied, rejected) = (outcome.applied, outcome.rejected)
            if json {
                JSONOutput.print(
                    .object([
                        "applied": .integer(Int64(applied)), "rejected": .integer(Int64(rejected)),
                        "refusals": .array(
                            outcome.refusals.map {
                                .object([
                                    "id": .string($0.record.rawValue), "reason": .string($0.reason),
                                    "message": .string($0.message),
                                ])
                            }),
                    ]))
            } else {
                print(
                    "Merged \(applied) changed referral\(applied == 1 ? "" : "s")\(rejected > 0 ? "; rejected \(rejected)" : "")"
                )
                for refusal in outcome.refusals {
                    print("  rejected \(refusal.record) (\(refusal.reason)): \(refusal.message)")
                }
            }
        }
    }
}
