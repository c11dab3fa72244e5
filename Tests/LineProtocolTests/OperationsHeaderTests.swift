import LineProtocol
import Testing

/// What a device says of itself for the centre's administrators: its push header's `pending=`,
/// and the `X-Request-Id` that names each request in the centre's log.
@Suite("Header: pending, and request ids")
struct OperationsHeaderTests {
    func header(_ parameters: [(key: String, value: String)]) -> Header {
        Header(kind: .push, parameters: [(Header.deviceParameter, "edt-laptop-a")] + parameters)
    }

    @Test func aReportedPendingCountIsReadBack() {
        #expect(header([(Header.pendingParameter, "0")]).pending == 0)
        #expect(header([(Header.pendingParameter, "12345")]).pending == 12_345)
        #expect(header([]).pending == nil, "an earlier edt reports nothing")
    }

    @Test(arguments: ["", "-1", "+3", "007", "1.5", "3x", "one", "1234567890123456789"])
    func aMalformedPendingCountIsNotReported(_ value: String) {
        // A receiver ignores it, as it ignores a parameter it does not know: it refuses nothing.
        #expect(header([(Header.pendingParameter, value)]).pending == nil)
    }

    @Test func aPushWithAPendingCountIsEncodedAndDecodedWithIt() throws {
        let bytes = StreamEncoder.encode(
            header: Header(
                kind: .push,
                parameters: [
                    (Header.deviceParameter, "edt-laptop-a"), (Header.counterParameter, "3"),
                    (Header.pendingParameter, "2"),
                ]), messages: [], signer: TestKeys.signer)
        let decoded = try DecodedStream(bytes, verifier: TestKeys.verifier)
        #expect(decoded.header.pending == 2)
        #expect(String(decoding: bytes.prefix { $0 != 0x0A }, as: UTF8.self).hasSuffix(" pending=2"))
    }

    @Test(arguments: ["3f9a1c2b7d4e5f60-1", "ops-check.1", "A:b_c-9", String(repeating: "x", count: 128)])
    func aWellFormedRequestIDIsTakenAsGiven(_ id: String) {
        #expect(SyncContract.isWellFormedRequestID(id))
    }

    @Test(arguments: ["", "two words", "quote\"d", "new\nline", "café", "a/b", String(repeating: "x", count: 129)])
    func aMalformedRequestIDIsNot(_ id: String) {
        #expect(!SyncContract.isWellFormedRequestID(id))
    }

    @Test func randomRequestIDsAreWellFormedHexAndDiffer() {
        let ids = (0..<50).map { _ in SyncContract.randomRequestID() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.count == 16 && id.allSatisfy { "0123456789abcdef".contains($0) })
            #expect(SyncContract.isWellFormedRequestID(id))
        }
    }
}
