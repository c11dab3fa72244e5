public import Crypto
import Foundation
public import Referrals
public import Replication

/// Who touched a case at the centre, and how: what an entry of the audit log records besides
/// the case and the instant.
public struct AuditActor: Sendable, Hashable {
    /// A device id (a laptop's, or a peer centre's entry device), `clock` for the centre's own
    /// schedule, or `operator:NAME` for a person at a central command.
    public let who: String
    /// The authorities (GSS codes) the actor acted for.
    public let authorities: Set<String>
    /// What was done: `push`, `pull`, `read`, `handover`, `accept`, `forward`, … (letters and `-`).
    public let action: String

    public init(who: String, authorities: Set<String>, action: String) {
        self.who = Self.clean(who)
        self.authorities = authorities
        self.action = Self.clean(action)
    }

    /// `text` with tabs, line breaks and other control characters replaced by `?`: one field of
    /// the audit log's line.
    static func clean(_ text: String) -> String {
        String(
            String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : $0 }))
    }
}

/// One entry of the audit log as stored: its number (1, 2, … with no gap), the instant, the
/// actor, the case, and the hash chaining it to every entry before it.
public struct AuditRecord: Sendable, Hashable {
    public let number: Int64
    /// When the act was stored (the centre's clock, UTC).
    public let at: String
    public let who: String
    /// The authorities, space-separated in code order.
    public let authorities: String
    public let caseID: String
    public let action: String
    /// SHA-256 of the previous entry's hash and this entry's ``line`` (hex).
    public let hash: String

    public init(
        number: Int64, at: String, who: String, authorities: String, caseID: String, action: String, hash: String
    ) {
        self.number = number
        self.at = at
        self.who = who
        self.authorities = authorities
        self.caseID = caseID
        self.action = action
        self.hash = hash
    }

    /// The bytes the hash covers besides the previous hash: the fields, tab-separated.
    public var line: String { String(decoding: lineBytes, as: UTF8.self) }

    /// ``line`` as bytes.
    var lineBytes: [UInt8] {
        var bytes: [UInt8] = []
        Self.LineParts(at: at, who: who, authorities: authorities, action: action).append(
            number: number, caseID: caseID, to: &bytes)
        return bytes
    }

    /// ``line``'s layout, the one place it is written: the fields an act's entries share are
    /// given once (``AuditChain/entries(after:at:cases:actor:)``), each entry adding its number
    /// and case, and appended straight into a buffer the caller reuses.
    struct LineParts {
        let at: String
        let who: String
        let authorities: String
        let action: String

        /// Appends the line of entry `number` for `caseID` to `bytes`.
        func append(number: Int64, caseID: String, to bytes: inout [UInt8]) {
            func field(_ text: String) {
                bytes.append(UInt8(ascii: "\t"))
                bytes.append(contentsOf: text.utf8)
            }
            bytes.append(contentsOf: String(number).utf8)
            field(at)
            field(who)
            field(authorities)
            field(caseID)
            field(action)
        }
    }
}

/// The audit log's chain: how an entry's hash is made, how entries are made ready to append, and
/// how a stored log is verified. Backends store what ``entries(after:head:at:cases:actor:)`` makes,
/// in the transaction of the act.
public enum AuditChain {
    /// The hash before the first entry: 32 zero bytes, in hex.
    public static let origin = String(repeating: "0", count: 64)

    /// SHA-256 of `previous` (hex) and `line`, in hex.
    public static func hash(previous: String, line: String) -> String {
        hash(previous: previous, line: Array(line.utf8))
    }

