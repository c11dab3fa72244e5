import Testing

@testable import Replication

/// A part's claims about other devices' writes are accepted only when the receiver holds them:
/// the attacks an enrolled device made with forged contexts, values and entries.
@Suite("Unproven claims")
struct UnprovenClaimTests {
    let id = Make.record("case-1")
    let location = Make.path("location")
    let a = Make.device("edt-laptop-a")
    let b = Make.device("edt-laptop-b")
    let x = Make.device("edt-laptop-x")

    static let heldDecision: Entry = {
        guard
            let entry = try? Entry(
                dot: Make.dot("edt-laptop-b", 5), kind: "decision", payload: .string("Place tonight"))
        else { preconditionFailure("bad test entry") }
        return entry
    }()

    /// The case as the receiver holds it: laptop B wrote the location at B:4 (having seen B:2).
    var held: Record {
        Record(
            id: id,
            fields: [
                Record.Field(
                    path: location,
                    register: MultiValueRegister(
                        sibling: .init(dot: Make.dot("edt-laptop-b", 4), value: .string("Station")),
                        context: Make.vector(["edt-laptop-b": 4])))
            ],
            entries: [Self.heldDecision])
    }

    func part(value: FieldValue, dot: Dot, context: [String: UInt64], entries: [Entry] = []) -> Record {
        Record(
            id: id,
            fields: [
                Record.Field(
                    path: location,
                    register: MultiValueRegister(sibling: .init(dot: dot, value: value), context: Make.vector(context)))
            ],
            entries: entries)
    }

    @Test func theSendersOwnWritesNeedNoBacking() {
        let own = part(value: .string("Home"), dot: Make.dot("edt-laptop-x", 9_000), context: ["edt-laptop-x": 9_000])
        #expect(own.unprovenClaim(from: x, heldBy: nil) == nil)
        #expect(own.unprovenClaim(from: x, heldBy: held) == nil)
    }

    @Test func anOverwriteOfWhatTheReceiverHoldsIsAccepted() {
        // X saw B:4 (it pulled it) and replaced it: the everyday case.
        let overwrite = part(
            value: .string("Home"), dot: Make.dot("edt-laptop-x", 1), context: ["edt-laptop-b": 4, "edt-laptop-x": 1])
        #expect(overwrite.unprovenClaim(from: x, heldBy: held) == nil)
        // A whole copy carrying B's held value and entry back is accepted too.
        var copy = held
        copy.formJoin(overwrite)
        #expect(copy.unprovenClaim(from: x, heldBy: held) == nil)
    }

    @Test func aContextClaimingAColleaguesFutureWritesIsRefused() {
        // The attack: claim laptop B's writes up to the largest counter, so B's next edits vanish.
        let forged = part(
            value: .string("Elsewhere"), dot: Make.dot("edt-laptop-x", 1),
            context: ["edt-laptop-b": Dot.maximumCounter, "edt-laptop-x": 1])
        #expect(
            forged.unprovenClaim(from: x, heldBy: held)
                == .unseenWrites(path: location, device: b, claimed: Dot.maximumCounter, held: 4))
        // And for a case the receiver never held.
        #expect(
            forged.unprovenClaim(from: x, heldBy: nil)
                == .unseenWrites(path: location, device: b, claimed: Dot.maximumCounter, held: 0))
        // Only one write beyond is enough to be refused.
        let justBeyond = part(
            value: .string("Elsewhere"), dot: Make.dot("edt-laptop-x", 1),
            context: ["edt-laptop-b": 5, "edt-laptop-x": 1])
        #expect(justBeyond.unprovenClaim(from: x, heldBy: held) != nil)
    }

    @Test func aValueStampedWithAColleaguesDotIsRefusedUnlessHeldAsItIs() {
        // X writes as B, at B's next dot: refused.
        let forgedNext = part(
            value: .string("Elsewhere"), dot: Make.dot("edt-laptop-b", 6), context: ["edt-laptop-b": 6])
        #expect(
            forgedNext.unprovenClaim(from: x, heldBy: held)
                == .foreignWrite(Make.dot("edt-laptop-b", 6), path: location))
        // X changes the value of B's held write B:4: refused.
        let altered = part(value: .string("Elsewhere"), dot: Make.dot("edt-laptop-b", 4), context: ["edt-laptop-b": 4])
        #expect(
            altered.unprovenClaim(from: x, heldBy: held) == .foreignWrite(Make.dot("edt-laptop-b", 4), path: location))
        // B's write exactly as held: accepted (X relays what the receiver already has).
        let same = part(value: .string("Station"), dot: Make.dot("edt-laptop-b", 4), context: ["edt-laptop-b": 4])
        #expect(same.unprovenClaim(from: x, heldBy: held) == nil)
        // An older write of B's the receiver has already seen replaced: harmless, accepted.
        let replaced = part(value: .string("Old"), dot: Make.dot("edt-laptop-b", 2), context: ["edt-laptop-b": 2])
        #expect(replaced.unprovenClaim(from: x, heldBy: held) == nil)
        // A write of A's when the receiver holds nothing of A: refused.
        let relayed = part(value: .string("Park"), dot: Make.dot("edt-laptop-a", 1), context: ["edt-laptop-a": 1])
        #expect(
            relayed.unprovenClaim(from: x, heldBy: held) == .foreignWrite(Make.dot("edt-laptop-a", 1), path: location))
        // ...and from A itself, accepted.
        #expect(relayed.unprovenClaim(from: a, heldBy: held) == nil)
    }

    @Test func anEntryForgedAtAColleaguesDotIsRefused() throws {
        // Pre-claiming B's next dot would hide B's real entry, which has the same identity.
        let forged = try Entry(
            dot: Make.dot("edt-laptop-b", 6), kind: "decision", payload: .string("No further action"))
        let withForged = Record(id: id, fields: [], entries: [forged])
        #expect(
            withForged.unprovenClaim(from: x, heldBy: held) == .foreignWrite(Make.dot("edt-laptop-b", 6), path: nil))
        // B's held entry with its payload changed.
        let altered = try Entry(
            dot: Make.dot("edt-laptop-b", 5), kind: "decision", payload: .string("No further action"))
        #expect(
            Record(id: id, fields: [], entries: [altered]).unprovenClaim(from: x, heldBy: held)
                == .foreignWrite(Make.dot("edt-laptop-b", 5), path: nil))
        // B's held entry as it is: accepted; and B's entry sent by B: accepted.
        let genuine = try Entry(dot: Make.dot("edt-laptop-b", 5), kind: "decision", payload: .string("Place tonight"))
        #expect(Record(id: id, fields: [], entries: [genuine]).unprovenClaim(from: x, heldBy: held) == nil)
        #expect(withForged.unprovenClaim(from: b, heldBy: held) == nil)
    }

    @Test func theRefusalSaysWhatWasClaimed() {
        let claim = UnprovenClaim.unseenWrites(path: location, device: b, claimed: 99, held: 4)
        #expect(claim.description.contains("edt-laptop-b:99"))
        #expect(claim.description.contains("edt-laptop-b:4"))
        #expect(UnprovenClaim.foreignWrite(Make.dot("edt-laptop-b", 6), path: nil).description.contains("entry"))
    }
}
