import Crypto
import Foundation
import Handover
import LineProtocol
import Referrals
import Replication
import Testing

/// Builds referral records on a laptop replica, the way a worker's capture and entries do.
struct CaseMaker {
    var laptop: Replica
    var centre: Replica

    init(device: String = "edt-laptop-a") throws {
        laptop = Replica(device: try DeviceID(device))
        centre = Replica(device: try DeviceID("central.berkshire"))
    }

    static let reading = "E06000038"
    static let slough = "E06000039"
    static let wokingham = "E06000041"

    /// A referral received at `received` by `host`, with a concern, one child and `fields`
    /// besides (paths relative to the document; `nil` leaves a default out).
    @discardableResult
    mutating func referral(
        _ id: String, received: String, host: String = reading, fields: [String: FieldValue?] = [:]
    ) throws -> RecordID {
        let record = try RecordID(id)
        var values: [String: FieldValue] = [
            "receivedAt": .string(received), "hostAuthority": .string(host), "channel": .string("phone"),
            "receivedBy.name": .string("Pat EDT"), "receivedBy.role": .string("EDT social worker"),
            "concern": .string("Concern for \(id)"), "children.c00000001.name": .string("Child of \(id)"),
            "children.c00000001.dateOfBirth": .string("2018-04-02"),
            "children.c00000001.location": .string("at home"), "recordCheck": .string("checked"),
        ]
        for (path, value) in fields { values[path] = value }
        let writes = try values.keys.sorted().compactMap { path -> (path: FieldPath, value: FieldValue)? in
            guard let value = values[path] else { return nil }
            return (try FieldPath(path), value)
        }
        laptop.write(writes, in: record)
        return record
    }

    /// Appends an entry written on the laptop; returns its reference `device:counter`.
    @discardableResult
    mutating func entry(_ kind: String, _ payload: [String: FieldValue], to id: RecordID) throws -> String {
        let dot = try laptop.append(kind: kind, payload: .object(payload), to: id)
        return "\(dot.device.rawValue):\(dot.counter)"
    }

    /// The centre's acceptance of `id` by `authority`'s day team, signed with `key`, written at
    /// the centre's dot.
    mutating func accept(
        _ id: RecordID, authority: String, at time: String, key: Curve25519.Signing.PrivateKey
    ) throws {
        centre.merge(laptop)
        let acceptance = try HandoverAcceptance(
            authority: authority, by: try ReferralEntry.Author(name: "Dee Day", role: "Team Manager"),
            at: at(time), recordedAt: at(time), device: centre.device)
        let signed = try HandoverAcceptance.sign(acceptance.payload, record: id) { Array(try key.signature(for: $0)) }
        try centre.append(kind: HandoverAcceptance.kind, payload: .object(signed), to: id)
        laptop.merge(centre)
    }

    /// An acceptance payload signed by the centre's key but written at the laptop's own dot.
    mutating func forgeAcceptanceOnLaptop(
        _ id: RecordID, authority: String, at time: String, key: Curve25519.Signing.PrivateKey
    ) throws {
        let acceptance = try HandoverAcceptance(
            authority: authority, by: try ReferralEntry.Author(name: "Dee Day", role: "Team Manager"),
            at: at(time), recordedAt: at(time), device: centre.device)
        let signed = try HandoverAcceptance.sign(acceptance.payload, record: id) { Array(try key.signature(for: $0)) }
        try laptop.append(kind: HandoverAcceptance.kind, payload: .object(signed), to: id)
    }

    var records: [Record] { laptop.recordIDs.compactMap { laptop.records[$0] } }
}

/// A centre's signing key, fixed for the tests.
let centreKey = Curve25519.Signing.PrivateKey()
let centrePublicKey = Array(centreKey.publicKey.rawRepresentation)

/// The package for `authority` as of `time`.
func package(
    _ authority: String, at time: String, _ records: [Record], carriedOver: Set<RecordID> = [],
    directory: AuthorityDirectory = .shipped, routing: RoutingRules = .shipped
) throws -> HandoverPackage {
    try HandoverPackage.build(
        authority: authority, at: at(time), candidates: records, carriedOver: carriedOver, directory: directory,
        centreKey: centrePublicKey, routing: routing)
}

/// A JSON document's members.
func members(_ value: FieldValue?) -> [String: FieldValue] {
    guard case .object(let members)? = value else { return [:] }
    return members
}

func items(_ value: FieldValue?) -> [FieldValue] {
    guard case .array(let items)? = value else { return [] }
    return items
}
