import Central
import LineProtocol
import Replication
import Testing

/// Stored cases decoded across the cores while they are read, each batch handed on as soon as it
/// is decoded: in the order added, and a body that cannot be read refuses the whole read, naming
/// the first such case.
extension CentralTests {
    @Test func storedCasesDecodedWhileBeingReadComeBackInTheOrderAdded() async throws {
        let records = try (0..<3_000).map { try referral("case-\($0)", concern: "Concern \($0)") }
        let decoding = StoredCases.Decoding { $0 }
        // Batches of uneven sizes, an empty one among them, added as a reader would.
        var start = 0
        let sizes = [1, 255, 0, 256, 700, 1_788]
        for size in sizes {
            decoding.add(records[start..<(start + size)].map { (id: $0.id.rawValue, body: RecordCoding.encode($0)) })
            start += size
        }
        #expect(start == records.count)
        let batches = try decoding.waitForResults()
        // Each batch handed on whole, on its own (the empty one is never started).
        #expect(batches.map(\.count) == sizes.filter { $0 > 0 })
        #expect(batches.flatMap { $0 } == records)
        // Awaited from Swift's cooperative threads, the same.
        #expect(try await decoding.results().flatMap { $0 } == records)
        #expect(try StoredCases.Decoding { $0 }.waitForResults().isEmpty)
        #expect(try await StoredCases.Decoding { $0 }.results().isEmpty)
    }

    @Test func whatIsMadeOfEachDecodedBatchComesBackInOrder() async throws {
        let records = try (0..<1_000).map { try referral("case-\($0)") }
        // What a handover makes of a batch: something of its own, the records let go.
        let decoding = StoredCases.Decoding { batch in batch.map(\.id.rawValue).joined(separator: ",") }
        for start in stride(from: 0, to: records.count, by: StoredCases.batchSize) {
            decoding.add(
                records[start..<min(records.count, start + StoredCases.batchSize)].map {
                    (id: $0.id.rawValue, body: RecordCoding.encode($0))
                })
        }
        let made = try await decoding.results()
        #expect(made.count == 4)
        #expect(made.joined(separator: ",") == records.map(\.id.rawValue).joined(separator: ","))
    }

    @Test func aStoredCaseDecodedWhileBeingReadThatCannotBeReadIsNamed() async throws {
        var rows = try (0..<1_000).map { number in
            let record = try referral("case-\(number)")
            return (id: record.id.rawValue, body: RecordCoding.encode(record))
        }
        rows[700].body = Array("{\"fields\":".utf8)
        rows[900].body = []
        func decoding(_ rows: [(id: String, body: [UInt8])]) -> StoredCases.Decoding<[Record]> {
            let decoding = StoredCases.Decoding { $0 }
            for start in stride(from: 0, to: rows.count, by: 256) {
                decoding.add(Array(rows[start..<min(rows.count, start + 256)]))
            }
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
