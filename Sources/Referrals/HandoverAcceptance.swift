import Foundation
import LineProtocol
public import Replication

/// A day team's acceptance of a case the EDT handed over: who accepted it, in which role, for
/// which authority and when. It is an entry of kind ``kind`` that only the centre writes, signed
/// with the centre's own key (``sign(_:record:with:)``), whose dot is the centre's entry device
/// (``isCentreDevice(_:)``); it replicates to laptops like any entry. Until a case holds one
/// for its responsible authority, the EDT remains accountable for it.
///
/// ```swift
/// let payload = try HandoverAcceptance.sign(acceptance.payload, record: id) { try key.signature(for: $0) }
/// let accepted = HandoverAcceptance.all(in: record, centreKey: key.publicKey.rawRepresentation)
/// ```
public struct HandoverAcceptance: Sendable, Hashable {
    /// The entry kind of an acceptance.
    public static let kind = "handover-acceptance"
    /// The prefix of the device id the centre writes its entries as (`central.<identity>`;
    /// the line protocol's `Header.centreDevicePrefix`).
    public static let centreDevicePrefix = Header.centreDevicePrefix

    /// The authority whose day team accepted (GSS code).
    public let authority: String
    /// Who accepted, and in which role.
    public let by: ReferralEntry.Author
    /// When the day team accepted.
    public let at: Instant
    /// When the centre recorded it.
    public let recordedAt: Instant
    /// The centre's entry device that wrote it.
    public let device: DeviceID

    public init(
        authority: String, by: ReferralEntry.Author, at: Instant, recordedAt: Instant, device: DeviceID
    )
        throws(ReferralError)
    {
        guard Identifiers.isAuthorityCode(authority) else {
            throw ReferralError(path: "authority", "\"\(authority)\" is not an authority's GSS code (E06000038)")
        }
        guard Self.isCentreDevice(device) else {
            throw ReferralError(path: "device", "only the centre (\(Self.centreDevicePrefix)…) records an acceptance")
        }
        self.authority = authority
        self.by = by
        self.at = at
        self.recordedAt = recordedAt
        self.device = device
    }

    /// Whether `device` is a centre's entry device (`central.<identity>`); no laptop can be
    /// enrolled under such a name.
    public static func isCentreDevice(_ device: DeviceID) -> Bool {
        device.rawValue.hasPrefix(centreDevicePrefix)
    }

    /// The entry's payload, unsigned.
    public var payload: [String: FieldValue] {
        [
            "authority": .string(authority), "by": .string(by.name), "role": .string(by.role),
            "at": .string(at.description), "recordedAt": .string(recordedAt.description),
            "device": .string(device.rawValue),
        ]
    }

    /// `payload` with its `signature` member (``EntrySignature``), made by `sign` with the
    /// centre's key over the acceptance on `record`.
    public static func sign<Failure: Error>(
        _ payload: [String: FieldValue], record: RecordID, with sign: ([UInt8]) throws(Failure) -> [UInt8]
    ) throws(Failure) -> [String: FieldValue] {
        try EntrySignature.sign(payload, kind: kind, record: record, with: sign)
    }

    /// The acceptance `entry` of `record` records, when it is one the centre whose public key
    /// is `centreKey` wrote: of kind ``kind``, at a centre device's dot, naming that device, and
    /// with a signature that verifies with that key. Nil for any other entry: an acceptance a
    /// laptop wrote, or one altered, counts for nothing.
    public static func read(_ entry: Entry, in record: RecordID, centreKey: [UInt8]) -> HandoverAcceptance? {
        guard entry.kind == kind, isCentreDevice(entry.dot.device), case .object(let payload) = entry.payload,
            case .string(entry.dot.device.rawValue)? = payload["device"],
            case .valid = EntrySignature.verify(entry, in: record, publicKey: centreKey),
            case .string(let authority)? = payload["authority"], case .string(let name)? = payload["by"],
            case .string(let role)? = payload["role"], case .string(let at)? = payload["at"],
            let accepted = Instant(iso8601: at), case .string(let recorded)? = payload["recordedAt"],
            let recordedAt = Instant(iso8601: recorded), let author = try? ReferralEntry.Author(name: name, role: role)
        else { return nil }
        return try? HandoverAcceptance(
            authority: authority, by: author, at: accepted, recordedAt: recordedAt, device: entry.dot.device)
    }

