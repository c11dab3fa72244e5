import ArgumentParser
import Central
import Foundation
import Handover
import Logging
import PeerForwarding
import Referrals
import Replication
import Uploader

extension CentralCommand {
    /// `edt central peer`: the other authorities' central endpoints this centre forwards cases to.
    struct Peer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "peer",
            abstract: "Enrol, list, remove and sync the peer centres: other authorities' central endpoints.",
            discussion: """
                When a child's home authority runs its own central endpoint, the two centres are \
                enrolled as peers on both sides: each with the other's device and key (as `edt \
                central identity --json` prints them on the other side), the authorities the other \
                serves, and the URL it is reached at. `edt central serve` then forwards to each peer \
                the cases its authorities see (a case forwarded to a home authority it serves, and \
                only that case) over the same line protocol, and takes back the peer's acts on them \
                (acceptance, dispute, agreement). A peer that is down is tried again with a growing \
                backoff and shown as pending here; nothing is dropped.
                """,
            subcommands: [Add.self, List.self, Remove.self, Sync.self]
        )

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "add",
                abstract: "Enrol a peer centre (or change its key, authorities and URL).")

            @OptionGroup var database: DatabaseOptions
            @OptionGroup var known: AuthorityOptions
            @Option(
                help: ArgumentHelp(
                    "The peer's device, central.<identity>, as its `edt central identity --json` prints it.",
                    valueName: "ID"))
            var device: String
            @Option(
                help: ArgumentHelp(
                    "The peer's public key (base64), as its `edt central identity` prints it.", valueName: "KEY"))
            var publicKey: String
            @Option(
                help: ArgumentHelp(
                    "The peer's URL: https://host[:port] (its CA trusted by the system, or by `serve --peer-ca-file`), or http:// on one machine.",
                    valueName: "URL"))
            var url: String
            @Option(
                name: .customLong("authority"),
                help: ArgumentHelp("An authority the peer serves (GSS code); repeat for several.", valueName: "CODE"))
            var authorities: [String]
            @Flag(help: "Print one JSON object: {\"device\", \"url\", \"authorities\"}.") var json = false

            func validate() throws {
                guard let id = try? DeviceID(device), HandoverAcceptance.isCentreDevice(id) else {
                    throw ValidationError(
                        "--device \"\(device)\" is not a centre's device (central.<identity>, from `edt central identity --json`)"
                    )
                }
                guard let key = Data(base64Encoded: publicKey), key.count == 32 else {
                    throw ValidationError(
                        "--public-key must be the 32-byte Ed25519 key in base64 that `edt central identity` printed")
                }
                guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""),
                    parsed.host != nil
                else { throw ValidationError("--url \"\(url)\" must be an http:// or https:// URL") }
                guard !authorities.isEmpty else { throw ValidationError("give at least one --authority CODE") }
                for code in authorities where !Identifiers.isAuthorityCode(code) {
                    throw ValidationError("--authority \"\(code)\" is not a GSS code (e.g. E10000014)")
                }
            }

            func run() async throws {
                let directory = try known.load()
                for code in authorities {
                    if let refusal = directory.refusal(of: code, on: nil) {
                        throw Failure.refused("--authority: \(refusal)")
                    }
                }
                let storage = try await database.open()
                let enrolled = EnrolledDevice(
                    id: try DeviceID(device), publicKey: Array(Data(base64Encoded: publicKey) ?? Data()),
                    authorities: Set(authorities), peerURL: url)
                guard let peer = PeerCentre(enrolled) else { throw Failure.refused("not a peer") }
                do {
                    try await storage.addPeer(peer)
                } catch {
                    throw error.code == .refused ? Failure.refused(error.message) : Failure.inputOutput("\(error)")
                }
                if json {
                    JSONOutput.print(
                        .object([
                            "device": .string(device), "url": .string(url),
                            "authorities": .array(enrolled.authorities.sorted().map { .string($0) }),
                        ]))
                } else {
                    print(
                        "Peer \(device) at \(url) enrolled for \(enrolled.authorities.sorted().joined(separator: ", "))"
                    )
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "list",
                abstract: "List the peer centres and how forwarding to each stands.")

            @OptionGroup var database: DatabaseOptions
            @Flag(
                help:
                    "Print one JSON object: {\"peers\": [{\"device\", \"url\", \"authorities\", \"removed\", \"pending\", \"lastSuccess\", \"problem\", \"retryAt\"}]}."
            )
            var json = false

            func run() async throws {
                let storage = try await database.open()
                var rows: [FieldValue] = []
                do {
                    for peer in try await storage.peers(includingRemoved: true) {
                        let state = try await storage.forwardingState(of: peer.device.id)
                        let pending = try await storage.countCasesToForward(
                            to: peer.device.id, authorities: peer.device.authorities)
                        let row: [String: FieldValue] = [
                            "device": .string(peer.device.id.rawValue), "url": .string(peer.url),
                            "authorities": .array(peer.device.authorities.sorted().map { .string($0) }),
                            "removed": .bool(peer.device.revoked), "pending": .integer(Int64(pending)),
                            "lastSuccess": state.lastSuccess.map { .string($0.description) } ?? .null,
                            "problem": state.problem.map(FieldValue.string) ?? .null,
                            "retryAt": state.retryAt.map { .string($0.description) } ?? .null,
                        ]
                        if json {
                            rows.append(.object(row))
                        } else {
                            let status =
                                state.problem.map { "pending: \($0) (next try \(state.retryAt?.description ?? "now"))" }
                                ?? "up to date" + (state.lastSuccess.map { " (last \($0))" } ?? "")
                            print(
                                "\(peer.device.id) \(peer.url) \(peer.device.authorities.sorted().joined(separator: ",")) \(peer.device.revoked ? "removed" : ""): \(pending) case(s) to forward; \(status)"
                            )
                        }
                    }
                } catch {
                    throw Failure.inputOutput(error.message)
                }
                if json { JSONOutput.print(.object(["peers": .array(rows)])) }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "remove",
                abstract: "Remove a peer centre: nothing more is forwarded to it nor taken from it; its acts stay.")

            @OptionGroup var database: DatabaseOptions
            @Option(help: ArgumentHelp("The peer's device, central.<identity>.", valueName: "ID")) var device: String

            func run() async throws {
                let storage = try await database.open()
                guard let id = try? DeviceID(device), HandoverAcceptance.isCentreDevice(id),
                    try await storage.peers(includingRemoved: false).contains(where: { $0.device.id == id })
                else { throw Failure.refused("no peer centre \(device) is enrolled here") }
                _ = try await storage.revoke(id)
                print("Peer \(device) removed")
            }
        }

        struct Sync: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "sync",
                abstract: "Forward to every peer centre now (as `edt central serve` does on its own).")

            @OptionGroup var database: DatabaseOptions
            @OptionGroup var peerTLS: PeerTLSOptions
            @Flag(
                help:
                    "Print one JSON object: {\"peers\": [{\"device\", \"pushed\", \"pulled\", \"problem\", \"retryAt\", \"refusedPulls\"}]}."
            )
            var json = false
            @Option(
                help: ArgumentHelp(
                    "The most cases one request to a peer carries (oldest changes first); a larger backlog is forwarded in as many requests as it takes.",
                    valueName: "N"))
            var casesPerRound = 5_000

            func validate() throws {
                guard casesPerRound >= 1 else { throw ValidationError("--cases-per-round must be at least 1") }
            }

            func run() async throws {
                let transfer = try peerTLS.applied(to: TransferOptions())
                let storage = try await database.open()
                var forwarder = PeerForwarder(storage: storage, logger: Logger(label: "edt-central"))
                forwarder.transfer = transfer
                forwarder.casesPerRound = casesPerRound
                let outcomes = await forwarder.forwardDue(force: true)
                if json {
                    JSONOutput.print(
                        .object([
                            "peers": .array(
                                outcomes.map { outcome in
                                    .object([
                                        "device": .string(outcome.peer.rawValue),
                                        "pushed": .integer(Int64(outcome.pushed)),
                                        "pulled": .integer(Int64(outcome.pulled)),
                                        "problem": outcome.state.problem.map(FieldValue.string) ?? .null,
                                        "retryAt": outcome.state.retryAt.map { .string($0.description) } ?? .null,
                                        "refusedPulls": .array(outcome.refusedPulls.map(FieldValue.string)),
                                    ])
                                })
                        ]))
                } else {
                    for outcome in outcomes {
                        print(
                            "\(outcome.peer): \(outcome.pushed) forwarded, \(outcome.pulled) taken back"
                                + (outcome.state.problem.map { "; pending: \($0)" } ?? ""))
                    }
                }
                if outcomes.contains(where: { $0.state.problem != nil }) { throw ExitCode(3) }
            }
        }
    }
}
