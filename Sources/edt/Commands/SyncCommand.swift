import ArgumentParser
import Foundation
import Laptop
import LineProtocol
import Replication
import Uploader

#if canImport(Glibc)
import Glibc
#endif

/// `edt sync`: push what the centre lacks, pull what changed for this device's authorities.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Sync the replica with the central endpoint (push, then pull), over HTTP(S) with libcurl.",
        discussion: """
            Records the centre refuses stay on this laptop, flagged with the centre's reason \
            (listed after the sync and by `edt referral list`), are never dropped, and are offered \
            again at each sync until the centre takes them. Use https:// beyond this machine \
            (the centre serves it with `edt central serve --tls-cert --tls-key`, or sits behind a \
            TLS terminator): --ca-file trusts the CA that issued its certificate, --pin pins its \
            key, and a TLS failure stops the sync at once (exit 1) with nothing lost. Network failures, damaged replies, \
            429 and 5xx answers are retried with exponential backoff; if they persist the sync \
            exits 3 and nothing acknowledged is lost: run it again later. Proxies are taken from \
            the environment (https_proxy, no_proxy) as curl reads them.
            """
    )

    @OptionGroup var options: StoreOptions

    @Option(help: ArgumentHelp("The central endpoint's URL (e.g. https://edt-central.example).", valueName: "URL"))
    var server: String

    @Option(help: ArgumentHelp("A CA bundle (PEM) to trust instead of the system's.", valueName: "FILE"))
    var caFile: String?

    @Option(help: ArgumentHelp("Pin the server's public key: sha256//BASE64 (several joined by ;).", valueName: "PIN"))
    var pin: String?

    @Option(help: ArgumentHelp("Attempts of one request before giving up.", valueName: "N"))
    var attempts = 6

    @Option(
        help: ArgumentHelp(
            "The first retry's backoff in seconds, doubled at each further attempt.", valueName: "SECONDS"))
    var backoff = 1.0

    @Option(
        help: ArgumentHelp("Give up on a transfer that moves under 64 bytes/s for this long.", valueName: "SECONDS"))
    var stallSeconds = 30

    @Option(help: ArgumentHelp("Records per request.", valueName: "N"))
    var batch = 10_000

    @Option(
        help: ArgumentHelp(
            "Records between signed checkpoints in a request (the centre stores each verified part while the rest arrives); a part is also signed once it holds 4 MiB of records.",
            valueName: "N"))
    var checkpoint = SyncSession.Options.defaultCheckpointRecords

    @Flag(
        help:
            "Print one JSON object: {\"pushed\", \"pulled\", \"rejected\", \"conflicts\", \"requests\", \"attempts\", \"relayed\", \"relayRefusals\", \"purged\", \"purgeProblem\", \"refusals\": [{\"id\", \"reason\", \"message\"}]}."
    )
    var json = false

    func validate() throws {
        guard server.hasPrefix("http://") || server.hasPrefix("https://") else {
            throw ValidationError("--server \"\(server)\" must be an http:// or https:// URL")
        }
        guard attempts >= 1 else { throw ValidationError("--attempts must be at least 1") }
        guard backoff >= 0, backoff.isFinite else { throw ValidationError("--backoff must be 0 or more seconds") }
        guard stallSeconds >= 1 else { throw ValidationError("--stall-seconds must be at least 1") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard checkpoint >= 1 else { throw ValidationError("--checkpoint must be at least 1") }
    }

    func run() async throws {
        if server.hasPrefix("http://"), let host = URLComponents(string: server)?.host,
            !["127.0.0.1", "localhost", "::1", "[::1]"].contains(host)
        {
            FileHandleOutput.standardError(
                "warning: \(server) is plain http: referrals cross the network unencrypted; use https://")
        }
        let workspace = try options.open()
        var settings = SyncSession.Options(server: server)
        settings.transfer.caFile = caFile
        settings.transfer.pinnedPublicKey = pin
        settings.transfer.lowSpeedSeconds = stallSeconds
        settings.machine.maximumAttempts = attempts
        settings.machine.baseBackoffSeconds = backoff
        settings.machine.batchSize = batch
        settings.checkpointRecords = checkpoint
        let bar = isatty(2) == 1 ? ProgressBar() : nil
        var progress: (@Sendable (SyncSession.Progress) -> Void)?
        if let bar { progress = { status in bar.show(status) } }
        let summary: SyncSession.Summary
        do throws(LaptopError) {
            summary = try await workspace.sync(settings, progress: progress)
        } catch {
            bar?.clear()
            throw Failure(error)
        }
        bar?.clear()
        if let problem = summary.purgeProblem {
            FileHandleOutput.standardError(
                "warning: synced, but the accepted cases could not be dropped from this laptop (the next sync tries again): \(problem)"
            )
        }
        if json {
            JSONOutput.print(
                .object([
                    "pushed": .integer(Int64(summary.pushed)), "pulled": .integer(Int64(summary.pulled)),
                    "rejected": .integer(Int64(summary.rejected)), "conflicts": .integer(Int64(summary.conflicts)),
                    "requests": .integer(Int64(summary.requests)), "attempts": .integer(Int64(summary.attempts)),
                    "relayed": .integer(Int64(summary.relayed)), "purged": .integer(Int64(summary.purged)),
                    "purgeProblem": summary.purgeProblem.map { .string($0) } ?? .null,
                    "relayRefusals": .array(summary.relayRefusals.map { .string($0) }),
                    "refusals": .array(
                        summary.rejections.map {
                            .object([
                                "id": .string($0.record.rawValue), "reason": .string($0.reason),
                                "message": .string($0.message),
                            ])
                        }),
                ]))
        } else {
            print(
                "Synced with \(server): pushed \(summary.pushed), pulled \(summary.pulled), rejected \(summary.rejected); \(summary.conflicts) field\(summary.conflicts == 1 ? "" : "s") in conflict"
            )
            if summary.purged > 0 {
                let keep = (try? workspace.keepAcceptedDays()) ?? 0
                print(
                    "Dropped \(summary.purged) case\(summary.purged == 1 ? "" : "s") from this laptop: held by the centre and accepted by the day team"
                        + (keep == 0 ? "" : " more than \(keep) day\(keep == 1 ? "" : "s") ago")
                        + " (`edt store keep-accepted`)")
            }
            if summary.relayed > 0 {
                print("Relayed \(summary.relayed) colleague's bundle\(summary.relayed == 1 ? "" : "s") to the centre")
            }
            for refusal in summary.relayRefusals {
                print("  the centre refused a colleague's bundle (forgotten; its writes stay here): \(refusal)")
            }
            for rejection in summary.rejections {
                print("  refused \(rejection.record) (\(rejection.reason)): \(rejection.message)")
            }
            if summary.conflicts > 0 {
                print("Resolve conflicts with `edt referral resolve`; see `edt referral list`.")
            }
        }
    }
}

/// A one-line progress display on stderr (terminals only). Stateless: shown from the sync's thread.
final class ProgressBar: Sendable {
    private let width = 30

    func show(_ progress: SyncSession.Progress) {
        if let retrying = progress.retrying {
            write("sync: retrying in \(String(format: "%.1f", retrying.seconds)) s: \(retrying.reason)")
            return
        }
        let total = max(progress.toPush, 1)
        let filled = min(width, progress.pushed * width / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        write(
            "sync [\(bar)] pushed \(progress.pushed)/\(progress.toPush), pulled \(progress.pulled), requests \(progress.requests)"
        )
    }

    func clear() {
        write("")
    }

    private func write(_ text: String) {
        var line = "\r\u{1B}[K" + text.prefix(200)
        line.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