    /// Every acceptance of `record` the centre whose public key is `centreKey` wrote, in entry order.
    public static func all(in record: Record, centreKey: [UInt8]) -> [HandoverAcceptance] {
        record.entries.compactMap { read($0, in: record.id, centreKey: centreKey) }
    }
}

extension HandoverAcceptance {
    /// When the case `record` was accepted by its responsible authority, as the centre whose
    /// public key is `centreKey` recorded it: the instant of the day team's first genuine
    /// acceptance (``all(in:centreKey:)``) for the case's host authority (the responsible
    /// authority, for now). Nil while the case names no host authority, or while any host
    /// authority it names (several while that field is in conflict) has no genuine acceptance:
    /// the EDT remains accountable for it.
    public static func acceptedAt(_ record: Record, centreKey: [UInt8]) -> Instant? {
        guard record.entries.contains(where: { $0.kind == kind }) else { return nil }  // the usual case: none
        let hosts = ReferralCapture.hostAuthorities(of: record)
        guard !hosts.isEmpty else { return nil }
        var first: [String: Instant] = [:]
        for acceptance in all(in: record, centreKey: centreKey) where hosts.contains(acceptance.authority) {
            if let known = first[acceptance.authority], known <= acceptance.at { continue }
            first[acceptance.authority] = acceptance.at
        }
        guard first.count == hosts.count else { return nil }
        return first.values.max()
    }

    /// Why `entry` of `record` is not proven to be the centre's, when its dot is a centre
    /// device's (``isCentreDevice(_:)``): its payload names another device, or its signature does
    /// not verify, in the present format, with the centre's key `centreKey` (nil: this laptop
    /// does not know its centre). Nil for an entry at another device's dot, and for a genuine
    /// centre entry. A laptop asks this of every centre entry it receives, in a pull or a bundle:
    /// no device can write in the centre's name.
    public static func centreEntryProblem(of entry: Entry, in record: RecordID, centreKey: [UInt8]?) -> String? {
        centreEntryProblem(of: entry, in: record, centreKey: { _ in centreKey })
    }

    /// Why `entry` of `record` is not proven to be the entry of the centre whose dot it has, when
    /// that dot is a centre device's (``isCentreDevice(_:)``): its payload names another device,
    /// or its signature does not verify, in the present format, with the key `centreKey` gives
    /// for that device (nil: this laptop knows no key for it). `centreKey` gives this laptop's
    /// centre's key, or the key its centre vouches for a peer centre's device
    /// (`LineProtocol.SyncContract.centreKeyLookup(centreKey:peerCentres:)`). Nil for an entry at
    /// another device's dot, and for a genuine centre entry.
    public static func centreEntryProblem(
        of entry: Entry, in record: RecordID, centreKey: (DeviceID) -> [UInt8]?
    ) -> String? {
        guard isCentreDevice(entry.dot.device) else { return nil }
        guard let key = centreKey(entry.dot.device) else {
            return "entry \(entry.dot) (\(entry.kind)) is the centre's, and this laptop does not know the centre's key"
        }
        guard case .object(let payload) = entry.payload, case .string(entry.dot.device.rawValue)? = payload["device"]
        else {
            return "entry \(entry.dot) (\(entry.kind)) does not name the device whose dot it has (\(entry.dot.device))"
        }
        switch EntrySignature.verify(entry, in: record, publicKey: key) {
        case .valid: return nil
        case .validPayloadOnly, .unsigned, .invalid:
            return
                "entry \(entry.dot) (\(entry.kind)) is not signed with the centre's key (the one this laptop trusts for \(entry.dot.device))"
        }
    }

    /// The first centre entry of `record` that is not proven to be the centre's
    /// (``centreEntryProblem(of:in:centreKey:)``), or nil.
    public static func centreEntriesProblem(in record: Record, centreKey: [UInt8]?) -> String? {
        centreEntriesProblem(in: record, centreKey: { _ in centreKey })
    }

    /// The first centre entry of `record` that is not proven to be the entry of the centre whose
    /// dot it has, with the key `centreKey` gives for that centre's device
    /// (``centreEntryProblem(of:in:centreKey:)``), or nil.
    public static func centreEntriesProblem(in record: Record, centreKey: (DeviceID) -> [UInt8]?) -> String? {
        for entry in record.entries {
            if let problem = centreEntryProblem(of: entry, in: record.id, centreKey: centreKey) { return problem }
        }
        return nil
    }
}
