import Crypto
import Foundation
import Handover
import LineProtocol
import Referrals
import ReplicaStore
public import Replication

/// Carrying a replica's content by file (a USB stick) in the line protocol, with no network.
extension Workspace {
    /// An EDTLP `bundle` of what a replica whose version vector is `base` lacks (everything for
    /// an empty vector), signed with this device's key, which its header names (`key=`), with the
    /// centre's certificate of that key (`cert=`) once a sync has brought one: a laptop of the same
    /// centre then knows the bundle is this device's.
    public func exportBundle(since base: VersionVector = VersionVector()) throws(LaptopError) -> [UInt8] {
        var parameters = [(Header.deviceParameter, device.rawValue), (Header.keyParameter, Hex.encode(publicKey))]
        if let certificate = try storeValue({ () throws(StoreError) in try store.deviceCertificate() }) {
            parameters.append((Header.certificateParameter, Hex.encode(certificate)))
        }
        let encoder = StreamEncoder(header: Header(kind: .bundle, parameters: parameters), signer: store.streamSigner)
        encoder.append(.delta(base: base, knowledge: store.knowledge))
        try storeAccess { try store.forEachRecord(notCoveredBy: base) { part in encoder.append(.record(part)) } }
        return encoder.finish()
    }

    /// What importing a bundle did.
    public struct BundleImport: Sendable, Hashable {
        /// Records the bundle changed here.
        public let applied: Int
        /// Records refused (their fields are not valid referral fields, or they claim writes of
        /// devices other than the bundle's that this laptop does not hold); nothing of them merged.
        public let rejected: Int
        /// Why each refused record was refused: schema refusals first, then the rest.
        public let refusals: [Refusal]
    }

    /// A record of a bundle that was not merged, and why.
    public struct Refusal: Sendable, Hashable {
        public let record: RecordID
        /// `invalid`, `unproven-write` or `unseen-writes` (the line protocol's reason codes).
        public let reason: String
        public let message: String
    }

