import ArgumentParser
import Foundation
import LineProtocol
import Referrals
import ReplicaStore
import Replication

/// `edt referral`: capture, change, annotate and read referrals on the laptop.
struct ReferralCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "referral",
        abstract: "Capture and work on referrals in the laptop's replica.",
        subcommands: [New.self, Import.self, Set.self, Resolve.self, Note.self, Show.self, List.self, Schema.self]
    )

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
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

        func run() throws {
            let store = try options.open()
            let referrals = LaptopReferrals(store: store)
            let document: FieldValue
            if file == nil, FileHandleOutput.standardInputIsTerminal {
                document = try Prompter(authorities: store.authorities).ask()
            } else {
                document = try LaptopReferrals.parseDocument(try InputFile.read(file)[...], where: file ?? "stdin")
            }
            let capture = try referrals.validate(document, where: "")
            let id = try referrals.save([capture])[0]
            if json {
                JSONOutput.print(.object(["id": .string(id.rawValue), "gaps": .array(capture.gaps.map(FieldValue.string))]))
            } else {
                print("Saved referral \(id)")
                if !capture.gaps.isEmpty { print("Missing (for the day team): \(capture.gaps.joined(separator: ", "))") }
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Capture many referrals from JSON Lines, all or nothing.",
            discussion: "One JSON document per line; blank lines are skipped. An invalid line is named by its number and nothing is imported."
        )

        @OptionGroup var options: StoreOptions
        @Option(help: ArgumentHelp("The JSON Lines file.", valueName: "F"))
        var file: String
        @Flag(help: "Print one JSON object: {\"imported\": N}.")
        var json = false

        func run() throws {
            let store = try options.open()
            let referrals = LaptopReferrals(store: store)
            let bytes = try InputFile.read(file)
            var captures: [ReferralCapture.Capture] = []
            for (index, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
                guard line.contains(where: { ![0x20, 0x09, 0x0D].contains($0) }) else { continue }
                let place = "line \(index + 1)"
                captures.append(try referrals.validate(try LaptopReferrals.parseDocument(line, where: place), where: place))
            }
            let ids = try referrals.save(captures)
            if json {
                JSONOutput.print(.object(["imported": .integer(Int64(ids.count))]))
            } else {
                print("Imported \(ids.count) referral\(ids.count == 1 ? "" : "s")")
            }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write one field of a referral.",
            discussion: "PATH is dotted (concern, referrer.phone, children.ITEM.name). VALUE is taken as JSON when it parses (true, 7, null, \"text\"), else as a string. A field in conflict is refused: resolve it."
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Argument(help: "The field's dotted path.") var path: String
        @Argument(help: "The new value.") var value: String
        @Flag(help: "Print one JSON object: {\"id\", \"path\", \"dot\"}.")
        var json = false

        func run() throws {
            let referrals = LaptopReferrals(store: try options.open())
            let dot = try referrals.write(id: id, path: path, value: value, resolving: false, author: nil)
            report(json: json, id: id, path: path, dot: dot, verb: "Set")
        }
    }

    struct Resolve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve a conflicted field by writing the value that replaces all the kept ones.",
            discussion: "Also records an immutable, signed resolution entry naming the values replaced. Who resolved it: --by/--role, or EDT_WORKER_NAME/EDT_WORKER_ROLE."
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Argument(help: "The field's dotted path.") var path: String
        @Argument(help: "The chosen value.") var value: String
        @Option(help: "Who resolves it.") var by: String?
        @Option(help: "Their role.") var role: String?
        @Flag(help: "Print one JSON object: {\"id\", \"path\", \"dot\"}.")
        var json = false

        func run() throws {
            let referrals = LaptopReferrals(store: try options.open())
            let author = try ReferralEntry.Author.from(by: by, role: role)
            let dot = try referrals.write(id: id, path: path, value: value, resolving: true, author: author)
            report(json: json, id: id, path: path, dot: dot, verb: "Resolved")
        }
    }

    struct Note: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append an immutable, signed entry: a conversation, a decision, a note or a correction.",
            discussion: "Timed (--at, default now), dated, and signed with the device key plus who made it (--by/--role, or EDT_WORKER_NAME/EDT_WORKER_ROLE). A correction names the entry it corrects with --corrects DOT."
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
        @Option(help: "For a conversation: where it took place (phone, home visit, police station...).") var setting: String?
        @Option(help: "For a conversation: someone present; repeat for each.") var present: [String] = []
        @Flag(help: "Print one JSON object: {\"id\", \"dot\"}.")
        var json = false

        func validate() throws {
            guard ReferralEntry.Kind(rawValue: kind) != nil else {
                throw ValidationError("--kind must be one of: \(ReferralEntry.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() throws {
            let referrals = LaptopReferrals(store: try options.open())
            guard let author = try ReferralEntry.Author.from(by: by, role: role) else {
                throw Failure.refused("say who makes the entry: --by NAME --role ROLE (or set EDT_WORKER_NAME and EDT_WORKER_ROLE)")
            }
            let conversation = ReferralEntry.Conversation(start: start, end: end, setting: setting, present: present)
            let dot = try referrals.note(id: id, kind: ReferralEntry.Kind(rawValue: kind) ?? .note, text: text, author: author,
                                         at: at, corrects: corrects, conversation: conversation)
            if json {
                JSONOutput.print(.object(["id": .string(id), "dot": .string(dot.notation)]))
            } else {
                print("Recorded \(kind) \(dot.notation) on \(id)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a referral: its document, its conflicts (never resolved silently), its entries and gaps."
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Flag(help: "Print one JSON object: {\"id\", \"document\", \"conflicts\", \"entries\", \"gaps\"}.")
        var json = false

        func run() throws {
            let store = try options.open()
            let (recordID, record) = try LaptopReferrals(store: store).record(id)
            let view = ReferralView(record)
            let conflicts = FieldValue.array(view.conflicts.map { .object(["path": .string($0.path.rawValue), "values": .array($0.values)]) })
            let entries = FieldValue.array(record.entries.map {
                .object(["dot": .string($0.dot.notation), "kind": .string($0.kind), "payload": $0.payload])
            })
            let output = FieldValue.object([
                "id": .string(recordID.rawValue), "document": view.document, "conflicts": conflicts, "entries": entries,
                "gaps": .array(view.gaps.map(FieldValue.string)),
            ])
            if json {
                JSONOutput.print(output)
            } else {
                print("Referral \(recordID)")
                print(JSONOutput.pretty(view.document))
                for conflict in view.conflicts {
                    print("CONFLICT \(conflict.path): \(conflict.values.map(\.description).joined(separator: " | "))  (edt referral resolve)")
                }
                for entry in record.entries { print("\(entry.dot.notation) \(entry.kind): \(entry.payload)") }
                if !view.gaps.isEmpty { print("Missing: \(view.gaps.joined(separator: ", "))") }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the referrals in the replica, oldest first.")

        @OptionGroup var options: StoreOptions
        @Flag(help: "Print one JSON object: {\"referrals\": [{\"id\", \"hostAuthority\", \"receivedAt\", \"conflicts\", \"refused\": {\"reason\", \"message\"} or null}]}.")
        var json = false

        func run() throws {
            let store = try options.open()
            var refusals: [String: ReplicaStore.Rejection] = [:]
            do {
                for rejection in try store.rejections() { refusals[rejection.record.rawValue] = rejection }
            } catch {
                throw Failure(storeError: error)
            }
            let rows = store.replica.records.values.map { record -> (id: String, host: FieldValue, received: FieldValue, conflicts: Int) in
                (record.id.rawValue, ReferralView.value(of: record, at: "hostAuthority") ?? .null,
                 ReferralView.value(of: record, at: "receivedAt") ?? .null, record.conflictedPaths.count)
            }.sorted { ($0.received.description, $0.id) < ($1.received.description, $1.id) }
            if json {
                JSONOutput.print(.object(["referrals": .array(rows.map { row in
                    let refused: FieldValue = refusals[row.id].map { .object(["reason": .string($0.reason), "message": .string($0.message)]) } ?? .null
                    return .object(["id": .string(row.id), "hostAuthority": row.host, "receivedAt": row.received,
                                    "conflicts": .integer(Int64(row.conflicts)), "refused": refused])
                })]))
            } else {
                for row in rows {
                    let refused = refusals[row.id].map { "  refused by the centre (\($0.reason)): \($0.message)" } ?? ""
                    print("\(row.id)  \(row.received)  \(row.host)\(row.conflicts > 0 ? "  \(row.conflicts) conflict(s)" : "")\(refused)")
                }
                if rows.isEmpty { print("No referrals.") }
            }
        }
    }

    struct Schema: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the referral document's JSON Schema.")

        func run() throws {
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
