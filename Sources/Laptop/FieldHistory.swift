import Referrals
public import Replication

/// The values a referral's fields held before they were set anew: evidence is never silently
/// overwritten. Read from the signed `replacement` and `resolution` entries that each change
/// recorded beside it, so every replica that has the entries (after a sync or a bundle) shows
/// the same history.
public enum FieldHistory {
    /// One value a field held, and the act that replaced it.
    public struct Change: Sendable, Hashable {
        public let path: String
        /// The value the field held before.
        public let value: FieldValue
        /// When it was replaced (as recorded; ``Instant/london`` to show it).
        public let replacedAt: String
        /// The device that replaced it, and the person when known.
        public let device: String
        public let name: String?
        public let role: String?
        /// The entry that recorded the change.
        public let entry: Dot
    }

    /// Every value replaced in `record`, oldest change first (then by the recording entry).
    ///
    /// A change is read from an entry only when the device its payload names is the device whose
    /// dot the entry carries (an entry cannot speak for another device). A resolution lists every
    /// value it settled, the chosen one among them: that one, and `null` (an empty field), were
    /// not replaced and are left out.
    public static func changes(in record: Record) -> [Change] {
        var changes: [(Instant?, Change)] = []
        for entry in record.entries {
            guard
                entry.kind == ReferralEntry.Kind.replacement.rawValue
                    || entry.kind == ReferralEntry.Kind.resolution.rawValue,
                case .object(let payload) = entry.payload, case .string(let path)? = payload["path"],
                case .array(let replaced)? = payload["replaced"], case .string(let at)? = payload["at"],
                payload["device"] == .string(entry.dot.device.rawValue)
            else { continue }
            let name: String? = if case .string(let name)? = payload["by"] { name } else { nil }
            let role: String? = if case .string(let role)? = payload["role"] { role } else { nil }
            for value in replaced where value != .null && value != payload["value"] {
                let change = Change(
                    path: path, value: value, replacedAt: at, device: entry.dot.device.rawValue, name: name, role: role,
                    entry: entry.dot)
                changes.append((Instant(iso8601: at), change))
            }
        }
        return changes.sorted { Instant.precedes($0.0, $1.0, else: $0.1.entry < $1.1.entry) }.map(\.1)
    }
}

extension Instant {
    /// The order of things by when they happened: known instants first, oldest first; `tie` when
    /// two are at the same instant or neither instant is known.
    static func precedes(_ lhs: Instant?, _ rhs: Instant?, else tie: @autoclosure () -> Bool) -> Bool {
        switch (lhs, rhs) {
        case (let left?, let right?) where left != right: left < right
        case (nil, _?): false
        case (_?, nil): true
        default: tie()
        }
    }
}
