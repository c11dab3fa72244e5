import Testing

@testable import Replication

@Suite("Replicas, entries and deltas")
struct ReplicaTests {
    let id = Make.record("case-1")

    @Test func writesUseConsecutiveDotsOfTheReplicasDevice() {
        var replica = Replica(device: Make.device("a"))
        let first = replica.write(.string("x"), to: Make.path("concern"), in: id)
        let second = replica.write(.string("y"), to: Make.path("concern"), in: id)
        #expect(first == Make.dot("a", 1))
        #expect(second == Make.dot("a", 2))
        #expect(replica.knowledge == Make.vector(["a": 2]))
    }

    @Test func entriesAreImmutableAndMergedByUnion() throws {
        var a = Replica(device: Make.device("a"))
        var b = Replica(device: Make.device("b"))
        let noteA = try a.append(kind: "note", payload: .string("called police"), to: id)
        let noteB = try b.append(kind: "decision", payload: .object(["text": .string("EPO")]), to: id)
        a.merge(b)
        b.merge(a)
        a.merge(b)
        #expect(a[id]?.entries.map(\.dot) == [noteA, noteB])
        #expect(a.digest() == b.digest())
    }

    @Test func badEntriesAreRefusedAndChangeNothing() {
        var replica = Replica(device: Make.device("a"))
        #expect(throws: ReplicationError.invalidEntryKind("Decision")) {
            try replica.append(kind: "Decision", payload: .null, to: id)
        }
        #expect(throws: ReplicationError.invalidEntryKind("")) {
            try replica.append(kind: "", payload: .null, to: id)
        }
        #expect(throws: ReplicationError.nonFiniteNumber) {
            try replica.append(kind: "note", payload: .array([.double(.nan)]), to: id)
        }
        #expect(throws: ReplicationError.nonFiniteNumber) { try FieldValue.number(.infinity) }
        #expect(replica.records.isEmpty)
        #expect(replica.knowledge.isEmpty, "a refused entry must not use up a dot")
    }

    @Test func numbersAreNormalised() throws {
        #expect(try FieldValue.number(3) == .integer(3))
        #expect(try FieldValue.number(2.5) == .double(2.5))
    }

    @Test func aDeltaCarriesExactlyWhatTheOtherSideLacks() {
        var a = Replica(device: Make.device("a"))
        for n in 0..<20 {
            for field in ["concern", "channel", "children.c1.name"] {
                a.write(.string("\(field) \(n)"), to: Make.path(field), in: Make.record("case-\(n)"))
            }
        }
        var b = Replica(device: Make.device("b"))
        let first = a.delta(since: b.knowledge)
        #expect(first.records.count == 20)
        #expect(first.fieldCount == 60)
        #expect(b.apply(first) == DeltaOutcome(changedRecords: 20, advancedKnowledge: true))
        #expect(b.digest() == a.digest())

        #expect(a.delta(since: b.knowledge).isEmpty, "nothing is sent when nothing changed")
        a.write(.string("new"), to: Make.path("channel"), in: Make.record("case-7"))
        let second = a.delta(since: b.knowledge)
        #expect(second.records.map(\.id) == [Make.record("case-7")])
        #expect(second.records.first?.fields.map(\.path) == [Make.path("channel")])
        #expect(second.fieldCount == 1)
    }

    @Test func applyingADeltaTwiceChangesNothingTheSecondTime() {
        var a = Replica(device: Make.device("a"))
        var b = Replica(device: Make.device("b"))
        a.write(.string("x"), to: Make.path("concern"), in: id)
        let delta = a.delta(since: b.knowledge)
        b.apply(delta)
        let after = b.digest()
        #expect(b.apply(delta).changedRecords == 0)
        #expect(b.digest() == after)
    }

    @Test func anOutOfOrderDeltaMergesContentButDoesNotClaimWhatWasSkipped() {
        var a = Replica(device: Make.device("a"))
        var b = Replica(device: Make.device("b"))
        a.write(.string("first"), to: Make.path("concern"), in: id)
        let d1 = a.delta(since: b.knowledge)
        // a believes b got d1 and computes the next delta against that.
        var assumed = b
        assumed.apply(d1)
        a.write(.string("second"), to: Make.path("channel"), in: id)
        let d2 = a.delta(since: assumed.knowledge)
        #expect(d2.fieldCount == 1)

        let outcome = b.apply(d2)  // d1 was lost
        #expect(outcome == DeltaOutcome(changedRecords: 1, advancedKnowledge: false))
        #expect(b.knowledge.isEmpty, "b must not claim to have seen the lost delta's write")
        #expect(b.read(Make.path("channel"), in: id)?.values == [.string("second")])
        // The next delta, against b's real knowledge, brings what was lost.
        b.apply(a.delta(since: b.knowledge))
        #expect(b.digest() == a.digest())
        #expect(b.knowledge == a.knowledge)
    }

    @Test func deltasStayCorrectAfterTheChangeIndexIsCompacted() {
        var a = Replica(device: Make.device("a"))
        var b = Replica(device: Make.device("b"))
        let ids = (0..<10).map { Make.record("case-\($0)") }
        for round in 0..<600 {
            for id in ids { a.write(.integer(Int64(round)), to: Make.path("concern"), in: id) }
            if round % 97 == 0 { b.apply(a.delta(since: b.knowledge)) }
        }
        b.merge(Replica(device: Make.device("c")))  // a merge compacts the index (writes do too)
        a.merge(Replica(device: Make.device("c")))
        let delta = a.delta(since: b.knowledge)
        #expect(delta.records.count == 10)
        b.apply(delta)
        #expect(b.digest() == a.digest())
        #expect(a.delta(since: b.knowledge).isEmpty)
    }

    @Test func theDigestIsCanonicalWhateverTheOrderOfWrites() {
        var a = Replica(device: Make.device("a"))
        var b = Replica(device: Make.device("b"))
        a.write(.object(["z": .integer(1), "a": .bool(true)]), to: Make.path("x"), in: Make.record("r1"))
        b.write(.string("y"), to: Make.path("y"), in: Make.record("r2"))
        var ab = a
        ab.merge(b)
        var ba = b
        ba.merge(a)
        #expect(ab.canonicalEncoding() == ba.canonicalEncoding())
        #expect(ab.digest() == ba.digest())
        #expect(ab.digest().count == 64)
        #expect(ab.digest() != a.digest())
        #expect(
            Replica(device: Make.device("a")).digest() == Replica(device: Make.device("b")).digest(),
            "an empty replica has one digest whatever its device")
    }

    @Test func theDigestChangesWithAnyValue() {
        var a = Replica(device: Make.device("a"))
        a.write(.string("Reading"), to: Make.path("children.c1.location"), in: id)
        var b = Replica(device: Make.device("a"))
        b.write(.string("Readinh"), to: Make.path("children.c1.location"), in: id)
        #expect(a.digest() != b.digest())
    }

    @Test func recordsBuiltFromWirePartsAreOrderIndependent() throws {
        let register = try #require(
            MultiValueRegister(
                siblings: [
                    .init(dot: Make.dot("b", 1), value: .string("B")),
                    .init(dot: Make.dot("a", 1), value: .string("A")),
                ],
                context: VersionVector()))
        #expect(
            MultiValueRegister(siblings: [], context: Make.vector(["a": 1])) == nil, "a register always holds a value")
        #expect(register.siblings.map(\.dot) == [Make.dot("a", 1), Make.dot("b", 1)])
        #expect(register.context == Make.vector(["a": 1, "b": 1]), "the context covers its own siblings")
        let entry = try Entry(dot: Make.dot("a", 2), kind: "note", payload: .null)
        let one = Record(
            id: id,
            fields: [.init(path: Make.path("y"), register: register), .init(path: Make.path("x"), register: register)],
            entries: [entry, entry])
        let two = Record(
            id: id,
            fields: [.init(path: Make.path("x"), register: register), .init(path: Make.path("y"), register: register)],
            entries: [entry])
        #expect(one == two)
        #expect(one.fields.map(\.path) == [Make.path("x"), Make.path("y")])
        #expect(one.entries.count == 1)
    }
}
