import Central
import Dispatch
import Foundation
import LineProtocol
import Replication
import Synchronization
import Testing

/// Stored cases decoded across the cores while they are read, each batch handed on as soon as it
/// is decoded: in the order added, and a body that cannot be read refuses the whole read, naming
/// the first such case.
extension CentralTests {
    /// `rows` added one at a time to `decoding`, as a reader does.
    func add<Reading>(_ rows: [(id: String, body: [UInt8])], to decoding: StoredCases.Decoding<Reading>) {
        for (id, body) in rows { decoding.add(id: id, body: body) }
    }

    func storedRows(_ records: [Record]) -> [(id: String, body: [UInt8])] {
        records.map { (id: $0.id.rawValue, body: RecordCoding.encode($0)) }
    }

    @Test func storedCasesDecodedWhileBeingReadComeBackInTheOrderAdded() async throws {
        let records = try (0..<3_000).map { try referral("case-\($0)", concern: "Concern \($0)") }
        let decoding = StoredCases.Decoding { $0 }
        add(storedRows(records), to: decoding)
        let batches = try decoding.waitForResults()
        // Batches of `batchSize` cases (these are small), the last what was left.
        #expect(batches.map(\.count) == Array(repeating: StoredCases.batchSize, count: 11) + [184])
        #expect(batches.flatMap { $0 } == records)
        // Awaited from Swift's cooperative threads, and added from them, the same.
        let awaited = StoredCases.Decoding { $0 }
        for (id, body) in storedRows(records) { await awaited.adding(id: id, body: body) }
        #expect(try await awaited.results().flatMap { $0 } == records)
        #expect(try StoredCases.Decoding { $0 }.waitForResults().isEmpty)
        #expect(try await StoredCases.Decoding { $0 }.results().isEmpty)
    }

