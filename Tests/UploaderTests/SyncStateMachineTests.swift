import Replication
import Testing
import Uploader

/// The sync session's decisions, without a network.
@Suite("Sync session state machine")
struct SyncStateMachineTests {
    typealias Machine = SyncSession.StateMachine

    func ids(_ count: Int, prefix: String = "r") throws -> [RecordID] {
        try (0..<count).map { try RecordID("\(prefix)\($0)") }
    }

    func machine(batch: Int = 2, attempts: Int = 3, base: Double = 1) -> Machine {
        var configuration = Machine.Configuration()
        configuration.batchSize = batch
        configuration.maximumAttempts = attempts
        configuration.baseBackoffSeconds = base
        configuration.maximumBackoffSeconds = 8
        return Machine(configuration: configuration)
    }

    @Test func aNoChangeSyncIsOneRequestCarryingOnlyThePull() throws {
        var machine = machine()
        #expect(machine.start(pending: []) == .send(.init(records: [])))
        #expect(machine.replied(.init(more: false), pending: []) == .finish)
        #expect(machine.completedRequests == 1)
    }

    @Test func pendingRecordsGoInBatchesThenTheSessionEnds() throws {
        let records = try ids(5)
        var machine = machine(batch: 2)
        #expect(machine.start(pending: records) == .send(.init(records: Array(records[0..<2]))))
        #expect(machine.replied(.init(more: false), pending: []) == .send(.init(records: Array(records[2..<4]))))
        #expect(machine.replied(.init(more: false), pending: []) == .send(.init(records: [records[4]])))
        #expect(machine.replied(.init(more: false), pending: []) == .finish)
        #expect(machine.completedRequests == 3)
    }

    @Test func recordsAlreadyQueuedAreNotQueuedTwice() throws {
        let records = try ids(3)
        var machine = machine(batch: 2)
        _ = machine.start(pending: records)
        // Naming queued or pushed records again adds nothing.
        #expect(machine.replied(.init(more: false), pending: records) == .send(.init(records: [records[2]])))
        #expect(machine.replied(.init(more: false), pending: records) == .finish)
    }

    @Test func aRecordIsPushedOncePerSessionEvenIfItStaysPending() throws {
        // A record the centre refused "for now" (internal) stays pending: the session must not loop on it.
        let records = try ids(1)
        var machine = machine()
        #expect(machine.start(pending: records) == .send(.init(records: records)))
        #expect(machine.replied(.init(more: false), pending: records) == .finish)
    }

    @Test func recordsThatBecamePendingDuringTheSessionArePushedToo() throws {
        let first = try ids(1)
        let later = try ids(1, prefix: "new")
        var machine = machine()
        #expect(machine.start(pending: first) == .send(.init(records: first)))
        #expect(machine.replied(.init(more: false), pending: later) == .send(.init(records: later)))
        #expect(machine.replied(.init(more: false), pending: []) == .finish)
    }

    @Test func moreToPullMeansAnotherRequest() throws {
        var machine = machine()
        _ = machine.start(pending: [])
        #expect(machine.replied(.init(more: true), pending: []) == .send(.init(records: [])))
        #expect(machine.replied(.init(more: true), pending: []) == .send(.init(records: [])))
        #expect(machine.replied(.init(more: false), pending: []) == .finish)
    }

