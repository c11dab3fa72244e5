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
    public static func changes(in record: Record) -> [Change] {
        var changes: [(Instant?, Change)] = []
        for entry in record.entries {
            guard
                entry.kind == ReferralEntry.Kind.replacement.rawValue
                    || entry.kind == ReferralEntry.Kind.resolution.rawValue,
                case .object(let payload) = entry.payload, case .string(let path)? = payload["path"],
                case .array(let replaced)? = payload["replaced"], case .string(let at)? = payload["at"],
                case .string(let device)? = payload["device"]
            else { continue }
            let name: String? = if case .string(let name)? = payload["by"] { name } else { nil }
            let role: String? = if case .string(let role)? = payload["role"] { role } else { nil }
            for value in replaced {
                changes.append(
                    (
                        Instant(iso8601: at),
                        Change(
                            path: path, value: value, replacedAt: at, device: device, name: name, role: role,
                            entry: entry.dot)
                    ))
            }
        }
        return changes.sorted { lhs, rhs in
            switch (lhs.0, rhs.0) {
            case let (left?, right?) where left != right: left < right
            default: lhs.1.entry < rhs.1.entry
            }
        }.map(\.1)
    }
}
