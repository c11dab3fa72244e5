import Dispatch
import LineProtocol
import Replication
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Work split across the cores gives what one pass in order gives: every item once, in order;
/// and records read one after another with one reader are the records read each alone.
@Suite("Work split across the cores")
struct SplitWorkTests {
    @Test(arguments: [0, 1, 5, 255, 256, 511, 512, 1_000, 4_097, 100_000])
    func theRunsCoverEveryItemOnceInOrder(count: Int) {
        let runs = SplitWork.runs(over: count, minimumRun: 256) { range in range }
        #expect(runs.flatMap { Array($0) } == Array(0..<count))
        #expect(runs.count == max(1, min(16, count / 256)))
        if runs.count > 1 { #expect(runs.allSatisfy { $0.count >= 256 }) }
    }

    @Test func eachRunsResultComesBackInItsPlace() {
        let items = (0..<10_000).map { $0 &* 2_654_435_761 % 1_000_003 }
        let ran = Mutex<[Range<Int>]>([])
        let sums = SplitWork.runs(over: items.count, minimumRun: 100) { range in
            ran.withLock { $0.append(range) }
            return items[range].reduce(0, +)
        }
        let runs = ran.withLock { $0.sorted { $0.lowerBound < $1.lowerBound } }
        #expect(runs.count == 16)
        #expect(sums == runs.map { items[$0].reduce(0, +) })
        #expect(sums.reduce(0, +) == items.reduce(0, +))
    }

    @Test(arguments: [0, 1, 99, 100, 250, 1_000, 100_000])
    func resultsAreDeliveredOnceEachInOrderOneAtATime(count: Int) {
        struct Delivered {
            var runs: [Range<Int>] = []
            var delivering = false
            var overlapped = false
        }
        let delivered = Mutex(Delivered())
        SplitWork.deliveredInOrder(over: count, minimumRun: 100) { range in
            // Later runs finish first now and then, so delivery has to wait for the ones before.
            if range.lowerBound == 0 { usleep(2_000) }
            return range
        } deliver: { range in
            delivered.withLock { state in
                if state.delivering { state.overlapped = true }
                state.delivering = true
            }
            usleep(200)
            delivered.withLock { state in
                state.runs.append(range)
                state.delivering = false
            }
        }
        let state = delivered.withLock { $0 }
        #expect(state.runs.flatMap { Array($0) } == Array(0..<count))
        #expect(state.runs.count == max(1, min(16, count / 100)))
        #expect(!state.overlapped)
    }

    @Test(.enabled(if: sysconf(Int32(_SC_NPROCESSORS_ONLN)) > 1, "needs two cores to make runs beside a delivery"))
    func aDeliveryHeldUpDoesNotHoldUpTheRunsStillToBeMade() {
        #expect(Self.runsMadeWhileTheFirstDeliveryWaits() == 16)
    }

    /// How many of 16 runs were made when the first run's delivery ended, that delivery waiting
    /// until every other run is made (or a second has passed).
    static func runsMadeWhileTheFirstDeliveryWaits() -> Int? {
        let made = Mutex(0)
        let madeWhenTheFirstWasDelivered = Mutex<Int?>(nil)
        SplitWork.deliveredInOrder(over: 1_600, minimumRun: 100) { range in
            made.withLock { $0 += 1 }
            return range
        } deliver: { range in
            guard range.lowerBound == 0 else { return }
            for _ in 0..<1_000 where made.withLock({ $0 }) < 16 { usleep(1_000) }
            madeWhenTheFirstWasDelivered.withLock { $0 = made.withLock { $0 } }
        }
        return madeWhenTheFirstWasDelivered.withLock { $0 }
    }

    /// As above while every thread of Dispatch's shared pool is taken by other work, as in a
    /// busy server (or a test run): the runs are made on threads of the call's own.
    @Test(.enabled(if: sysconf(Int32(_SC_NPROCESSORS_ONLN)) > 1, "needs two cores to make runs beside a delivery"))
    func aDeliveryHeldUpDoesNotHoldUpTheRunsWhileDispatchsThreadsAreTaken() {
        // The pool's threads kept running (not waiting, which the pool would make up for with
        // more threads) until the call returns.
        final class Flag: Sendable { let raised = Atomic(false) }
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let started = DispatchSemaphore(value: 0)
        let done = Flag()
        let busy = DispatchGroup()
        for _ in 0..<cores {
            DispatchQueue.global().async(group: busy) {
                started.signal()
                while !done.raised.load(ordering: .relaxed) {}
            }
        }
        for _ in 0..<cores { _ = started.wait(timeout: .now() + 5) }
        defer {
            done.raised.store(true, ordering: .relaxed)
            busy.wait()
        }
        #expect(Self.runsMadeWhileTheFirstDeliveryWaits() == 16)
    }

    @Test func recordsReadWithOneReaderAreTheRecordsReadEachAlone() throws {
        var random = SeededGenerator(seed: 7)
        var reader = RecordCoding.Reader()
        for _ in 0..<400 {
            let record = RoundTripTests.record(&random)
            let encoded = RecordCoding.encode(record)
            #expect(try reader.decode(encoded, id: record.id) == record)
            #expect(try RecordCoding.decode(encoded, id: record.id) == record)
        }
    }

    @Test func aBadRecordIsRefusedAsAloneAndTheReaderGoesOnReadingTheNext() throws {
        var random = SeededGenerator(seed: 8)
        var reader = RecordCoding.Reader()
        let first = RoundTripTests.record(&random)
        #expect(try reader.decode(RecordCoding.encode(first), id: first.id) == first)
        let bad = Array(#"{"entries":[],"fields":[{"context":"-","path":"Bad Path!","values":[]}]}"#.utf8)
        let alone = #expect(throws: LineProtocolError.self) { try RecordCoding.decode(bad, id: first.id) }
        let withReader = #expect(throws: LineProtocolError.self) { try reader.decode(bad, id: first.id) }
        #expect(alone?.description == withReader?.description)
        let next = RoundTripTests.record(&random)
        #expect(try reader.decode(RecordCoding.encode(next), id: next.id) == next)
    }
}
