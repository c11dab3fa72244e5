import Handover
import Referrals
import Replication
import Testing

/// Where a handed-over case goes inside the authority: each routing rule in turn, the 12-week
/// edge, the front door's name, and the rules as data.
@Suite("Handover routing")
struct HandoverRoutingTests {
    static let reading = CaseMaker.reading
    static let worker = "children.c00000001.allocatedSocialWorker."
    /// Received on Tuesday 1 December 2026; 84 days before is Tuesday 8 September 2026.
    static let received = "2026-12-01T20:00:00Z"

    /// The route of a Reading case with `fields` and the `entries` given.
    static func route(
        _ fields: [String: FieldValue?], entries: [(String, [String: FieldValue])] = [],
        directory: AuthorityDirectory = .shipped, routing: RoutingRules = .shipped
    ) throws -> Route {
        var maker = try CaseMaker()
        let id = try maker.referral("routed", received: received, fields: fields)
        for (kind, payload) in entries { try maker.entry(kind, payload, to: id) }
        let handover = try package(
            reading, at: "2026-12-01T22:00:00Z", maker.records, directory: directory, routing: routing)
        return try #require(handover.cases.first).routedTo
    }

    static let allocation: [String: FieldValue?] = [
        worker + "name": .string("Sam Social"), worker + "team": .string("Assessment Team 2"),
    ]

    @Test func aCurrentAllocationGoesToTheWorkersTeam() throws {
        let route = try Self.route(Self.allocation)
        #expect(route.rule == .allocatedSocialWorker)
        #expect(route.destination == .team)
        #expect(route.team == "Assessment Team 2")
        #expect(route.name == "Sam Social")
        #expect(route.child == "c00000001")
        // An allocation ending after the receipt date is still current.
        var ending = Self.allocation
        ending[Self.worker + "closedOn"] = .string("2026-12-02")
        #expect(try Self.route(ending).rule == .allocatedSocialWorker)
        // It comes before early help.
        ending["children.c00000001.earlyHelpWorker"] = .string("Erin Early")
        #expect(try Self.route(ending).rule == .allocatedSocialWorker)
    }

    @Test func earlyHelpTakesTheCaseUnlessHarmIsAlleged() throws {
        let early: [String: FieldValue?] = ["children.c00000001.earlyHelpWorker": .string("Erin Early")]
        let route = try Self.route(early)
        #expect(route.rule == .earlyHelp)
        #expect(route.destination == .worker)
        #expect(route.name == "Erin Early")
        // Any sign of harm sends it to the front door instead.
        for harm: [String: FieldValue?] in [
            ["allegations": .string("hit with a belt")], ["immediateProtection": .bool(true)],
            ["childSafeNow": .bool(false)],
        ] {
            let route = try Self.route(early.merging(harm) { $1 })
            #expect(route.rule == .frontDoor, "\(harm)")
        }
        #expect(try Self.route(early.merging(["childSafeNow": .bool(true)]) { $1 }).rule == .earlyHelp)
        for outcome in ["strategy-discussion", "immediate-protection"] {
            var payload: [String: FieldValue] = [
                "outcome": .string(outcome), "rationale": .string("r"), "at": .string("2026-12-01T21:00:00Z"),
            ]
            if outcome == "immediate-protection" { payload["measures"] = .array([.string("abuser-left")]) }
            #expect(try Self.route(early, entries: [("outcome", payload)]).rule == .frontDoor, "\(outcome)")
        }
        let advice: [String: FieldValue] = [
            "outcome": .string("early-help"), "rationale": .string("r"), "at": .string("2026-12-01T21:00:00Z"),
        ]
        #expect(try Self.route(early, entries: [("outcome", advice)]).rule == .earlyHelp)
    }

    @Test func anAllocationEndedWithinTwelveWeeksGoesBackToThePreviousTeam() throws {
        func closed(_ date: String) throws -> Route {
            var fields = Self.allocation
            fields[Self.worker + "closedOn"] = .string(date)
            return try Self.route(fields)
        }
        // Exactly 84 days before the receipt date: still recent.
        let edge = try closed("2026-09-08")
        #expect(edge.rule == .recentAllocation)
        #expect(edge.destination == .team)
        #expect(edge.team == "Assessment Team 2")
        // 85 days: the front door.
        let beyond = try closed("2026-09-07")
        #expect(beyond.rule == .frontDoor)
        #expect(beyond.destination == .frontDoor)
        #expect(beyond.name == "MASH")
        // Ended on the very day of the referral: not current, but recent.
        #expect(try closed("2026-12-01").rule == .recentAllocation)
    }

    @Test func aConflictedAllocationIsNotTrusted() throws {
        var maker = try CaseMaker()
        let id = try maker.referral("conflicted", received: Self.received, fields: Self.allocation)
        var other = try CaseMaker(device: "edt-laptop-b")
        other.laptop.merge(maker.laptop)
        maker.laptop.write(.string("2026-11-30"), to: try FieldPath(Self.worker + "closedOn"), in: id)
        other.laptop.write(.string("2025-01-01"), to: try FieldPath(Self.worker + "closedOn"), in: id)
        maker.laptop.merge(other.laptop)
        let item = try #require(try package(Self.reading, at: "2026-12-01T22:00:00Z", maker.records).cases.first)
        #expect(item.routedTo.rule == .frontDoor)
        #expect(item.uncertain.contains(Self.worker + "closedOn"))
    }

    @Test func theFrontDoorIsNamedPerAuthority() throws {
        let directory = try AuthorityDirectory.shipped.applying(
            operatorFile: "[authority E06000038]\nfront-door = Reading Children's Single Point of Access\n",
            source: "reading.conf")
        #expect(directory.authority(Self.reading)?.profile.frontDoor == "Reading Children's Single Point of Access")
        let route = try Self.route([:], directory: directory)
        #expect(route.destination == .frontDoor)
        #expect(route.name == "Reading Children's Single Point of Access")
        #expect(try Self.route([:]).name == "MASH")
        #expect(throws: DirectoryError.self) {
            try AuthorityDirectory.shipped.applying(operatorFile: "[authority E06000038]\nfront-door =\n", source: "f")
        }
    }

    @Test func theRulesAreData() throws {
        let shipped = RoutingRules.shipped
        #expect(shipped.rules == [.allocatedSocialWorker, .earlyHelp, .recentAllocation, .frontDoor])
        #expect(shipped.defaultFrontDoor == "MASH")
        #expect(shipped.recentAllocationDays == 84)
        // Reordered: early help before the allocated worker.
        let reordered = try RoutingRules(
            json: Array(
                #"{"defaultFrontDoor": "Duty", "recentAllocationDays": 28, "rules": [{"rule": "early-help"}, {"rule": "allocated-social-worker"}]}"#
                    .utf8))
        var both = Self.allocation
        both["children.c00000001.earlyHelpWorker"] = .string("Erin Early")
        #expect(try Self.route(both, routing: reordered).rule == .earlyHelp)
        // No rule takes it: the front door, by the default name.
        let fallback = try Self.route([:], routing: reordered)
        #expect(fallback.rule == .frontDoor)
        #expect(fallback.name == "Duty")
        #expect(throws: RoutingRules.Invalid.self) {
            try RoutingRules(
                json: Array(
                    #"{"defaultFrontDoor": "MASH", "recentAllocationDays": 84, "rules": [{"rule": "coin-toss"}]}"#.utf8)
            )
        }
    }
}
