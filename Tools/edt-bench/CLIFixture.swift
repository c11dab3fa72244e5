import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Laptop stores and central endpoints made with the `edt` CLI itself, as an administrator and a
/// worker make them, for the benchmarks that time whole `edt` processes.
enum CLIFixture {
    static let authority = SyncFixture.authority
    static let passphrase = SyncFixture.passphrase
    /// Referrals per `edt referral import`: each import reads its file whole and is one
    /// all-or-nothing commit, so a large store is filled a chunk at a time.
    static let importChunk = 10_000

    /// The `edt` executable at `path`, or else the one built beside edt-bench.
    static func edt(_ path: String?) throws -> URL {
        guard let path else { return try CentralProcess.edtExecutable() }
        let url = URL(fileURLWithPath: path)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw BenchFailure("--edt \(path) is not an executable file")
        }
        return url
    }

    /// Runs `edt` with the store passphrase in its environment, its output kept in `scratch`.
    static func runner(edt: URL, scratch: URL) throws -> ProcessRunner {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        environment["EDT_PASSPHRASE"] = passphrase
        return ProcessRunner(executable: edt, environment: environment, scratch: scratch)
    }

    /// A valid referral document with a concern of about 1.5 KB. `receivedAt` is spread over
    /// `total` minutes out of capture order, so that a list sorted by it has work to do.
    static func referral(_ number: Int, of total: Int) -> ReferralDocument {
        let minutes = (number &* 7_919) % max(total, 1)
        let received = Date(timeIntervalSince1970: startOfReceipts + Double(minutes) * 60)
        return ReferralDocument(
            receivedAt: received.formatted(.iso8601),
            receivedBy: .init(name: "Sam Patel", role: "EDT social worker"),
            hostAuthority: authority, homeAuthority: "E09000033", channel: "phone", verbal: true,
            concern: "Referral \(number): " + ReferralCorpus.text(seed: number &* 7 &+ 1, length: 1_500),
            children: [
                .init(
                    id: "c1", name: "Child \(number)", dateOfBirth: "2019-05-01",
                    location: ReferralCorpus.text(seed: number &* 7 &+ 2, length: 80))
            ],
            referrer: .init(
                name: "PC Daniel Okonkwo", role: "Police constable", agency: "Thames Valley Police",
                phone: "07700 900123", professional: true),
            family: .init(address: ReferralCorpus.text(seed: number &* 7 &+ 3, length: 80)))
    }

    /// 2026-06-01T00:00:00Z: referrals are received from then on, all in the past.
    private static let startOfReceipts = 1_780_272_000.0

    /// Writes the referrals numbered `numbers` (of `total`) to `file` as JSON Lines.
    static func writeReferrals(_ numbers: Range<Int>, of total: Int, to file: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var lines = Data()
        for number in numbers {
            lines.append(try encoder.encode(referral(number, of: total)))
            lines.append(0x0A)
        }
        try lines.write(to: file)
    }
}

/// A referral document as `edt referral new` and `edt referral import` take it.
struct ReferralDocument: Encodable {
    struct Person: Encodable {
        let name: String
        let role: String
    }
    struct Child: Encodable {
        let id: String
        let name: String
        let dateOfBirth: String
        let location: String
    }
    struct Referrer: Encodable {
        let name: String
        let role: String
        let agency: String
        let phone: String
        let professional: Bool
    }
    struct Family: Encodable {
        let address: String
    }

    let receivedAt: String
    let receivedBy: Person
    let hostAuthority: String
    let homeAuthority: String
    let channel: String
    let verbal: Bool
    let concern: String
    let children: [Child]
    let referrer: Referrer
    let family: Family
}

/// What `edt sync --json` reports, in part.
struct SyncSummary: Decodable {
    let pushed: Int
    let pulled: Int
    let rejected: Int
}

/// A central endpoint made and run with the CLI: `edt central identity`, `edt central enroll`,
/// then `edt central serve` on a loopback port. Stopped with SIGTERM by ``stop()``.
final class CLICentre {
    let database: URL
    /// The centre's public key, as `edt central identity` prints it.
    let key: String
    /// The endpoint's URL once ``start()`` has returned.
    private(set) var url = ""
    private let runner: ProcessRunner
    private var serving: ChildProcess?