    @Test func transientFailuresAreRetriedWithTheSameRequestThenGiveUp() throws {
        let records = try ids(2)
        var machine = machine(batch: 2, attempts: 3, base: 1)
        let request = Machine.Request(records: records)
        #expect(machine.start(pending: records) == .send(request))
        // Equal jitter: attempt 1 waits between 0.5 and 1 s, attempt 2 between 1 and 2 s.
        #expect(machine.failed(.transient("reset", retryAfter: nil), jitter: 0) == .wait(seconds: 0.5))
        #expect(machine.waited() == .send(request))
        #expect(machine.failed(.transient("reset", retryAfter: nil), jitter: 0.5) == .wait(seconds: 1.5))
        #expect(machine.waited() == .send(request))
        #expect(
            machine.failed(.transient("reset", retryAfter: nil), jitter: 0.5)
                == .fail(.transient("reset", retryAfter: nil)))
    }

    @Test func aSuccessAfterRetriesCarriesOn() throws {
        let records = try ids(3)
        var machine = machine(batch: 2)
        _ = machine.start(pending: records)
        _ = machine.failed(.transient("502", retryAfter: nil), jitter: 0.3)
        _ = machine.waited()
        #expect(machine.replied(.init(more: false), pending: [records[2]]) == .send(.init(records: [records[2]])))
        // The attempt count starts again for the next request.
        #expect(machine.failed(.transient("503", retryAfter: nil), jitter: 0) == .wait(seconds: 0.5))
    }

    @Test func retryAfterIsHonouredAndBackoffIsCapped() throws {
        var machine = machine(attempts: 10, base: 1)
        _ = machine.start(pending: [])
        #expect(machine.failed(.transient("429", retryAfter: 5), jitter: 0) == .wait(seconds: 5))
        _ = machine.waited()
        #expect(machine.failed(.transient("429", retryAfter: 3600), jitter: 0) == .wait(seconds: 8))
        for _ in 0..<5 {
            _ = machine.waited()
            guard case .wait(let seconds) = machine.failed(.transient("reset", retryAfter: nil), jitter: 1) else {
                Issue.record("expected a backoff")
                return
            }
            #expect(seconds <= 8)
        }
    }

    @Test func permanentFailuresStopAtOnce() throws {
        var machine = machine()
        _ = machine.start(pending: try ids(1))
        #expect(machine.failed(.permanent("not enrolled"), jitter: 0) == .fail(.permanent("not enrolled")))
    }

    @Test func aCentreThatLostItsDatabaseMeansStartingOverOnce() throws {
        let records = try ids(3)
        var machine = machine(batch: 2)
        _ = machine.start(pending: Array(records[0..<1]))
        #expect(machine.failed(.startOver("409"), jitter: 0) == .startOver)
        // Everything is pending again, the records of this session's earlier requests included.
        #expect(machine.startedOver(pending: records) == .send(.init(records: Array(records[0..<2]))))
        #expect(machine.replied(.init(more: false), pending: []) == .send(.init(records: [records[2]])))
        // A second start-over in one session means something else is wrong: give up.
        guard case .fail(.startOver) = machine.failed(.startOver("409 again"), jitter: 0) else {
            Issue.record("a second start-over must fail the session")
            return
        }
    }

    @Test func aLocalStoreFailureStopsAtOnce() throws {
        var machine = machine()
        _ = machine.start(pending: [])
        #expect(machine.failed(.local("disk full"), jitter: 0) == .fail(.local("disk full")))
    }

    @Test func aRequestTooLargeIsSplitUntilASingleRecordIsRefused() throws {
        let records = try ids(4)
        var machine = machine(batch: 4)
        _ = machine.start(pending: records)
        #expect(machine.failed(.tooLarge("413"), jitter: 0) == .send(.init(records: Array(records[0..<2]))))
        #expect(machine.failed(.tooLarge("413"), jitter: 0) == .send(.init(records: [records[0]])))
        guard case .fail(.permanent) = machine.failed(.tooLarge("413"), jitter: 0) else {
            Issue.record("a single record too large must fail the session")
            return
        }
    }

    @Test func theSmallerBatchSizeIsKeptForTheRestOfTheSession() throws {
        let records = try ids(4)
        var machine = machine(batch: 4)
        _ = machine.start(pending: records)
        _ = machine.failed(.tooLarge("413"), jitter: 0)
        #expect(
            machine.replied(.init(more: false), pending: Array(records[2...]))
                == .send(.init(records: Array(records[2..<4]))))
    }
}
