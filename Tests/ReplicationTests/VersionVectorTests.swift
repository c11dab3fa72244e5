import TestSupport
import Testing

@testable import Replication

@Suite("Version vectors")
struct VersionVectorTests {
    @Test func anUnknownDeviceCountsZero() {
        let vector = Make.vector(["a": 3])
        #expect(vector[Make.device("b")] == 0)
        #expect(vector[Make.device("a")] == 3)
        #expect(VersionVector()[Make.device("a")] == 0)
    }

    @Test func zeroCountersAreNotStored() {
        #expect(Make.vector(["a": 0, "b": 2]) == Make.vector(["b": 2]))
        #expect(Make.vector(["a": 0]).isEmpty)
    }

    @Test(arguments: [
        [String: UInt64](), ["a": 1], ["a": 5, "b": 2], ["x": 1, "y": 9, "z": 4],
    ])
    func everyVectorDescendsItselfAndTheEmptyOne(_ counters: [String: UInt64]) {
        let vector = Make.vector(counters)
        #expect(vector.compare(to: vector) == .equal)
        #expect(vector.descends(vector))
        #expect(vector.descends(VersionVector()))
        if !vector.isEmpty {
            #expect(vector.compare(to: VersionVector()) == .after)
            #expect(VersionVector().compare(to: vector) == .before)
            #expect(!VersionVector().descends(vector))
        }
    }

    @Test func compareDistinguishesAllFourOrders() {
        let base = Make.vector(["a": 2, "b": 1])
        #expect(base.compare(to: Make.vector(["a": 2, "b": 1])) == .equal)
        #expect(base.compare(to: Make.vector(["a": 3, "b": 1])) == .before)
        #expect(base.compare(to: Make.vector(["a": 2, "b": 1, "c": 1])) == .before)
        #expect(base.compare(to: Make.vector(["a": 1])) == .after)
        #expect(base.compare(to: Make.vector(["a": 1, "b": 2])) == .concurrent)
        #expect(base.compare(to: Make.vector(["c": 1])) == .concurrent)
    }

    @Test func vectorsGrownFromOneAncestorOnDifferentDevicesAreConcurrent() {
        var ancestor = VersionVector()
        ancestor.insert(Make.dot("a", 1))
        ancestor.insert(Make.dot("b", 1))
        var left = ancestor
        var right = ancestor
        left.insert(Make.dot("a", 2))
        right.insert(Make.dot("b", 2))
        #expect(left.compare(to: right) == .concurrent)
        #expect(right.compare(to: left) == .concurrent)
        #expect(left.compare(to: ancestor) == .after)
        #expect(ancestor.compare(to: right) == .before)
    }

    @Test func joinIsThePerDeviceMaximum() {
        let left = Make.vector(["a": 5, "b": 1, "d": 2])
        let right = Make.vector(["b": 4, "c": 3, "d": 2])
        let joined = left.joined(with: right)
        #expect(joined == Make.vector(["a": 5, "b": 4, "c": 3, "d": 2]))
        #expect(joined.descends(left) && joined.descends(right))
        var inPlace = left
        let rose = inPlace.formJoin(right)
        #expect(rose)
        #expect(inPlace == joined)
        let roseAgain = inPlace.formJoin(left)
        #expect(!roseAgain, "joining what is already covered changes nothing")
    }

    @Test func joinOverRandomVectorsIsCommutativeAssociativeIdempotentAndAnUpperBound() {
        var random = SeededGenerator(seed: 7)
        let devices = ["a", "b", "c", "d", "e"]
        func randomVector() -> VersionVector {
            var counters: [String: UInt64] = [:]
            for device in devices where Bool.random(using: &random) {
                counters[device] = UInt64.random(in: 1...6, using: &random)
            }
            return Make.vector(counters)
        }
        for _ in 0..<2_000 {
            let (x, y, z) = (randomVector(), randomVector(), randomVector())
            #expect(x.joined(with: y) == y.joined(with: x))
            #expect(x.joined(with: y).joined(with: z) == x.joined(with: y.joined(with: z)))
            #expect(x.joined(with: x) == x)
            #expect(x.joined(with: y).descends(x))
            for device in devices {
                let d = Make.device(device)
                #expect(x.joined(with: y)[d] == max(x[d], y[d]))
            }
            // compare agrees with the per-device definition.
            let lessOrEqual = devices.allSatisfy { x[Make.device($0)] <= y[Make.device($0)] }
            let greaterOrEqual = devices.allSatisfy { x[Make.device($0)] >= y[Make.device($0)] }
            let expected: CausalOrder =
                switch (lessOrEqual, greaterOrEqual) {
                case (true, true): .equal
                case (true, false): .before
                case (false, true): .after
                case (false, false): .concurrent
                }
            #expect(x.compare(to: y) == expected)
        }
    }

    @Test func containsIsCoverageOfADot() {
        let vector = Make.vector(["a": 3])
        #expect(vector.contains(Make.dot("a", 1)))
        #expect(vector.contains(Make.dot("a", 3)))
        #expect(!vector.contains(Make.dot("a", 4)))
        #expect(!vector.contains(Make.dot("b", 1)))
    }

    @Test func identifiersRefuseBadInputWithAClearMessage() {
        #expect(throws: ReplicationError.invalidDeviceID("")) { try DeviceID("") }
        #expect(throws: ReplicationError.invalidDeviceID("laptop a")) { try DeviceID("laptop a") }
        #expect(throws: ReplicationError.invalidDeviceID("é")) { try DeviceID("é") }
        #expect(throws: ReplicationError.invalidRecordID(String(repeating: "x", count: 129))) {
            try RecordID(String(repeating: "x", count: 129))
        }
        for bad in ["", ".", "a.", ".a", "a..b", "a b", "child.né"] {
            #expect(throws: ReplicationError.invalidFieldPath(bad)) { try FieldPath(bad) }
        }
        #expect(throws: ReplicationError.invalidCounter) { try Dot(Make.device("a"), 0) }
        #expect(ReplicationError.invalidDeviceID("laptop a").description.contains("A-Z a-z 0-9 . _ -"))
        #expect(Make.path("child.c1.dateOfBirth").segments == ["child", "c1", "dateOfBirth"])
    }
}
