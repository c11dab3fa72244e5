import Foundation
public import Replication

/// One act between a case's host and home authorities, recorded as evidence: an entry of kind
/// ``kind`` that names what was done (``Verb``), by whom, in which role, for which authority and
/// when, with the reference of a written confirmation or decision where one is required. It is
/// signed and never changed; the state of the case between the two authorities is worked out
/// from all of them (`Handover.CrossAuthorityHistory`).
///
/// The host's forwarding is made on the EDT laptop that took the referral (`edt referral
/// forward`), signed with that device's key. Every other act is made at a centre (`edt central
/// case ID accept|dispute|agree-host|escalate|decide`), at that centre's `central.<identity>`
/// dot, signed with its key.
public struct CrossAuthorityAct: Sendable, Hashable {
    /// The entry kind of an act.
    public static let kind = "cross-authority"

    /// What was done.
    public enum Verb: String, Sendable, Hashable, CaseIterable {
        case forward, accept, dispute
        case agreeHost = "agree-host"
        case escalate, decide
    }

    public let verb: Verb
    /// The authority of the party that acted (GSS code); nil for the clock's escalation.
    public let authority: String?
    /// Who acted, and in which role.
    public let by: ReferralEntry.Author
    /// When the act happened.
    public let at: Instant
    /// When it was recorded.
    public let recordedAt: Instant
    /// The device (a laptop, or a centre's `central.<identity>`) that recorded it.
    public let device: DeviceID
    /// The home authority a forwarding sends the case to.
    public let home: String?
    /// The reference of the written confirmation (an acceptance) or decision (a decision).
    public let reference: String?
    /// Which authority senior managers decided leads (`host` or `home`).
    public let lead: String?
    /// When the referral was received, as the host's forwarding fixes it: the 24 hours run from
    /// it whatever `receivedAt` is later changed to.
    public let referredAt: Instant?

    /// Checks the act's shape: an authority's GSS code for every act but the clock's escalation,
    /// a home authority for a forwarding, a written reference for an acceptance and a decision,
    /// `host` or `home` as the lead of a decision.
    public init(
        verb: Verb, authority: String?, by: ReferralEntry.Author, at: Instant, recordedAt: Instant, device: DeviceID,
        home: String? = nil, reference: String? = nil, lead: String? = nil, referredAt: Instant? = nil
    ) throws(ReferralError) {
        if let authority {
            guard Identifiers.isAuthorityCode(authority) else {
                throw ReferralError(path: "authority", "\"\(authority)\" is not an authority's GSS code (E06000039)")
            }
        } else if verb != .escalate {
            throw ReferralError(path: "authority", "the authority that acts is required")
        }
        switch verb {
        case .forward:
            guard let home, Identifiers.isAuthorityCode(home) else {
                throw ReferralError(path: "home", "a forwarding names the home authority's GSS code")
            }
        case .accept, .decide:
            guard let reference, !reference.trimmingSpaces.isEmpty else {
                throw ReferralError(
                    path: "reference",
                    "\(verb.rawValue) needs the reference of its written \(verb == .accept ? "confirmation" : "decision")"
                )
            }
            if verb == .decide {
                guard lead == "host" || lead == "home" else {
                    throw ReferralError(path: "lead", "a decision names the authority that leads: host or home")
                }
            }
        case .dispute, .agreeHost, .escalate:
            break
        }
        self.verb = verb
        self.authority = authority
        self.by = by
        self.at = at
        self.recordedAt = recordedAt
        self.device = device
        self.home = verb == .forward ? home : nil
        self.reference = (verb == .accept || verb == .decide) ? reference?.trimmingSpaces : nil
        self.lead = verb == .decide ? lead : nil
        self.referredAt = verb == .forward ? referredAt : nil
    }

    /// Whether a centre recorded it (its dot is a `central.<identity>` device's).
    public var isCentres: Bool { HandoverAcceptance.isCentreDevice(device) }

    /// The entry's payload, unsigned.
    public var payload: [String: FieldValue] {
        var payload: [String: FieldValue] = [
            "event": .string(verb.rawValue), "by": .string(by.name), "role": .string(by.role),
            "at": .string(at.description), "recordedAt": .string(recordedAt.description),
            "device": .string(device.rawValue),
        ]
        if let authority { payload["authority"] = .string(authority) }
        if let home { payload["home"] = .string(home) }
        if let reference { payload["reference"] = .string(reference) }
        if let lead { payload["lead"] = .string(lead) }
        if let referredAt { payload["referredAt"] = .string(referredAt.description) }
        return payload
    }

    /// `payload` with its `signature` member (``EntrySignature``), made by `sign` over the act on `record`.
    public static func sign<Failure: Error>(
        _ payload: [String: FieldValue], record: RecordID, with sign: ([UInt8]) throws(Failure) -> [UInt8]
    ) throws(Failure) -> [String: FieldValue] {
        try EntrySignature.sign(payload, kind: kind, record: record, with: sign)
    }

    /// The act `entry` of `record` records, or nil when it is not one that counts:
    /// - of kind ``kind``, naming the device whose dot it has, well formed (``init``);
    /// - a centre's act (at a `central.<identity>` dot) only when `centreKey` gives the key of
    ///   that centre (one this replica trusts) and the entry's signature verifies with it, in the
    ///   present format;
    /// - a device's act only when it is a forwarding (no laptop accepts, disputes or decides;
    ///   the device's signature is checked where the entry arrives, at the centre or in a bundle).
    public static func read(
        _ entry: Entry, in record: RecordID, centreKey: (DeviceID) -> [UInt8]?
    ) -> CrossAuthorityAct? {
        guard entry.kind == kind, case .object(let payload) = entry.payload,
            case .string(entry.dot.device.rawValue)? = payload["device"],
            case .string(let verbText)? = payload["event"], let verb = Verb(rawValue: verbText),
            case .string(let name)? = payload["by"], case .string(let role)? = payload["role"],
            case .string(let atText)? = payload["at"], let at = Instant(iso8601: atText),
            case .string(let recordedText)? = payload["recordedAt"], let recordedAt = Instant(iso8601: recordedText),
            let author = try? ReferralEntry.Author(name: name, role: role)
        else { return nil }
        let device = entry.dot.device
        if HandoverAcceptance.isCentreDevice(device) {
            guard let key = centreKey(device), case .valid = EntrySignature.verify(entry, in: record, publicKey: key)
            else { return nil }
        } else if verb != .forward {
            return nil
        }
        func text(_ key: String) -> String? {
            if case .string(let value)? = payload[key] { value } else { nil }
        }
        return try? CrossAuthorityAct(
            verb: verb, authority: text("authority"), by: author, at: at, recordedAt: recordedAt, device: device,
            home: text("home"), reference: text("reference"), lead: text("lead"),
            referredAt: text("referredAt").flatMap(Instant.init(iso8601:)))
    }

    /// Every act of `record` that counts (``read(_:in:centreKey:)``), with the entry that holds it, in entry order.
    public static func all(
        in record: Record, centreKey: (DeviceID) -> [UInt8]?
    ) -> [(act: CrossAuthorityAct, dot: Dot)] {
        record.entries.compactMap { entry in
            read(entry, in: record.id, centreKey: centreKey).map { ($0, entry.dot) }
        }
    }
}
