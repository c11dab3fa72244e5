import Handover
import LineProtocol
import Referrals
import ReplicaStore
public import Replication

/// What the store's catalog keeps of a referral (``RecordSummary``), so `edt referral list`
/// filters and shows referrals without opening them: when it was received, its status, its host
/// and home authorities, and (sealed) what a list line shows.
public enum ReferralCatalog {
    /// Where a referral stands, as a list filters on it (`--status`).
    public enum Status: String, Sendable, Hashable, CaseIterable {
        /// No outcome recorded yet.
        case open
        /// An outcome is recorded and no manager has authorised it.
        case awaitingAuthorisation = "awaiting-authorisation"
        /// A manager authorised an outcome.
        case authorised
    }

    /// The catalog's summary of `record`.
    static let describe: RecordDescriber = { record in
        let received = ReferralView.value(of: record, at: "receivedAt")
        let host = ReferralView.value(of: record, at: ReferralCapture.hostAuthorityPath)
        let home = ReferralView.value(of: record, at: ReferralCapture.homeAuthorityPath)
        var summary = RecordSummary(status: status(of: record).rawValue)
        if case .string(let text) = received, let instant = Instant(iso8601: text) {
            summary.receivedSeconds = instant.secondsSinceEpoch
            summary.receivedNanos = nanoseconds(instant)
        }
        if case .string(let code) = host { summary.host = code }
        if case .string(let code) = home, code != summary.host { summary.home = code }
        var content: [UInt8] = []
        JSONPayload.write(
            .object(["hostAuthority": host ?? .null, "homeAuthority": home ?? .null, "receivedAt": received ?? .null]),
            to: &content)
        summary.content = content
        return summary
    }

    /// When the case was accepted by its responsible authority's day team, as the centre signed
    /// it (``Referrals/HandoverAcceptance/acceptedAt(_:centreKey:)``): the catalog's `accepted`.
    static let accepted: AcceptanceReader = { record, centreKey in
        HandoverAcceptance.acceptedAt(record, centreKey: centreKey)?.secondsSinceEpoch
    }

    /// What a list line shows of a referral, read back from its sealed summary.
    public struct Line: Sendable {
        /// Null while absent or in conflict.
        public let hostAuthority: FieldValue
        public let homeAuthority: FieldValue
        /// As recorded (not yet shown in London's offset); null while absent or in conflict.
        public let receivedAt: FieldValue
    }

    /// The line a summary's content holds; nil when it is not one this version writes.
    static func line(_ content: [UInt8]) -> Line? {
        guard case .object(let object)? = try? JSONPayload.read(content[...], maximumDepth: 4) else { return nil }
        return Line(
            hostAuthority: object["hostAuthority"] ?? .null, homeAuthority: object["homeAuthority"] ?? .null,
            receivedAt: object["receivedAt"] ?? .null)
    }

    /// The referral's status, from its entries: an outcome, and a manager's authorisation of one.
    public static func status(of record: Record) -> Status {
        guard let timeline = ReferralTimeline(record: record) else {
            return record.entries.contains { $0.kind == ReferralEntry.Kind.outcome.rawValue }
                ? .awaitingAuthorisation : .open
        }
        let outcomes = Set(timeline.events.filter { $0.kind == .outcome }.map(\.reference))
        guard !outcomes.isEmpty else { return .open }
        let authorised = timeline.events.contains { event in
            event.kind == .authorisation && event.refersTo.map(outcomes.contains) == true
        }
        return authorised ? .authorised : .awaitingAuthorisation
    }

    /// The instant's fraction of a second, in nanoseconds (for ordering within a second).
    static func nanoseconds(_ instant: Instant) -> Int64 {
        let digits = instant.fractionDigits.prefix(9)
        return Int64(digits + String(repeating: "0", count: 9 - digits.count)) ?? 0
    }
}
