import Central
import LineProtocol
import Replication
import Testing

/// Stored cases read back many at a time, across the cores: in the order given, and a body that
/// cannot be read refuses the whole read, naming the first such case.
extension CentralTests {
    @Test func storedCasesAreReadBackInTheOrderGiven() throws {
        let records = try (0..<3_000).map { try referral("case-\($0)", concern: "Concern \($0)") }
        let rows = records.map { (id: $0.id.rawValue, body: RecordCoding.encode($0)) }
        #expect(try StoredCases.decode(rows) { $0 } == records)
        #expect(try StoredCases.decode([(id: String, body: [UInt8])]()) { $0 }.isEmpty)
    }

    @Test func aStoredCaseThatCannotBeReadIsNamedAndNothingIsGiven() throws {
        var rows = try (0..<3_000).map { number in
            let record = try referral("case-\(number)")
            return (id: record.id.rawValue, body: RecordCoding.encode(record))
        }
        rows[2_100].body = Array("{\"fields\":".utf8)
        rows[2_900].body = Array("not json".utf8)
        let error = #expect(throws: CentralError.self) { try StoredCases.decode(rows) { $0 } }
        #expect(error?.message.contains("case case-2100 is stored in a form that cannot be read") == true)
        rows[1].id = "Not An Id!"
        let first = #expect(throws: CentralError.self) { try StoredCases.decode(rows) { $0 } }
        #expect(first?.message.contains("case Not An Id! is stored") == true)
    }
}

extension CentralTests {
    @Test func storedCasesDecodedWhileBeingReadComeBackInTheOrderAdded() throws {
        let records = try (0..<3_000).map { try referral("case-\($0)", concern: "Concern \($0)") }
        let decoding = StoredCases.Decoding()
        // Batches of uneven sizes, an empty one among them, added as a reader would.
        var start = 0
        for size in [1, 255, 0, 256, 700, 1_788] {
            decoding.add(records[start..<(start + size)].map { (id: $0.id.rawValue, body: RecordCoding.encode($0)) })
            start += size
        }
        #expect(start == records.count)
        #expect(try decoding.records() == records)
        #expect(try StoredCases.Decoding().records().isEmpty)
    }

    @Test func aStoredCaseDecodedWhileBeingReadThatCannotBeReadIsNamed() throws {
        var rows = try (0..<1_000).map { number in
            let record = try referral("case-\(number)")
            return (id: record.id.rawValue, body: RecordCoding.encode(record))
        }
        rows[700].body = Array("{\"fields\":".utf8)
        rows[900].body = []
        let decoding = StoredCases.Decoding()
        for start in stride(from: 0, to: rows.count, by: 256) {
            decoding.add(Array(rows[start..<min(rows.count, start + 256)]))
        }
        let error = #expect(throws: CentralError.self) { try decoding.records() }
        #expect(error?.message.contains("case case-700 is stored in a form that cannot be read") == true)
    }
}
