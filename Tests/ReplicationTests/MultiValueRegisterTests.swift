import Testing

@testable import Replication

@Suite("Multi-value registers")
struct MultiValueRegisterTests {
    let id = Make.record("case-1")
    let location = Make.path("children.c1.location")

    @Test func aWriteThatSawTheOtherValueReplacesIt() {
        var a = Replica(device: Make.device("a"))
        var b = Replica(device: Make.device("b"))
        a.write(.string("station"), to: location, in: id)
        b.merge(a)
        b.write(.string("foster carer"), to: location, in: id)  // saw "station"
        a.merge(b)
        #expect(a.read(location, in: id)?.values == [.string("foster carer")])
        #expect(a[id]?.conflictedPaths == [])
    }

    @Test func concurrentWritesAreBothKeptUntilAWriteCoversThem() {
        var a = Replica(device: Make.device("a"))
        var b = Replica(device: Make.device("b"))
        a.write(.string("station"), to: location, in: id)
        b.merge(a)
        a.write(.string("foster carer"), to: location, in: id)
        b.write(.string("grandmother"), to: location, in: id)
        a.merge(b)
        b.merge(a)
        for replica in [a, b] {
            #expect(replica.read(location, in: id)?.values == [.string("foster carer"), .string("grandmother")])
            #expect(replica[id]?.conflictedPaths == [location])
            #expect(replica.conflicts.count == 1)
        }
        // Resolving is a write whose context covers both values.
        b.write(.string("grandmother (agreed)"), to: location, in: id)
        a.merge(b)
        #expect(a.read(location, in: id)?.values == [.string("grandmother (agreed)")])
        #expect(a.conflicts.isEmpty)
        #expect(a.digest() == b.digest())
    }

    @Test func aRegisterHasASoleValueOnlyWhileItIsNotInConflict() throws {
        var a = Replica(device: Make.device("a"))
        var b = Replica(device: Make.device("b"))
        a.write(.string("station"), to: location, in: id)
        #expect(a[id]?.register(at: location)?.soleValue == .string("station"))
        b.merge(a)
        a.write(.null, to: location, in: id)
        b.write(.string("grandmother"), to: location, in: id)
        #expect(a[id]?.register(at: location)?.soleValue == .null)  // a value, though null
        a.merge(b)
        #expect(a[id]?.register(at: location)?.soleValue == nil)  // two values: none is the sole one
        a.write(.string("grandmother (agreed)"), to: location, in: id)
        #expect(a[id]?.register(at: location)?.soleValue == .string("grandmother (agreed)"))
        // Found by its path's text as by its path; nothing at a path never written, or at text
        // that is no path.
        let record = try #require(a[id])
        #expect(record.register(atPath: "children.c1.location") == record.register(at: location))
        #expect(record.register(atPath: "children.c1.location")?.soleValue == .string("grandmother (agreed)"))
        for other in ["children.c1", "children.c1.locations", "children.c0.location", "", "children..location"] {
            #expect(record.register(atPath: other) == nil, "\(other)")
        }
    }

