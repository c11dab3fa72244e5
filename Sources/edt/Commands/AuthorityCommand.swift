import ArgumentParser
import Foundation
import Handover
import Referrals
import Replication

/// `edt authority`: the children's services authorities known, and each one's profile.
struct AuthorityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authority",
        abstract: "List the known authorities, or show one's office hours, closures and out-of-hours cover.",
        discussion: """
            The shipped defaults hold every children's services authority of England and Wales \
            (with codes retired since 2009), each open Monday to Friday 09:00 to 17:00; the \
            operator's file (--config or EDT_AUTHORITIES; format in Docs/authorities.md) sets the \
            real hours, closures, decision standards and teams.
            """,
        subcommands: [List.self, Show.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the authorities in force today, in code order.")

        @OptionGroup var authorities: AuthorityOptions
        @Flag(help: "Also list codes not in force today: ceased (with their dates), or not yet in force.")
        var includeRetired = false
        @Option(help: ArgumentHelp("Only this nation's (England, Wales, ...).", valueName: "NATION")) var nation:
            String?
        @Flag(
            help:
                "Print one JSON object: {\"authorities\": [{\"gss\", \"dfe\", \"name\", \"nation\", \"validFrom\", \"validTo\"}]}."
        )
        var json = false

        func validate() throws {
            if let nation, Nation(text: nation) == nil {
                throw ValidationError("--nation \"\(nation)\" is not England, Wales, Scotland or Northern Ireland")
            }
        }

        func run() async throws {
            let directory = try authorities.load()
            let wanted = nation.flatMap(Nation.init(text:))
            let today = LondonTime.day(of: Instant(Date()))
            let listed = directory.all.filter {
                ($0.isInForce(on: today) || includeRetired) && (wanted == nil || $0.nation == wanted)
            }
            if json {
                JSONOutput.print(.object(["authorities": .array(listed.map(AuthorityOutput.summary))]))
            } else {
                for authority in listed {
                    let retired = authority.validTo.map { "  (until \($0))" } ?? ""
                    print(
                        "\(authority.gss)  \(authority.dfe ?? "   ")  \(authority.name)  \(authority.nation.rawValue)\(retired)"
                    )
                }
                print("\(listed.count) authorities")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract:
                "Show one authority: codes, dates, office hours, early closing, closure days, decision standard, EDT cover."
        )

        @OptionGroup var authorities: AuthorityOptions
        @Argument(help: "The authority's GSS code (or its DfE number).") var code: String
        @Flag(
            help:
                "Print one JSON object: the list's keys plus \"officeHours\", \"earlyClosing\", \"closures\", \"decisionStandard\", \"coverage\", \"holidayCalendar\"."
        )
        var json = false

        func run() async throws {
            let directory = try authorities.load()
            let authority = try AuthorityOptions.authority(code, in: directory)
            if json {
                JSONOutput.print(AuthorityOutput.detail(authority))
            } else {
                AuthorityOutput.printText(authority)
            }
        }
    }
}

/// How an authority is printed.
enum AuthorityOutput {
    static let weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

    static func summary(_ authority: Authority) -> FieldValue {
        .object([
            "gss": .string(authority.gss), "dfe": authority.dfe.map(FieldValue.string) ?? .null,
            "name": .string(authority.name), "nation": .string(authority.nation.rawValue),
            "validFrom": authority.validFrom.map { .string($0.description) } ?? .null,
            "validTo": authority.validTo.map { .string($0.description) } ?? .null,
        ])
    }

    static func detail(_ authority: Authority) -> FieldValue {
        guard case .object(var members) = summary(authority) else { return .null }
        let hours = authority.profile.hours
        var week: [String: FieldValue] = [:]
        for (index, name) in weekdays.enumerated() {
            week[name] =
                hours.weekdays[index].map {
                    .object(["opens": .string($0.opens.description), "closes": .string($0.closes.description)])
                }
                ?? .null
        }
        members["officeHours"] = .object(week)
        let yearly = hours.yearlyEarlyClosing.sorted { $0.key < $1.key }.map { day, closes -> FieldValue in
            .object(["every": .string(day.description), "closes": .string(closes.description)])
        }
        let dated = hours.datedEarlyClosing.sorted { $0.key < $1.key }.map { day, closes -> FieldValue in
            .object(["date": .string(day.description), "closes": .string(closes.description)])
        }
        members["earlyClosing"] = .array(yearly + dated)
        members["closures"] = .array(hours.closures.sorted().map { .string($0.description) })
        switch authority.profile.decision {
        case .workingDays(let days): members["decisionStandard"] = .object(["workingDays": .integer(Int64(days))])
        case .hours(let count): members["decisionStandard"] = .object(["hours": .integer(Int64(count))])
        }
        members["coverage"] = .array(
            authority.profile.coverage.map { cover in
                .object([
                    "team": .string(cover.team), "name": .string(cover.teamName),
                    "hostedBy": cover.hostedBy.map(FieldValue.string) ?? .null,
                    "services": .array(cover.services.sorted().map { .string($0.rawValue) }),
                ])
            })
        members["holidayCalendar"] = .string(authority.nation.holidayCalendar.rawValue)
        return .object(members)
    }

    static func printText(_ authority: Authority) {
        print(
            "\(authority.name) (\(authority.gss)\(authority.dfe.map { ", DfE \($0)" } ?? ""))  \(authority.nation.rawValue)"
        )
        if authority.validFrom != nil || authority.validTo != nil {
            print("In force: \(authority.validFrom?.description ?? "…") to \(authority.validTo?.description ?? "now")")
        }
        print("Office hours (half-open: open at the opening minute, closed at the closing one):")
        for (index, name) in weekdays.enumerated() {
            print("  \(name.padding(toLength: 9))  \(authority.profile.hours.weekdays[index]?.description ?? "closed")")
        }
        let hours = authority.profile.hours
        let early =
            hours.yearlyEarlyClosing.sorted { $0.key < $1.key }.map { "every \($0.key) at \($0.value)" }
            + hours.datedEarlyClosing.sorted { $0.key < $1.key }.map { "\($0.key) at \($0.value)" }
        print("Early closing: \(early.isEmpty ? "none" : early.joined(separator: ", "))")
        print(
            "Closure days: \(hours.closures.isEmpty ? "none" : hours.closures.sorted().map(\.description).joined(separator: ", "))"
        )
        print("Bank holidays: \(authority.nation.holidayCalendar.rawValue)")
        print("Decision on next steps within: \(authority.profile.decision)")
        if authority.profile.coverage.isEmpty {
            print("Out-of-hours cover: none named (the operator's file names the teams)")
        }
        for cover in authority.profile.coverage {
            print(
                "Out-of-hours cover: \(cover.teamName) [\(cover.team)]\(cover.hostedBy.map { ", hosted by \($0)" } ?? ""): \(cover.services.sorted().map(\.rawValue).joined(separator: ", "))"
            )
        }
    }
}
