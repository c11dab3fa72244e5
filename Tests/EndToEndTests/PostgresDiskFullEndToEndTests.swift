import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A full disk under the PostgreSQL centre, end to end: a PostgreSQL server of the test's own,
/// started under a limit on the size of the files it writes (`EDT_PG_FSIZE`, prlimit(1)
/// `--fsize`: PostgreSQL ignores `SIGXFSZ`, so a write past it fails with "File too large" as one
/// on a full disk fails with "No space left on device"), so that a large push cannot be written.
/// The push is answered with the reason, nothing of it is stored, the centre keeps serving, and
/// once there is room again (the limit raised on the running server) the next sync stores
/// everything, once.
@Suite(
    "A full disk under the PostgreSQL centre, end to end", .serialized,
    .enabled(if: TestPostgres.serverURL != nil, "needs PostgreSQL (Tools/test installs and starts it)"))
struct PostgresDiskFullEndToEndTests {
    let sync = SyncEndToEndTests()
    var edt: EDTProcess { sync.edt }

    /// The limit on the size of the server's files: room for its catalogs, its WAL segments
    /// (1 MiB each under `EDT_PG_FSIZE`) and a small push, not for the cases of a large one
    /// (about 1.6 KB each in the table: 4,000 take about 6.5 MB).
    static let fileSize = 4 * 1024 * 1024

    /// The processes of the PostgreSQL server of `cluster`: its postmaster, then its children.
    static func serverProcesses(_ cluster: URL) throws -> [Int32] {
        let pidFile = try String(contentsOf: cluster.appendingPathComponent("data/postmaster.pid"), encoding: .utf8)
        guard let postmaster = pidFile.split(separator: "\n").first.flatMap({ Int32($0) }) else {
            throw TestPostgresError("no postmaster in \(cluster.path)")
        }
        let children = try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap { entry -> Int32? in
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            // After the command's name: its state, then its parent.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == postmaster ? pid : nil
        }
        return [postmaster] + children
    }

    /// The soft limit on the size of the files process `pid` writes (`unlimited`, or bytes).
    static func fileSizeLimit(_ pid: Int32) -> String {
        let limits = (try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)) ?? ""
        guard let line = limits.split(separator: "\n").first(where: { $0.hasPrefix("Max file size") }) else {
            return ""
        }
        return line.dropFirst("Max file size".count).split(separator: " ").first.map(String.init) ?? ""
    }

    /// Lifts the limit on the size of the files of every process of the server of `cluster`: the
    /// postmaster first, so that the backends it starts from then on have none either. As the
    /// server's own user (a process may raise its own user's limits up to the hard one, which is
    /// unlimited).
    func raiseFileSizeLimit(_ cluster: URL) throws {
        for pid in try Self.serverProcesses(cluster) {
            let prlimit = ["/usr/bin/prlimit", "--pid", String(pid), "--fsize=unlimited"]
            let raised =
                getuid() == 0
                ? try edt.run(
                    ["-u", "postgres", "--"] + prlimit, executable: URL(fileURLWithPath: "/usr/sbin/runuser"))
                : try edt.run(Array(prlimit.dropFirst()), executable: ServerProcess.prlimit)
            // A backend may have ended meanwhile.
            #expect(raised.status == 0 || !FileManager.default.fileExists(atPath: "/proc/\(pid)"), "\(raised)")
        }
    }

    @Test func aFullDiskAtTheDatabaseServerIsAnsweredWithItsReasonStoresNothingAndTheCentreServesOnOnceThereIsRoom()
        throws
    {
        let world = SyncEndToEndTests.World()
        let cluster = world.directory.appendingPathComponent("postgres")
        let url = try DatabaseFaultsEndToEndTests.postgres(
            "start", cluster, environment: ["EDT_PG_FSIZE": String(Self.fileSize)])
        defer { _ = try? DatabaseFaultsEndToEndTests.postgres("stop", cluster) }
        let server = try Self.serverProcesses(cluster)
        #expect(Self.fileSizeLimit(server[0]) == String(Self.fileSize), "the server runs under the limit")
        // A write past the limit sends SIGXFSZ, which PostgreSQL ignores: the write fails instead.
        #expect(sync.ignores(SIGXFSZ, pid: server[0]))
        let centre = try ServerProcess.central(db: url, log: world.directory.appendingPathComponent("central.log"))
        defer { centre.terminate() }

        let a = try sync.laptop(world, "edt-laptop-a", db: url)
        _ = try sync.capture(a)
        #expect(sync.count(try sync.sync(a, centre.url).json, "pushed") == 1, "a small push fits")

        // 4,000 referrals in one part (one transaction at the centre): more than the limit lets
        // the cases table grow to.
        try sync.importReferrals(a, count: 4_000, tag: "full", in: world.directory)
        let full = try sync.sync(a, centre.url, ["--attempts", "2", "--checkpoint", "10000"])
        #expect(full.status == 3, "\(full.standardOutput) \(full.standardError)")
        #expect(full.standardError.contains("answered 503"), "\(full.standardError)")
        #expect(
            full.standardError.contains("could not be written") && full.standardError.contains("disk is full")
                && full.standardError.contains("free disk space on the database server")
                && full.standardError.contains("File too large"),
            "the centre's reason reaches the laptop: \(full.standardError)")
        #expect(try sync.pendingCount(a) == 4_000, "nothing acknowledged: every referral still pending on the laptop")
        #expect(centre.process.isRunning, "the centre serves on: \(centre.logText.suffix(2_000))")
        #expect(centre.logText.contains("could not be written"), "\(centre.logText.suffix(2_000))")
        let health = try ConnectionLimitsEndToEndTests().health(centre)
        #expect(health.status == 200, "\(health.body)")
        #expect(
            try TestPostgres.query(url, "SELECT string_agg(sequence::TEXT, ',') FROM cases") == "1",
            "nothing of it stored")

        // Room again: the limit lifted on the running server. The next sync stores everything, once.
        try raiseFileSizeLimit(cluster)
        #expect(try Self.serverProcesses(cluster).allSatisfy { Self.fileSizeLimit($0) == "unlimited" })
        let after = try sync.sync(a, centre.url)
        #expect(after.status == 0, "\(after.standardError)")
        #expect(sync.count(after.json, "pushed") == 4_000, "\(after.standardOutput)")
        #expect(try sync.pendingCount(a) == 0)
        #expect(
            try TestPostgres.query(
                url,
                "SELECT COUNT(*), COUNT(DISTINCT id), COUNT(DISTINCT sequence), MIN(sequence), MAX(sequence) FROM cases"
            ) == "4001|4001|4001|1|4001", "each case once, change numbers without gaps")
        let b = try sync.laptop(world, "edt-laptop-b", db: url)
        #expect(sync.count(try sync.sync(b, centre.url).json, "pulled") == 4_001)
        #expect(try sync.digest(a) == sync.digest(b))
    }
}
