import Central
import Foundation
import Laptop
import Logging
import Synchronization
import Testing

/// Runs `body` with a centre on a fresh database in `directory` (its storage, and its URL), in
/// this process on a loopback port, where `devices` are enrolled for E06000038 and know the
/// centre's key; then stops the centre (by cancelling its task).
func withLocalCentre(
    enrolling devices: [Workspace], in directory: URL, _ body: (SQLiteCentralStorage, String) async throws -> Void
) async throws {
    let storage = try SQLiteCentralStorage(path: directory.appendingPathComponent("central.sqlite").path)
    for workspace in devices {
        try await storage.enroll(
            EnrolledDevice(id: workspace.device, publicKey: workspace.publicKey, authorities: ["E06000038"]))
        // Each laptop is told the centre's key when it is set up.
        try workspace.setCentreKey(base64: Data(storage.publicKey).base64EncodedString())
    }
    let port = Mutex<Int?>(nil)
    let server = CentralServer(
        storage: storage, configuration: .init(host: "127.0.0.1", port: 0), logger: Logger(label: "test"))
    let serving = Task { try await server.run { bound in port.withLock { $0 = bound } } }
    defer { serving.cancel() }
    var waited = 0
    while port.withLock({ $0 }) == nil, waited < 500 {
        try await Task.sleep(for: .milliseconds(20))
        waited += 1
    }
    let bound = try #require(port.withLock { $0 }, "the centre did not start")
    try await body(storage, "http://127.0.0.1:\(bound)")
    serving.cancel()
    _ = await serving.result
}
