import ArgumentParser
import Handover
import Laptop
import Referrals

extension ReferralCommand {
    /// `edt referral deadlines`: a referral's statutory deadlines, met, pending or overdue.
    struct DeadlinesCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deadlines",
            abstract:
                "Show a referral's statutory deadlines: when each is due, and whether it is met, pending or overdue.",
            discussion: """
                Worked out from the referral and its entries with the host authority's calendar \
                (office hours, its nation's bank holidays, its closures; --config or \
                EDT_AUTHORITIES names the operator's file). Only the deadlines that apply are \
                listed: acknowledge, decision, referrerChase, writtenConfirmation (a professional's \
                verbal referral), outcomeFeedback (after an authorised outcome, for a professional \
                referrer), strategyRecord, hostHomeEscalation (home differs from host), assessment \
                and initialConference. --at reads them as of another instant: entries recorded as \
                happening later do not count.
                """
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Option(
            help: ArgumentHelp(
                "Read the deadlines as of this instant (ISO 8601 with offset); default now.", valueName: "INSTANT"))
        var at: String?
        @Flag(
            help:
                "Print one JSON object: {\"id\", \"asOf\", \"authority\", \"deadlines\": {NAME: {\"due\", \"status\", \"metBy\", \"metAt\", \"startsAt\", \"late\", \"overdueSeconds\"}}, \"uncertain\", \"openTasks\": [{\"task\", \"entry\", \"summary\"}]}."
        )
        var json = false

        func validate() throws {
            if let at, Instant(iso8601: at) == nil {
                throw ValidationError("--at \"\(at)\" is not an ISO 8601 instant with an offset (2027-03-25T18:00:00Z)")
            }
        }

        func run() async throws {
            let workspace = try options.open()
            let instant = at.flatMap(Instant.init(iso8601:))
            let result = try laptop { () throws(LaptopError) in try workspace.deadlines(id, at: instant) }
            if json {
                JSONOutput.print(DeadlineOutput.json(result))
            } else {
                DeadlineOutput.printText(result, title: "Deadlines of \(result.id)")
            }
        }
    }
}
