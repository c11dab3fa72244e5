import LineProtocol
import Replication
import Testing

@testable import Uploader

/// A failed sync names its last request (`X-Request-Id`), which the centre logged it under.
@Suite("Sync: request ids")
struct SyncRequestIDTests {
    func store() throws -> MemorySyncStore {
        var replica = Replica(device: try DeviceID("edt-laptop-a"))
        replica.write(.string("concern"), to: try FieldPath("concern"), in: try RecordID("case-1"))
        return MemorySyncStore(replica: replica)
    }

    /// A session with no centre listening (connections refused at once), `attempts` attempts.
    func session(_ store: MemorySyncStore, attempts: Int) -> SyncSession {
        var options = SyncSession.Options(server: "http://127.0.0.1:1")
        options.machine.maximumAttempts = attempts
        options.machine.baseBackoffSeconds = 0
        return SyncSession(store: store, options: options)
    }

    @Test func aSyncThatFailsNamesItsLastRequestAndItsFirst() async throws {
        let session = session(try store(), attempts: 3)
        let error = await #expect(throws: SyncError.self) { try await session.run() }
        let prefix = session.requestIDPrefix
        #expect(error?.code == .network)
        #expect(error?.requestID == "\(prefix)-3", "each attempt is a request of its own")
        #expect(session.lastRequestID == "\(prefix)-3")
        #expect(error?.message.contains("request id \(prefix)-3") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("\(prefix)-1 to \(prefix)-3") == true, "\(error?.message ?? "")")
        #expect(SyncContract.isWellFormedRequestID("\(prefix)-3"))
    }

    @Test func aSyncOfOneRequestNamesIt() async throws {
        let session = session(try store(), attempts: 1)
        let error = await #expect(throws: SyncError.self) { try await session.run() }
        #expect(error?.requestID == "\(session.requestIDPrefix)-1")
        #expect(error?.message.contains("this sync's requests are") == false, "one request: no span")
    }

    @Test func aSyncRefusedBeforeAnyRequestNamesNone() async throws {
        let store = try store()
        store.centre = nil  // no centre key: refused before anything is sent
        let session = session(store, attempts: 3)
        let error = await #expect(throws: SyncError.self) { try await session.run() }
        #expect(error?.code == .refused)
        #expect(error?.requestID == nil && session.lastRequestID == nil)
        #expect(error?.message.contains("request id") == false)
    }

    @Test func eachSessionHasItsOwnPrefix() throws {
        let store = try store()
        #expect(session(store, attempts: 1).requestIDPrefix != session(store, attempts: 1).requestIDPrefix)
    }
}
