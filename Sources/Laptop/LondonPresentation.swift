import Referrals
import Replication

/// Instants as edt shows them: in the offset Europe/London had at that instant, whatever offset
/// they were written with. Values that are not instants pass unchanged.
enum LondonPresentation {
    /// `text` in London's offset when it is an instant.
    static func instant(_ text: String) -> String { Instant(iso8601: text)?.london ?? text }

    static func instant(_ value: FieldValue) -> FieldValue {
        guard case .string(let text) = value else { return value }
        return .string(instant(text))
    }

    /// A referral document with its instant fields (per the schema) shown in London's offset.
    static func document(_ value: FieldValue) -> FieldValue {
        presented(value, members: ReferralSchema.document)
    }

    /// A value of the field at `path`, shown in London's offset when the field holds instants.
    static func value(_ value: FieldValue, at path: FieldPath) -> FieldValue {
        guard case .scalar(.instant)? = ReferralSchema.member(at: path)?.shape else { return value }
        return instant(value)
    }

    /// The instant an entry's payload gives as `at`, in London's offset.
    static func entryInstant(_ payload: FieldValue) -> String? {
        guard case .object(let members) = payload, case .string(let at)? = members["at"] else { return nil }
        return instant(at)
    }

    private static func presented(_ value: FieldValue, members: [ReferralSchema.Member]) -> FieldValue {
        guard case .object(var object) = value else { return value }
        for member in members {
            guard let inner = object[member.name] else { continue }
            switch member.shape {
            case .scalar(.instant): object[member.name] = instant(inner)
            case .scalar: break
            case .object(let nested): object[member.name] = presented(inner, members: nested)
            case .collection(_, let item):
                if case .array(let items) = inner {
                    object[member.name] = .array(items.map { presented($0, members: item) })
                }
            }
        }
        return .object(object)
    }
}
