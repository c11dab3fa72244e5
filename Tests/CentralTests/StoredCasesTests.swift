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