    /// SHA-256 of `previous` (hex) and the bytes of a line, in hex: how every entry is hashed.
    static func hash(previous: String, line: [UInt8]) -> String {
        var hasher = SHA256()
        var previous = previous
        previous.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        hasher.update(data: line)
        return hex(hasher.finalize())
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The entries recording that `actor` touched each of `cases`, after the entry numbered
    /// `head.number` whose hash is `head.hash`, at `at`, chained.
    ///
    /// Each entry's line is put together as bytes in one buffer reused across the call
    /// (``AuditRecord/LineParts``) and hashed as ``hash(previous:line:)`` hashes it: a push
    /// appends an entry per case it stored, in its writer's transaction.
    public static func entries(
        after head: (number: Int64, hash: String), at: Instant, cases: [RecordID], actor: AuditActor
    ) -> [AuditRecord] {
        var number = head.number
        var previous = head.hash
        let instant = at.written(offsetSeconds: 0)
        let authorities = actor.authorities.sorted().joined(separator: " ")
        let parts = AuditRecord.LineParts(at: instant, who: actor.who, authorities: authorities, action: actor.action)
        var line: [UInt8] = []
        return cases.map { id in
            number += 1
            line.removeAll(keepingCapacity: true)
            parts.append(number: number, caseID: id.rawValue, to: &line)
            previous = hash(previous: previous, line: line)
            return AuditRecord(
                number: number, at: instant, who: actor.who, authorities: authorities, caseID: id.rawValue,
                action: actor.action, hash: previous)
        }
    }

    /// `digest` in lowercase hex.
    private static func hex(_ digest: SHA256.Digest) -> String {
        String(unsafeUninitializedCapacity: 64) { hex in
            var index = 0
            for byte in digest {
                hex[index] = hexDigits[Int(byte >> 4)]
                hex[index + 1] = hexDigits[Int(byte & 0x0F)]
                index += 2
            }
            return 64
        }
    }

    /// What verifying a log found: nothing wrong, or the first problem and the entry it is at.
    public enum Finding: Sendable, Hashable {
        case intact(entries: Int64, head: String)
        /// Entry `number`'s hash does not follow from the entries before it: it was altered, or
        /// an entry before it was inserted or deleted and the rest renumbered.
        case altered(number: Int64)
        /// Entries are missing between `after` and `next` (deleted).
        case missing(after: Int64, next: Int64)
        /// The log ends at `last`, but an anchor vouches for entry `anchored`: the tail was cut.
        case truncated(last: Int64, anchored: Int64)
        /// An anchor's hash differs from the entry it names: the log was rewritten up to there.
        case anchorMismatch(number: Int64)
        /// An anchor kept in the database is not signed by this centre's key.
        case forgedAnchor(number: Int64)
    }

    /// Walks a log page by page, with the centre's public key `key` (raw) and `identity`: `next(after:)` gives the entries after a number, in order (an
    /// empty page ends the log). Anchors (from the database, and any kept elsewhere) are checked
    /// against it once the walk has reached the entries they name.
    public static func verify(
        anchors: [AuditAnchor], key: [UInt8], identity: String,
        next: (Int64) async throws(CentralError) -> [AuditRecord]
    ) async throws(CentralError) -> Finding {
        let key = try? Curve25519.Signing.PublicKey(rawRepresentation: key)
        for anchor in anchors where key.map({ !anchor.isSigned(by: $0, identity: identity) }) ?? true {
            return .forgedAnchor(number: anchor.number)
        }
        let anchored = Dictionary(anchors.map { ($0.number, $0.hash) }, uniquingKeysWith: { first, _ in first })
        var last: Int64 = 0
        var previous = origin
        while true {
            let page = try await next(last)
            guard !page.isEmpty else { break }
            for entry in page {
                guard entry.number == last + 1 else {
                    return entry.number > last + 1
                        ? .missing(after: last, next: entry.number) : .altered(number: entry.number)
                }
                let expected = hash(previous: previous, line: entry.lineBytes)
                guard expected == entry.hash else { return .altered(number: entry.number) }
                if let vouched = anchored[entry.number], vouched != entry.hash {
                    return .anchorMismatch(number: entry.number)
                }
                last = entry.number
                previous = entry.hash
            }
        }
        if let furthest = anchors.map(\.number).max(), furthest > last {
            return .truncated(last: last, anchored: furthest)
        }
        return .intact(entries: last, head: previous)
    }
}

/// The audit log's head at a moment, signed with the centre's key: kept in the database and
/// printed (to the server's log, and by `edt central audit anchor`), so an operator can keep it
/// elsewhere. A log cut after it, or rewritten up to it, no longer matches it.
///
/// Printed as one line: `edt-audit-anchor 1 IDENTITY NUMBER HASH AT SIGNATURE`, the signature
/// (base64, Ed25519) over everything before it, single spaces between.
public struct AuditAnchor: Sendable, Hashable {
    public let identity: String
    public let number: Int64
    public let hash: String
    public let at: String
    public let signature: [UInt8]

    static let prefix = "edt-audit-anchor 1"

    /// An anchor at `number` (hash `hash`), made at `at`, signed with `key`.
    public init(
        identity: String, number: Int64, hash: String, at: Instant, key: Curve25519.Signing.PrivateKey
    ) throws {
        self.identity = identity
        self.number = number
        self.hash = hash
        self.at = at.written(offsetSeconds: 0)
        let message = "\(Self.prefix) \(identity) \(number) \(hash) \(self.at)"
        self.signature = Array(try key.signature(for: Array(message.utf8)))
    }

    /// Reads a printed anchor; nil when `line` is not one.
    public init?(line: String) {
        let words = line.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").map(String.init)
        guard words.count == 7, words[0] == "edt-audit-anchor", words[1] == "1", let number = Int64(words[3]),
            words[4].count == 64, Instant(iso8601: words[5]) != nil, let signature = Data(base64Encoded: words[6])
        else { return nil }
        identity = words[2]
        self.number = number
        hash = words[4]
        at = words[5]
        self.signature = Array(signature)
    }

    /// The printable line.
    public var line: String {
        "\(Self.prefix) \(identity) \(number) \(hash) \(at) \(Data(signature).base64EncodedString())"
    }

    /// Whether it is signed by `key` and names the centre `identity`.
    public func isSigned(by key: Curve25519.Signing.PublicKey, identity: String) -> Bool {
        guard identity == self.identity else { return false }
        let message = "\(Self.prefix) \(identity) \(number) \(hash) \(at)"
        return key.isValidSignature(signature, for: Array(message.utf8))
    }
}
