import Crypto
import Foundation
import Laptop
import LineProtocol
import Referrals
import Replication
import TestSupport
import Testing

/// A bundle proves only its own device's writes, and only entries that device signed: a laptop
/// refuses the rest whole, and merges nothing of them.
@Suite("Workspace: bundle authorship")
struct BundleAuthorshipTests {
    /// A bundle from device `device` (key `key`) holding one decision of case `id` at `device`'s
    /// counter 1, whose payload names `naming` and which `signer` signed (unsigned when nil).
    func bundle(
        case id: RecordID, device: String, key: Curve25519.Signing.PrivateKey, naming: String,
        signer: Curve25519.Signing.PrivateKey?
    ) throws -> [UInt8] {
        var payload: [String: FieldValue] = [
            "text": .string("No further action."), "by": .string("J. Okafor"), "role": .string("EDT social worker"),
            "at": .string("2027-03-27T02:40:00Z"), "device": .string(naming),
        ]
        if let signer {
            payload = try EntrySignature.sign(payload, kind: .decision, record: id) {
                Array(try signer.signature(for: $0))
            }
        }
        let entry = try Entry(dot: try Dot(try DeviceID(device), 1), kind: "decision", payload: .object(payload))
        let header = Header(
            kind: .bundle,
            parameters: [
                (Header.deviceParameter, device),
                (Header.keyParameter, Hex.encode(Array(key.publicKey.rawRepresentation))),
            ])
        return StreamEncoder.encode(
            header: header,
            messages: [
                .delta(base: VersionVector(), knowledge: VersionVector()),
                .record(Record(id: id, fields: [], entries: [entry])),
            ],
            signer: StreamSigner(key: key))
    }

    @Test func anEntryInAnotherDevicesNameOrNotSignedByItsDeviceIsRefused() throws {
        let bench = Bench()
        defer { bench.remove() }
        let a = try bench.workspace("a")
        let id = try Bench.capture(a)
        let before = try a.digest()
        let m = Curve25519.Signing.PrivateKey()
        for (naming, signer, what) in [
            ("edt-laptop-b", m, "names laptop b"), ("edt-laptop-m", nil, "unsigned"),
            ("edt-laptop-m", Curve25519.Signing.PrivateKey(), "signed by another key"),
        ] {
            let outcome = try a.importBundle(
                try bundle(case: id, device: "edt-laptop-m", key: m, naming: naming, signer: signer), source: what)
            #expect(outcome.applied == 0 && outcome.rejected == 1, "\(what)")
            #expect(outcome.refusals.map(\.reason) == ["unproven-write"], "\(what)")
            #expect(try a.digest() == before, "\(what): nothing merged")
        }
        // M's own decision, signed by M: merged.
        let genuine = try a.importBundle(
            try bundle(case: id, device: "edt-laptop-m", key: m, naming: "edt-laptop-m", signer: m), source: "m")
        #expect(genuine.applied == 1 && genuine.rejected == 0)
        #expect(try a.digest() != before)
    }

    @Test func aDevicesFirstBundlePinsItsKeyWhenTheLaptopKnowsNoCentre() throws {
        let bench = Bench()
        defer { bench.remove() }
        let a = try bench.workspace("a")
        let id = try Bench.capture(a)
        let m = Curve25519.Signing.PrivateKey()
        _ = try a.importBundle(
            try bundle(case: id, device: "edt-laptop-m", key: m, naming: "edt-laptop-m", signer: m), source: "m")
        let impostor = Curve25519.Signing.PrivateKey()
        #expect(throws: LaptopError.self) {
            try a.importBundle(
                try bundle(case: id, device: "edt-laptop-m", key: impostor, naming: "edt-laptop-m", signer: impostor),
                source: "impostor")
        }
    }
}
