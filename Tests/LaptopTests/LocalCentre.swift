import Central
import Foundation
import Laptop
import Logging
import Synchronization
import Testing

/// Runs `body` with a centre on a fresh database in `directory` (its storage, and its URL), in
/// this process on a loopback port, where `devices` are enrolled for E06000038 and know the
/// centre's key; then stops the centre (by cancelling its task).
///
/// The centre runs on threads of its own (``CentreExecutor``), not on Swift's cooperative pool:
/// tests that block a thread of that pool for long (the end-to-end tests wait for whole `edt`
/// processes) would otherwise leave it unable to answer, and a laptop's sync would time out.
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
    let serving = Task(executorPreference: CentreExecutor.shared) {
        try await server.run { bound in port.withLock { $0 = bound } }
    }
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

/// Runs the jobs of the tasks that prefer it on a concurrent dispatch queue of its own, never on
/// Swift's cooperative pool, so an in-process centre answers while that pool's threads are busy.
final class CentreExecutor: TaskExecutor {
    static let shared = CentreExecutor()
    private let queue = DispatchQueue(label: "edt.local-centre", attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
