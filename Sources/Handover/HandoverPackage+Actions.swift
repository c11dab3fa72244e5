import Referrals
import Replication

/// The actions the EDT took on a referral, read from its entries: each outcome entry (immediate
/// protection with its measures), decision, conversation, note, correction, conflict
/// resolution, strategy discussion, acknowledgement... with who, in which role, when, and one
/// line saying what. Field histories (`replacement`) and acceptances are not actions.
enum ActionReader {
    /// The longest line kept of a free text, in characters; longer ones end with `…`.
    static let lineLimit = 240

    /// The kinds read as actions: every referral entry kind but the field history.
    static let kinds: Set<String> = Set(ReferralEntry.Kind.allCases.filter { $0 != .replacement }.map(\.rawValue))

    /// The actions recorded as happening at or before `limit` (or giving no instant), in the
    /// order of their instants, then of their entries; those without an instant last.
    static func actions(of record: Record, upTo limit: Instant) -> [HandoverPackage.Action] {
        var actions: [HandoverPackage.Action] = []
        for entry in record.entries where kinds.contains(entry.kind) {
            guard case .object(let payload) = entry.payload, let kind = ReferralEntry.Kind(rawValue: entry.kind) else {
                continue
            }
            let at = text(payload["at"]).flatMap(Instant.init(iso8601:))
            if let at, at > limit { continue }
            let measures: [String] =
                if case .array(let items)? = payload["measures"], kind == .outcome {
                    items.compactMap { text($0) }
                } else {
                    []
                }
            actions.append(
                HandoverPackage.Action(
                    entry: "\(entry.dot.device.rawValue):\(entry.dot.counter)", kind: entry.kind, at: at,
                    by: text(payload["by"]), role: text(payload["role"]),
                    text: line(describe(kind, payload, measures: measures)), measures: measures))
        }
        actions.sort { lhs, rhs in
            switch (lhs.at, rhs.at) {
            case (let left?, let right?) where left != right: return left < right
            case (.some, nil): return true
            case (nil, .some): return false
            default: return (lhs.entry.count, lhs.entry) < (rhs.entry.count, rhs.entry)
            }
        }
        return actions
    }

    /// What an entry says, in words.
    static func describe(_ kind: ReferralEntry.Kind, _ payload: [String: FieldValue], measures: [String]) -> String {
        func field(_ key: String) -> String { text(payload[key]) ?? "" }
        func with(_ lead: String, _ key: String) -> String {
            let detail = field(key)
            return detail.isEmpty ? lead : lead + ": " + detail
        }
        switch kind {
        case .outcome:
            var words = "Outcome " + field("outcome")
            if !measures.isEmpty { words += " (measures: " + measures.joined(separator: ", ") + ")" }
            if let advice = text(payload["advice"]) { words += "; advice: " + advice }
            if let rationale = text(payload["rationale"]) { words += "; rationale: " + rationale }
            return words
        case .authorisation: return with("Authorised the outcome \(field("authorises"))", "text")
        case .acknowledgement: return with("Acknowledged the referral to the referrer by \(field("method"))", "text")
        case .feedback: return with("Told the referrer the outcome \(field("about"))", "text")
        case .confirmation:
            return "Written confirmation of the verbal referral received (reference \(field("reference")))"
        case .strategyDiscussion:
            let enquiries =
                payload["section47"] == .bool(true)
                ? "section 47 enquiries started" : "no section 47 enquiries"
            return with("Strategy discussion, \(enquiries)", "text")
        case .strategyRecord:
            let recipients: [String] =
                if case .array(let items)? = payload["recipients"] { items.compactMap { text($0) } } else { [] }
            return
                "Sent the record of the strategy discussion \(field("discussion")) to \(recipients.joined(separator: ", "))"
        case .challenge: return with("The referrer challenged the outcome \(field("about"))", "text")
        case .escalation: return with("Escalated the challenge \(field("challenge")) to \(field("to"))", "text")
        case .assessmentCompleted: return with("Child and Family Assessment completed", "text")
        case .conferenceHeld: return with("Initial child protection conference held", "text")
        case .conversation: return with("Conversation", "text")
        case .decision: return with("Decision", "text")
        case .note: return with("Note", "text")
        case .correction: return with("Correction of \(field("corrects"))", "text")
        case .resolution: return "Resolved the conflict on \(field("path"))"
        case .replacement: return "Replaced the value of \(field("path"))"
        }
    }

    static func text(_ value: FieldValue?) -> String? {
        guard case .string(let text)? = value else { return nil }
        return text
    }

    /// `text` on one line: every run of white space (line breaks included) one space, at most
    /// ``lineLimit`` characters.
    static func line(_ text: String) -> String {
        // Most text is already one line of printable ASCII, single-spaced and within the limit:
        // it is its own line, its storage shared.
        if isOwnLine(text) { return text }
        // Most other text is ASCII: done on its bytes, where white space and control characters
        // are the bytes up to the space, and DEL.
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            var out: [UInt8] = []
            out.reserveCapacity(min(text.utf8.count, lineLimit + 4))
            var pendingSpace = false
            for byte in text.utf8 {
                if byte <= 0x20 || byte == 0x7F {
                    pendingSpace = !out.isEmpty
                    continue
                }
                if pendingSpace {
                    out.append(0x20)
                    pendingSpace = false
                }
                if out.count >= lineLimit {
                    out.append(contentsOf: "…".utf8)
                    break
                }
                out.append(byte)
            }
            return String(decoding: out, as: UTF8.self)
        }
        var out = String.UnicodeScalarView()
        var count = 0
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace || scalar.properties.generalCategory == .control {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace {
                out.append(" ")
                count += 1
                pendingSpace = false
            }
            if count >= lineLimit {
                out.append("…")
                break
            }
            out.append(scalar)
            count += 1
        }
        return String(out)
    }

    /// Whether `text` is printable ASCII (spaces included) of at most ``lineLimit`` characters,
    /// with no space at either end and none beside another: what ``line(_:)`` would make of it.
    private static func isOwnLine(_ text: String) -> Bool {
        text.utf8.withContiguousStorageIfAvailable { bytes in
            guard bytes.count <= lineLimit, bytes.first != 0x20, bytes.last != 0x20 else { return false }
            var previous: UInt8 = 0
            for byte in bytes {
                guard byte >= 0x20, byte < 0x7F, byte != 0x20 || previous != 0x20 else { return false }
                previous = byte
            }
            return true
        } ?? false
    }
}
