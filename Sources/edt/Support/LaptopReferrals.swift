import Crypto
import Foundation
import LineProtocol
import Referrals
import ReplicaStore
import Replication

/// The laptop's referral operations: validation (Referrals) applied to the store (ReplicaStore).
/// Each operation is one durable commit, or nothing.
struct LaptopReferrals {
    let store: ReplicaStore

    /// A new globally unique referral id, made offline.
    static func newID() -> RecordID {
        // A UUID is always a valid record id.
        (try? RecordID(UUID().uuidString.lowercased())) ?? { preconditionFailure("UUID is not a record id") }()
    }

    /// A new collection item id: the collection's prefix and 8 random hex digits.
    static func newItemID(_ prefix: String) -> String {
        prefix + String(format: "%08x", UInt32.random(in: 0...UInt32.max))
    }

    /// Parses a referral document (JSON text); `where` names it in errors.
    static func parseDocument(_ bytes: ArraySlice<UInt8>, where place: String) throws -> FieldValue {
        do throws(JSONPayload.ReadError) {
            return try JSONPayload.read(bytes, maximumDepth: 16, allowingWhitespace: true)
        } catch {
            switch error {
            case .invalidUTF8: throw Failure.refused("\(place): the document is not valid UTF-8")
            case .invalid(let why), .shape(let why), .identifier(let why): throw Failure.refused("\(place): not valid JSON: \(why)")
            }
        }
    }

    /// Validates a document for this device; returns the capture or throws a refusal.
    func validate(_ document: FieldValue, where place: String) throws -> ReferralCapture.Capture {
        let capture: ReferralCapture.Capture
        do {
            capture = try ReferralCapture.validate(document, newItemID: Self.newItemID)
        } catch {
            throw Failure.refused(place.isEmpty ? error.description : "\(place): \(error.description)")
        }
        if case .object(let members) = document, case .string(let host)? = members["hostAuthority"],
            !store.authorities.contains(host)
        {
            throw Failure.refused("\(place.isEmpty ? "" : place + ": ")hostAuthority: this device serves \(store.authorities.joined(separator: ", ")), not \(host); record the referral on a device that serves \(host)")
        }
        return capture
    }

    /// Saves validated captures as new referrals, in one durable commit.
    func save(_ captures: [ReferralCapture.Capture]) throws -> [RecordID] {
        try store.commitOrFail { replica in
            captures.map { capture in
                let id = Self.newID()
                replica.write(capture.writes, in: id)
                return id
            }
        }
    }

    func record(_ text: String) throws -> (RecordID, Record) {
        guard let id = try? RecordID(text), let record = store.replica[id] else {
            throw Failure.refused("no referral \(text) in this store; `edt referral list` shows them")
        }
        return (id, record)
    }

    static func path(_ text: String) throws -> FieldPath {
        guard let path = try? FieldPath(text) else {
            throw Failure.refused("\"\(text)\" is not a field path (dotted, e.g. referrer.phone or children.c1a2b3c4.name)")
        }
        return path
    }

    /// VALUE read as JSON, when it is JSON.
    static func parsed(_ text: String) -> FieldValue? {
        try? JSONPayload.read(Array(text.utf8)[...], maximumDepth: 16, allowingWhitespace: true)
    }

    /// Writes one field (`set`) or resolves a conflicted one (`resolve`, which also records an
    /// immutable resolution entry naming the values it replaced).
    func write(id text: String, path pathText: String, value valueText: String, resolving: Bool, author: ReferralEntry.Author?) throws -> Dot {
        let (id, record) = try record(text)
        let path = try Self.path(pathText)
        let value = ReferralCapture.value(typed: valueText, parsed: Self.parsed(valueText), for: path)
        do {
            try ReferralCapture.validateWrite(value, at: path, in: record)
        } catch {
            throw Failure.refused(error.description)
        }
        let register = record.register(at: path)
        if resolving {
            guard let register, register.isConflicted else {
                throw Failure.refused("\(path) is not in conflict; change it with `edt referral set`")
            }
        } else if let register, register.isConflicted {
            throw Failure.refused("\(path) is in conflict between \(register.values.count) values; choose with `edt referral resolve \(text) \(path) VALUE`")
        }
        let entry: [String: FieldValue]? = try register.flatMap { register in
            guard resolving else { return nil }
            return try signed([
                "path": .string(path.rawValue), "value": value, "replaced": .array(register.values),
                "at": .string(Clock.now()), "device": .string(store.device.rawValue),
            ].merging(author.map { ["by": .string($0.name), "role": .string($0.role)] } ?? [:]) { $1 })
        }
        return try store.commitOrFail { replica in
            let dot = replica.write(value, to: path, in: id)
            if let entry { try replica.append(kind: "resolution", payload: .object(entry), to: id) }
            return dot
        }
    }

    /// Appends a signed entry.
    func note(
        id text: String, kind: ReferralEntry.Kind, text body: String, author: ReferralEntry.Author, at instant: String?,
        corrects: String?, conversation: ReferralEntry.Conversation
    ) throws -> Dot {
        let (id, record) = try record(text)
        var correctedDot: Dot?
        if let corrects {
            guard let dot = Notation.dot(Substring(corrects)), record.entries.contains(where: { $0.dot == dot }) else {
                throw Failure.refused("--corrects \(corrects) is not an entry of this referral (see the dots in `edt referral show`)")
            }
            correctedDot = dot
        }
        let payload: [String: FieldValue]
        do {
            payload = try ReferralEntry.payload(kind: kind, text: body, author: author, at: instant ?? Clock.now(),
                                                device: store.device, corrects: correctedDot, conversation: conversation)
        } catch {
            throw Failure.refused(error.description)
        }
        let sealed = try signed(payload)
        return try store.commitOrFail { replica in
            try replica.append(kind: kind.rawValue, payload: .object(sealed), to: id)
        }
    }

    /// `payload` plus `signature`: Ed25519 by the device key over the payload's canonical JSON.
    func signed(_ payload: [String: FieldValue]) throws -> [String: FieldValue] {
        var canonical: [UInt8] = []
        JSONPayload.write(.object(payload), to: &canonical)
        do {
            let signature = try store.sign(canonical)
            var result = payload
            result["signature"] = .string("ed25519:" + Data(signature).base64EncodedString())
            return result
        } catch {
            throw Failure(storeError: error)
        }
    }
}

extension ReferralEntry.Author {
    /// `--by`/`--role`, else EDT_WORKER_NAME/EDT_WORKER_ROLE; nil when neither is given.
    static func from(by: String?, role: String?) throws -> ReferralEntry.Author? {
        let environment = ProcessInfo.processInfo.environment
        let name = by ?? environment["EDT_WORKER_NAME"]
        let role = role ?? environment["EDT_WORKER_ROLE"]
        guard name != nil || role != nil else { return nil }
        do {
            return try ReferralEntry.Author(name: name ?? "", role: role ?? "")
        } catch {
            throw Failure.refused("--by and --role: \(error.message)")
        }
    }
}