    /// Merges an EDTLP bundle. The whole bundle is verified first (its signature by the key its
    /// header names, frame count, checksum, every record), so a damaged or altered one changes
    /// nothing. The key must be its device's: a bundle naming this device must be signed by this
    /// device's own key; on a laptop that knows its centre (it syncs), the bundle of another
    /// device must carry the centre's certificate of its key (`cert=`); on one that does not, a
    /// device's first bundle pins its key and a later one must be signed by the same key.
    ///
    /// The signer proves its own writes only. A record is refused whole, and counted, when its
    /// fields fail the referral schema, or when it carries another device's write this laptop does
    /// not hold, or claims to have seen writes this laptop has not (``Replication/UnprovenClaim``):
    /// such a record could otherwise erase a colleague's work. The one exception is an entry of
    /// the centre (at a `central.` dot: a day team's acceptance) that this laptop does not hold
    /// yet: any device may relay it, as it is proven by the centre's own signature, checked with
    /// the centre's key this laptop trusts; one that does not verify refuses its record whole
    /// (`unproven-write`), as does any centre entry on a laptop that does not know its centre's
    /// key. A bundle of another device that
    /// changed something here is kept, as its author signed it, and relayed to the centre at the
    /// next sync (so the centre gets those writes with their author's proof). Importing the same
    /// bundle twice changes nothing the second time. `source` names the input in a refusal.
    public func importBundle(_ bytes: [UInt8], source: String) throws(LaptopError) -> BundleImport {
        let stream: DecodedStream
        let ownDevice = device.rawValue
        let ownKey = publicKey
        let pinned = try pinnedDeviceKeys()
        let centreKey = try storeValue { () throws(StoreError) in try store.centreKey() }
        let centreKeys = try self.centreKeys()
        // The signer is the key the bundle's header names. It must be this device's own key for
        // a bundle naming this device; vouched for by this laptop's centre (`cert=`) when this
        // laptop knows its centre; else the key the device used before, if it did.
        let signer = StreamVerifier.fromHeader { (header: Header) throws(LineProtocolError) in
            guard let text = header[Header.keyParameter], let raw = Hex.decode(text), raw.count == 32,
                let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
            else {
                throw LineProtocolError(
                    .badSignature, line: 1, "the bundle does not name the key that signed it (key=<64 hex>)")
            }
            if header.device == ownDevice, raw != ownKey {
                throw LineProtocolError(
                    .badSignature, line: 1,
                    "the bundle claims to come from this device (\(ownDevice)) but is signed by another key")
            }
            if let centreKey, header.device != ownDevice {
                guard let device = header.device,
                    let certificate = header[Header.certificateParameter].flatMap(Hex.decode),
                    SyncContract.isValidCertificate(certificate, centreKey: centreKey, device: device, key: raw)
                else {
                    throw LineProtocolError(
                        .badSignature, line: 1,
                        "this laptop's centre does not vouch for the bundle's key as \(header.device ?? "its device")'s (no valid cert=): the device that made it must sync with the centre once before exporting"
                    )
                }
                return key  // vouched for by the centre: it is that device's, whatever was pinned
            }
            if let device = header.device, let known = pinned[device], known != raw {
                throw LineProtocolError(
                    .badSignature, line: 1,
                    "the bundle claims to come from \(device), but this laptop knows \(device) by another key (from an earlier bundle): it is not that device's"
                )
            }
            return key
        }
        do {
            stream = try DecodedStream(bytes, verifier: signer)
        } catch {
            throw .refused("\(source) is not a valid bundle (\(error)); nothing was imported")
        }
        guard stream.header.kind == .bundle else {
            throw .refused(
                "\(source) is an EDTLP \(stream.header.kind.rawValue) stream, not a bundle; nothing was imported")
        }
        guard let author = stream.header.device.flatMap({ try? DeviceID($0) }),
            let signerKey = stream.header[Header.keyParameter].flatMap(Hex.decode)
        else {
            throw .refused("\(source) does not name the device that made it (device=); nothing was imported")
        }
        var refusals: [Refusal] = []
        var valid: [Record] = []
        for delta in stream.deltas {
            for record in delta.records {
                do throws(ReferralError) {
                    try ReferralCapture.validatePart(record)
                } catch {
                    refusals.append(Refusal(record: record.id, reason: "invalid", message: error.description))
                    continue
                }
                if let unknown = ReferralCapture.authorities(of: record).first(where: { directory.authority($0) == nil }
                ) {
                    refusals.append(
                        Refusal(
                            record: record.id, reason: "invalid",
                            message: "\(unknown) is not a known children's services authority"))
                    continue
                }
                valid.append(record)
            }
        }
        let (applied, unproven) = try commit(loading: valid.map(\.id)) { replica in
            var changed = 0
            var unproven: [Refusal] = []
            for record in valid {
                // Checked against this replica as it is now, earlier records of the bundle merged.
                let held = replica[record.id]
                // A centre entry (a day team's acceptance, a home authority's act) new here may be
                // relayed by any device: it is proven by its centre's own signature, checked with
                // the key this laptop trusts for that centre (a vouched peer's, else its centre's).
                if let problem = record.entries.lazy.filter({ held?.entry(at: $0.dot) == nil })
                    .compactMap({ HandoverAcceptance.centreEntryProblem(of: $0, in: record.id, centreKey: centreKeys) })
                    .first
                {
                    unproven.append(
                        Refusal(
                            record: record.id, reason: "unproven-write",
                            message: "\(problem); nothing of this referral was imported"))
                    continue
                }
                if let claim = record.unprovenClaim(
                    from: author, heldBy: held, proven: { HandoverAcceptance.isCentreDevice($0.dot.device) })
                {
                    let reason = if case .foreignWrite = claim { "unproven-write" } else { "unseen-writes" }
                    unproven.append(
                        Refusal(
                            record: record.id, reason: reason,
                            message:
                                "\(claim); a bundle from \(author) proves only \(author)'s own writes: sync with the centre, or import the bundle of the device that made them, then import this again"
                        ))
                    continue
                }
                // Entries new here are the signer's own (above), or the centre's (checked above):
                // the signer's must say so and be signed by it.
                if let problem = record.entries.lazy.filter({
                    held?.entry(at: $0.dot) == nil && !HandoverAcceptance.isCentreDevice($0.dot.device)
                })
                .compactMap({ EntrySignature.authorshipProblem(of: $0, in: record.id, publicKey: signerKey) })
                .first {
                    unproven.append(Refusal(record: record.id, reason: "unproven-write", message: problem))
                    continue
                }
                // A bundle's parts are merged; its claimed knowledge is never adopted. The claim is
                // the sender's word, not what this replica holds: adopting an inflated one would
                // make this replica skip writes it never saw. (A later bundle or sync sends again
                // what this one's unchanged vector does not cover; that is harmless.)
                changed += replica.merge(parts: [record])
            }
            return (changed, unproven)
        }
        if author != device {
            if pinned[author.rawValue] != signerKey { try pinDeviceKey(signerKey, for: author) }
            // Its writes are merged here, but only their author's signature proves them to the
            // centre: the bundle is kept, as signed, and relayed at the next sync.
            if applied > 0 { try keepForRelay(bytes) }
        }
        refusals += unproven
        return BundleImport(applied: applied, rejected: refusals.count, refusals: refusals)
    }
}

extension Workspace {
    /// Runs a read of the store, its failure as a ``LaptopError``.
    func storeValue<Value>(_ read: () throws(StoreError) -> Value) throws(LaptopError) -> Value {
        do {
            return try read()
        } catch {
            throw LaptopError(error)
        }
    }

    /// The keys of devices this laptop has had bundles from, by device id (raw 32 bytes).
    func pinnedDeviceKeys() throws(LaptopError) -> [String: [UInt8]] {
        do {
            return try store.pinnedDeviceKeys()
        } catch {
            throw LaptopError(error)
        }
    }

    /// Keeps `bundle`, another device's, to be relayed to the centre at the next sync.
    func keepForRelay(_ bundle: [UInt8]) throws(LaptopError) {
        do {
            try store.keepForRelay(bundle)
        } catch {
            throw LaptopError(error)
        }
    }

    /// Pins `key` as `device`'s: later bundles naming `device` must be signed by it.
    func pinDeviceKey(_ key: [UInt8], for device: DeviceID) throws(LaptopError) {
        do {
            try store.pinDeviceKey(key, for: device.rawValue)
        } catch {
            throw LaptopError(error)
        }
    }
}
