public import Handover
public import LineProtocol
public import Referrals
import ReplicaStore
public import Replication

/// Reading referrals: one whole (document, conflicts, entries with their signatures checked,
/// field history), or the list. Instants are shown in Europe/London's offset of each instant.
extension Workspace {
    /// A referral as `edt referral show` presents it.
    public struct ReferralDetail: Sendable {
        public let id: RecordID
        /// The document; a field in conflict is absent here and only in ``conflicts``.
        public let document: FieldValue
        public let conflicts: [ReferralView.Conflict]
        /// Recommended information still missing.
        public let gaps: [String]
        public let entries: [EntryDetail]
        /// Every value a field held before it was set anew, oldest first.
        public let history: [FieldHistory.Change]
        /// The statutory deadlines as of now; nil when they cannot be worked out (no readable
        /// receipt, an unknown authority), with the reason in ``deadlinesUnavailable``.
        public let deadlines: DeadlineReport?
        public let deadlinesUnavailable: String?
    }

    /// One entry of a referral.
    public struct EntryDetail: Sendable {
        public let dot: Dot
        public let kind: String
        /// The payload exactly as recorded and signed (its instants as they were written), so it
        /// can be checked against its signature.
        public let payload: FieldValue
        /// When the entry says it happened (its `at`), in London's offset; nil when it has none.
        public let at: String?
        /// The signature checked against this device's key, for the entries this device made;
        /// nil for another device's (its key is not held here).
        public let signature: EntrySignature.Verification?
    }

    /// The referral `idText`, or a refusal saying how to find one.
    public func referral(_ idText: String) throws(LaptopError) -> ReferralDetail {
        let (id, record) = try stored(idText)
        let view = ReferralView(record)
        let entries = record.entries.map { entry in
            EntryDetail(
                dot: entry.dot, kind: entry.kind, payload: entry.payload,
                at: LondonPresentation.entryInstant(entry.payload),
                signature: entry.dot.device == device ? EntrySignature.verify(entry, in: id, publicKey: publicKey) : nil
            )
        }
        let conflicts = view.conflicts.map { conflict in
            ReferralView.Conflict(
                path: conflict.path, values: conflict.values.map { LondonPresentation.value($0, at: conflict.path) })
        }
        let history = FieldHistory.changes(in: record).map { change in
            FieldHistory.Change(
                path: change.path,
                value: (try? FieldPath(change.path)).map { LondonPresentation.value(change.value, at: $0) }
                    ?? change.value,
                replacedAt: LondonPresentation.instant(change.replacedAt), device: change.device, name: change.name,
                role: change.role,
                entry: change.entry)
        }
        var deadlines: DeadlineReport?
        var unavailable: String?
        do {
            deadlines = try self.deadlines(of: record, at: clock.now())
        } catch {
            unavailable = error.message
        }
        return ReferralDetail(
            id: id, document: LondonPresentation.document(view.document), conflicts: conflicts, gaps: view.gaps,
            entries: entries, history: history, deadlines: deadlines, deadlinesUnavailable: unavailable)
    }

    /// One line of the list.
    public struct ReferralSummary: Sendable {
        public let id: RecordID
        /// The host authority (null while absent; absent here while in conflict).
        public let hostAuthority: FieldValue
        /// When it was received, in London's offset (null while absent or in conflict).
        public let receivedAt: FieldValue
        /// Fields in conflict.
        public let conflicts: Int
        /// The centre's refusal, while the referral stays here flagged.
        public let refusal: Rejection?
    }

    /// Every referral, oldest received first (then by id).
    public func referrals() throws(LaptopError) -> [ReferralSummary] {
        var refusals: [RecordID: Rejection] = [:]
        do {
            for rejection in try store.rejections() { refusals[rejection.record] = rejection }
        } catch {
            throw LaptopError(error)
        }
        let rows = store.replica.records.values.map { record -> (Instant?, ReferralSummary) in
            let received = ReferralView.value(of: record, at: "receivedAt") ?? .null
            let instant: Instant? = if case .string(let text) = received { Instant(iso8601: text) } else { nil }
            return (
                instant,
                ReferralSummary(
                    id: record.id,
                    hostAuthority: ReferralView.value(of: record, at: ReferralCapture.hostAuthorityPath) ?? .null,
                    receivedAt: LondonPresentation.instant(received), conflicts: record.conflictedPaths.count,
                    refusal: refusals[record.id])
            )
        }
        return rows.sorted { Instant.precedes($0.0, $1.0, else: $0.1.id < $1.1.id) }.map(\.1)
    }
}
