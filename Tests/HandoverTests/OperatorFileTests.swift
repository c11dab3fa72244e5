import Foundation
import Handover
import Referrals
import Testing

/// The operator's authorities file (`Docs/authorities.md`) applied over the shipped directory:
/// a realistic file checked through the calendars it makes, the example in `Docs/examples`,
/// and every kind of bad line refused with its line and field.
@Suite("Operator's authorities file")
struct OperatorFileTests {
    static let shipped = AuthorityDirectory.shipped

    static let realistic = """
        # Authorities file for the pilot: Calderdale, East Riding, Sefton, Berkshire, Edinburgh.
        [authority E08000033]
        hours = mon-fri 08:45-17:00
        early-closing = 12-24 15:30
        early-closing = 12-31 15:30

        # East Riding: Monday from 08:30, Friday to 16:30; closed between Christmas and New Year.
        [authority E06000011]
        hours = mon 08:30-17:00
        hours = fri 09:00-16:30
        closed = 2026-12-29..2026-12-31

        # Sefton: the local standard for the manager's decision is 24 hours.
        [authority E08000014]
        decision = 24 hours

        [authority S12000036]
        name = City of Edinburgh
        nation = scotland

        [team berkshire-eds]
        name = Berkshire Emergency Duty Service
        hosted-by = E06000036
        covers = E06000036 children
        covers = E06000037 children
        covers = E06000038 children
        covers = E06000039 children
        covers = E06000040 children
        covers = E06000041 children

        [team lothian-eds]
        name = Lothian Emergency Duty Team
        covers = S12000036 children adults

        # Illustrative: a proclamation moves the early May bank holiday of 2026 to Friday 8 May.
        [holidays england-and-wales]
        remove = 2026-05-04
        add = 2026-05-08 Early May bank holiday (moved)
        """

    static func apply(_ text: String, source: String = "authorities.conf") throws(DirectoryError) -> AuthorityDirectory
    {
        try shipped.applying(operatorFile: text, source: source)
    }

