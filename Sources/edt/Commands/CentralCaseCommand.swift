import ArgumentParser
import Central
import Foundation
import Handover
import Referrals
import Replication

extension CentralCommand {
    /// `edt central case`: read and act on one case as the centre holds it.
    struct Case: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Work on one case at the centre: `deadlines` shows its statutory deadlines; `accept-handover` records the day team's acceptance.",
            discussion: """
                deadlines: worked out from the case as the centre holds it (every device's \
                changes merged) with the host authority's calendar, by the same rules as the \
                laptop's `edt referral deadlines`, so both show the same instants.

                accept-handover --by NAME --role ROLE --authority CODE [--at INSTANT]: the day \
                team of the case's host authority accepts the case it was handed over. The centre \
                records the acceptance as an entry of its own, signed with its key, which reaches \
                every laptop holding the case at its next sync. Until it is recorded the EDT \
                remains accountable for the case. Refused (exit 1, nothing recorded): no such \
                case; a case of another authority (or whose host authority is in conflict); a \
                case no handover package kept for that authority holds; a case that authority \
                has accepted already.
                """
        )

        /// What to do with the case.
        enum Action: String, ExpressibleByArgument, CaseIterable {
            case deadlines
            case acceptHandover = "accept-handover"
        }

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var authorities: AuthorityOptions
        @Argument(help: "The case (referral) id.") var id: String
        @Argument(help: "What to do: deadlines, accept-handover.") var action: Action
        @Option(
            help: ArgumentHelp(
                "deadlines: read as of this instant; accept-handover: when the day team accepted. ISO 8601 with offset; default now.",
                valueName: "INSTANT"))
        var at: String?
        @Option(help: ArgumentHelp("accept-handover: who accepted (their name).", valueName: "NAME"))
        var by: String?
        @Option(help: ArgumentHelp("accept-handover: their role in the day team.", valueName: "ROLE"))
        var role: String?
        @Option(
            help: ArgumentHelp(
                "accept-handover: the authority whose day team accepted (GSS code): the case's host authority.",
                valueName: "CODE"))
        var authority: String?
        @Flag(
            help:
                "Print one JSON object. deadlines: {\"id\", \"asOf\", \"authority\", \"deadlines\": {NAME: {\"due\", \"status\", \"metBy\", ...}}, \"uncertain\", \"openTasks\"} (as edt referral deadlines); accept-handover: {\"id\", \"acceptedAt\", \"acceptedBy\": {\"name\", \"role\", \"authority\"}}."
        )
        var json = false

        func validate() throws {
            guard (try? RecordID(id)) != nil else { throw ValidationError("\"\(id)\" is not a case id") }
            if let at, Instant(iso8601: at) == nil {
                throw ValidationError("--at \"\(at)\" is not an ISO 8601 instant with an offset (2027-03-25T18:00:00Z)")
            }
            switch action {
            case .deadlines:
                for (name, value) in [("--by", by), ("--role", role), ("--authority", authority)] where value != nil {
                    throw ValidationError("\(name) is for accept-handover, not deadlines")
                }
            case .acceptHandover:
                guard let by, !by.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw ValidationError("accept-handover needs --by NAME: who accepted")
                }
                guard let role, !role.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw ValidationError("accept-handover needs --role ROLE: their role in the day team")
                }
                guard let authority else {
                    throw ValidationError(
                        "accept-handover needs --authority CODE: the authority whose day team accepted")
                }
                guard Identifiers.isAuthorityCode(authority) else {
                    throw ValidationError("--authority \"\(authority)\" is not a GSS code (e.g. E06000038)")
                }
            }
        }

        func run() async throws {
            switch action {
            case .deadlines: try await deadlines()
            case .acceptHandover: try await acceptHandover()
            }
        }

        private func deadlines() async throws {
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

        private func acceptHandover() async throws {
            let storage = try database.open()
            let now = Instant(Date())
            let caseID = try RecordID(id)
            let accepted: HandoverService.Accepted
            do {
                accepted = try await HandoverService(storage: storage).accept(
                    case: caseID, by: by ?? "", role: role ?? "", authority: authority ?? "",
                    at: at.flatMap(Instant.init(iso8601:)) ?? now, recordedAt: now)
            } catch {
                throw error.reason == .storage ? Failure.inputOutput(error.message) : Failure.refused(error.message)
            }
            let acceptance = accepted.acceptance
            if json {
                JSONOutput.print(
                    .object([
                        "id": .string(accepted.id.rawValue), "acceptedAt": .string(acceptance.at.description),
                        "acceptedBy": .object([
                            "name": .string(acceptance.by.name), "role": .string(acceptance.by.role),
                            "authority": .string(acceptance.authority),
                        ]),
                    ]))
            } else {
                print(
                    "Case \(accepted.id) accepted by \(acceptance.by.name) (\(acceptance.by.role), \(acceptance.authority)) at \(acceptance.at)"
                )
            }
        }
    }
}
