import Foundation
import Handover
import LineProtocol
public import Referrals
import ReplicaStore
public import Replication

/// Capturing and changing referrals: every change validated against the referral schema and
/// the device's policy first, then made as one durable commit.
extension Workspace {
    /// A referral just saved.
    public struct Captured: Sendable, Hashable {
        public let id: RecordID
        /// Recommended information that is missing, for the day team (paths as `set` takes them).
        public let gaps: [String]
    }

    // MARK: - Capture

    /// Reads a referral document (JSON text) and saves it as a new referral. `source` names the
    /// input in a refusal (`stdin`, a file name).
    public func capture(document bytes: ArraySlice<UInt8>, source: String) throws(LaptopError) -> Captured {
        try capture(Self.parseDocument(bytes, place: source + ": "), place: "")
    }

    /// Saves a referral document given as a value (e.g. asked for on a terminal).
    public func capture(_ document: FieldValue) throws(LaptopError) -> Captured {
        try capture(document, place: "")
    }

    /// Captures every referral of a JSON Lines text (one document a line, blank lines skipped),
    /// all or nothing: the first invalid line is refused by its number and nothing is saved.
    public func importReferrals(jsonLines bytes: [UInt8]) throws(LaptopError) -> [Captured] {
        var captures: [ReferralCapture.Capture] = []
        for (index, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            guard line.contains(where: { ![0x20, 0x09, 0x0D].contains($0) }) else { continue }
            let place = "line \(index + 1): "
            captures.append(try validate(try Self.parseDocument(line, place: place), place: place))
        }
        return try save(captures)
    }

    private func capture(_ document: FieldValue, place: String) throws(LaptopError) -> Captured {
        try save([try validate(document, place: place)])[0]
    }

    /// Checks a document against the schema and the device's policy.
    private func validate(_ document: FieldValue, place: String) throws(LaptopError) -> ReferralCapture.Capture {
        let capture: ReferralCapture.Capture
        do {
            capture = try ReferralCapture.validate(document, newItemID: Self.newItemID)
        } catch {
            throw .refused(place + error.description)
        }
        if case .object(let members) = document {
            if case .string(let host)? = members[ReferralCapture.hostAuthorityPath] {
                try policy.checkHost(host, place: place)
            }
            let received = members["receivedAt"].flatMap { value -> Instant? in
                guard case .string(let text) = value else { return nil }
                return Instant(iso8601: text)
            }
            for path in [ReferralCapture.hostAuthorityPath, ReferralCapture.homeAuthorityPath] {
                guard case .string(let code)? = members[path] else { continue }
                try checkKnown(code, path: path, receivedAt: received, place: place)
            }
        }
        return capture
    }

    /// Refuses a write that would leave the referral naming an authority not known, or not in
    /// force on the day it was received: a new host or home authority, or a new receipt instant
    /// that the authorities named were not in force on.
    private func checkAuthorities(after value: FieldValue, at path: FieldPath, in record: Record) throws(LaptopError) {
        switch path.rawValue {
        case ReferralCapture.hostAuthorityPath, ReferralCapture.homeAuthorityPath:
            guard case .string(let code) = value else { return }
            try checkKnown(
                code, path: path.rawValue, receivedAt: ReferralTimeline(record: record)?.receivedAt, place: "")
        case "receivedAt":
            guard case .string(let text) = value, let instant = Instant(iso8601: text) else { return }
            for authorityPath in [ReferralCapture.hostAuthorityPath, ReferralCapture.homeAuthorityPath] {
                guard let field = try? FieldPath(authorityPath), let register = record.register(at: field) else {
                    continue
                }
                for case .string(let code) in register.values {
                    try checkKnown(code, path: authorityPath, receivedAt: instant, place: "receivedAt: ")
                }
            }
        default:
            break
        }
    }

    /// Refuses an authority code that is not known, or was not in force on the day the referral
    /// was received.
    func checkKnown(_ code: String, path: String, receivedAt: Instant?, place: String) throws(LaptopError) {
        if let refusal = directory.refusal(of: code, on: receivedAt.map(LondonTime.day(of:))) {
            throw .refused("\(place)\(path): \(refusal)")
        }
    }

    /// Saves validated captures as new referrals, in one durable commit.
    private func save(_ captures: [ReferralCapture.Capture]) throws(LaptopError) -> [Captured] {
        try commit { replica in
            captures.map { capture in
                let id = Self.newRecordID()
                replica.write(capture.writes, in: id)
                return Captured(id: id, gaps: capture.gaps)
            }
        }
    }

