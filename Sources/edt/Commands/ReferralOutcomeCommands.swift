import ArgumentParser
import Laptop
import Referrals
import Replication

/// `edt referral outcome`, `authorise`, `acknowledge`, `feedback`, `confirm`,
/// `strategy-discussion`, `strategy-record`, `challenge`, `escalate`, `assessment-completed`,
/// `conference-held`: a referral's outcome and what follows it, each a typed, signed entry.
enum ReferralOutcomeCommands {
    static let all: [any ParsableCommand.Type] = [
        Outcome.self, Authorise.self, Acknowledge.self, Feedback.self, Confirm.self, StrategyDiscussion.self,
        StrategyRecord.self, Challenge.self, Escalate.self, AssessmentCompleted.self, ConferenceHeld.self,
    ]

    static let signed = """
        Timed (--at, default now; not in the future, not before the referral was received), dated \
        with when it was recorded, and signed with the device key plus who made it (--by/--role, or \
        EDT_WORKER_NAME/EDT_WORKER_ROLE). An entry is named by its dot DEVICE:COUNTER, as \
        `edt referral show` prints it. An entry inconsistent with the referral is refused (exit 1) \
        and nothing is recorded.
        """

    /// The options every outcome command shares besides the store.
    struct EntryOptions: ParsableArguments {
        @Option(help: ArgumentHelp("Who records it.", valueName: "NAME")) var by: String?
        @Option(help: ArgumentHelp("Their role.", valueName: "ROLE")) var role: String?
        @Option(help: ArgumentHelp("When it happened (ISO 8601 with offset); default now.", valueName: "INSTANT"))
        var at: String?
        @Flag(help: "Print one JSON object: {\"id\", \"entry\", \"kind\", \"at\"}.")
        var json = false

        func validate() throws {
            if let at, Instant(iso8601: at) == nil {
                throw ValidationError("--at \"\(at)\" is not an ISO 8601 instant with an offset (2027-03-27T03:00:00Z)")
            }
        }
    }

    /// Records `event` on referral `id` and prints what was recorded.
    static func record(
        _ event: ReferralEntry.Event, on id: String, store: StoreOptions, entry: EntryOptions
    ) throws {
        guard let author = try ReferralEntry.Author.from(by: entry.by, role: entry.role) else {
            throw Failure.refused(
                "say who records it: --by NAME --role ROLE (or set EDT_WORKER_NAME and EDT_WORKER_ROLE)")
        }
        let workspace = try store.open()
        let recorded = try laptop { () throws(LaptopError) in
            try workspace.record(id, event, by: author, at: entry.at)
        }
        if entry.json {
            JSONOutput.print(
                .object([
                    "id": .string(recorded.id.rawValue), "entry": .string(recorded.dot.notation),
                    "kind": .string(recorded.kind.rawValue), "at": .string(recorded.at),
                ]))
        } else {
            print("Recorded \(recorded.kind.rawValue) \(recorded.dot.notation) on \(recorded.id) at \(recorded.at)")
        }
    }

