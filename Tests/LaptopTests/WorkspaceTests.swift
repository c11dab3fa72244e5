import Foundation
import Laptop
import Referrals
import Replication
import TestSupport
import Testing

/// The laptop layer in process: a real encrypted store in a temporary directory, a fixed clock.
@Suite("Workspace: capture and change")
struct WorkspaceTests {
    static let clock = FixedClock(Instant(iso8601: "2027-03-27T02:30:00Z")!)
    static let minimal = #"{"receivedAt":"2027-03-27T02:10:00Z","receivedBy":{"name":"J. Okafor","role":"EDT social worker"},"hostAuthority":"E06000038","channel":"phone","concern":"Child alone at the station."}"#

    static func workspace(_ directory: URL, authorities: [String] = ["E06000038"]) throws -> Workspace {
        try Workspace.create(
            at: directory.appendingPathComponent("store"), device: try DeviceID("edt-laptop-a"), authorities: authorities,
            passphrase: "pass phrase", clock: clock)
    }

    @Test func aCapturedReferralIsThereWithItsGaps() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let workspace = try Self.workspace(directory)
        let captured = try workspace.capture(document: Array(Self.minimal.utf8)[...], source: "test")
        #expect(captured.gaps.contains("children"))
        let detail = try workspace.referral(captured.id.rawValue)
        guard case .object(let document) = detail.document else { Issue.record("no document"); return }
        #expect(document["concern"] == .string("Child alone at the station."))
        #expect(document["receivedAt"] == .string("2027-03-27T02:10:00Z"))
    }
}
