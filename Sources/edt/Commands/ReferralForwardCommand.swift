import ArgumentParser
import Laptop
import Referrals
import Replication

extension ReferralCommand {
    /// `edt referral forward`: the host forwards a case to the child's home authority.
    struct Forward: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "forward",
            abstract: "Forward a referral to the child's home authority (the host's act; works offline).",
            discussion: """
                The host authority (where the child was found, which this device serves) sends the \
                case to the authority where the child normally lives. The act is recorded as an \
                entry signed with this device's key, with homeAuthority set to --to in the same \
                commit; once synced, the home authority sees the case. Writing homeAuthority alone \
                never shows a case to another authority. The host stays responsible until the home \
                authority accepts in writing (at its centre: edt central case ID accept); 24 hours \
                after the referral, a case neither accepted nor agreed on goes to senior managers. \
                Forwarding again to another authority (the first was wrong) is allowed until the \
                home authority accepted, both agreed, or the case was escalated; the authority left \
                stops seeing the case.
                """
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Option(help: ArgumentHelp("The home authority (GSS code).", valueName: "CODE")) var to: String
        @OptionGroup var entry: ReferralOutcomeCommands.EntryOptions

        func validate() throws {
            guard Identifiers.isAuthorityCode(to) else {
                throw ValidationError("--to \"\(to)\" is not a GSS code (e.g. E10000014)")
            }
        }

        func run() async throws {
            guard let author = try ReferralEntry.Author.from(by: entry.by, role: entry.role) else {
                throw Failure.refused(
                    "say who forwards it: --by NAME --role ROLE (or set EDT_WORKER_NAME and EDT_WORKER_ROLE)")
            }
            let workspace = try options.open()
            let forwarded = try laptop { () throws(LaptopError) in
                try workspace.forward(id, to: to, by: author, at: entry.at)
            }
            if entry.json {
                JSONOutput.print(
                    .object([
                        "id": .string(forwarded.id.rawValue), "entry": .string(forwarded.dot.notation),
                        "host": .string(forwarded.host), "home": .string(forwarded.home),
                        "crossAuthority": .string("forwardedToHome"),
                        "escalatesAt": .string(forwarded.escalatesAt.london),
                    ]))
            } else {
                print(
                    "Forwarded \(forwarded.id) from \(forwarded.host) to \(forwarded.home) (\(forwarded.dot.notation)); \(forwarded.host) stays responsible until \(forwarded.home) accepts in writing; escalated to senior managers at \(forwarded.escalatesAt.london) unless settled"
                )
            }
        }
    }
}
