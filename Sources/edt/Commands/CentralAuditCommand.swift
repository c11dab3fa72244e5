import ArgumentParser
import Central
import Foundation
import Handover
import LineProtocol
import Referrals
import Replication

extension CentralCommand {
    /// `edt central audit`: the centre's hash-chained log of who read and changed which case.
    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "audit",
            abstract: "Verify, show and anchor the audit log of who read and changed which case.",
            discussion: """
                Every read and write of a case at the centre (a device's push and pull, a \
                handover package, a case command) appends an entry (number, instant, who, \
                authorities, case, action) to a log in which each entry's hash covers the one \
                before it. An anchor is the log's head signed with the centre's key: the server \
                makes one every --audit-anchor-interval and prints it in its log; keep those lines \
                elsewhere, so cutting the log's tail, or rewriting it, shows.
                """,
            subcommands: [Verify.self, Show.self, Anchor.self])

        struct Verify: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "verify",
                abstract: "Check the audit log's chain and anchors; exit 1 naming the first entry that is wrong.",
                discussion: """
                    Walks the log from its first entry: an entry whose hash does not follow from \
                    those before it was altered (or one before it was inserted or deleted and the \
                    rest renumbered); a gap in the numbers is an entry deleted. Then checks the \
                    anchors kept in the database, and each --anchor line kept elsewhere: each must \
                    be signed by this centre and match the entry it names, and the log must reach \
                    it (a log that ends before an anchor was cut). Exit 0: intact; 1: not, with \
                    the first problem; 3: the database could not be read.
                    """)

            @OptionGroup var database: DatabaseOptions
            @Option(
                help: ArgumentHelp(
                    "An anchor line kept elsewhere (as `edt central audit anchor` printed it); repeatable.",
                    valueName: "LINE"))
            var anchor: [String] = []
            @Flag(
                help: "Print one JSON object: {\"intact\", \"entries\", \"head\", \"anchors\", \"problem\", \"entry\"}."
            )
            var json = false

            func run() async throws {
                var external: [AuditAnchor] = []
                for line in anchor {
                    guard let parsed = AuditAnchor(line: line) else {
                        throw Failure.refused("--anchor: \"\(line)\" is not an anchor line (edt-audit-anchor 1 ...)")
                    }
                    external.append(parsed)
                }
                let storage = try await database.open()
                let finding: AuditChain.Finding
                let anchors: [AuditAnchor]
                do throws(CentralError) {
                    anchors = try await storage.auditAnchors() + external
                    finding = try await AuditChain.verify(
                        anchors: anchors, key: storage.publicKey, identity: storage.identity
                    ) { (after: Int64) async throws(CentralError) in
                        try await storage.auditEntries(after: after, limit: 10_000)
                    }
                } catch {
                    throw Failure.inputOutput(error.message)
                }
                let (problem, entry) = Self.describe(finding)
                if json {
                    var object: [String: FieldValue] = [
                        "intact": .bool(problem == nil), "anchors": .integer(Int64(anchors.count)),
                        "problem": problem.map(FieldValue.string) ?? .null,
                        "entry": entry.map(FieldValue.integer) ?? .null,
                    ]
                    if case .intact(let entries, let head) = finding {
                        object["entries"] = .integer(entries)
                        object["head"] = .string(head)
                    }
                    JSONOutput.print(.object(object))
                } else if let problem {
                    FileHandleOutput.standardError("audit log NOT intact: \(problem)")
                } else if case .intact(let entries, let head) = finding {
                    print("audit log intact: \(entries) entries, head \(head), \(anchors.count) anchor(s) checked")
                }
                if problem != nil { throw ExitCode(1) }
            }

            /// The problem in words and the entry it is at; nil when intact.
            static func describe(_ finding: AuditChain.Finding) -> (String?, Int64?) {
                switch finding {
                case .intact: (nil, nil)
                case .altered(let number):
                    (
                        "entry \(number) was altered (or an entry before it was inserted or deleted and the rest renumbered)",
                        number
                    )
                case .missing(let after, let next):
                    (
                        "entries \(after + 1) to \(next - 1) were deleted (entry \(after) is followed by \(next))",
                        after + 1
                    )
                case .truncated(let last, let anchored):
                    (
                        "the log ends at entry \(last), but an anchor vouches for entry \(anchored): its tail was cut",
                        last + 1
                    )
                case .anchorMismatch(let number):
                    ("entry \(number) differs from the anchor that vouches for it: the log was rewritten", number)
                case .forgedAnchor(let number):
                    ("the anchor at entry \(number) is not signed by this centre", number)
                }
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "show",
                abstract: "List who touched a case: every audit entry about it, oldest first.")

            @OptionGroup var database: DatabaseOptions
            @Option(name: .customLong("case"), help: ArgumentHelp("The case's id.", valueName: "ID")) var caseID: String
            @Flag(
                help:
                    "Print one JSON object: {\"case\", \"entries\": [{\"number\", \"at\", \"who\", \"authorities\", \"action\"}]}."
            )
            var json = false

            func run() async throws {
                let id: RecordID
                do {
                    id = try RecordID(caseID)
                } catch {
                    throw Failure.refused("--case: \(error)")
                }
                let storage = try await database.open()
                // A page at a time, each written as it is read: a case's history has no bound.
                var written = 0
                var after: Int64 = 0
                while true {
                    let page: [AuditRecord]
                    do throws(CentralError) {
                        page = try await storage.auditEntries(of: id, after: after, limit: Self.pageEntries)
                    } catch {
                        throw Failure.inputOutput(error.message)
                    }
                    // The JSON object opens once its first page is read: a failure there prints
                    // nothing; one at a later page leaves what was written, and exits 3.
                    var bytes: [UInt8] = json && after == 0 ? Self.jsonOpening(id) : []
                    for entry in page {
                        if json {
                            if written > 0 { bytes.append(UInt8(ascii: ",")) }
                            JSONPayload.write(Self.json(entry), to: &bytes)
                        } else {
                            let at = Instant(iso8601: entry.at).map(LondonTime.text) ?? entry.at
                            bytes += Array(
                                "\(entry.number)\t\(at)\t\(entry.who)\t\(entry.action)\t\(entry.authorities)\n".utf8)
                        }
                        written += 1
                    }
                    FileHandleOutput.standardOutput(bytes)
                    guard page.count == Self.pageEntries, let last = page.last else { break }
                    after = last.number
                }
                if json {
                    FileHandleOutput.standardOutput(Array("]}\n".utf8))
                } else if written == 0 {
                    print("No audit entry names case \(id.rawValue).")
                }
            }

            /// Entries read from the database at a time.
            static let pageEntries = 1_000

            /// What the JSON object starts with, up to its first entry: its members in the
            /// order `JSONOutput` writes them (by name).
            static func jsonOpening(_ id: RecordID) -> [UInt8] {
                var bytes = Array("{\"case\":".utf8)
                JSONPayload.write(.string(id.rawValue), to: &bytes)
                bytes += Array(",\"entries\":[".utf8)
                return bytes
            }

            /// One entry as the JSON object prints it.
            static func json(_ entry: AuditRecord) -> FieldValue {
                .object([
                    "number": .integer(entry.number), "at": .string(entry.at), "who": .string(entry.who),
                    "authorities": .array(entry.authorities.split(separator: " ").map { .string(String($0)) }),
                    "action": .string(entry.action),
                ])
            }
        }

        struct Anchor: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "anchor",
                abstract: "Sign the audit log's head now, keep the anchor, and print it (keep the line elsewhere).")

            @OptionGroup var database: DatabaseOptions
            @Flag(help: "Print one JSON object: {\"anchor\": LINE, \"entry\": N, \"hash\"}.") var json = false

            func run() async throws {
                let storage = try await database.open()
                let anchor: AuditAnchor
                do throws(CentralError) {
                    anchor = try await AuditAnchoring.anchor(storage, at: Instant(Date()))
                } catch {
                    throw Failure.inputOutput(error.message)
                }
                if json {
                    JSONOutput.print(
                        .object([
                            "anchor": .string(anchor.line), "entry": .integer(anchor.number),
                            "hash": .string(anchor.hash),
                        ]))
                } else {
                    print(anchor.line)
                }
            }
        }
    }
}