    /// The centre of the database at `database`, made if it does not exist.
    init(database: URL, runner: ProcessRunner) throws {
        self.database = database
        self.runner = runner
        let printed = try runner.run(["central", "identity", "--db", database.path]).output()
        key = String(decoding: printed, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit { stop() }

    /// Enrols `device` (its key as `edt init --json` printed it) for the fixture's authority.
    func enroll(device: String, publicKey: String) throws {
        _ = try runner.run([
            "central", "enroll", "--db", database.path, "--device", device, "--public-key", publicKey,
            "--authority", CLIFixture.authority,
        ])
    }

    /// Starts `edt central serve --listen 127.0.0.1:0` and waits (up to 60 s) for the line of its
    /// log that says where it listens.
    func start() throws {
        let log = database.deletingPathExtension().appendingPathExtension("log")
        let child = try runner.start(
            ["central", "serve", "--db", database.path, "--listen", "127.0.0.1:0"], log: log)
        serving = child
        do {
            url = try Self.address(of: child, loggingTo: log)
        } catch {
            stop()
            throw error
        }
    }

    /// Waits (up to 60 s) for the line of an `edt central serve`'s log that says where it
    /// listens, and returns its URL.
    static func address(of child: ChildProcess, loggingTo log: URL) throws -> String {
        let prefix = "listening on "
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) {
                return String(line.dropFirst(prefix.count))
            }
            guard child.isRunning else { break }
            usleep(20_000)
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw BenchFailure("edt central serve did not say where it listens; its log:\n\(text.suffix(2_000))")
    }

    /// Sends SIGTERM to the endpoint and waits for it to exit.
    func stop() {
        serving?.terminate()
        serving = nil
    }
}

/// A laptop store made with `edt init` and filled with `edt referral import`.
struct CLIStore {
    let directory: URL
    let device: String

    /// Makes a store in `directory` trusting `centre`, enrols it there and imports `records`
    /// referrals, ``CLIFixture/importChunk`` per import; says how far it got on `progress`.
    static func make(
        at directory: URL, device: String, records: Int, centre: CLICentre, runner: ProcessRunner,
        progress: Progress, label: String
    ) throws -> CLIStore {
        struct Initialised: Decodable { let publicKey: String }
        progress.say("\(label): edt init…")
        let printed = try runner.run([
            "init", "--store", directory.path, "--device", device, "--authority", CLIFixture.authority,
            "--centre-key", centre.key, "--json",
        ]).output()
        let publicKey = try JSONDecoder().decode(Initialised.self, from: printed).publicKey
        try centre.enroll(device: device, publicKey: publicKey)

        let lines = runner.scratch.appendingPathComponent("import.jsonl")
        defer { try? FileManager.default.removeItem(at: lines) }
        let started = Date()
        var imported = 0
        while imported < records {
            let end = min(records, imported + CLIFixture.importChunk)
            let elapsed = Int(Date().timeIntervalSince(started))
            progress.say("\(label): edt referral import, \(imported)/\(records) imported (\(elapsed) s)…")
            try CLIFixture.writeReferrals(imported..<end, of: records, to: lines)
            _ = try runner.run(["referral", "import", "--store", directory.path, "--file", lines.path])
            imported = end
        }
        progress.say(
            "\(label): \(records)/\(records) imported in \(Int(Date().timeIntervalSince(started).rounded())) s")
        return CLIStore(directory: directory, device: device)
    }

    /// `edt sync --json` with `centre`; returns the process's cost and what it reported.
    func sync(with centre: CLICentre, runner: ProcessRunner) throws -> (ProcessRun, SyncSummary) {
        let run = try runner.run(["sync", "--store", directory.path, "--server", centre.url, "--json"])
        return (run, try JSONDecoder().decode(SyncSummary.self, from: try run.output()))
    }

    /// How many referrals `edt referral list --json` lists, and the ids of `count` of them,
    /// spread over the list (oldest received first). Only those ids are kept, and the heap is
    /// trimmed after the parse: what edt-bench holds weighs on its children's peaks.
    func referralIDs(_ count: Int, runner: ProcessRunner) throws -> (listed: Int, ids: [String]) {
        struct Listed: Decodable {
            struct Row: Decodable { let id: String }
            let referrals: [Row]
        }
        defer { OwnMemory.trim() }
        let printed = try runner.run(["referral", "list", "--store", directory.path, "--json"]).output()
        let rows = try JSONDecoder().decode(Listed.self, from: printed).referrals
        guard !rows.isEmpty else { return (0, []) }
        return (rows.count, (0..<count).map { rows[($0 &* 7_919 &+ rows.count / 2) % rows.count].id })
    }
}
