import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The centre's database going away and coming back while the centre serves: a PostgreSQL
/// server of the test's own, stopped and started again under a running `edt central serve`.
@Suite(
    "The centre's database going away, end to end", .serialized,
    .enabled(if: TestPostgres.serverURL != nil, "needs PostgreSQL (Tools/test installs and starts it)"))
struct DatabaseFaultsEndToEndTests {
    let sync = SyncEndToEndTests()
    var edt: EDTProcess { sync.edt }

    /// `Tools/postgres` in this repository.
    static let postgresTool = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Tools/postgres")

    /// Runs `Tools/postgres COMMAND DIR`, with `environment` added to the test's; its last line of
    /// output. Spawned and reaped directly: the server it starts outlives it (a daemon), which
    /// Foundation's `Process` does not always see the end of.
    @discardableResult
    static func postgres(_ command: String, _ directory: URL, environment: [String: String] = [:]) throws -> String {
        let output = directory.deletingLastPathComponent().appendingPathComponent("postgres-\(command).out")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var argv: [UnsafeMutablePointer<CChar>?] = []
        for argument in [postgresTool.path, command, directory.path] { argv.append(strdup(argument)) }
        argv.append(nil)
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        var inherited = ProcessInfo.processInfo.environment
        inherited.merge(environment) { _, added in added }
        var envp: [UnsafeMutablePointer<CChar>?] = inherited.map { strdup("\($0.key)=\($0.value)") }
        envp.append(nil)
        defer { for pointer in envp { free(pointer) } }
        guard posix_spawn(&pid, postgresTool.path, &actions, nil, argv, envp) == 0 else {
            throw TestPostgresError("cannot start Tools/postgres")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let printed = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard status == 0 else { throw TestPostgresError("Tools/postgres \(command) failed: \(printed)") }
        return printed.split(separator: "\n").last.map(String.init) ?? ""
    }

    @Test func aDatabaseThatGoesAwayMidPushLosesNothingAndTheCentreServesOnceItIsBack() throws {
        let world = SyncEndToEndTests.World()
        let cluster = world.directory.appendingPathComponent("postgres")
        let url = try Self.postgres("start", cluster)
        defer { _ = try? Self.postgres("stop", cluster) }
        let centre = try ServerProcess.central(db: url, log: world.directory.appendingPathComponent("central.log"))
        defer { centre.terminate() }

        // A laptop enrolled with the PostgreSQL centre.
        let store = world.directory.appendingPathComponent("laptop").path
        let identity = try edt.run(["central", "identity", "--db", url])
        #expect(identity.status == 0, "\(identity.standardError)")
        let created = try edt.run([
            "init", "--store", store, "--device", "edt-laptop-a", "--authority", "E06000038", "--centre-key",
            identity.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines), "--json",
        ])
        let enrolled = try edt.run([
            "central", "enroll", "--db", url, "--device", "edt-laptop-a", "--public-key",
            created.json["publicKey"] as? String ?? "", "--authority", "E06000038",
        ])
        #expect(enrolled.status == 0, "\(enrolled.standardError)")
        let laptop = SyncEndToEndTests.Laptop(store: store, device: "edt-laptop-a", publicKey: "")
        _ = try sync.capture(laptop)
        #expect(try sync.sync(laptop, centre.url).status == 0)

        // The database stopped: a sync fails with the centre's reason, and nothing is lost.
        try Self.postgres("pause", cluster)
        _ = try sync.capture(laptop, concern: "Captured while the centre's database was down.")
        let started = Date()
        let down = try sync.sync(laptop, centre.url, ["--attempts", "2"])
        #expect(down.status == 3, "\(down.standardOutput) \(down.standardError)")
        #expect(
            down.standardError.contains("database"), "the centre's reason reaches the laptop: \(down.standardError)")
        #expect(Date().timeIntervalSince(started) < 25, "answered, not left hanging on the database")

        // Back again: the same running centre stores what waited, once.
        try Self.postgres("resume", cluster)
        // (The centre's pool reconnects on its own schedule: a few more tries than usual.)
        let back = try sync.sync(laptop, centre.url, ["--attempts", "12", "--backoff", "1"])
        #expect(back.status == 0, "\(back.standardError)")
        #expect(back.json["pushed"] as? Int == 1)
        #expect(Int(try TestPostgres.query(url, "SELECT COUNT(*) FROM cases")) == 2)

        // Mid-push: many referrals pushing while the database stops and starts again.
        try sync.importReferrals(laptop, count: 1_500, tag: "mid", in: world.directory)
        let pushing = Process()
        pushing.executableURL = EDTProcess.binary
        pushing.arguments = [
            "sync", "--store", store, "--server", centre.url, "--json", "--attempts", "12", "--backoff", "0.5",
            "--batch", "300",
        ]
        pushing.environment = [
            "EDT_PASSPHRASE": edt.passphrase, "PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(),
        ]
        let output = Pipe()
        pushing.standardOutput = output
        pushing.standardError = FileHandle.nullDevice
        try pushing.run()
        Thread.sleep(forTimeInterval: 0.3)
        try Self.postgres("pause", cluster)
        Thread.sleep(forTimeInterval: 2)
        try Self.postgres("resume", cluster)
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        pushing.waitUntilExit()
        let summary = (try? JSONSerialization.jsonObject(with: printed)) as? [String: Any] ?? [:]
        if pushing.terminationStatus != 0 {
            // It gave up before the database was back: a later sync delivers the rest.
            #expect(try sync.sync(laptop, centre.url).status == 0)
        } else {
            #expect(summary["rejected"] as? Int == 0)
        }
        #expect(Int(try TestPostgres.query(url, "SELECT COUNT(*) FROM cases")) == 1_502, "every referral stored once")
        #expect(Int(try TestPostgres.query(url, "SELECT COUNT(DISTINCT sequence) FROM cases")) == 1_502)
        #expect(try sync.sync(laptop, centre.url).json["pushed"] as? Int == 0, "nothing left pending")
    }
}