    @Test func largeStoredCasesAreDecodedAFewAtATime() throws {
        // Cases of about 40 KB: a batch of 100 KB holds two, and one of 150 KB is a batch of its own.
        let long = String(repeating: "The child spoke at length. ", count: 1_500)
        var records = try (0..<9).map { try referral("case-\($0)", concern: "\($0): \(long)") }
        records.insert(try referral("case-large", concern: String(repeating: long, count: 4)), at: 5)
        let rows = storedRows(records)
        #expect(rows.allSatisfy { $0.body.count > 40_000 })
        let decoding = StoredCases.Decoding(batchCases: 256, batchBytes: 100_000) { $0.map(\.id.rawValue) }
        add(rows, to: decoding)
        let batches = try decoding.waitForResults()
        #expect(
            batches == [
                ["case-0", "case-1"], ["case-2", "case-3"], ["case-4"], ["case-large"], ["case-5", "case-6"],
                ["case-7", "case-8"],
            ])
        // Never more than the byte budget, save a case larger than it on its own.
        for batch in batches where batch.count > 1 {
            let bytes = rows.filter { batch.contains($0.id) }.reduce(0) { $0 + $1.body.count }
            #expect(bytes <= 100_000, "\(batch)")
        }
    }

    /// A count shared with a reader on another thread.
    final class Count: Sendable { let value = Mutex(0) }

    /// A decoding of batches of ten, three at most in flight, whose reading waits at `gate`, so
    /// none finishes until it opens; and a count for the rows a reader has added. The batches run
    /// on a serial queue of their own, whose thread waits at the gate instead of one of those
    /// Dispatch and Swift's tasks share with the other tests (the two batches behind it are
    /// started, and hold their room, all the same).
    func gatedDecoding() -> (decoding: StoredCases.Decoding<Int>, gate: DispatchSemaphore, added: Count) {
        let gate = DispatchSemaphore(value: 0)
        let queue = DispatchQueue(label: "gated-decoding")
        let decoding = StoredCases.Decoding(batchCases: 10, inFlight: 3, queue: queue) { batch in
            gate.wait()
            gate.signal()
            return batch.count
        }
        return (decoding, gate, Count())
    }

    /// Opens `gate`, from a thread of its own, once `added` has reached `count` and stayed there
    /// a while (a reader that did not wait would have gone on by then); returns the count it saw
    /// as it opened the gate. It waits minutes for the count, not seconds: in the whole suite,
    /// the end-to-end tests hold Swift's few threads while their processes run, and a reader
    /// on a task may get none for minutes.
    func openGate(_ gate: DispatchSemaphore, onceHeldAt count: Int, by added: Count) -> Count {
        let seen = Count()
        Thread.detachNewThread {
            let deadline = Date().addingTimeInterval(540)
            while added.value.withLock({ $0 }) < count, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            Thread.sleep(forTimeInterval: 0.2)
            seen.value.withLock { $0 = added.value.withLock { $0 } }
            gate.signal()
        }
        return seen
    }

    @Test(.timeLimit(.minutes(10))) func aReaderWaitsWhileTooManyBatchesAreStillToBeDecoded() async throws {
        let rows = try storedRows((0..<100).map { try referral("case-\($0)") })
        let (decoding, gate, added) = gatedDecoding()
        // Three batches start; the fourth waits for room, so the reader stops at its last row.
        let seen = openGate(gate, onceHeldAt: 39, by: added)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            // A reader on a thread of its own, as SQLite's are: it blocks while there is no room.
            Thread.detachNewThread {
                for (id, body) in rows {
                    decoding.add(id: id, body: body)
                    added.value.withLock { $0 += 1 }
                }
                done.resume()
            }
        }
        #expect(seen.value.withLock { $0 } == 39)
        #expect(try await decoding.results() == Array(repeating: 10, count: 10))
    }

    @Test(.timeLimit(.minutes(10))) func aReaderOnSwiftsThreadsWaitsForRoomTooAndGoesOnOnceThereIsSome() async throws {
        let rows = try storedRows((0..<100).map { try referral("case-\($0)") })
        let (decoding, gate, added) = gatedDecoding()
        // Three batches start; the task waits for room at the fourth's last row.
        let seen = openGate(gate, onceHeldAt: 39, by: added)
        let reader = Task {
            for (id, body) in rows {
                await decoding.adding(id: id, body: body)
                added.value.withLock { $0 += 1 }
            }
            return try await decoding.results()
        }
        #expect(try await reader.value == Array(repeating: 10, count: 10))
        #expect(seen.value.withLock { $0 } == 39)
        // Many such readers at once, each allowed one batch in flight, all finish.
        let reads = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let one = StoredCases.Decoding(batchCases: 1, inFlight: 1) { $0.count }
                    for (id, body) in rows.prefix(40) { await one.adding(id: id, body: body) }
                    return try await one.results()
                }
            }
            var all: [[Int]] = []
            for try await counts in group { all.append(counts) }
            return all
        }
        #expect(reads == Array(repeating: Array(repeating: 1, count: 40), count: 8))
    }

    @Test func whatIsMadeOfEachDecodedBatchComesBackInOrder() async throws {
        let records = try (0..<1_000).map { try referral("case-\($0)") }
        // What a handover makes of a batch: something of its own, the records let go.
        let decoding = StoredCases.Decoding { batch in batch.map(\.id.rawValue).joined(separator: ",") }
        add(storedRows(records), to: decoding)
        let made = try await decoding.results()
        #expect(made.count == 4)
        #expect(made.joined(separator: ",") == records.map(\.id.rawValue).joined(separator: ","))
    }

    @Test func aStoredCaseDecodedWhileBeingReadThatCannotBeReadIsNamed() async throws {
        var rows = try storedRows((0..<1_000).map { try referral("case-\($0)") })
        rows[700].body = Array("{\"fields\":".utf8)
        rows[900].body = []
        func decoding(_ rows: [(id: String, body: [UInt8])]) -> StoredCases.Decoding<[Record]> {
            let decoding = StoredCases.Decoding { $0 }
            add(rows, to: decoding)
            return decoding
        }
        let error = #expect(throws: CentralError.self) { try decoding(rows).waitForResults() }
        #expect(error?.message.contains("case case-700 is stored in a form that cannot be read") == true)
        // Awaited, the same.
        let awaited = await #expect(throws: CentralError.self) { try await decoding(rows).results() }
        #expect(awaited?.message.contains("case case-700 is stored in a form that cannot be read") == true)
        // An id that is not one is named too, the first in order whatever its batch.
        rows[1].id = "Not An Id!"
        let first = #expect(throws: CentralError.self) { try decoding(rows).waitForResults() }
        #expect(first?.message.contains("case Not An Id! is stored") == true)
    }
}
