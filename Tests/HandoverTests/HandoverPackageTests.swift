import Crypto
import Foundation
import Handover
import LineProtocol
import Referrals
import Replication
import Synchronization
import Testing

/// The morning handover package (`Docs/domain.md`, "EDT handover to day teams"), built from
/// records as a laptop writes them and read against values worked out by hand.
@Suite("Handover package")
struct HandoverPackageTests {
    static let reading = CaseMaker.reading
    static let slough = CaseMaker.slough
    static let wokingham = CaseMaker.wokingham

    // MARK: - EDT cases and windows

    @Test func anEDTCaseIsReceivedOutsideHalfOpenOfficeHours() throws {
        let directory = AuthorityDirectory.shipped
        let calendar = directory.calendar(for: try #require(directory.authority(Self.reading)))
        // Monday 7 December 2026: exactly at the opening is in hours, exactly at the closing is not.
        #expect(!calendar.isEDTCase(receivedAt: at("2026-12-07T09:00:00Z")))
        #expect(calendar.isEDTCase(receivedAt: at("2026-12-07T08:59:59Z")))
        #expect(!calendar.isEDTCase(receivedAt: at("2026-12-07T16:59:59Z")))
        #expect(calendar.isEDTCase(receivedAt: at("2026-12-07T17:00:00Z")))
        #expect(directory.isEDTCase(receivedAt: at("2026-12-05T12:00:00Z"), authority: Self.reading) == true)
        #expect(directory.isEDTCase(receivedAt: at("2026-12-05T12:00:00Z"), authority: "E99999999") == nil)
        // The window the Tuesday opening ends began at Monday's closing.
        let window = try #require(calendar.outOfHoursWindow(endingAtOpeningAtOrAfter: at("2026-12-07T17:00:00Z")))
        #expect(window.closedAt?.london == "2026-12-07T17:00:00Z")
        #expect(window.opensAt.london == "2026-12-08T09:00:00Z")
        #expect(window.contains(at("2026-12-07T17:00:00Z")))
        #expect(!window.contains(at("2026-12-08T09:00:00Z")))
        // At an opening, the opening is the one at that instant.
        #expect(calendar.nextOpening(atOrAfter: at("2026-12-08T09:00:00Z"))?.london == "2026-12-08T09:00:00Z")
    }

    @Test func aCaseAtOpeningIsNotHandedOverAndOneAtClosingIs() throws {
        var maker = try CaseMaker()
        try maker.referral("at-opening", received: "2026-12-07T09:00:00Z")
        let closing = try maker.referral("at-closing", received: "2026-12-07T17:00:00Z")
        let handover = try package(Self.reading, at: "2026-12-07T17:00:00Z", maker.records)
        #expect(handover.opensAt.london == "2026-12-08T09:00:00Z")
        #expect(handover.window.closedAt?.london == "2026-12-07T17:00:00Z")
        #expect(handover.cases.map(\.id) == [closing])
        #expect(handover.cases.first?.carriedOver == false)
        #expect(handover.cases.first?.overdue == false)
    }

    // MARK: - A consortium's night

    /// The Berkshire Emergency Duty Service covers Reading, Slough and Wokingham (among others)
    /// through the night of Tuesday 1 December 2026. Slough opens at 08:30 and names its own
    /// front door; the others keep the shipped 09:00 and the default MASH.
    @Test func eachAuthorityOfAConsortiumGetsOnlyItsCasesAtItsOwnOpening() throws {
        let directory = try AuthorityDirectory.shipped.applying(
            operatorFile: """
                [authority E06000039]
                hours = mon-fri 08:30-17:00
                front-door = Slough Children's Services Front Door

                [team berkshire-eds]
                name = Berkshire Emergency Duty Service
                hosted-by = E06000036
                covers = E06000038 children
                covers = E06000039 children
                covers = E06000041 children
                """, source: "berkshire.conf")
        var maker = try CaseMaker()
        try maker.referral("reading-late", received: "2026-12-02T02:30:00Z", host: Self.reading)
        try maker.referral("reading-evening", received: "2026-12-01T20:00:00Z", host: Self.reading)
        try maker.referral("reading-daytime", received: "2026-12-01T11:00:00Z", host: Self.reading)
        try maker.referral("reading-after-opening", received: "2026-12-02T09:30:00Z", host: Self.reading)
        try maker.referral("slough-night", received: "2026-12-01T23:00:00Z", host: Self.slough)
        try maker.referral("slough-early", received: "2026-12-02T08:15:00Z", host: Self.slough)
        try maker.referral("slough-in-hours", received: "2026-12-02T08:45:00Z", host: Self.slough)
        try maker.referral("wokingham-evening", received: "2026-12-01T18:00:00Z", host: Self.wokingham)

        let reading = try package(Self.reading, at: "2026-12-01T22:00:00Z", maker.records, directory: directory)
        #expect(reading.opensAt.london == "2026-12-02T09:00:00Z")
        #expect(reading.cases.map(\.id.rawValue) == ["reading-evening", "reading-late"])
        #expect(reading.cases.allSatisfy { $0.routedTo.name == "MASH" && $0.routedTo.destination == .frontDoor })

        let slough = try package(Self.slough, at: "2026-12-01T22:00:00Z", maker.records, directory: directory)
        #expect(slough.opensAt.london == "2026-12-02T08:30:00Z")
        #expect(slough.cases.map(\.id.rawValue) == ["slough-night", "slough-early"])
        #expect(slough.frontDoor == "Slough Children's Services Front Door")
        #expect(slough.cases.first?.routedTo.name == "Slough Children's Services Front Door")

        let wokingham = try package(Self.wokingham, at: "2026-12-01T22:00:00Z", maker.records, directory: directory)
        #expect(wokingham.cases.map(\.id.rawValue) == ["wokingham-evening"])
        #expect(wokingham.cases.allSatisfy { $0.hostAuthority == Self.wokingham && !$0.carriedOver })
    }

    // MARK: - A bank-holiday weekend

    /// Friday 28 May 2027 after the close, through the spring bank holiday (Monday 31 May), to
    /// the opening on Tuesday 1 June 2027 at 09:00 BST.
    @Test func aBankHolidayWeekendIsHandedOverOnTuesday() throws {
        var maker = try CaseMaker()
        try maker.referral("friday-afternoon", received: "2027-05-28T16:59:00+01:00")
        try maker.referral("friday-night", received: "2027-05-28T18:30:00+01:00")
        try maker.referral("sunday", received: "2027-05-30T12:00:00+01:00")
        try maker.referral("bank-holiday-monday", received: "2027-05-31T10:00:00+01:00")
        try maker.referral("tuesday", received: "2027-06-01T09:00:00+01:00")
        for time in ["2027-05-28T17:00:00+01:00", "2027-05-31T12:00:00+01:00", "2027-06-01T09:00:00+01:00"] {
            let handover = try package(Self.reading, at: time, maker.records)
            #expect(handover.opensAt.london == "2027-06-01T09:00:00+01:00")
            #expect(handover.window.closedAt?.london == "2027-05-28T17:00:00+01:00")
            #expect(handover.cases.map(\.id.rawValue) == ["friday-night", "sunday", "bank-holiday-monday"])
            #expect(handover.cases.allSatisfy { !$0.carriedOver && !$0.overdue })
            // Friday's case is acknowledged by Tuesday's close: the bank holiday does not count.
            let friday = try #require(handover.cases.first)
            #expect(friday.deadlines.first { $0.name == .acknowledge }?.due.london == "2027-06-01T17:00:00+01:00")
            let json = members(try JSONPayload.read(handover.jsonBytes()[...]))
            #expect(json["opensAt"] == .string("2027-06-01T09:00:00+01:00"))
        }
    }

    // MARK: - Carried over, overdue, accepted

    @Test func aCaseNobodyAcceptedIsCarriedOverAndOverdue() throws {
        var maker = try CaseMaker()
        // Saturday 28 November 2026, 02:00: acknowledged by Monday 30's close.
        let saturday = try maker.referral("saturday", received: "2026-11-28T02:00:00Z")
        // Handed over on Monday as an earlier package's case though the calendar reads it in hours.
        let named = try maker.referral("named", received: "2026-11-30T10:00:00Z")
        let tuesdayNight = try maker.referral("monday-night", received: "2026-11-30T19:00:00Z")

        let monday = try package(Self.reading, at: "2026-11-30T08:00:00Z", maker.records)
        #expect(monday.cases.map(\.id) == [saturday])
        #expect(monday.cases.first?.carriedOver == false)
        #expect(monday.cases.first?.overdue == false)

        let tuesday = try package(Self.reading, at: "2026-12-01T08:00:00Z", maker.records, carriedOver: [named])
        #expect(tuesday.opensAt.london == "2026-12-01T09:00:00Z")
        #expect(tuesday.cases.map(\.id) == [saturday, named, tuesdayNight])
        let carried = try #require(tuesday.cases.first)
        #expect(carried.carriedOver)
        #expect(carried.overdue)
        #expect(carried.deadlines.first { $0.name == .acknowledge }?.status == .overdue)
        #expect(tuesday.cases[1].carriedOver)
        #expect(!tuesday.cases[1].overdue)  // acknowledged by Tuesday's close: not yet gone by
        #expect(!tuesday.cases[2].carriedOver)
        let json = members(try JSONPayload.read(tuesday.jsonBytes()[...]))
        let first = members(items(json["cases"]).first)
        #expect(first["carriedOver"] == .bool(true))
        #expect(first["overdue"] == .bool(true))
        #expect(members(members(first["deadlines"])["acknowledge"])["status"] == .string("overdue"))
    }

    @Test func onlyTheCentresSignedAcceptanceByThisAuthorityLeavesACaseOut() throws {
        var maker = try CaseMaker()
        let accepted = try maker.referral("accepted", received: "2026-12-01T20:00:00Z")
        let strangerKey = try maker.referral("stranger-key", received: "2026-12-01T20:10:00Z")
        let laptopDot = try maker.referral("laptop-dot", received: "2026-12-01T20:20:00Z")
        let otherAuthority = try maker.referral("other-authority", received: "2026-12-01T20:30:00Z")
        try maker.accept(accepted, authority: Self.reading, at: "2026-12-02T09:10:00Z", key: centreKey)
        try maker.accept(
            strangerKey, authority: Self.reading, at: "2026-12-02T09:10:00Z", key: .init())
        try maker.forgeAcceptanceOnLaptop(
            laptopDot, authority: Self.reading, at: "2026-12-02T09:10:00Z", key: centreKey)
        try maker.accept(otherAuthority, authority: Self.slough, at: "2026-12-02T09:10:00Z", key: centreKey)
        let records = maker.records
        // The acceptance reads as one only for the genuine entry.
        let genuine = try #require(records.first { $0.id == accepted })
        #expect(HandoverAcceptance.all(in: genuine, centreKey: centrePublicKey).map(\.authority) == [Self.reading])

        let handover = try package(Self.reading, at: "2026-12-02T09:30:00Z", records)
        #expect(handover.opensAt.london == "2026-12-03T09:00:00Z")
        #expect(handover.cases.map(\.id) == [strangerKey, laptopDot, otherAuthority])
        #expect(handover.cases.allSatisfy { $0.carriedOver })
        // Acceptances are not actions of the EDT.
        #expect(handover.cases.allSatisfy { $0.actionsTaken.allSatisfy { $0.kind != HandoverAcceptance.kind } })
    }

    // MARK: - What each case holds

    @Test func aCaseCarriesItsSummaryActionsTasksDeadlinesAndCrossAuthorityState() throws {
        var maker = try CaseMaker()
        let id = try maker.referral(
            "full", received: "2026-12-01T21:00:00Z",
            fields: [
                "homeAuthority": .string(Self.slough), "childSafeNow": .bool(false),
                "immediateProtection": .bool(true), "recordCheck": .string("not-checked-offline"),
                "verbal": .bool(true), "referrer.professional": .bool(true),
                "children.c00000001.location": .string("Royal Berkshire Hospital, ward 5"),
                "children.c00000002.name": .string("Baby of full"), "children.c00000002.ageEstimate": .integer(1),
            ])
        let outcome = try maker.entry(
            "outcome",
            [
                "outcome": .string("immediate-protection"), "rationale": .string("father on his way\nto collect"),
                "measures": .array([.string("police-protection")]), "by": .string("Pat EDT"),
                "role": .string("EDT social worker"), "at": .string("2026-12-01T22:00:00Z"),
            ], to: id)
        try maker.entry(
            "conversation",
            [
                "text": .string("Spoke to the ward sister"), "by": .string("Pat EDT"),
                "role": .string("EDT social worker"),
                "at": .string("2026-12-01T21:30:00Z"),
            ], to: id)
        try maker.entry(
            "acknowledgement",
            [
                "method": .string("phone"), "by": .string("Pat EDT"), "role": .string("EDT social worker"),
                "at": .string("2026-12-01T21:10:00Z"),
            ], to: id)
        // A later action, after the opening, is the day team's, not the EDT's.
        try maker.entry(
            "note", ["text": .string("day team note"), "at": .string("2026-12-02T10:00:00Z")], to: id)
        // Two laptops wrote the concern concurrently.
        var other = try CaseMaker(device: "edt-laptop-b")
        other.laptop.merge(maker.laptop)
        maker.laptop.write(.string("Concern A <first>"), to: try FieldPath("concern"), in: id)
        other.laptop.write(.string("Concern B"), to: try FieldPath("concern"), in: id)
        maker.laptop.merge(other.laptop)

        let handover = try package(Self.reading, at: "2026-12-01T22:30:00Z", maker.records)
        try expectCanonicalJSON(handover)
        let item = try #require(handover.cases.first)
        #expect(item.homeAuthority == Self.slough)
        // The home authority is recorded but the case was never forwarded: no state, and a task.
        #expect(item.crossAuthority == nil)
        #expect(item.openTasks.contains { $0.kind == .forwardToHome && $0.field == "homeAuthority" })
        #expect(item.summary.childSafeNow == false)
        #expect(item.summary.immediateProtection == true)
        #expect(item.summary.concern == "Concern A <first> | Concern B")
        #expect(item.summary.children.map(\.location) == ["Royal Berkshire Hospital, ward 5", nil])
        #expect(item.summary.children.last?.ageEstimate == 1)
        #expect(item.uncertain.contains("concern"))
        #expect(item.conflicts == ["concern"])

        #expect(item.actionsTaken.map(\.kind) == ["acknowledgement", "conversation", "outcome"])
        let protection = try #require(item.actionsTaken.last)
        #expect(protection.entry == outcome)
        #expect(protection.measures == ["police-protection"])
        #expect(
            protection.text
                == "Outcome immediate-protection (measures: police-protection); rationale: father on his way to collect"
        )
        #expect(protection.by == "Pat EDT")

        let tasks = item.openTasks.map(\.kind.name)
        #expect(
            tasks.starts(with: [
                "authorise-outcome", "hold-strategy-discussion", "await-written-confirmation", "check-record",
                "resolve-conflict",
            ]))
        #expect(item.openTasks.contains { $0.kind == .supplyInformation && $0.field == "family" })
        #expect(!item.openTasks.contains { $0.kind == .supplyInformation && $0.field == "writtenConfirmation" })
        #expect(item.missingInformation.contains("family"))