    @Test func aWriteWithAStaleContextKeepsTheSibling() {
        var a = Replica(device: Make.device("a"))
        var b = Replica(device: Make.device("b"))
        a.write(.string("v1"), to: location, in: id)
        b.merge(a)
        let staleRead = b.read(location, in: id)  // b sees v1
        a.write(.string("v2"), to: location, in: id)  // a replaces v1 with v2
        b.merge(a)  // b now holds v2, but its user is still looking at v1
        b.write(.string("v3"), to: location, in: id, seen: staleRead?.context)
        #expect(
            b.read(location, in: id)?.values == [.string("v2"), .string("v3")],
            "v2 was never seen by the writer of v3, so it must stay")
        // A write with the current context supersedes all.
        let current = b.read(location, in: id)
        b.write(.string("v4"), to: location, in: id, seen: current?.context)
        #expect(b.read(location, in: id)?.values == [.string("v4")])
    }

    @Test func concurrentWritesToDifferentFieldsMergeCleanly() {
        var a = Replica(device: Make.device("a"))
        var b = Replica(device: Make.device("b"))
        a.write(.string("x"), to: Make.path("concern"), in: id)
        b.merge(a)
        a.write(.string("07700 900123"), to: Make.path("referrer.phone"), in: id)
        b.write(.string("Reading"), to: location, in: id)
        a.merge(b)
        b.merge(a)
        #expect(a.conflicts.isEmpty)
        #expect(a.read(Make.path("referrer.phone"), in: id)?.values == [.string("07700 900123")])
        #expect(a.read(location, in: id)?.values == [.string("Reading")])
        #expect(a.digest() == b.digest())
    }

    @Test func mergingAReplicaWithAnOlderCopyOfItselfYieldsTheNewer() throws {
        var replica = Replica(device: Make.device("a"))
        replica.write(.string("one"), to: location, in: id)
        try replica.append(kind: "note", payload: .string("first note"), to: id)
        let older = replica
        replica.write(.string("two"), to: location, in: id)
        try replica.append(kind: "note", payload: .string("second note"), to: id)
        replica.write(.integer(7), to: Make.path("children.c1.age"), in: Make.record("case-2"))
        let newer = replica

        var mergedIntoNewer = newer
        mergedIntoNewer.merge(older)
        var mergedIntoOlder = older
        mergedIntoOlder.merge(newer)
        #expect(mergedIntoNewer.digest() == newer.digest())
        #expect(mergedIntoOlder.digest() == newer.digest())
        #expect(mergedIntoOlder.read(location, in: id)?.values == [.string("two")])
        #expect(mergedIntoOlder.knowledge == newer.knowledge)
    }

    @Test func aResolutionWrittenOnOneSideIsNotUndoneByAConcurrentMergeOfOldValues() {
        var a = Replica(device: Make.device("a"))
        var b = Replica(device: Make.device("b"))
        var c = Replica(device: Make.device("c"))
        a.write(.string("A"), to: location, in: id)
        b.write(.string("B"), to: location, in: id)
        c.merge(a)
        c.merge(b)
        #expect(c.read(location, in: id)?.values.count == 2)
        c.write(.string("resolved"), to: location, in: id)
        // a and b still hold their own old values; merging them back must not revive them.
        c.merge(a)
        c.merge(b)
        a.merge(c)
        #expect(c.read(location, in: id)?.values == [.string("resolved")])
        #expect(a.read(location, in: id)?.values == [.string("resolved")])
    }
}

@Suite("Bounded siblings")
struct BoundedSiblingsTests {
    let id = Make.record("case-1")
    let path = Make.path("concern")

    /// Two people edit one field through a shared replica, each writing with the context they
    /// last saw (after their own previous write), alternately: never more than two values.
    @Test func twoWritersThroughOneReplicaNeverHoldMoreThanTwoValues() {
        var replica = Replica(device: Make.device("centre"))
        var lastSeen: [VersionVector?] = [nil, nil]
        var maximum = 0
        for round in 0..<100 {
            for writer in 0..<2 {
                replica.write(
                    .string("writer \(writer) round \(round)"), to: path, in: id,
                    seen: lastSeen[writer] ?? VersionVector())
                lastSeen[writer] = replica.read(path, in: id)?.context
                maximum = max(maximum, replica.read(path, in: id)?.values.count ?? 0)
            }
        }
        #expect(maximum == 2)
        #expect(replica.read(path, in: id)?.values == [.string("writer 0 round 99"), .string("writer 1 round 99")])
    }

    /// The same with two laptops that sync after every write and write with what they last saw.
    @Test func twoLaptopsWritingAlternatelyWithStaleContextsNeverHoldMoreThanTwoValues() {
        var a = Replica(device: Make.device("a"))
        var b = Replica(device: Make.device("b"))
        var lastSeenA: VersionVector? = nil
        var lastSeenB: VersionVector? = nil
        var maximum = 0
        for round in 0..<100 {
            a.write(.string("a\(round)"), to: path, in: id, seen: lastSeenA ?? VersionVector())
            lastSeenA = a.read(path, in: id)?.context
            b.apply(a.delta(since: b.knowledge))
            maximum = max(maximum, b.read(path, in: id)?.values.count ?? 0)
            b.write(.string("b\(round)"), to: path, in: id, seen: lastSeenB ?? VersionVector())
            lastSeenB = b.read(path, in: id)?.context
            a.apply(b.delta(since: a.knowledge))
            maximum = max(maximum, a.read(path, in: id)?.values.count ?? 0)
        }
        #expect(maximum == 2)
        #expect(a.digest() == b.digest())
    }
}
