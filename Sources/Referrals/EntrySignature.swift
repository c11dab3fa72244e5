import Crypto
import Foundation
import LineProtocol
public import Replication

/// The signature on a referral entry: who made it cannot be denied, and a changed byte is seen.
///
/// The format (`Docs/entry-signatures.md` is its specification):
/// - The signed bytes are `edt-entry-1` LF, the record id LF, the entry kind LF, then the
///   canonical JSON of the payload object **without** its `signature` member (keys in byte
///   order, no whitespace: `JSONPayload.write`). Binding the record and the kind means a
///   signed entry cannot be moved to another case or read as another kind.
/// - The signature is Ed25519 by the device key of the payload's `device`, kept in the payload
///   as `"signature": "ed25519:<base64 of the 64 bytes>"`.
///
/// Entries signed before this format (edt 0.1) signed the payload's canonical JSON alone; they
/// verify as ``Verification/validPayloadOnly``.
///
/// ```swift
/// let signed = try EntrySignature.sign(payload, kind: .decision, record: id) { try store.sign($0) }
/// EntrySignature.verify(entry, in: id, publicKey: key)   // .valid
/// ```
public enum EntrySignature {
    /// The name of the payload member holding the signature.
    public static let member = "signature"
    /// The first line of the signed bytes: the format's name and version.
    public static let formatLine = "edt-entry-1"
    /// The prefix of a signature value.
    public static let algorithmPrefix = "ed25519:"

    /// What checking an entry's signature found.
    public enum Verification: Sendable, Hashable, CustomStringConvertible {
        /// Signed by the key given, over exactly these bytes, this record and this kind.
        case valid
        /// Signed by the key given in the format of edt before 0.2, which covered the payload
        /// only (not the record or the kind): the payload is the device's, unaltered, but the
        /// signature does not prove which case or kind it was made for.
        case validPayloadOnly
        /// The payload carries no signature (entries written by replicas that do not sign).
        case unsigned
        /// A signature is there but does not verify: the entry was altered, moved to another
        /// case or kind, or signed by another key. The reason says which check failed.
        case invalid(String)

        /// The result in one word, as `edt referral show` prints it: `valid`,
        /// `valid-payload-only`, `unsigned` or `invalid`.
        public var word: String {
            switch self {
            case .valid: "valid"
            case .validPayloadOnly: "valid-payload-only"
            case .unsigned: "unsigned"
            case .invalid: "invalid"
            }
        }

        public var description: String {
            if case .invalid(let reason) = self { return "invalid: \(reason)" }
            return word
        }
    }

    /// The bytes a device signs for an entry of `kind` on `record` with this payload (any
    /// `signature` member of the payload is left out).
    public static func signedBytes(payload: [String: FieldValue], kind: String, record: RecordID) -> [UInt8] {
        var bytes = Array("\(formatLine)\n\(record.rawValue)\n\(kind)\n".utf8)
        appendCanonical(payload, to: &bytes)
        return bytes
    }

    /// Appends the canonical JSON of `payload` without its `signature` member.
    private static func appendCanonical(_ payload: [String: FieldValue], to bytes: inout [UInt8]) {
        var unsigned = payload
        unsigned.removeValue(forKey: member)
        JSONPayload.write(.object(unsigned), to: &bytes)
    }

    /// `payload` with its `signature` member, made by `sign` (the device key's Ed25519 signing).
    public static func sign<Failure: Error>(
        _ payload: [String: FieldValue], kind: ReferralEntry.Kind, record: RecordID,
        with sign: ([UInt8]) throws(Failure) -> [UInt8]
    ) throws(Failure) -> [String: FieldValue] {
        try self.sign(payload, kind: kind.rawValue, record: record, with: sign)
    }

    /// `payload` with its `signature` member, for an entry of `kind` named as on the wire (the
    /// centre's own kinds, ``HandoverAcceptance/kind`` and ``CrossAuthorityAct/kind``, included).
    public static func sign<Failure: Error>(
        _ payload: [String: FieldValue], kind: String, record: RecordID,
        with sign: ([UInt8]) throws(Failure) -> [UInt8]
    ) throws(Failure) -> [String: FieldValue] {
        let signature = try sign(signedBytes(payload: payload, kind: kind, record: record))
        var signed = payload
        signed[member] = .string(algorithmPrefix + Data(signature).base64EncodedString())
        return signed
    }

    /// Checks `entry` of `record` against the raw 32-byte Ed25519 public key of the device that
    /// made it.
    public static func verify(_ entry: Entry, in record: RecordID, publicKey: [UInt8]) -> Verification {
        guard case .object(let payload) = entry.payload else { return .unsigned }
        guard let value = payload[member] else { return .unsigned }
        guard case .string(let text) = value, text.hasPrefix(algorithmPrefix),
            let signature = Data(base64Encoded: String(text.dropFirst(algorithmPrefix.count))), signature.count == 64
        else { return .invalid("the signature is not \(algorithmPrefix) and 64 bytes in base64") }
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else {
            return .invalid("the public key is not a 32-byte Ed25519 key")
        }
        if key.isValidSignature(signature, for: signedBytes(payload: payload, kind: entry.kind, record: record)) {
            return .valid
        }
        var payloadOnly: [UInt8] = []
        appendCanonical(payload, to: &payloadOnly)
        if key.isValidSignature(signature, for: payloadOnly) { return .validPayloadOnly }
        return .invalid("the signature does not match this entry, case and key")
    }

    /// Why `entry` of `record` is not proven to be the work of the device its dot names, whose
    /// key is `publicKey`: its payload names another device (`device`), or its signature does not
    /// verify with that key. Nil when it is proven (the edt 0.1 format, payload-only, included).
    /// A receiver asks this of every entry new to it, so no device records a decision in a
    /// colleague's name.
    public static func authorshipProblem(of entry: Entry, in record: RecordID, publicKey: [UInt8]) -> String? {
        guard case .object(let payload) = entry.payload, case .string(let named)? = payload["device"],
            named == entry.dot.device.rawValue
        else {
            return "entry \(entry.dot) (\(entry.kind)) does not name the device whose dot it has (\(entry.dot.device))"
        }
        switch verify(entry, in: record, publicKey: publicKey) {
        case .valid, .validPayloadOnly: return nil
        case .unsigned: return "entry \(entry.dot) (\(entry.kind)) is not signed by \(entry.dot.device)"
        case .invalid(let why): return "entry \(entry.dot) (\(entry.kind)) is not signed by \(entry.dot.device): \(why)"
        }
    }
}