    /// Parses a JSON document; `place` prefixes a refusal.
    static func parseDocument(_ bytes: ArraySlice<UInt8>, place: String) throws(LaptopError) -> FieldValue {
        do throws(JSONPayload.ReadError) {
            return try JSONPayload.read(bytes, maximumDepth: 16, allowingWhitespace: true)
        } catch {
            switch error {
            case .invalidUTF8: throw .refused("\(place)the document is not valid UTF-8")
            case .invalid(let why), .shape(let why), .identifier(let why):
                throw .refused("\(place)not valid JSON: \(why)")
            }
        }
    }

    /// A new globally unique referral id, made offline.
    static func newRecordID() -> RecordID {
        // A lowercase UUID is always a valid record id (36 of a-f, 0-9 and -).
        (try? RecordID(UUID().uuidString.lowercased())) ?? { preconditionFailure("a UUID is not a record id") }()
    }

    /// A new collection item id: the collection's prefix and 8 random hex digits.
    static func newItemID(_ prefix: String) -> String {
        prefix + String(format: "%08x", UInt32.random(in: 0...UInt32.max))
    }

    // MARK: - Changing a field

    /// Writes one field (`edt referral set`). The value it replaces, who replaced it, when and on
    /// which device are kept in a signed `replacement` entry (the field's history). A field in
    /// conflict is refused: it is resolved with ``resolve(_:path:value:by:)``.
    /// - Parameter valueText: JSON when it parses (`true`, `7`, `null`, `"text"`), else text;
    ///   digits typed for a text field (an NHS number) stay text.
    @discardableResult
    public func set(
        _ idText: String, path pathText: String, value valueText: String, by author: ReferralEntry.Author?
    ) throws(LaptopError) -> Dot {
        try change(idText, path: pathText, value: valueText, resolving: false, author: author)
    }

    /// Resolves a field in conflict by writing the value that replaces every kept one, and
    /// records a signed `resolution` entry naming the values it replaced. Refused for a field
    /// not in conflict.
    @discardableResult
    public func resolve(
        _ idText: String, path pathText: String, value valueText: String, by author: ReferralEntry.Author?
    ) throws(LaptopError) -> Dot {
        try change(idText, path: pathText, value: valueText, resolving: true, author: author)
    }

    private func change(
        _ idText: String, path pathText: String, value valueText: String, resolving: Bool, author: ReferralEntry.Author?
    ) throws(LaptopError) -> Dot {
        let (id, record) = try stored(idText)
        let path = try Self.fieldPath(pathText)
        let value = ReferralCapture.value(typed: valueText, parsed: Self.parsedValue(valueText), for: path)
        do {
            try ReferralCapture.validateWrite(value, at: path, in: record)
        } catch {
            throw .refused(error.description)
        }
        try checkAuthorities(after: value, at: path, in: record)
        if path.rawValue == ReferralCapture.hostAuthorityPath || path.rawValue == ReferralCapture.homeAuthorityPath,
            let machine = try crossAuthority(of: record, at: clock.now())?.machine
        {
            // Once forwarded, the host is fixed (it stays responsible until the home accepts)
            // and the home follows the recorded forwarding; a conflict on the home field may
            // still be resolved to the home the case was forwarded to.
            if path.rawValue == ReferralCapture.hostAuthorityPath {
                throw .refused(
                    "the case was forwarded to its home authority, so its host authority (\(machine.host)) can no longer be changed"
                )
            }
            if !(resolving && value == .string(machine.home ?? "")) {
                throw .refused(
                    "the case was forwarded to its home authority (\(machine.home ?? "none")): change where it goes with `edt referral forward \(idText) --to CODE`, which records the act (the field alone shows the case to nobody)"
                )
            }
        }
        let register = record.register(at: path)
        if resolving {
            guard let register, register.isConflicted else {
                throw .refused("\(path) is not in conflict; change it with `edt referral set`")
            }
        } else if let register, register.isConflicted {
            throw .refused(
                "\(path) is in conflict between \(register.values.count) values; choose with `edt referral resolve \(idText) \(path) VALUE`"
            )
        }
        // What the write replaces is kept as evidence: a resolution names every value it
        // settles; a plain set keeps the value it overwrote (nothing when the field was empty
        // or already held this value).
        let replaced = register?.values.filter { resolving || $0 != value } ?? []
        var entry: (kind: ReferralEntry.Kind, payload: [String: FieldValue])?
        if !replaced.isEmpty {
            let kind: ReferralEntry.Kind = resolving ? .resolution : .replacement
            let payload: [String: FieldValue]
            do {
                payload = try ReferralEntry.changePayload(
                    path: path, value: value, replaced: replaced, author: author, at: clock.now().london, device: device
                )
            } catch {
                throw .refused(error.description)
            }
            entry = (kind, try sign(payload, kind: kind, record: id))
        }
        return try commit(loading: [id]) { replica in
            let dot = replica.write(value, to: path, in: id)
            if let entry { try replica.append(kind: entry.kind.rawValue, payload: .object(entry.payload), to: id) }
            return dot
        }
    }

