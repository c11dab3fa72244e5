import Crypto
import Foundation
import LineProtocol
import Referrals
import Replication
import Testing

/// Which entries in a centre's name a laptop believes: each at a `central.<identity>` dot must
/// name that device and verify with the key the laptop trusts for that very centre (a peer
/// centre's vouched key, else its own centre's), and no other.
@Suite("Centre entries and their keys")
struct CentreEntryProblemTests {
    let centre = Curve25519.Signing.PrivateKey()
    let peer = Curve25519.Signing.PrivateKey()
    let record: RecordID
    let centreDevice: DeviceID
    let peerDevice: DeviceID

    init() throws {
        record = try RecordID("c9d0683d-422a-4193-81b9-85fd7b0e3711")
        centreDevice = try DeviceID("central.own1")
        peerDevice = try DeviceID("central.westberks1")
    }

    func raw(_ key: Curve25519.Signing.PrivateKey) -> [UInt8] { Array(key.publicKey.rawRepresentation) }

    /// The lookup of a laptop that trusts `centre` and whose centre vouched for `peer` at ``peerDevice``.
    var keys: @Sendable (DeviceID) -> [UInt8]? {
        SyncContract.centreKeyLookup(centreKey: raw(centre), peerCentres: [peerDevice: raw(peer)])
    }

    /// A home authority's acceptance at `device`'s dot, naming `named` (that device unless
    /// told), signed with `key`.
    func act(
        at device: DeviceID, naming named: DeviceID? = nil, signedWith key: Curve25519.Signing.PrivateKey
    ) throws -> Entry {
        let instant = try #require(Instant(iso8601: "2027-03-27T02:25:00Z"))
        let act = try CrossAuthorityAct(
            verb: .accept, authority: "E06000037", by: try ReferralEntry.Author(name: "H. Patel", role: "Team manager"),
            at: instant, recordedAt: instant, device: named ?? device, reference: "WB-1")
        let payload = try CrossAuthorityAct.sign(act.payload, record: record) { Array(try key.signature(for: $0)) }
        return try Entry(dot: try Dot(device, 1), kind: CrossAuthorityAct.kind, payload: .object(payload))
    }

    @Test func aPeersEntryVerifiesWithTheKeyVouchedForItAndNoOther() throws {
        #expect(
            HandoverAcceptance.centreEntryProblem(
                of: try act(at: peerDevice, signedWith: peer), in: record, centreKey: keys) == nil)
        let forged = HandoverAcceptance.centreEntryProblem(
            of: try act(at: peerDevice, signedWith: centre), in: record, centreKey: keys)
        #expect(forged?.contains("not signed with the centre's key") == true, "\(forged ?? "accepted")")
        #expect(forged?.contains(peerDevice.rawValue) == true)
        // The peer's key counts for its own device only.
        let elsewhere = try DeviceID("central.elsewhere9")
        #expect(
            HandoverAcceptance.centreEntryProblem(
                of: try act(at: elsewhere, signedWith: peer), in: record, centreKey: keys)
                != nil)
        // Any other centre device: the laptop's own centre's key.
        #expect(
            HandoverAcceptance.centreEntryProblem(
                of: try act(at: elsewhere, signedWith: centre), in: record, centreKey: keys)
                == nil)
        #expect(
            HandoverAcceptance.centreEntryProblem(
                of: try act(at: centreDevice, signedWith: centre), in: record, centreKey: keys) == nil)
    }

    @Test func anEntryNamingAnotherDeviceThanItsDotIsRefused() throws {
        let problem = HandoverAcceptance.centreEntryProblem(
            of: try act(at: peerDevice, naming: centreDevice, signedWith: peer), in: record, centreKey: keys)
        #expect(problem?.contains("does not name the device whose dot it has") == true, "\(problem ?? "accepted")")
    }

    @Test func aCentreDeviceWithNoKeyKnownIsRefusedAndOthersAreNotAsked() throws {
        let none: (DeviceID) -> [UInt8]? = { _ in nil }
        let problem = HandoverAcceptance.centreEntryProblem(
            of: try act(at: peerDevice, signedWith: peer), in: record, centreKey: none)
        #expect(problem?.contains("does not know the centre's key") == true, "\(problem ?? "accepted")")
        // An entry at a laptop's dot is not a centre's: the lookup is not asked.
        let laptop = try Entry(
            dot: try Dot(try DeviceID("edt-laptop-a"), 3), kind: "note", payload: .object(["text": .string("x")]))
        #expect(
            HandoverAcceptance.centreEntryProblem(
                of: laptop, in: record,
                centreKey: { _ in
                    Issue.record("asked for a laptop's key")
                    return nil
                }) == nil)
    }

    @Test func theSingleKeyFormsStillCheckEveryCentreDeviceWithTheCentresKey() throws {
        let peers = try act(at: peerDevice, signedWith: peer)
        let centres = try act(at: centreDevice, signedWith: centre)
        #expect(HandoverAcceptance.centreEntryProblem(of: centres, in: record, centreKey: raw(centre)) == nil)
        #expect(HandoverAcceptance.centreEntryProblem(of: peers, in: record, centreKey: raw(centre)) != nil)
        #expect(
            HandoverAcceptance.centreEntryProblem(of: centres, in: record, centreKey: nil)?
                .contains("does not know the centre's key") == true)
        let both = Record(id: record, fields: [], entries: [centres, peers])
        #expect(
            HandoverAcceptance.centreEntriesProblem(in: both, centreKey: raw(centre))?.contains("central.westberks1")
                == true)
        #expect(HandoverAcceptance.centreEntriesProblem(in: both, centreKey: keys) == nil)
        // Their acts count the same way.
        #expect(CrossAuthorityAct.all(in: both, centreKey: keys).count == 2)
    }
}
