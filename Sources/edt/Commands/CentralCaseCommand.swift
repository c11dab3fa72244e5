import ArgumentParser
import Central
import Foundation
import Handover
import Referrals
import Replication

extension CentralCommand {
    /// `edt central case`: read (and, to come, act on) one case as the centre holds it.
    struct Case: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Work on one case at the centre: `deadlines` shows its statutory deadlines.",
            discussion: """
                The deadlines are worked out from the case as the centre holds it (every device's \
                changes merged) with the host authority's calendar, by the same rules as the \
                laptop's `edt referral deadlines`, so both show the same instants.
                """
        )

        /// What to do with the case.
        enum Action: String, ExpressibleByArgument, CaseIterable {
            case deadlines
        }

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var authorities: AuthorityOptions
        @Argument(help: "The case (referral) id.") var id: String
        @Argument(help: "What to do: deadlines.") var action: Action
        @Option(
            help: ArgumentHelp("Read as of this instant (ISO 8601 with offset); default now.", valueName: "INSTANT"))
        var at: String?
        @Flag(
            help:
                "Print one JSON object: {\"id\", \"asOf\", \"authority\", \"deadlines\": {NAME: {\"due\", \"status\", \"metBy\", ...}}, \"uncertain\", \"openTasks\"} (as edt referral deadlines)."
        )
        var json = false

        func validate() throws {
            guard (try? RecordID(id)) != nil else { throw ValidationError("\"\(id)\" is not a case id") }
            if let at, Instant(iso8601: at) == nil {
                throw ValidationError("--at \"\(at)\" is not an ISO 8601 instant with an offset (2027-03-25T18:00:00Z)")
            }
        }

        func run() async throws {
            let directory = try authorities.load()
            let storage = try database.open()
            let instant = at.flatMap(Instant.init(iso8601:)) ?? Instant(Date())
            let result: DeadlineReport
            let caseID = try RecordID(id)
            do {
                result = try await CaseDeadlines.read(caseID, from: storage, authorities: directory, at: instant)
            } catch {
                throw error.code == .refused ? Failure.refused(error.message) : Failure.inputOutput(error.message)
            }
            if json {
                JSONOutput.print(DeadlineOutput.json(result))
            } else {
                DeadlineOutput.printText(result, title: "Deadlines of case \(result.id)")
            }
        }
    }
}
