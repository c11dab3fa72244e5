import Testing

@testable import Central

/// Relayed bundles are read whole, so only a few at once: the rest wait their turn.
@Suite("Relay gate")
struct RelayGateTests {
    /// Counts bodies running at once and the most that ever did.
    actor Meter {
        var running = 0
        var most = 0
        func enter() {
            running += 1
            most = max(most, running)
        }
        func leave() { running -= 1 }
    }

    @Test func noMoreThanItsCapacityRunAtOnceAndEveryoneGetsAPlace() async throws {
        let gate = RelayGate(capacity: 2)
        let meter = Meter()
        try await withThrowingTaskGroup(of: Int.self) { group in
            for number in 0..<12 {
                group.addTask {
                    try await gate.withPlace {
                        await meter.enter()
                        try await Task.sleep(for: .milliseconds(5))
                        await meter.leave()
                        return number
                    }
                }
            }
            var finished: Set<Int> = []
            for try await number in group { finished.insert(number) }
            #expect(finished == Set(0..<12))
        }
        #expect(await meter.most <= 2)
        #expect(await meter.most >= 1)
    }

    @Test func aFailingBodyGivesItsPlaceBack() async throws {
        struct Failure: Error {}
        let gate = RelayGate(capacity: 1)
        await #expect(throws: Failure.self) { try await gate.withPlace { throw Failure() } }
        // Were the place kept, this would wait for ever.
        #expect(await gate.withPlace { 7 } == 7)
    }
}