    /// `value` as one of `choices`, or a usage error naming them.
    static func choice<Choice: RawRepresentable & CaseIterable>(
        _ value: String, _ option: String
    ) throws -> Choice where Choice.RawValue == String {
        guard let chosen = Choice(rawValue: value) else {
            throw ValidationError(
                "\(option) must be one of: \(Choice.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return chosen
    }

    struct Outcome: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "outcome",
            abstract: "Record the outcome of a referral and its rationale (a manager then authorises it).",
            discussion: """
                --outcome is no-further-action, early-help, section-17-assessment, strategy-discussion \
                or immediate-protection. --advice (advice, information or signposting) only with \
                no-further-action. Immediate protection needs each measure taken (--measure, repeat): \
                abuser-left, abuser-removed, child-moved-by-agreement, emergency-protection-order, \
                police-protection, police-entry; a strategy discussion follows it as soon as \
                practicable. \(signed)
                """
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Option(help: ArgumentHelp("The outcome decided.", valueName: "KIND")) var outcome: String
        @Option(help: ArgumentHelp("Why this outcome.", valueName: "TEXT")) var rationale: String
        @Option(help: ArgumentHelp("For no-further-action: advice, information or signposting.", valueName: "TEXT"))
        var advice: String?
        @Option(help: ArgumentHelp("For immediate-protection: a measure taken; repeat for each.", valueName: "M"))
        var measure: [String] = []
        @OptionGroup var entry: EntryOptions

        func validate() throws {
            let _: ReferralEntry.Outcome = try choice(outcome, "--outcome")
            for measure in measure { let _: ReferralEntry.ProtectiveMeasure = try choice(measure, "--measure") }
        }

        func run() async throws {
            let event = ReferralEntry.Event.outcome(
                try choice(outcome, "--outcome"), rationale: rationale, advice: advice,
                measures: try measure.map { try choice($0, "--measure") })
            try record(event, on: id, store: options, entry: entry)
        }
    }

    struct Authorise: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "authorise",
            abstract: "A manager authorises an outcome entry of the referral.",
            discussion: """
                --outcome-entry is the dot of the outcome entry authorised. Only a manager \
                authorises: the role (--role) must contain the word "manager" (Team Manager, EDT \
                manager, service manager). An outcome is authorised once; a changed decision is a \
                new outcome entry. \(signed)
                """
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Option(help: ArgumentHelp("The dot of the outcome entry authorised.", valueName: "REF"))
        var outcomeEntry: String
        @Option(help: ArgumentHelp("A comment.", valueName: "TEXT")) var text: String?
        @OptionGroup var entry: EntryOptions

        func run() async throws {
            try record(.authorisation(authorises: outcomeEntry, text: text), on: id, store: options, entry: entry)
        }
    }

    struct Acknowledge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "acknowledge",
            abstract: "Record that the referral was acknowledged to the referrer.",
            discussion: "--method is phone, email, letter, in-person or other. \(signed)"
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Option(help: ArgumentHelp("How it was acknowledged.", valueName: "METHOD")) var method: String
        @Option(help: ArgumentHelp("A comment.", valueName: "TEXT")) var text: String?
        @OptionGroup var entry: EntryOptions

        func validate() throws {
            let _: ReferralEntry.AcknowledgementMethod = try choice(method, "--method")
        }

