import Central
import LineProtocol
import Replication
import Testing

/// Stored cases decoded across the cores while they are read: in the order added, and a body that
/// cannot be read refuses the whole read, naming the first such case.
extension CentralTests {
    @Test func storedCasesDecodedWhileBeingReadComeBackInTheOrderAdded() async throws {
        let records = try (0..<3_000).map { try referral("case-\($0)", concern: "Concern \($0)") }
        let decoding = StoredCases.Decoding()
        // Batches of uneven sizes, an empty one among them, added as a reader would.
        var start = 0
        for size in [1, 255, 0, 256, 700, 1_788] {
            decoding.add(records[start..<(start + size)].map { (id: $0.id.rawValue, body: RecordCoding.encode($0)) })
            start += size
        }
        #expect(start == records.count)
        #expect(try decoding.waitForRecords() == records)
        // Awaited from Swift's cooperative threads, the same.
        #expect(try await decoding.records() == records)
        #expect(try StoredCases.Decoding().waitForRecords().isEmpty)
        #expect(try await StoredCases.Decoding().records().isEmpty)
    }

    @Test func aStoredCaseDecodedWhileBeingReadThatCannotBeReadIsNamed() throws {
        var rows = try (0..<1_000).map { number in
            let record = try referral("case-\(number)")
            return (id: record.id.rawValue, body: RecordCoding.encode(record))
        }
        rows[700].body = Array("{\"fields\":".utf8)
        rows[900].body = []
        func decoded(_ rows: [(id: String, body: [UInt8])]) throws -> [Record] {
            let decoding = StoredCases.Decoding()
            for start in stride(from: 0, to: rows.count, by: 256) {
                decoding.add(Array(rows[start..<min(rows.count, start + 256)]))
            }
            return try decoding.waitForRecords()
        }
        let error = #expect(throws: CentralError.self) { try decoded(rows) }
        #expect(error?.message.contains("case case-700 is stored in a form that cannot be read") == true)
        // An id that is not one is named too, the first in order whatever its batch.
        rows[1].id = "Not An Id!"
        let first = #expect(throws: CentralError.self) { try decoded(rows) }
        #expect(first?.message.contains("case Not An Id! is stored") == true)
    }
}
