import Crypto
import Handover
import Referrals
import Replication
import Testing

/// A case between host and home authorities in both authorities' handover packages: the state
/// and every act as they stood at the opening, the home authority's package holding the case
/// only once it was forwarded by a recorded act, and a task for whatever waits.
@Suite("Host and home authorities in the handover packages")
struct CrossAuthorityPackageTests {
    static let slough = CaseMaker.slough
    static let hampshire = "E10000014"

    /// An act of the centre (signed with the tests' centre key, at the centre's dot).
    func centreAct(
        _ verb: CrossAuthorityAct.Verb, on id: RecordID, authority: String?, at time: String,
        reference: String? = nil, lead: String? = nil, in maker: inout CaseMaker
    ) throws {
        maker.centre.merge(maker.laptop)
        let act = try CrossAuthorityAct(
            verb: verb, authority: authority, by: try ReferralEntry.Author(name: "Sam Senior", role: "Head of service"),
            at: at(time), recordedAt: at(time), device: maker.centre.device, reference: reference, lead: lead)
        let signed = try CrossAuthorityAct.sign(act.payload, record: id) { Array(try centreKey.signature(for: $0)) }
        try maker.centre.append(kind: CrossAuthorityAct.kind, payload: .object(signed), to: id)
        maker.laptop.merge(maker.centre)
    }

    @Test func aForwardedCaseIsInBothPackagesWithItsStateAtTheOpening() throws {
        var maker = try CaseMaker()
        // Friday night in Slough; the child lives in Hampshire.
        let id = try maker.referral(
            "friday", received: "2026-12-04T22:40:00Z", host: Self.slough,
            fields: ["homeAuthority": .string(Self.hampshire)])
        // The home authority recorded but not forwarded: Hampshire's package does not hold it.
        #expect(try package(Self.hampshire, at: "2026-12-07T09:00:00Z", maker.records).cases.isEmpty)
        let unforwarded = try #require(try package(Self.slough, at: "2026-12-07T09:00:00Z", maker.records).cases.first)
        #expect(unforwarded.crossAuthority == nil)
        #expect(unforwarded.openTasks.contains { $0.kind == .forwardToHome })

        try maker.forward(id, from: Self.slough, to: Self.hampshire, at: "2026-12-04T23:00:00Z")
        // Monday's opening: 24 hours from the referral passed on Saturday with no answer.
        for authority in [Self.slough, Self.hampshire] {
            let monday = try package(authority, at: "2026-12-07T09:00:00Z", maker.records)
            let item = try #require(monday.cases.first, "\(authority)'s package holds the case")
            let cross = try #require(item.crossAuthority)
            #expect(cross.machine.state == .escalatedToSeniorManagers)
            #expect(cross.machine.home == Self.hampshire)
            #expect(cross.steps.map(\.party) == [.host, .clock])
            #expect(cross.steps.last?.at == at("2026-12-05T22:40:00Z"))
            #expect(
                item.openTasks.contains { $0.kind == .settleResponsibility && $0.summary.contains("senior managers") })
            // The matter went to senior managers within the 24 hours: that deadline is met.
            #expect(!item.deadlines.contains { $0.name == .hostHomeEscalation })
            let json = members(members(item.json)["crossAuthority"])
            #expect(json["state"] == .string("escalatedToSeniorManagers"))
            #expect(json["responsible"] == .string(Self.slough))
            #expect(items(json["history"]).count == 2)
            let html = monday.html()
            #expect(html.contains("escalatedToSeniorManagers"))
            try expectCanonicalJSON(monday)
        }

        // Senior managers decide on Monday at 10:00 that Hampshire leads.
        try centreAct(
            .decide, on: id, authority: Self.hampshire, at: "2026-12-07T10:00:00Z", reference: "SM/2026/7",
            lead: "home", in: &maker)
        // Monday's packages, built again, are as they were at 09:00: the decision came after.
        let again = try #require(try package(Self.hampshire, at: "2026-12-07T09:00:00Z", maker.records).cases.first)
        #expect(again.crossAuthority?.machine.state == .escalatedToSeniorManagers)
        // Tuesday: settled, Hampshire responsible. Hampshire's day team answered it, so its
        // package no longer holds it; Slough's still does, until its own day team accepts.
        #expect(try package(Self.hampshire, at: "2026-12-08T09:00:00Z", maker.records).cases.isEmpty)
        let tuesday = try #require(try package(Self.slough, at: "2026-12-08T09:00:00Z", maker.records).cases.first)
        #expect(tuesday.crossAuthority?.machine.state == .homeResponsible)
        #expect(tuesday.crossAuthority?.machine.responsible == Self.hampshire)
        try expectCanonicalJSON(try package(Self.slough, at: "2026-12-08T09:00:00Z", maker.records))
        #expect(!tuesday.openTasks.contains { $0.kind == .settleResponsibility })
    }

    @Test func anActSignedByAnotherKeyCountsForNothingInAPackage() throws {
        var maker = try CaseMaker()
        // A Tuesday night: the escalation is due on Wednesday at 22:40, after the opening.
        let id = try maker.referral("forged", received: "2026-12-01T22:40:00Z", host: Self.slough)
        try maker.forward(id, from: Self.slough, to: Self.hampshire, at: "2026-12-01T23:00:00Z")
        // An acceptance at the centre's dot but signed by a key that is not the centre's.
        maker.centre.merge(maker.laptop)
        let act = try CrossAuthorityAct(
            verb: .accept, authority: Self.hampshire, by: try ReferralEntry.Author(name: "Mal", role: "Impostor"),
            at: at("2026-12-01T23:30:00Z"), recordedAt: at("2026-12-01T23:30:00Z"), device: maker.centre.device,
            reference: "FAKE")
        let forger = Curve25519.Signing.PrivateKey()
        let signed = try CrossAuthorityAct.sign(act.payload, record: id) { Array(try forger.signature(for: $0)) }
        try maker.centre.append(kind: CrossAuthorityAct.kind, payload: .object(signed), to: id)
        maker.laptop.merge(maker.centre)

        let item = try #require(try package(Self.hampshire, at: "2026-12-02T09:00:00Z", maker.records).cases.first)
        #expect(item.crossAuthority?.machine.state == .forwardedToHome)
        #expect(item.crossAuthority?.steps.count == 1, "the forged acceptance is not an act at all")
    }
}

extension CaseMaker {
    /// The host's forwarding of `id` from `host` to `home`, at the laptop's own dot, signed with
    /// a laptop key (a device's entry is checked where it arrives, not in the package).
    mutating func forward(_ id: RecordID, from host: String, to home: String, at time: String) throws {
        let act = try CrossAuthorityAct(
            verb: .forward, authority: host, by: try ReferralEntry.Author(name: "Pat EDT", role: "EDT social worker"),
            at: at(time), recordedAt: at(time), device: laptop.device, home: home)
        let laptopKey = Curve25519.Signing.PrivateKey()
        let signed = try CrossAuthorityAct.sign(act.payload, record: id) { Array(try laptopKey.signature(for: $0)) }
        try laptop.append(kind: CrossAuthorityAct.kind, payload: .object(signed), to: id)
    }
}
