import ArgumentParser
import Handover
import Referrals
import Replication

/// `edt calendar`: an authority's working days, bank holidays and the deadlines of a referral
/// received at a given instant.
struct CalendarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calendar",
        abstract: "Working days, bank holidays and referral deadlines by an authority's calendar.",
        discussion: """
            All arithmetic is Europe/London and safe across the clock changes. Office hours are \
            half-open (a referral at exactly the opening time is in hours, at exactly the closing \
            time out of hours). "Within N working days" is by the close of office hours on the Nth \
            working day after the London day of the event; "within N hours" is N hours of real time.
            """,
        subcommands: [WorkingDays.self, Deadlines.self, Holidays.self]
    )

    struct WorkingDays: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "working-days", abstract: "List an authority's working days between two dates (both included)."
        )

        @OptionGroup var authorities: AuthorityOptions
        @Option(help: ArgumentHelp("The authority (GSS code or DfE number).", valueName: "CODE")) var authority: String
        @Option(help: ArgumentHelp("The first date (YYYY-MM-DD).", valueName: "DATE")) var from: String
        @Option(help: ArgumentHelp("The last date (YYYY-MM-DD).", valueName: "DATE")) var to: String
        @Flag(help: "Print one JSON object: {\"days\": [DATE, ...]}.") var json = false

        func validate() throws {
            guard let first = CalendarDay(iso8601: from) else {
                throw ValidationError("--from \"\(from)\" is not a date YYYY-MM-DD")
            }
            guard let last = CalendarDay(iso8601: to) else {
                throw ValidationError("--to \"\(to)\" is not a date YYYY-MM-DD")
            }
            guard first <= last else { throw ValidationError("--to \(to) is before --from \(from)") }
            guard last.dayNumber - first.dayNumber <= 3_660 else {
                throw ValidationError("give at most ten years at a time")
            }
        }

        func run() async throws {
            let directory = try authorities.load()
            let chosen = try AuthorityOptions.authority(authority, in: directory)
            guard let first = CalendarDay(iso8601: from), let last = CalendarDay(iso8601: to) else { return }
            let days = directory.calendar(for: chosen).workingDays(from: first, to: last)
            if json {
                JSONOutput.print(.object(["days": .array(days.map { .string($0.description) })]))
            } else {
                for day in days { print(day) }
                print("\(days.count) working days for \(chosen.name) from \(first) to \(last)")
            }
        }
    }

    struct Deadlines: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deadlines",
            abstract:
                "The deadlines of a referral received at an instant, and whether it is an out-of-hours (EDT) case.")

        @OptionGroup var authorities: AuthorityOptions
        @Option(help: ArgumentHelp("The authority the referral is for (GSS code or DfE number).", valueName: "CODE"))
        var authority: String
        @Option(help: ArgumentHelp("When it was received (ISO 8601 with offset).", valueName: "INSTANT"))
        var received: String
        @Flag(help: "A professional's verbal referral: adds writtenConfirmation.") var verbal = false
        @Flag(
            help:
                "Print one JSON object: {\"authority\", \"receivedAt\", \"outOfHours\", \"handoverAt\", \"deadlines\": {\"acknowledge\", \"decision\", \"referrerChase\", \"writtenConfirmation\", \"assessment\"}}."
        )
        var json = false

        func validate() throws {
            guard Instant(iso8601: received) != nil else {
                throw ValidationError(
                    "--received \"\(received)\" is not an ISO 8601 instant with an offset (2027-03-25T18:00:00Z)")
            }
        }

        func run() async throws {
            let directory = try authorities.load()
            let chosen = try AuthorityOptions.authority(authority, in: directory)
            guard let instant = Instant(iso8601: received) else { return }
            let schedule = Handover.Deadlines.schedule(
                receivedAt: instant, verbal: verbal, authority: chosen, calendar: directory.calendar(for: chosen))
            let ordered = schedule.deadlines.sorted { $0.key < $1.key }
            if json {
                var deadlines: [String: FieldValue] = [:]
                for (name, due) in ordered { deadlines[name.rawValue] = .string(due.london) }
                JSONOutput.print(
                    .object([
                        "authority": .string(chosen.gss), "receivedAt": .string(instant.london),
                        "outOfHours": .bool(schedule.outOfHours),
                        "handoverAt": schedule.handoverAt.map { .string($0.london) } ?? .null,
                        "deadlines": .object(deadlines),
                    ]))
            } else {
                print(
                    "Received \(instant.london) by \(chosen.name): \(schedule.outOfHours ? "out of hours (an EDT case)" : "in office hours")"
                )
                if let handover = schedule.handoverAt { print("Handover at the next opening: \(handover.london)") }
                let width = ordered.map(\.key.rawValue.count).max() ?? 0
                for (name, due) in ordered { print("  \(name.rawValue.padding(toLength: width))  \(due.london)") }
            }
        }
    }

    struct Holidays: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "holidays",
            abstract: "List the bank holidays of a year: published, from the standing rules, or the operator's.")

        @OptionGroup var authorities: AuthorityOptions
        @Option(
            help: ArgumentHelp(
                "The calendar: england-and-wales, scotland or northern-ireland (default: the authority's, else england-and-wales).",
                valueName: "CALENDAR"))
        var calendar: String?
        @Option(help: ArgumentHelp("An authority whose nation's calendar to use.", valueName: "CODE")) var authority:
            String?
        @Option(help: "The year.") var year: Int
        @Flag(
            help: "Print one JSON object: {\"calendar\", \"year\", \"holidays\": [{\"date\", \"name\", \"source\"}]}.")
        var json = false

        func validate() throws {
            if let calendar, BankHolidayRules.Calendar(rawValue: calendar) == nil {
                throw ValidationError("--calendar must be one of: england-and-wales, scotland, northern-ireland")
            }
            guard (1900...2999).contains(year) else { throw ValidationError("--year must be from 1900 to 2999") }
            if calendar != nil, authority != nil {
                throw ValidationError("give --calendar or --authority, not both")
            }
        }

        func run() async throws {
            let directory = try authorities.load()
            var chosen = calendar.flatMap(BankHolidayRules.Calendar.init(rawValue:)) ?? .englandAndWales
            if let authority {
                chosen = try AuthorityOptions.authority(authority, in: directory).nation.holidayCalendar
            }
            let holidays =
                directory.holidays[chosen]?.holidays(in: year)
                ?? BankHolidays(calendar: chosen, published: [:]).holidays(in: year)
            if json {
                JSONOutput.print(
                    .object([
                        "calendar": .string(chosen.rawValue), "year": .integer(Int64(year)),
                        "holidays": .array(
                            holidays.map {
                                .object([
                                    "date": .string($0.day.description), "name": .string($0.name),
                                    "source": .string($0.source.rawValue),
                                ])
                            }),
                    ]))
            } else {
                for holiday in holidays { print("\(holiday.day)  \(holiday.name)  (\(holiday.source.rawValue))") }
            }
        }
    }
}