        let names = item.deadlines.map(\.name)
        #expect(names.contains(.hostHomeEscalation))
        #expect(names.contains(.writtenConfirmation))
        #expect(!names.contains(.acknowledge))  // met by the acknowledgement
        #expect(item.routedTo.destination == .frontDoor)

        // Home the same as host: no cross-authority state.
        var same = try CaseMaker()
        try same.referral("same", received: "2026-12-01T21:00:00Z", fields: ["homeAuthority": .string(Self.reading)])
        let sameCase = try #require(try package(Self.reading, at: "2026-12-01T22:30:00Z", same.records).cases.first)
        #expect(sameCase.crossAuthority == nil)
        #expect(!sameCase.openTasks.contains { $0.kind == .checkRecord })
        #expect(members(sameCase.json)["crossAuthority"] == .null)
    }

    @Test func aMissingRecordCheckIsAnOpenTask() throws {
        var maker = try CaseMaker()
        try maker.referral("unchecked", received: "2026-12-01T21:00:00Z", fields: ["recordCheck": nil])
        let item = try #require(try package(Self.reading, at: "2026-12-01T22:00:00Z", maker.records).cases.first)
        #expect(item.openTasks.filter { $0.kind == .checkRecord }.count == 1)
        #expect(!item.openTasks.contains { $0.kind == .supplyInformation && $0.field == "recordCheck" })
        #expect(item.missingInformation.contains("recordCheck"))
    }

    // MARK: - JSON

    @Test func theJSONKeepsTheContractsKeysAndTheDeadlineShape() throws {
        var maker = try CaseMaker()
        let id = try maker.referral(
            "keys", received: "2026-12-01T21:00:00Z", fields: ["homeAuthority": .string(Self.wokingham)])
        let handover = try package(Self.reading, at: "2026-12-01T22:00:00Z", maker.records)
        let json = members(try JSONPayload.read(handover.jsonBytes()[...]))
        #expect(Set(["authority", "opensAt", "cases"]).isSubset(of: json.keys))
        #expect(json["authority"] == .string(Self.reading))
        #expect(json["opensAt"] == .string("2026-12-02T09:00:00Z"))
        let item = members(items(json["cases"]).first)
        let contract = [
            "id", "receivedAt", "deadlines", "openTasks", "crossAuthority", "routedTo", "carriedOver", "overdue",
        ]
        #expect(Set(contract).isSubset(of: item.keys))
        #expect(Set(["summary", "actionsTaken", "missingInformation", "conflicts"]).isSubset(of: item.keys))
        #expect(item["id"] == .string("keys"))
        #expect(item["receivedAt"] == .string("2026-12-01T21:00:00Z"))
        // The home authority recorded, never forwarded: no state.
        #expect(item["crossAuthority"] == .null)
        try maker.forward(id, from: Self.reading, to: Self.wokingham, at: "2026-12-01T21:05:00Z")
        let forwarded = members(
            items(
                members(
                    try JSONPayload.read(
                        try package(Self.reading, at: "2026-12-01T22:00:00Z", maker.records).jsonBytes()[...]))["cases"]
            ).first)
        let cross = members(forwarded["crossAuthority"])
        #expect(
            Set(cross.keys) == ["host", "home", "state", "responsible", "escalatesAt", "agreedHostLeads", "history"])
        #expect(cross["host"] == .string(Self.reading))
        #expect(cross["home"] == .string(Self.wokingham))
        #expect(cross["state"] == .string("forwardedToHome"))
        #expect(cross["escalatesAt"] == .string("2026-12-02T21:00:00Z"))
        #expect(Set(members(item["routedTo"]).keys) == ["destination", "name", "team", "rule", "child", "reason"])
        #expect(members(item["routedTo"])["rule"] == .string("front-door"))
        // The deadlines have the shape the laptop and the centre print, from the same report.
        let record = try #require(maker.records.first { $0.id == id })
        let report = try DeadlineReport(record: record, authorities: .shipped, at: handover.opensAt)
        #expect(item["deadlines"] == DeadlineJSON.deadlines(report.deadlines.filter { $0.status != .met }))
        for task in items(item["openTasks"]) {
            #expect(Set(members(task).keys) == ["task", "entry", "field", "summary"])
        }
    }

    @Test func aPackageWhoseWriteFailsIsWrittenNoFurther() throws {
        var maker = try CaseMaker()
        for index in 0..<300 {
            try maker.referral("case-\(index)", received: "2026-12-01T2\(index % 2):\(10 + index % 50):00Z")
        }
        let package = try package(Self.reading, at: "2026-12-01T22:00:00Z", maker.records)
        struct Full: Error {}
        let writes = Mutex(0)
        #expect(throws: Full.self) {
            try package.writeJSON { _ in
                // The head and the first run are written; the third write (a comma) fails.
                let count = writes.withLock { count in
                    count += 1
                    return count
                }
                if count == 3 { throw Full() }
            }
        }
        #expect(writes.withLock { $0 } == 3)
    }

    @Test func thePackageIsTheSameBytesForTheSameInput() throws {
        var maker = try CaseMaker()
        // Enough cases that they are read, built and written in several runs across the cores.
        for index in 0..<200 {
            let minute = index % 60 < 10 ? "0\(index % 60)" : "\(index % 60)"
            // Pairs received at the same instant are ordered by id.
            try maker.referral(
                "case-\(199 - index)", received: "2026-12-01T2\(index % 4):\(minute):00Z",
                fields: ["children.c00000001.earlyHelpWorker": index % 3 == 0 ? .string("Erin") : nil])
            try maker.referral("twin-\(index)", received: "2026-12-01T20:00:00Z")
        }
        let records = maker.records
        let first = try package(Self.reading, at: "2026-12-01T22:00:00Z", records)
        let second = try package(Self.reading, at: "2026-12-01T22:00:00Z", records.reversed())
        #expect(first.jsonBytes() == second.jsonBytes())
        // Written a case at a time, the bytes are the canonical JSON of the whole value.
        var whole: [UInt8] = []
        JSONPayload.write(first.json, to: &whole)
        #expect(first.jsonBytes() == whole)
        // Written out a stretch at a time as it is made, it is the same bytes.
        let streamed = Mutex<[UInt8]>([])
        try first.writeJSON { bytes in streamed.withLock { $0.append(contentsOf: bytes) } }
        #expect(streamed.withLock { $0 } == whole)
        #expect(first.html() == second.html())
        // The page holds each case once, in the package's order, numbered in turn.
        let page = first.html()
        var searchFrom = page.startIndex
        for (number, item) in first.cases.enumerated() {
            let line = "Case <strong>\(item.id.rawValue)</strong> (\(number + 1) of \(first.cases.count))"
            let found = try #require(page.range(of: line, range: searchFrom..<page.endIndex), "\(line)")
            searchFrom = found.upperBound
        }
        #expect(page.components(separatedBy: "<section class=\"case\">").count == first.cases.count + 1)
        #expect(first == second)
        let order = first.cases.map { ($0.receivedAt.secondsSinceEpoch, $0.id.rawValue) }
        #expect(zip(order, order.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test func anActionIsShownOnOneLineWithinItsLimit() throws {
        var maker = try CaseMaker()
        let id = try maker.referral("lines", received: "2026-12-01T21:00:00Z")
        // "Conversation: " and the text: 240 characters at most, then an ellipsis.
        let fits = String(repeating: "x", count: 226)
        let over = String(repeating: "y", count: 227)
        let texts = [
            "Spoke to the ward sister", "  Spoke to\n\nmum   at 02:10\t", "Tab\there", "Ended with a space ",
            fits, over, String(repeating: "z ", count: 150), "Café  au\u{2003}lait\u{0007}done",
            "Cafe\u{7F}bar", "",
        ]
        for (minute, text) in texts.enumerated() {
            try maker.entry(
                "conversation",
                [
                    "text": .string(text), "by": .string("Pat EDT"), "role": .string("EDT social worker"),
                    "at": .string("2026-12-01T21:\(10 + minute):00Z"),
                ], to: id)
        }
        let item = try #require(try package(Self.reading, at: "2026-12-01T22:30:00Z", maker.records).cases.first)
        let lead = "Conversation: "
        let shown = item.actionsTaken.map(\.text)
        #expect(
            shown == [
                lead + "Spoke to the ward sister", lead + "Spoke to mum at 02:10", lead + "Tab here",
                lead + "Ended with a space", lead + fits, lead + over.dropLast() + "…",
                lead + String(repeating: "z ", count: 113) + "…", "Conversation: Café au lait done",
                lead + "Cafe bar", "Conversation",
            ])
    }

    @Test func aPackageBuiltABatchAtATimeIsThePackageBuiltWhole() throws {
        var maker = try CaseMaker()
        for index in 0..<300 {
            // Reading's cases of the night, one of Slough's, one received in office hours and one
            // that does not read as a referral, among them.
            let hour = index % 3 == 0 ? "2026-12-01T21" : "2026-12-01T23"
            try maker.referral("case-\(1_000 + index)", received: "\(hour):\(10 + index % 50):00Z")
        }
        try maker.referral("slough", received: "2026-12-01T21:00:00Z", host: Self.slough)
        try maker.referral("in-hours", received: "2026-12-01T11:00:00Z")
        // Its receipt is not an instant: it does not read as a referral.
        try maker.referral("not-a-referral", received: "last night")
        let records = maker.records
        let carried: Set<RecordID> = [try RecordID("case-1007")]
        let whole = try package(Self.reading, at: "2026-12-01T22:00:00Z", records, carriedOver: carried)
        let builder = try HandoverPackage.Builder(
            authority: Self.reading, at: at("2026-12-01T22:00:00Z"), carriedOver: carried, directory: .shipped,
            centreKey: centrePublicKey)
        // Batches of uneven sizes, read in any order on any thread, given back in order.
        var batches: [HandoverPackage.Builder.Batch] = []
        var start = 0
        for size in [1, 0, 97, 256, 256, records.count] where start < records.count {
            let end = min(records.count, start + size)
            batches.append(builder.read(records[start..<end]))
            start = end
        }
        #expect(batches.flatMap(\.ids) == records.map(\.id))
        let built = builder.package(batches)
        #expect(built == whole)
        #expect(built.jsonBytes() == whole.jsonBytes())
        #expect(built.cases.count == 300)
        #expect(built.unreadable == [try RecordID("not-a-referral")])
        // A case read twice is still handed over once.
        let twice = builder.package(batches + [builder.read(records.prefix(10))])
        #expect(twice == whole)
        // An unknown authority is refused before anything is read.
        #expect(throws: HandoverPackage.Unavailable.self) {
            try HandoverPackage.Builder(
                authority: "E99999999", at: at("2026-12-01T22:00:00Z"), directory: .shipped, centreKey: centrePublicKey)
        }
    }

    // MARK: - HTML

    @Test func theHTMLIsEscapedSelfContainedAndOneCaseToAPage() throws {
        var maker = try CaseMaker()
        try maker.referral(
            "hostile", received: "2026-12-01T21:00:00Z",
            fields: [
                "concern": .string("<script>alert('x')</script> & \"more\""),
                "children.c00000001.name": .string("<img src=x onerror=alert(1)>"),
            ])
        try maker.referral("second", received: "2026-12-01T22:00:00Z")
        let saturday = try maker.referral("old", received: "2026-11-28T02:00:00Z")
        let handover = try package(Self.reading, at: "2026-12-01T23:00:00Z", maker.records)
        #expect(handover.cases.first?.id == saturday)
        let html = handover.html()
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;"))
        #expect(html.contains("&lt;img src=x onerror=alert(1)&gt;"))
        // Nothing to fetch.
        for banned in ["http:", "https:", "src=\"", "href=", "<link", "@import", "url(", "@font-face"] {
            #expect(!html.contains(banned), "\(banned)")
        }
        // One section per case, each a printed page with its own header.
        #expect(html.contains("break-after: page"))
        let sections = html.components(separatedBy: "<section class=\"case\">").dropFirst()
        #expect(sections.count == 3)
        for (section, item) in zip(sections, handover.cases) {
            #expect(section.hasPrefix("\n<header class=\"page\">"))
            #expect(section.contains("Reading (E06000038)"))
            #expect(section.contains("2026-12-02T09:00:00Z"))
            #expect(section.contains("Case <strong>\(item.id.rawValue)</strong>"))
        }
        // Overdue said in words, not colour.
        #expect(sections.first?.contains("<span class=\"flag\">OVERDUE</span>") == true)
        #expect(sections.first?.contains("<span class=\"overdue\">OVERDUE</span>") == true)
        #expect(!html.contains("color: red"))
    }

    @Test func anEmptyPackageSaysSo() throws {
        let handover = try package(Self.reading, at: "2026-12-01T22:00:00Z", [])
        #expect(handover.cases.isEmpty)
        #expect(handover.html().contains("No cases to hand over."))
        #expect(
            String(decoding: handover.jsonBytes(), as: UTF8.self)
                == #"{"authority":"E06000038","authorityName":"Reading","cases":[],"frontDoor":"MASH","opensAt":"2026-12-02T09:00:00Z","outOfHoursFrom":"2026-12-01T17:00:00Z","unreadable":[]}"#
        )
    }

    @Test func anUnknownAuthorityHasNoPackage() {
        #expect(throws: HandoverPackage.Unavailable.self) {
            try package("E99999999", at: "2026-12-01T22:00:00Z", [])
        }
    }
}
