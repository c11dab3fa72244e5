import ArgumentParser
import Central
import Foundation
import Handover
import LineProtocol
import Referrals
import Replication

extension CentralCommand {
    /// `edt central handover`: the morning handover package of one authority.
    struct HandoverPackageCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "handover",
            abstract: "Show the handover package due to an authority's day team at its opening of office hours.",
            discussion: """
                The package is the one due at the authority's first opening of office hours at or \
                after --at; without --at, the one handed over at its last opening (at or before \
                now). It holds every EDT case (received out of that authority's hours) \
                of the out-of-hours window just ended, and every earlier one its day team has not \
                accepted (carried over; overdue once its acknowledgement deadline has passed). \
                Each case comes with its summary, the actions EDT took, open tasks and deadlines, \
                its host/home state and where it is routed.

                Once that opening has come, the package is kept in the central database (by this \
                command or by `edt central serve`, which keeps each authority's package at its \
                opening), and every later look shows that same kept package, so the day team sees \
                at 10:30 what was handed over at 09:00. A package for an opening still to come is \
                a preview, not kept: a note on stderr says so. So is the package of an earlier \
                opening that none was kept for (the centre was not serving then): it is built from \
                the cases as they are now and only shown, never kept after the fact.

                --json prints the package as JSON; --html writes the printable page a day-team \
                manager works from (one case to a printed page, no external assets), to stdout or \
                to --out FILE. Exit 1 for an unknown authority, 3 when the database fails or \
                FILE cannot be written.
                """
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var authorities: AuthorityOptions
        @Option(help: ArgumentHelp("The authority whose day team receives the package (GSS code).", valueName: "CODE"))
        var authority: String
        @Option(
            help: ArgumentHelp(
                "The package due at the first opening at or after this instant (ISO 8601 with offset); default: the last one handed over.",
                valueName: "INSTANT"))
        var at: String?
        @Flag(
            help:
                "Print the package as one JSON object: {\"authority\", \"opensAt\", \"cases\": [{\"id\", \"receivedAt\", \"deadlines\", \"openTasks\", \"crossAuthority\", \"routedTo\", \"carriedOver\", \"overdue\", ...}]}."
        )
        var json = false
        @Flag(help: "Write the printable page (HTML) instead.") var html = false
        @Option(help: ArgumentHelp("Write to this file instead of stdout.", valueName: "FILE")) var out: String?

        func validate() throws {
            guard Identifiers.isAuthorityCode(authority) else {
                throw ValidationError("--authority \"\(authority)\" is not a GSS code (e.g. E06000038)")
            }
            if let at, Instant(iso8601: at) == nil {
                throw ValidationError("--at \"\(at)\" is not an ISO 8601 instant with an offset (2027-03-25T18:00:00Z)")
            }
            guard !(json && html) else { throw ValidationError("give --json or --html, not both") }
        }

        func run() async throws {
            let directory = try authorities.load()
            let storage = try await database.open()
            let now = Instant(Date())
            let desk = HandoverDesk(storage: storage, directory: directory)
            // A package kept is made with both documents; one only shown, with what is printed
            // (the text lines read the JSON).
            let documents: HandoverDesk.Documents = html ? .html : .json
            // JSON printed to the standard output is written as it is made, when it is only shown.
            let output: HandoverDesk.JSONOutput? =
                json && out == nil ? { @Sendable bytes in try FileHandleOutput.writeStandardOutput(bytes) } : nil
            let due: HandoverDesk.Due
            do throws(HandoverDesk.Unavailable) {
                if let instant = at.flatMap(Instant.init(iso8601:)) {
                    due = try await desk.package(
                        for: authority, at: instant, now: now, documents: documents, output: output)
                } else {
                    due = try await desk.latestPackage(for: authority, now: now, documents: documents, output: output)
                }
            } catch {
                throw error.isStorage ? Failure.inputOutput(error.message) : Failure.refused(error.message)
            }
            if due.isPreview {
                FileHandleOutput.standardError(
                    "note: the opening at \(due.kept.opensAt) has not come: this is a preview, not kept; the package kept then may differ"
                )
            } else if !due.isKept {
                FileHandleOutput.standardError(
                    "note: no package was kept at the opening at \(due.kept.opensAt): this is that package built now from the cases as they are, not kept"
                )
            }
            if html, due.kept.html.isEmpty {
                throw Failure.refused(
                    "the package kept at \(due.kept.opensAt) was kept without its printable page; use --json")
            }
            // The document, then what ends it (JSON ends with a newline), written as they are.
            let (bytes, ending): ([UInt8], [UInt8]) =
                if html {
                    (due.kept.html, [])
                } else if json {
                    (due.kept.json, [0x0A])
                } else {
                    (Array(Self.text(due.kept).utf8), [])
                }
            if due.jsonWritten {
                do {
                    try [UInt8(0x0A)].withUnsafeBytes { try FileHandleOutput.writeStandardOutput($0) }
                } catch {
                    throw Failure.inputOutput("\(error)")
                }
            } else if let out {
                do {
                    var data = Data(bytes)
                    data.append(contentsOf: ending)
                    try data.write(to: URL(fileURLWithPath: out), options: .atomic)
                } catch {
                    throw Failure.inputOutput("cannot write \(out): \(error.localizedDescription)")
                }
            } else {
                FileHandleOutput.standardOutput(bytes)
                FileHandleOutput.standardOutput(ending)
            }
        }

        /// A few lines for a person at a terminal: the opening and each case with its routing.
        static func text(_ kept: KeptPackage) -> String {
            func string(_ value: FieldValue?) -> String? {
                if case .string(let text)? = value { text } else { nil }
            }
            var lines = ["Handover to \(kept.authority) at \(kept.opensAt): \(kept.cases.count) case(s)"]
            guard case .object(let document)? = try? JSONPayload.read(kept.json[...]),
                case .array(let cases)? = document["cases"]
            else { return lines.joined(separator: "\n") + "\n" }
            for item in cases {
                guard case .object(let fields) = item else { continue }
                var flags: [String] = []
                if case .bool(true)? = fields["carriedOver"] { flags.append("carried over") }
                if case .bool(true)? = fields["overdue"] { flags.append("OVERDUE") }
                if case .object(let cross)? = fields["crossAuthority"] {
                    flags.append(
                        "host \(string(cross["host"]) ?? "?"), home \(string(cross["home"]) ?? "?"): \(string(cross["state"]) ?? "?")"
                    )
                }
                var route = ""
                if case .object(let routed)? = fields["routedTo"] {
                    route = " → \(string(routed["name"]) ?? "?") (\(string(routed["rule"]) ?? "?"))"
                }
                let flagged = flags.isEmpty ? "" : " [\(flags.joined(separator: ", "))]"
                lines.append(
                    "  \(string(fields["id"]) ?? "?")  received \(string(fields["receivedAt"]) ?? "?")\(route)\(flagged)"
                )
            }
            lines.append(
                "Accept a case: edt central case --db … ID accept-handover --by NAME --role ROLE --authority CODE")
            lines.append(
                "A case forwarded to you as the child's home: edt central case --db … ID accept --written-ref REF (or dispute, agree-host) --by NAME --role ROLE --authority CODE"
            )
            return lines.joined(separator: "\n") + "\n"
        }
    }
}

extension CentralCommand.HandoverPackageCommand: ChoosesAllocatorProfile {
    /// The package's cases are read, built and written across the cores (`SplitWork`).
    static var allocatorProfile: AllocatorProfile { .heapPerThread }
}
