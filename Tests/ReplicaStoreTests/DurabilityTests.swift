import Foundation
import ReplicaStore
import Replication
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Durability under SIGKILL")
struct DurabilityTests {
    /// A child captures referrals in a loop and prints each id once its commit returned; it is
    /// killed with SIGKILL at a random moment, many times. Every printed capture must be there,
    /// and the store must open with no repair.
    @Test func everyCaptureReportedDoneSurvivesAKill() throws {
        let helper = productsDirectory().appendingPathComponent("edt-capture-loop")
        try #require(
            FileManager.default.isExecutableFile(atPath: helper.path),
            "build edt-capture-loop first (swift build --build-tests)")
        let directory = temporaryDirectory().appendingPathComponent("store")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        _ = try ReplicaStore.create(
            at: directory, device: try DeviceID("edt-laptop-a"), authorities: ["E06000038"], passphrase: "pw")

        var reported: Set<String> = []
        var random = SystemRandomNumberGenerator()
        for round in 0..<12 {
            let process = Process()
            process.executableURL = helper
            process.arguments = [directory.path, "100000"]
            process.environment = ["EDT_PASSPHRASE": "pw", "PATH": "/usr/bin:/bin"]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Wait for its first reported capture (opening the store takes a while: scrypt), so
            // the kill lands inside the capture loop however slow the machine; then kill it after
            // a random while.
            var printedData = Data()
            while !printedData.contains(0x0A) {
                let piece = output.fileHandleForReading.availableData
                if piece.isEmpty { break }  // the child ended early; the checks below report it
                printedData.append(piece)
            }
            usleep(UInt32.random(in: 0...300_000, using: &random))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            printedData.append(output.fileHandleForReading.readDataToEndOfFile())
            let printed = String(decoding: printedData, as: UTF8.self)
            // Only complete lines were reported done; a line cut by the kill was not.
            let lines = printed.split(separator: "\n", omittingEmptySubsequences: false)
            reported.formUnion(lines.dropLast().map(String.init))
            let store = try ReplicaStore.open(at: directory, passphrase: "pw")
            let present = Set((try store.recordIDs()).map(\.rawValue))
            let missing = reported.subtracting(present)
            #expect(missing.isEmpty, "round \(round): \(missing.count) captures reported done are missing")
        }
        #expect(reported.count >= 12, "the loop should have captured something before each kill")
    }
}
