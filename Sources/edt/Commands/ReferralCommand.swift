import ArgumentParser
import Laptop
import LineProtocol
import Referrals
import Replication

/// `edt referral`: capture, change, annotate and read referrals on the laptop.
struct ReferralCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "referral",
        abstract: "Capture and work on referrals in the laptop's replica.",
        subcommands: [
            New.self, Import.self, Set.self, Resolve.self, Note.self, Show.self, List.self, DeadlinesCommand.self,
            Schema.self, Forward.self,
        ] + ReferralOutcomeCommands.all
    )

    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "new",
            abstract: "Capture one referral from a JSON document (stdin when no --file), or by prompts on a terminal.",
            discussion: """
                Required: receivedAt, receivedBy {name, role}, hostAuthority, channel, concern. \
                Missing recommended information never blocks saving: it is listed as gaps. \
                `edt referral schema` prints every field. The referral is reported saved only once \
                it is durable on disk.
                """
        )

        @OptionGroup var options: StoreOptions
        @Option(help: ArgumentHelp("A file holding the referral's JSON document.", valueName: "F"))
        var file: String?
        @Flag(help: "Print one JSON object: {\"id\", \"gaps\"}.")
        var json = false

        func run() async throws {
            let workspace = try options.open()
            let captured: Workspace.Captured
            if file == nil, FileHandleOutput.standardInputIsTerminal {
                let questions = CaptureQuestionnaire(policy: workspace.policy, now: SystemClock().now())
                let document = try Prompter(questionnaire: questions).ask()
                captured = try laptop { () throws(LaptopError) in try workspace.capture(document) }
            } else {
                let bytes = try InputFile.read(file)
                captured = try laptop { () throws(LaptopError) in
                    try workspace.capture(document: bytes[...], source: file ?? "stdin")
                }
            }
            if json {
                JSONOutput.print(
                    .object(["id": .string(captured.id.rawValue), "gaps": .array(captured.gaps.map(FieldValue.string))])
                )
            } else {
                print("Saved referral \(captured.id)")
                if !captured.gaps.isEmpty {
                    print("Missing (for the day team): \(captured.gaps.joined(separator: ", "))")
                }
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Capture many referrals from JSON Lines, all or nothing.",
            discussion:
                "One JSON document per line; blank lines are skipped. An invalid line is named by its number and nothing is imported."
        )

        @OptionGroup var options: StoreOptions
        @Option(help: ArgumentHelp("The JSON Lines file.", valueName: "F"))
        var file: String
        @Flag(help: "Print one JSON object: {\"imported\": N}.")
        var json = false

        func run() async throws {
            let workspace = try options.open()
            let bytes = try InputFile.read(file)
            let ids = try laptop { () throws(LaptopError) in try workspace.importReferrals(jsonLines: bytes) }
            if json {
                JSONOutput.print(.object(["imported": .integer(Int64(ids.count))]))
            } else {
                print("Imported \(ids.count) referral\(ids.count == 1 ? "" : "s")")
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Write one field of a referral.",
            discussion: """
                PATH is dotted (concern, referrer.phone, children.ITEM.name). VALUE is taken as JSON \
                when it parses (true, 7, null, "text"), else as a string. A field in conflict is \
                refused: resolve it. The value replaced is kept, signed, with who replaced it, when \
                and on which device (`edt referral show ID --history`); who: --by/--role, or \
                EDT_WORKER_NAME/EDT_WORKER_ROLE.
                """
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Argument(help: "The field's dotted path.") var path: String
        @Argument(help: "The new value.") var value: String
        @Option(help: "Who sets it.") var by: String?
        @Option(help: "Their role.") var role: String?
        @Flag(help: "Print one JSON object: {\"id\", \"path\", \"dot\"}.")
        var json = false

        func run() async throws {
            let workspace = try options.open()
            let author = try ReferralEntry.Author.from(by: by, role: role)
            let dot = try laptop { () throws(LaptopError) in try workspace.set(id, path: path, value: value, by: author)
            }
            report(json: json, id: id, path: path, dot: dot, verb: "Set")
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resolve",
            abstract: "Resolve a conflicted field by writing the value that replaces all the kept ones.",
            discussion:
                "Also records an immutable, signed resolution entry naming the values replaced. Who resolved it: --by/--role, or EDT_WORKER_NAME/EDT_WORKER_ROLE."
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Argument(help: "The field's dotted path.") var path: String
        @Argument(help: "The chosen value.") var value: String
        @Option(help: "Who resolves it.") var by: String?
        @Option(help: "Their role.") var role: String?
        @Flag(help: "Print one JSON object: {\"id\", \"path\", \"dot\"}.")
        var json = false

        func run() async throws {
            let workspace = try options.open()
            let author = try ReferralEntry.Author.from(by: by, role: role)
            let dot = try laptop { () throws(LaptopError) in
                try workspace.resolve(id, path: path, value: value, by: author)
            }
            report(json: json, id: id, path: path, dot: dot, verb: "Resolved")
        }
    }

    struct Note: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "note",
            abstract: "Append an immutable, signed entry: a conversation, a decision, a note or a correction.",
            discussion:
                "Timed (--at, default now), dated, and signed with the device key plus who made it (--by/--role, or EDT_WORKER_NAME/EDT_WORKER_ROLE). A correction names the entry it corrects with --corrects DOT."
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Option(help: "conversation, decision, note or correction.") var kind: String
        @Option(help: "What was said, decided or noted.") var text: String
        @Option(help: "Who makes the entry.") var by: String?
        @Option(help: "Their role.") var role: String?
        @Option(help: "When (ISO 8601 with offset); default now.") var at: String?
        @Option(help: "For a correction: the dot of the entry corrected.") var corrects: String?
        @Option(help: "For a conversation: when it started (ISO 8601 with offset).") var start: String?
        @Option(help: "For a conversation: when it ended.") var end: String?
        @Option(help: "For a conversation: where it took place (phone, home visit, police station...).") var setting:
            String?
        @Option(help: "For a conversation: someone present; repeat for each.") var present: [String] = []
        @Flag(help: "Print one JSON object: {\"id\", \"dot\"}.")
        var json = false

        func validate() throws {
            guard let kind = ReferralEntry.Kind(rawValue: kind), ReferralEntry.Kind.noteKinds.contains(kind) else {
                throw ValidationError(
                    "--kind must be one of: \(ReferralEntry.Kind.noteKinds.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() async throws {
            let workspace = try options.open()
            guard let author = try ReferralEntry.Author.from(by: by, role: role) else {
                throw Failure.refused(
                    "say who makes the entry: --by NAME --role ROLE (or set EDT_WORKER_NAME and EDT_WORKER_ROLE)")
            }
            let note = Workspace.Note(
                kind: ReferralEntry.Kind(rawValue: kind) ?? .note, text: text, author: author, at: at,
                corrects: corrects,
                conversation: ReferralEntry.Conversation(start: start, end: end, setting: setting, present: present))
            let dot = try laptop { () throws(LaptopError) in try workspace.note(id, note) }
            if json {
                JSONOutput.print(.object(["id": .string(id), "dot": .string(dot.notation)]))
            } else {
                print("Recorded \(kind) \(dot.notation) on \(id)")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show a referral: its document, its conflicts (never resolved silently), its entries and gaps.",
            discussion: """
                Instants are shown in the offset Europe/London had at each instant. Each entry made \
                on this device shows whether its signature verifies. --history adds every value a \
                field held before it was set anew, with who replaced it, when and on which device.
                """
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Flag(help: "Also show every value a field held before it was set anew.")
        var history = false
        @Flag(
            help:
                "Print one JSON object: {\"id\", \"document\", \"conflicts\", \"entries\", \"gaps\", \"deadlines\", \"openTasks\", \"crossAuthority\"} (and \"history\" with --history)."
        )
        var json = false

        func run() async throws {
            let workspace = try options.open()
            let referral = try laptop { () throws(LaptopError) in try workspace.referral(id) }
            if json {
                JSONOutput.print(ReferralOutput.json(referral, history: history))
            } else {
                ReferralOutput.printText(referral, history: history)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the referrals in the replica, oldest received first.",
            discussion: """
                Reads the store's catalog, not the referrals: a page costs the same in a store of \
                a hundred referrals or of a hundred thousand. Filters combine (all must hold). \
                Page with --limit, then --after with the last id printed.
                """)

        @OptionGroup var options: StoreOptions
        @Option(help: ArgumentHelp("Only referrals recorded for this authority (host or home).", valueName: "CODE"))
        var authority: String?
        @Option(
            help: ArgumentHelp(
                "Only referrals of this status: \(ReferralCatalog.Status.allCases.map(\.rawValue).joined(separator: ", ")).",
                valueName: "STATUS"))
        var status: String?
        @Flag(help: "Only referrals with a field in conflict.") var conflicts = false
        @Flag(help: "Only referrals with changes the centre has not acknowledged.") var pending = false
        @Option(
            help: ArgumentHelp("Only referrals received at or after this instant (ISO 8601).", valueName: "INSTANT"))
        var since: String?
        @Option(help: ArgumentHelp("At most this many referrals.", valueName: "N")) var limit: Int?
        @Option(help: ArgumentHelp("Start after this referral (the last id of the page before).", valueName: "ID"))
        var after: String?
        @Flag(
            help:
                "Print one JSON object: {\"referrals\": [{\"id\", \"hostAuthority\", \"homeAuthority\", \"receivedAt\", \"conflicts\", \"status\", \"pending\", \"refused\": {\"reason\", \"message\"} or null}]}."
        )
        var json = false

        func validate() throws {
            if let since, Instant(iso8601: since) == nil {
                throw ValidationError(
                    "--since \"\(since)\" is not an ISO 8601 instant with an offset (2027-03-27T03:00:00Z)")
            }
            if let status, ReferralCatalog.Status(rawValue: status) == nil {
                throw ValidationError(
                    "--status \"\(status)\" is not a status: \(ReferralCatalog.Status.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more") }
            if let after, (try? RecordID(after)) == nil {
                throw ValidationError("--after \"\(after)\" is not a referral id")
            }
        }

        func run() async throws {
            let workspace = try options.open()
            var filter = Workspace.ReferralFilter()
            filter.authority = authority
            filter.status = status.flatMap(ReferralCatalog.Status.init(rawValue:))
            filter.conflictsOnly = conflicts
            filter.pendingOnly = pending
            filter.since = since.flatMap { Instant(iso8601: $0) }
            filter.after = after.flatMap { try? RecordID($0) }
            filter.limit = limit
            // Lines are written as they are read (64 KiB at a time): the list is never held whole.
            var count = 0
            var buffer: [UInt8] = json ? Array(#"{"referrals":["#.utf8) : []
            try laptop { () throws(LaptopError) in
                try workspace.referrals(filter) { row in
                    if json {
                        if count > 0 { buffer.append(UInt8(ascii: ",")) }
                        JSONPayload.write(Self.json(row), to: &buffer)
                    } else {
                        buffer.append(contentsOf: (Self.text(row) + "\n").utf8)
                    }
                    count += 1
                    if buffer.count >= 64 << 10 {
                        FileHandleOutput.standardOutput(buffer)
                        buffer.removeAll(keepingCapacity: true)
                    }
                }
            }
            if json {
                buffer.append(contentsOf: "]}\n".utf8)
            } else if count == 0 {
                buffer.append(contentsOf: "No referrals.\n".utf8)
            }
            FileHandleOutput.standardOutput(buffer)
        }

        static func json(_ row: Workspace.ReferralSummary) -> FieldValue {
            let refused: FieldValue =
                row.refusal.map { .object(["reason": .string($0.reason), "message": .string($0.message)]) } ?? .null
            return .object([
                "id": .string(row.id.rawValue), "hostAuthority": row.hostAuthority,
                "homeAuthority": row.homeAuthority, "receivedAt": row.receivedAt,
                "conflicts": .integer(Int64(row.conflicts)), "status": .string(row.status),
                "pending": .bool(row.pending), "refused": refused,
            ])
        }

        static func text(_ row: Workspace.ReferralSummary) -> String {
            let refused = row.refusal.map { "  refused by the centre (\($0.reason)): \($0.message)" } ?? ""
            let conflicts = row.conflicts > 0 ? "  \(row.conflicts) conflict(s)" : ""
            let pending = row.pending ? "  not yet synced" : ""
            return "\(row.id)  \(row.receivedAt)  \(row.hostAuthority)  \(row.status)\(conflicts)\(pending)\(refused)"
        }
    }

    struct Schema: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "schema", abstract: "Print the referral document's JSON Schema.")

        func run() async throws {
            print(JSONOutput.pretty(ReferralSchema.jsonSchema()))
        }
    }
}

private func report(json: Bool, id: String, path: String, dot: Dot, verb: String) {
    if json {
        JSONOutput.print(.object(["id": .string(id), "path": .string(path), "dot": .string(dot.notation)]))
    } else {
        print("\(verb) \(path) on \(id) (\(dot.notation))")
    }
}