        func run() async throws {
            try record(
                .acknowledgement(method: try choice(method, "--method"), text: text), on: id, store: options,
                entry: entry)
        }
    }

    struct Feedback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "feedback",
            abstract: "Record that the referrer was told the outcome.",
            discussion: """
                --about is the dot of the outcome entry the referrer was told. When the referrer is \
                not recorded as a professional (referrer.professional is not true), the child's \
                confidentiality must be weighed first: --confidentiality-weighed says it was, and \
                without it the feedback is refused. \(signed)
                """
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Option(help: ArgumentHelp("The dot of the outcome entry.", valueName: "REF")) var about: String
        @Option(help: ArgumentHelp("What the referrer was told.", valueName: "TEXT")) var text: String
        @Flag(help: "The child's confidentiality was weighed before telling the referrer.")
        var confidentialityWeighed = false
        @OptionGroup var entry: EntryOptions

        func run() async throws {
            try record(
                .feedback(about: about, text: text, confidentialityWeighed: confidentialityWeighed), on: id,
                store: options, entry: entry)
        }
    }

    struct Confirm: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "confirm",
            abstract: "Record the written confirmation of a verbal referral.",
            discussion: """
                --reference names the letter, email or form received. Refused unless the referral is \
                recorded as verbal (set verbal to true first). \(signed)
                """
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Option(help: ArgumentHelp("The confirmation's reference.", valueName: "REF")) var reference: String
        @OptionGroup var entry: EntryOptions

        func run() async throws {
            try record(.confirmation(reference: reference), on: id, store: options, entry: entry)
        }
    }

    struct StrategyDiscussion: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "strategy-discussion",
            abstract: "Record a strategy discussion held, and whether it started section 47 enquiries.",
            discussion: "--section-47 true or false: whether it decided to start section 47 enquiries. \(signed)"
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Option(
            name: .customLong("section-47"),
            help: ArgumentHelp("Whether section 47 enquiries start (true or false).", valueName: "BOOL"))
        var section47: Bool
        @Option(help: ArgumentHelp("What was discussed and decided.", valueName: "TEXT")) var text: String
        @Option(help: ArgumentHelp("Someone present; repeat for each.", valueName: "NAME")) var present: [String] = []
        @OptionGroup var entry: EntryOptions

        func run() async throws {
            try record(
                .strategyDiscussion(section47: section47, present: present, text: text), on: id, store: options,
                entry: entry)
        }
    }

    struct StrategyRecord: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "strategy-record",
            abstract: "Record that a strategy discussion's record was sent to all parties.",
            discussion: "--discussion is the dot of the strategy-discussion entry. \(signed)"
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Option(help: ArgumentHelp("The dot of the strategy-discussion entry.", valueName: "REF"))
        var discussion: String
        @Option(help: ArgumentHelp("Someone it was sent to; repeat for each (at least one).", valueName: "NAME"))
        var recipient: [String] = []
        @OptionGroup var entry: EntryOptions

        func validate() throws {
            guard !recipient.isEmpty else { throw ValidationError("name at least one --recipient") }
        }

        func run() async throws {
            try record(
                .strategyRecord(discussion: discussion, recipients: recipient), on: id, store: options, entry: entry)
        }
    }

    struct Challenge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "challenge",
            abstract: "Record that the referrer challenges an outcome.",
            discussion: "--about is the dot of the outcome entry challenged. \(signed)"
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Option(help: ArgumentHelp("The dot of the outcome entry.", valueName: "REF")) var about: String
        @Option(help: ArgumentHelp("What is challenged and why.", valueName: "TEXT")) var text: String
        @OptionGroup var entry: EntryOptions

        func run() async throws {
            try record(.challenge(about: about, text: text), on: id, store: options, entry: entry)
        }
    }

    struct Escalate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "escalate",
            abstract: "Record that a challenge was escalated.",
            discussion: "--challenge is the dot of the challenge entry; --to says to whom. \(signed)"
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Option(help: ArgumentHelp("The dot of the challenge entry.", valueName: "REF")) var challenge: String
        @Option(help: ArgumentHelp("To whom it was escalated.", valueName: "WHOM")) var to: String
        @Option(help: ArgumentHelp("Why, and what was asked.", valueName: "TEXT")) var text: String
        @OptionGroup var entry: EntryOptions

        func run() async throws {
            try record(.escalation(challenge: challenge, to: to, text: text), on: id, store: options, entry: entry)
        }
    }

    struct AssessmentCompleted: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "assessment-completed",
            abstract: "Record that the Child and Family Assessment was completed.",
            discussion: signed
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Option(help: ArgumentHelp("What the assessment concluded.", valueName: "TEXT")) var text: String
        @OptionGroup var entry: EntryOptions

        func run() async throws {
            try record(.assessmentCompleted(text: text), on: id, store: options, entry: entry)
        }
    }

    struct ConferenceHeld: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "conference-held",
            abstract: "Record that the initial child protection conference was held.",
            discussion: """
                Refused unless a strategy discussion of the referral started section 47 enquiries \
                (strategy-discussion --section-47 true). \(signed)
                """
        )

        @OptionGroup var options: StoreOptions
        @Argument(help: "The referral id.") var id: String
        @Option(help: ArgumentHelp("What the conference decided.", valueName: "TEXT")) var text: String
        @OptionGroup var entry: EntryOptions

        func run() async throws {
            try record(.conferenceHeld(text: text), on: id, store: options, entry: entry)
        }
    }
}