    // MARK: - Entries

    /// What a person records with ``note(_:_:)``.
    public struct Note: Sendable, Hashable {
        /// One of ``ReferralEntry/Kind/noteKinds``.
        public var kind: ReferralEntry.Kind
        public var text: String
        public var author: ReferralEntry.Author
        /// When it happened (ISO 8601 with an offset); the clock's now when nil.
        public var at: String?
        /// For a correction: the dot of the entry it corrects (`edt-laptop-a:12`).
        public var corrects: String?
        public var conversation: ReferralEntry.Conversation

        public init(
            kind: ReferralEntry.Kind, text: String, author: ReferralEntry.Author, at: String? = nil,
            corrects: String? = nil,
            conversation: ReferralEntry.Conversation = ReferralEntry.Conversation()
        ) {
            self.kind = kind
            self.text = text
            self.author = author
            self.at = at
            self.corrects = corrects
            self.conversation = conversation
        }
    }

    /// Appends an immutable, signed entry: a conversation, a decision, a note or a correction.
    @discardableResult
    public func note(_ idText: String, _ note: Note) throws(LaptopError) -> Dot {
        guard ReferralEntry.Kind.noteKinds.contains(note.kind) else {
            throw .refused(
                "\(note.kind.rawValue) entries are recorded by the act they document (a resolution, a set, or their own `edt referral` command), not as a note; a note is one of \(ReferralEntry.Kind.noteKinds.map(\.rawValue).joined(separator: ", "))"
            )
        }
        let (id, record) = try stored(idText)
        var corrected: Dot?
        if let corrects = note.corrects {
            guard let dot = Notation.dot(Substring(corrects)), record.entries.contains(where: { $0.dot == dot }) else {
                throw .refused(
                    "--corrects \(corrects) is not an entry of this referral (see the dots in `edt referral show`)")
            }
            corrected = dot
        }
        let payload: [String: FieldValue]
        do {
            payload = try ReferralEntry.payload(
                kind: note.kind, text: note.text, author: note.author, at: note.at ?? clock.now().london,
                device: device,
                corrects: corrected, conversation: note.conversation)
        } catch {
            throw .refused(error.description)
        }
        let signed = try sign(payload, kind: note.kind, record: id)
        return try commit(loading: [id]) { replica in
            try replica.append(kind: note.kind.rawValue, payload: .object(signed), to: id)
        }
    }

    /// `payload` signed with the device key (``EntrySignature``).
    func sign(
        _ payload: [String: FieldValue], kind: ReferralEntry.Kind, record: RecordID
    ) throws(LaptopError) -> [String: FieldValue] {
        do {
            return try EntrySignature.sign(payload, kind: kind, record: record) { (bytes) throws(StoreError) in
                try store.sign(bytes)
            }
        } catch {
            throw LaptopError(error)
        }
    }

    // MARK: - Looking things up

    /// The referral with this id, or a refusal saying how to find one.
    func stored(_ text: String) throws(LaptopError) -> (RecordID, Record) {
        guard let id = try? RecordID(text), let record = try storeAccess({ try store.record(id) }) else {
            throw .refused("no referral \(text) in this store; `edt referral list` shows them")
        }
        return (id, record)
    }

    static func fieldPath(_ text: String) throws(LaptopError) -> FieldPath {
        guard let path = try? FieldPath(text) else {
            throw .refused("\"\(text)\" is not a field path (dotted, e.g. referrer.phone or children.c1a2b3c4.name)")
        }
        return path
    }

    /// A value typed on a command line, read as JSON when it is JSON.
    public static func parsedValue(_ text: String) -> FieldValue? {
        try? JSONPayload.read(Array(text.utf8)[...], maximumDepth: 16, allowingWhitespace: true)
    }
}
