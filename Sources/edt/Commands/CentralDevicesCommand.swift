import ArgumentParser
import Central
import Foundation
import Referrals
import Replication

extension CentralCommand {
    /// `edt central devices`: every enrolled laptop and peer centre, and how recently each synced.
    struct Devices: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "devices",
            abstract: "List the enrolled laptops and peer centres: when each last synced, and which are stale.",
            discussion: """
                A device is stale when it has not synced successfully within --stale-after \
                (default 24h), or never has; a revoked device (or removed peer) is not expected to \
                sync and is never stale. PENDING is what the device still held unacknowledged \
                after its last successful sync, as it reported it (- when it did not: a laptop of \
                an earlier edt, or none yet). A stale laptop holding pending referrals is one whose \
                work the centre, and the morning's handover, may not have. The exit status is 0 \
                whether or not a device is stale: scripts read `stale` from --json.
                """)

        @OptionGroup var database: DatabaseOptions
        @Option(
            name: .customLong("stale-after"),
            help: ArgumentHelp(
                "A device that has not synced within this is stale: a whole number and a unit, s, m, h or d.",
                valueName: "DURATION"))
        var staleAfter = "24h"
        @Flag(
            help:
                "Print one JSON object: {\"asOf\", \"staleAfterSeconds\", \"devices\": [{\"device\", \"authorities\", \"peer\", \"revoked\", \"lastSync\", \"pending\", \"stale\"}]}."
        )
        var json = false

        /// The longest --stale-after: ten years.
        static let longest: Int64 = 3_650 * 86_400

        func validate() throws {
            guard let seconds = DurationArgument.seconds(staleAfter) else {
                throw ValidationError("--stale-after \"\(staleAfter)\" \(DurationArgument.expected)")
            }
            guard seconds >= 1 && seconds <= Self.longest else {
                throw ValidationError("--stale-after \"\(staleAfter)\" must be at least 1s and at most 3650d")
            }
        }

        func run() async throws {
            let staleAfterSeconds = DurationArgument.seconds(staleAfter) ?? 86_400
            let storage = try await database.open()
            let devices: [DeviceFreshness]
            do {
                devices = try await storage.enrolledDevices()
            } catch {
                throw Failure.inputOutput(error.message)
            }
            let now = Instant(Date())
            if json {
                JSONOutput.print(
                    .object([
                        "asOf": .string(now.description), "staleAfterSeconds": .integer(staleAfterSeconds),
                        "devices": .array(
                            devices.map { entry in
                                .object([
                                    "device": .string(entry.device.id.rawValue),
                                    "authorities": .array(entry.device.authorities.sorted().map { .string($0) }),
                                    "peer": .bool(entry.device.isPeer), "revoked": .bool(entry.device.revoked),
                                    "lastSync": entry.lastSync.map { .string($0.description) } ?? .null,
                                    "pending": entry.pending.map { .integer(Int64($0)) } ?? .null,
                                    "stale": .bool(entry.isStale(at: now, staleAfterSeconds: staleAfterSeconds)),
                                ])
                            }),
                    ]))
                return
            }
            print(Self.table(devices, at: now, staleAfterSeconds: staleAfterSeconds, written: staleAfter))
        }

        /// The devices as a table for people, with a line saying how many are stale (not synced
        /// within `written`, the --stale-after given).
        static func table(
            _ devices: [DeviceFreshness], at now: Instant, staleAfterSeconds: Int64, written: String
        ) -> String {
            let heading = ["DEVICE", "KIND", "AUTHORITIES", "LAST SYNC", "PENDING", "STATE"]
            let rows = devices.map { entry -> [String] in
                let state =
                    entry.device.revoked
                    ? (entry.device.isPeer ? "removed" : "revoked")
                    : entry.isStale(at: now, staleAfterSeconds: staleAfterSeconds) ? "stale" : "ok"
                return [
                    entry.device.id.rawValue, entry.device.isPeer ? "peer" : "laptop",
                    entry.device.authorities.sorted().joined(separator: ","), entry.lastSync?.description ?? "never",
                    entry.pending.map(String.init) ?? "-", state,
                ]
            }
            let widths = heading.indices.map { column in
                ([heading] + rows).map { $0[column].count }.max() ?? 0
            }
            func line(_ cells: [String]) -> String {
                zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
            }
            let stale = devices.filter { $0.isStale(at: now, staleAfterSeconds: staleAfterSeconds) }.count
            let summary =
                devices.isEmpty
                ? "No device is enrolled (edt central enroll)."
                : "\(stale) of \(devices.count) device(s) stale: not synced within \(written) as of \(now)."
            return ([line(heading)] + rows.map(line) + [summary]).joined(separator: "\n")
        }
    }
}
