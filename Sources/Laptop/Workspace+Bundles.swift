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
    /// an empty vector), signed with this device's key, which its header names (`key=`).
    public func exportBundle(since base: VersionVector = VersionVector()) -> [UInt8] {
        let header = Header(
            kind: .bundle,
            parameters: [(Header.deviceParameter, device.rawValue), (Header.keyParameter, Hex.encode(publicKey))])
        let encoder = StreamEncoder(header: header, signer: store.streamSigner)
        encoder.append(store.replica.delta(since: base))
        return encoder.finish()
    }

    /// What importing a bundle did.
    public struct BundleImport: Sendable, Hashable {
        /// Records the bundle changed here.
        public let applied: Int
        /// Records refused because their fields are not valid referral fields.
        public let rejected: Int
    }

    /// Merges an EDTLP bundle, all or nothing: the whole bundle is verified first (its signature
    /// by the key its header names, frame count, checksum, every record), so a damaged or altered
    /// one changes nothing. A bundle claiming to come from this device must be signed by this
    /// device's own key. Records whose fields fail the
    /// referral schema are refused and counted; importing the same bundle twice changes nothing
    /// the second time. `source` names the input in a refusal.
    public func importBundle(_ bytes: [UInt8], source: String) throws(LaptopError) -> BundleImport {
        let stream: DecodedStream
        let ownDevice = device.rawValue
        let ownKey = publicKey
        // The signer is the key the bundle's header names; a bundle naming this device must be
        // signed by this device's own key.
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
        var rejected = 0
        var accepted: [Delta] = []
        for delta in stream.deltas {
            let good = delta.records.filter { record in
                let valid =
                    (try? ReferralCapture.validatePart(record)) != nil
                    && ReferralCapture.authorities(of: record).allSatisfy { directory.authority($0) != nil }
                if !valid { rejected += 1 }
                return valid
            }
            accepted.append(Delta(base: delta.base, knowledge: delta.knowledge, records: good))
        }
        let applied = try commit { replica in
            var changed = 0
            for delta in accepted {
                // A bundle's parts are merged; its claimed knowledge is never adopted. The claim is
                // the sender's word, not what this replica holds: adopting an inflated one would
                // make this replica skip writes it never saw. (A later bundle or sync sends again
                // what this one's unchanged vector does not cover; that is harmless.)
                changed += replica.merge(parts: delta.records)
            }
            return changed
        }
        return BundleImport(applied: applied, rejected: rejected)
    }
}
