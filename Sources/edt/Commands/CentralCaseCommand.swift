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
            commandName: "case",
            abstract:
                "Work on one case at the centre: its deadlines, the day team's acceptance, and the acts between its host and home authorities.",
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

                accept|dispute|agree-host|escalate|decide --by NAME --role ROLE --authority CODE \
                [--written-ref REF] [--lead host|home] [--at INSTANT]: an act of the host/home \
                state machine for a case the host forwarded to a home authority. --authority is \
                the authority acting: the case's host or the home it was forwarded to. accept \
                (the home authority takes responsibility) needs --written-ref, the reference of \
                its written confirmation; agree-host (that the host carries on) needs both \
                authorities, one after the other; dispute is either's; escalate is the clock's, \
                24 hours after the referral (the centre raises it itself; asking earlier is \
                refused); decide (senior managers, once escalated) needs --lead host|home and \
                --written-ref. The centre records the act as an entry of its own, signed with its \
                key, which reaches the laptops of both authorities. Refused (exit 1, nothing \
                recorded): no such case; a case never forwarded; an authority that is neither \
                host nor home; an act the state does not allow for that party; an --at in the \
                future or before the last act recorded on the case.
                """
        )

        /// What to do with the case.
        enum Action: String, ExpressibleByArgument, CaseIterable {
            case deadlines
            case acceptHandover = "accept-handover"
            case accept, dispute
            case agreeHost = "agree-host"
            case escalate, decide

            /// Whether it is an act of the host/home state machine.
            var isCrossAuthority: Bool { self != .deadlines && self != .acceptHandover }
        }

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var authorities: AuthorityOptions
        @Argument(help: "The case (referral) id.") var id: String
        @Argument(help: "What to do: deadlines, accept-handover, accept, dispute, agree-host, escalate, decide.")
        var action: Action
        @Option(
            help: ArgumentHelp(
                "deadlines: read as of this instant; otherwise when the act happened. ISO 8601 with offset; default now.",
                valueName: "INSTANT"))
        var at: String?
        @Option(help: ArgumentHelp("Who acts (their name).", valueName: "NAME"))
        var by: String?
        @Option(help: ArgumentHelp("Their role (day team manager, senior manager...).", valueName: "ROLE"))
        var role: String?
        @Option(
            help: ArgumentHelp(
                "The authority acting (GSS code): for accept-handover the case's host; for the other acts its host or home.",
                valueName: "CODE"))
        var authority: String?
        @Option(
            name: .customLong("written-ref"),
            help: ArgumentHelp(
                "accept, decide: the reference of the written confirmation or decision.", valueName: "REF"))
        var writtenReference: String?
        @Option(help: ArgumentHelp("decide: which authority leads, host or home.", valueName: "host|home"))
        var lead: String?
        @Flag(
            help:
                "Print one JSON object. deadlines: {\"id\", \"asOf\", \"authority\", \"deadlines\": {NAME: {\"due\", \"status\", \"metBy\", ...}}, \"uncertain\", \"openTasks\"} (as edt referral deadlines); accept-handover: {\"id\", \"acceptedAt\", \"acceptedBy\": {\"name\", \"role\", \"authority\"}}; the other acts: {\"id\", \"crossAuthority\": STATE, \"act\": {\"event\", \"authority\", \"by\", \"role\", \"at\", \"reference\", \"lead\"}, \"responsible\", \"escalatesAt\"}."
        )
        var json = false

        func validate() throws {
            guard (try? RecordID(id)) != nil else { throw ValidationError("\"\(id)\" is not a case id") }
            if let at, Instant(iso8601: at) == nil {
                throw ValidationError("--at \"\(at)\" is not an ISO 8601 instant with an offset (2027-03-25T18:00:00Z)")
            }
            if action != .accept && action != .decide, writtenReference != nil {
                throw ValidationError("--written-ref is for accept and decide, not \(action.rawValue)")
            }
            if action != .decide, lead != nil { throw ValidationError("--lead is for decide, not \(action.rawValue)") }
            switch action {
            case .deadlines:
                for (name, value) in [("--by", by), ("--role", role), ("--authority", authority)] where value != nil {
                    throw ValidationError("\(name) is for the acts on a case, not deadlines")
                }
            case .acceptHandover, .accept, .dispute, .agreeHost, .escalate, .decide:
                let verb = action.rawValue
                guard let by, !by.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw ValidationError("\(verb) needs --by NAME: who acts")
                }
                guard let role, !role.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw ValidationError("\(verb) needs --role ROLE: their role")
                }
                guard let authority else {
                    throw ValidationError("\(verb) needs --authority CODE: the authority acting")
                }
                guard Identifiers.isAuthorityCode(authority) else {
                    throw ValidationError("--authority \"\(authority)\" is not a GSS code (e.g. E06000038)")
                }
                if action == .accept || action == .decide,
                    writtenReference?.trimmingCharacters(in: .whitespaces).isEmpty ?? true
                {
                    throw ValidationError(
                        "\(verb) needs --written-ref REF: the reference of the written \(action == .accept ? "confirmation" : "decision")"
                    )
                }
                if action == .decide, lead.flatMap(CrossAuthority.Lead.init(rawValue:)) == nil {
                    throw ValidationError("decide needs --lead host|home: which authority leads")
                }
            }
        }

        func run() async throws {
            switch action {
            case .deadlines: try await deadlines()
            case .acceptHandover: try await acceptHandover()
            case .accept, .dispute, .agreeHost, .escalate, .decide: try await crossAuthorityAct()
            }
        }

        private func deadlines() async throws {
            let directory = try authorities.load()
            let storage = try await database.open()
            let instant = at.flatMap(Instant.init(iso8601:)) ?? Instant(Date())
            let result: DeadlineReport
            let caseID = try RecordID(id)
            do {
                result = try await CaseDeadlines.read(
                    caseID, from: storage, authorities: directory, at: instant,
                    by: AuditActor(who: OperatorName.current, authorities: [], action: "read-deadlines"))
            } catch {
                throw error.code == .refused ? Failure.refused(error.message) : Failure.inputOutput(error.message)
            }
            if json {
                JSONOutput.print(DeadlineOutput.json(result))
            } else {
                DeadlineOutput.printText(result, title: "Deadlines of case \(result.id)")
            }
        }

        private func crossAuthorityAct() async throws {
            let storage = try await database.open()
            let now = Instant(Date())
            let caseID = try RecordID(id)
            let reference = writtenReference ?? ""
            let event: CrossAuthority.Event =
                switch action {
                case .accept: .accept(writtenReference: reference)
                case .dispute: .dispute
                case .agreeHost: .agreeHost
                case .escalate: .escalate
                default:
                    .decide(
                        lead: lead.flatMap(CrossAuthority.Lead.init(rawValue:)) ?? .host, writtenReference: reference)
                }
            let author: ReferralEntry.Author
            do {
                author = try ReferralEntry.Author(name: by ?? "", role: role ?? "")
            } catch {
                throw Failure.refused(error.description)
            }
            let recorded: CrossAuthorityService.Recorded
            do {
                recorded = try await CrossAuthorityService(storage: storage).act(
                    event, on: caseID, by: author, authority: authority,
                    at: at.flatMap(Instant.init(iso8601:)) ?? now, recordedAt: now)
            } catch {
                throw error.reason == .storage ? Failure.inputOutput(error.message) : Failure.refused(error.message)
            }
            let act = recorded.act
            if json {
                var described: [String: FieldValue] = [
                    "event": .string(act.verb.rawValue), "by": .string(act.by.name), "role": .string(act.by.role),
                    "at": .string(act.at.description), "authority": act.authority.map(FieldValue.string) ?? .null,
                ]
                if let reference = act.reference { described["reference"] = .string(reference) }
                if let lead = act.lead { described["lead"] = .string(lead) }
                JSONOutput.print(
                    .object([
                        "id": .string(recorded.id.rawValue), "crossAuthority": .string(recorded.state.rawValue),
                        "act": .object(described), "responsible": .string(recorded.responsible),
                        "escalatesAt": recorded.escalatesAt.map { .string($0.description) } ?? .null,
                    ]))
            } else {
                print(
                    "Case \(recorded.id): \(act.verb.rawValue) by \(act.by.name) (\(act.by.role), \(act.authority ?? "clock")) at \(act.at); now \(recorded.state.rawValue)"
                )
            }
        }

        private func acceptHandover() async throws {
            let storage = try await database.open()
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