    static func calendar(_ directory: AuthorityDirectory, _ code: String) throws -> WorkingCalendar {
        directory.calendar(for: try #require(directory.authority(code), "\(code)"))
    }

    @Test func aRealisticFileAppliedThroughTheCalendars() throws {
        let directory = try Self.apply(Self.realistic)

        // Calderdale: 08:45 to 17:00, 15:30 on Christmas Eve and New Year's Eve.
        let calderdale = try Self.calendar(directory, "E08000033")
        #expect(calderdale.isInHours(at("2026-01-19T08:45:00Z")))
        #expect(!calderdale.isInHours(at("2026-01-19T08:44:59Z")))
        #expect(calderdale.span(on: day("2026-12-24"))?.description == "08:45-15:30")
        #expect(calderdale.span(on: day("2026-12-31"))?.description == "08:45-15:30")
        // Received Wednesday 23 December 2026: due at Christmas Eve's early close.
        #expect(calderdale.closeOfWorkingDays(1, after: at("2026-12-23T10:00:00Z")) == at("2026-12-24T15:30:00Z"))

        // East Riding: Monday 08:30, Tuesday to Thursday 09:00 to 17:00, Friday to 16:30.
        let eastRiding = try Self.calendar(directory, "E06000011")
        #expect(eastRiding.span(on: day("2026-01-19"))?.description == "08:30-17:00")
        #expect(eastRiding.span(on: day("2026-01-20"))?.description == "09:00-17:00")
        #expect(eastRiding.span(on: day("2026-01-23"))?.description == "09:00-16:30")
        #expect(eastRiding.span(on: day("2026-01-24")) == nil)
        // Thursday 10:00: due at Friday's 16:30 close.
        #expect(eastRiding.closeOfWorkingDays(1, after: at("2026-01-22T10:00:00Z")) == at("2026-01-23T16:30:00Z"))
        #expect(!eastRiding.isInHours(at("2026-01-23T16:30:00Z")))
        // Christmas Eve 2026: 25 and 28 are holidays, 29 to 31 closed, 1 January a holiday:
        // Monday 4 January 2027, which opens at 08:30.
        #expect(eastRiding.closeOfWorkingDays(1, after: at("2026-12-24T10:00:00Z")) == at("2027-01-04T17:00:00Z"))
        #expect(eastRiding.nextOpening(atOrAfter: at("2026-12-24T17:00:00Z")) == at("2027-01-04T08:30:00Z"))

        // Decision standards.
        #expect(directory.authority("E08000014")?.profile.decision == .hours(24))
        #expect(directory.authority("E08000033")?.profile.decision == .workingDays(1))

        // The Berkshire consortium's cover, written onto each authority it covers.
        let berkshire = Coverage(
            team: "berkshire-eds", teamName: "Berkshire Emergency Duty Service", hostedBy: "E06000036",
            services: [.children])
        for code in ["E06000036", "E06000037", "E06000038", "E06000039", "E06000040", "E06000041"] {
            #expect(directory.authority(code)?.profile.coverage == [berkshire], "\(code)")
        }
        #expect(directory.authority("E06000042")?.profile.coverage == [], "Milton Keynes is not in Berkshire")
        #expect(directory.teams["berkshire-eds"]?.covers.count == 6)
        #expect(directory.teams["berkshire-eds"]?.hostedBy == "E06000036")

        // The Scottish council, its team, and Scotland's calendar.
        let edinburgh = try #require(directory.authority("S12000036"))
        #expect(edinburgh.name == "City of Edinburgh")
        #expect(edinburgh.nation == .scotland)
        #expect(edinburgh.isCurrent)
        #expect(directory.refusal(of: "S12000036", on: day("2026-06-01")) == nil)
        #expect(edinburgh.profile.coverage.map(\.services) == [[.children, .adults]])
        let scotland = directory.calendar(for: edinburgh)
        #expect(!scotland.isWorkingDay(day("2026-01-02")))
        #expect(!scotland.isWorkingDay(day("2026-06-15")))
        #expect(scotland.isWorkingDay(day("2026-05-08")), "the English change does not reach Scotland")
        #expect(!scotland.isWorkingDay(day("2026-05-04")))

        // England and Wales: 4 May 2026 is now a working day, 8 May a holiday.
        for code in ["E06000038", "W06000015"] {
            let calendar = try Self.calendar(directory, code)
            #expect(calendar.isWorkingDay(day("2026-05-04")), "\(code)")
            #expect(!calendar.isWorkingDay(day("2026-05-08")), "\(code)")
        }
        let england = try #require(directory.holidays[.englandAndWales])
        let may = england.holidays(in: 2026).filter { $0.day.month == 5 }
        #expect(may.map(\.day.description) == ["2026-05-08", "2026-05-25"])
        #expect(may.first?.name == "Early May bank holiday (moved)")
        #expect(may.first?.source == .operator)

        // The shipped directory is untouched: applying returns a new value.
        #expect(Self.shipped.authority("E08000033")?.profile == AuthorityProfile())
        #expect(Self.shipped.authority("S12000036") == nil)
        #expect(Self.shipped.holidays[.englandAndWales]?.contains(day("2026-05-04")) == true)
        #expect(Self.shipped.teams.isEmpty)
    }

    /// The example in `Docs/examples/authorities.conf` applies, and says what its comments say.
    @Test func theDocumentedExampleApplies() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Docs/examples/authorities.conf")
        let text = try String(contentsOf: file, encoding: .utf8)
        let directory = try Self.shipped.applying(operatorFile: text, source: "authorities.conf")

        let calderdale = try Self.calendar(directory, "E08000033")
        #expect(calderdale.span(on: day("2026-01-19"))?.description == "08:45-17:00")
        #expect(calderdale.span(on: day("2026-12-24"))?.description == "08:45-15:30")
        let eastRiding = try Self.calendar(directory, "E06000011")
        let week = (19...23).map { eastRiding.span(on: day("2026-01-\($0)"))?.description }
        #expect(week == ["08:30-17:00", "09:00-17:00", "09:00-17:00", "09:00-17:00", "09:00-16:30"])
        #expect(eastRiding.span(on: day("2026-12-31"))?.description == "09:00-15:30")
        let knowsley = try Self.calendar(directory, "E08000011")
        #expect(knowsley.span(on: day("2026-01-19"))?.description == "09:00-17:00")
        #expect(knowsley.span(on: day("2026-01-24")) == nil)

        let team = try #require(directory.teams["berkshire-eds"])
        #expect(team.name == "Berkshire Emergency Duty Service")
        #expect(team.hostedBy == "E06000036")
        #expect(
            team.covers == [
                "E06000036": [.children], "E06000037": [.children], "E06000038": [.children],
                "E06000039": [.children], "E06000040": [.children], "E06000041": [.children],
            ])
        #expect(directory.authority("E06000038")?.profile.coverage.map(\.team) == ["berkshire-eds"])
    }

    @Test func laterLinesWinPerWeekday() throws {
        let directory = try Self.apply(
            """
            [authority E06000038]
            hours = mon-fri 08:00-16:00
            hours = wed closed
            hours = sat 10:00-13:00
            hours = fri 08:00-15:00
            """)
        let hours = try #require(directory.authority("E06000038")?.profile.hours)
        #expect(
            hours.weekdays.map { $0?.description } == [
                "08:00-16:00", "08:00-16:00", nil, "08:00-16:00", "08:00-15:00", "10:00-13:00", nil,
            ])
        // A second file over the first changes only what it names.
        let again = try directory.applying(operatorFile: "[authority E06000038]\nhours = wed 09:00-17:00", source: "b")
        #expect(again.authority("E06000038")?.profile.hours.weekdays[2]?.description == "09:00-17:00")
        #expect(again.authority("E06000038")?.profile.hours.weekdays[0]?.description == "08:00-16:00")
    }

    @Test func datedEarlyClosingAndAKnownAuthorityNeedsNoName() throws {
        let directory = try Self.apply(
            """
            [authority E08000009]
            early-closing = 2026-12-23 12:00
            closed = 2026-12-29
            dfe = 358
            """)
        let trafford = try #require(directory.authority("E08000009"))
        #expect(trafford.name == "Trafford")
        let calendar = directory.calendar(for: trafford)
        #expect(calendar.span(on: day("2026-12-23"))?.description == "09:00-12:00")
        #expect(calendar.span(on: day("2027-12-23"))?.description == "09:00-17:00", "one date only")
        #expect(!calendar.isWorkingDay(day("2026-12-29")))
    }

    struct BadLine: Sendable, CustomTestStringConvertible {
        let why: String
        let file: String
        let line: Int
        let field: String
        let says: String
        var testDescription: String { why }
    }

    @Test(arguments: [
        BadLine(
            why: "unknown section",
            file: "# pilot\n[authority E08000033]\n[council E08000033]\nhours = mon 09:00-17:00",
            line: 3, field: "", says: "council is not a section"),
        BadLine(why: "unclosed section header", file: "[authority E08000033", line: 1, field: "", says: "ends with ]"),
        BadLine(
            why: "section of three words", file: "\n[team Berkshire EDS]", line: 2, field: "", says: "a section is"),
        BadLine(
            why: "setting before any section", file: "# hours\n\nhours = mon-fri 09:00-17:00", line: 3, field: "hours",
            says: "comes before any"),
        BadLine(
            why: "not a setting", file: "[authority E08000033]\nmon-fri 09:00-17:00", line: 2, field: "",
            says: "expected `setting = value`"),
        BadLine(
            why: "unknown authority setting", file: "[authority E08000033]\nopening = 09:00", line: 2, field: "opening",
            says: "is not an authority setting"),
        BadLine(
            why: "unknown team setting", file: "[team berkshire-eds]\nhost = E06000036", line: 2, field: "host",
            says: "is not a team setting"),
        BadLine(
            why: "unknown holidays setting", file: "[holidays scotland]\nmove = 2026-06-15", line: 2, field: "move",
            says: "is not a holidays setting"),
        BadLine(
            why: "bad hours: one-digit hour", file: "[authority E08000033]\nhours = mon-fri 8:45-17:00", line: 2,
            field: "hours", says: "is not a span"),
        BadLine(
            why: "bad hours: no days", file: "[authority E08000033]\nhours = 08:45-17:00", line: 2, field: "hours",
            says: "write `DAYS"),
        BadLine(
            why: "bad hours: not a weekday", file: "[authority E08000033]\nhours = funday 09:00-17:00", line: 2,
            field: "hours", says: "funday is not a weekday"),
        BadLine(
            why: "bad hours: days backwards", file: "[authority E08000033]\nhours = fri-mon 09:00-17:00", line: 2,
            field: "hours", says: "is not a weekday or a range"),
        BadLine(
            why: "bad hours: 25:00", file: "[authority E08000033]\nhours = mon 09:00-25:00", line: 2, field: "hours",
            says: "is not a span"),
        BadLine(
            why: "opens after it closes", file: "[authority E08000033]\nhours = mon 17:00-09:00", line: 2,
            field: "hours", says: "must open before it closes"),
        BadLine(
            why: "opens when it closes", file: "[authority E08000033]\nhours = mon 09:00-09:00", line: 2,
            field: "hours", says: "must open before it closes"),
        BadLine(
            why: "all week closed", file: "[authority E08000033]\nhours = sat-sun closed\nhours = mon-fri closed",
            line: 3, field: "hours", says: "closed every day of the week"),
        BadLine(
            why: "bad closure date", file: "[authority E08000033]\nclosed = 2026-02-30", line: 2, field: "closed",
            says: "write a date"),
        BadLine(
            why: "closure range backwards", file: "[authority E08000033]\nclosed = 2026-12-31..2026-12-29", line: 2,
            field: "closed", says: "runs forwards"),
        BadLine(
            why: "closure range over a year", file: "[authority E08000033]\nclosed = 2026-01-01..2027-06-01", line: 2,
            field: "closed", says: "at most a year"),
        BadLine(
            why: "bad early-closing day", file: "[authority E08000033]\nearly-closing = 12-32 15:30", line: 2,
            field: "early-closing", says: "neither a date"),
        BadLine(
            why: "early-closing without a time", file: "[authority E08000033]\nearly-closing = 12-24", line: 2,
            field: "early-closing", says: "write `MM-DD HH:MM`"),
        BadLine(
            why: "bad valid-from date", file: "[authority E08000033]\nvalid-from = 2026-13-01", line: 2,
            field: "valid-from", says: "is not a date"),
        BadLine(
            why: "valid-to before valid-from",
            file: "[authority E08000033]\nvalid-from = 2026-04-01\nvalid-to = 2026-03-31", line: 3, field: "valid-to",
            says: "valid-to is before valid-from"),
        BadLine(
            why: "bad DfE number", file: "[authority E08000033]\ndfe = 38", line: 2, field: "dfe",
            says: "not a three-digit"),
        BadLine(
            why: "empty name", file: "[authority E08000033]\nname =", line: 2, field: "name", says: "is empty"),
        BadLine(
            why: "bad decision: no unit", file: "[authority E08000014]\ndecision = 24", line: 2, field: "decision",
            says: "write `1 working day` or `24 hours`"),
        BadLine(
            why: "bad decision: unknown unit", file: "[authority E08000014]\ndecision = 1 day", line: 2,
            field: "decision", says: "write `1 working day` or `24 hours`"),
        BadLine(
            why: "bad decision: zero", file: "[authority E08000014]\ndecision = 0 hours", line: 2, field: "decision",
            says: "write `1 working day` or `24 hours`"),
        BadLine(
            why: "bad decision: too many days", file: "[authority E08000014]\ndecision = 11 working days", line: 2,
            field: "decision", says: "at most 10 working days"),
        BadLine(
            why: "bad nation", file: "[authority S12000036]\nname = City of Edinburgh\nnation = Narnia", line: 3,
            field: "nation", says: "Narnia is not England, Wales, Scotland or Northern Ireland"),
        BadLine(
            why: "new authority without a name", file: "# Edinburgh\n[authority S12000036]\nnation = scotland", line: 2,
            field: "name", says: "needs `name = …`"),
        BadLine(
            why: "new authority without a nation",
            file: "[authority S12000036]\nname = City of Edinburgh\n\n[authority E08000033]\nhours = mon 08:45-17:00",
            line: 1, field: "nation", says: "needs `nation = …`"),
        BadLine(
            why: "malformed authority code", file: "[authority E0800003]", line: 1, field: "authority",
            says: "is not a GSS code"),
        BadLine(
            why: "bad team identifier", file: "[team berkshire_eds]", line: 1, field: "team",
            says: "is not an identifier"),
        BadLine(
            why: "unknown service",
            file: "[team berkshire-eds]\nname = Berkshire EDS\ncovers = E06000037 children fostering", line: 3,
            field: "covers", says: "fostering is not a service"),
        BadLine(
            why: "covers without a service", file: "[team berkshire-eds]\ncovers = E06000037", line: 2,
            field: "covers", says: "write `CODE SERVICE"),
        BadLine(
            why: "covers an unknown authority", file: "[team lothian-eds]\ncovers = S12000036 children", line: 2,
            field: "covers", says: "S12000036 is not a known authority"),
        BadLine(
            why: "hosted by an unknown authority", file: "[team lothian-eds]\nhosted-by = S12000036", line: 2,
            field: "hosted-by", says: "S12000036 is not a known authority"),
        BadLine(
            why: "unknown holiday calendar", file: "[holidays wales]\nadd = 2026-06-15 Day", line: 1, field: "holidays",
            says: "wales is not one of england-and-wales, scotland, northern-ireland"),
        BadLine(
            why: "bad holiday date", file: "[holidays scotland]\nadd = 2026-02-30 A day", line: 2, field: "add",
            says: "starts with a date"),
        BadLine(
            why: "added holiday without a name", file: "[holidays scotland]\nadd = 2026-06-16", line: 2, field: "add",
            says: "write `YYYY-MM-DD name"),
        BadLine(
            why: "removed holiday with more", file: "[holidays scotland]\nremove = 2026-06-15 World Cup", line: 2,
            field: "remove", says: "write the date alone"),
    ])
    func everyBadLineIsRefusedWhereItIs(_ bad: BadLine) throws {
        do throws(DirectoryError) {
            _ = try Self.apply(bad.file, source: "bad.conf")
            Issue.record("\(bad.why): the file was taken")
        } catch {
            #expect(error.source == "bad.conf")
            #expect(error.line == bad.line, "\(error)")
            #expect(error.field == bad.field, "\(error)")
            #expect(error.message.contains(bad.says), "\(error)")
            let place = bad.field.isEmpty ? "bad.conf:\(bad.line): " : "bad.conf:\(bad.line): \(bad.field): "
            #expect(error.description.hasPrefix(place), "\(error)")
        }
    }

    /// A file is taken whole or not at all: good lines before a bad one change nothing.
    @Test func aRefusedFileLeavesNothingApplied() throws {
        let good = try Self.apply(Self.realistic)
        let file = Self.realistic + "\n[authority E08000033]\nhours = mon 17:00-09:00\n"
        do throws(DirectoryError) {
            _ = try good.applying(operatorFile: file, source: "bad.conf")
            Issue.record("the file was taken")
        } catch {
            #expect(error.line == Self.realistic.split(separator: "\n", omittingEmptySubsequences: false).count + 2)
            #expect(error.field == "hours")
        }
        do throws(DirectoryError) {
            _ = try Self.shipped.applying(operatorFile: file, source: "bad.conf")
            Issue.record("the file was taken")
        } catch {
            #expect(error.field == "hours")
        }
        // Neither directory changed.
        #expect(Self.shipped.authority("E08000033")?.profile == AuthorityProfile())
        #expect(Self.shipped.authority("S12000036") == nil)
        #expect(Self.shipped.teams.isEmpty)
        #expect(Self.shipped.holidays[.englandAndWales]?.contains(day("2026-05-04")) == true)
        #expect(good.authority("E08000033")?.profile.hours.weekdays[0]?.description == "08:45-17:00")
    }

    @Test func blankLinesCommentsAndWindowsLineEndings() throws {
        let directory = try Self.apply(
            "# a comment\r\n\r\n   [authority E08000033]   \r\n\thours = mon-fri 08:45-17:00\r\n  # indented comment\r\n"
        )
        #expect(directory.authority("E08000033")?.profile.hours.weekdays[0]?.description == "08:45-17:00")
        // Line numbers count CRLF lines as lines.
        do throws(DirectoryError) {
            _ = try Self.apply("# one\r\n[authority E08000033]\r\n\r\nhours = mon 17:00-09:00\r\n", source: "bad.conf")
            Issue.record("the file was taken")
        } catch {
            #expect(error.line == 4 && error.field == "hours", "\(error)")
        }
        // A # after a value is not a comment: it is part of the value, and refused there.
        do throws(DirectoryError) {
            _ = try Self.apply("[team berkshire-eds]\ncovers = E06000037 children # West Berkshire", source: "bad.conf")
            Issue.record("the file was taken")
        } catch {
            #expect(error.line == 2 && error.field == "covers", "\(error)")
        }
    }
}
