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
        /// Where the case stands between its host and home authorities, and every act between
        /// them; nil when it was never forwarded.
        public let crossAuthority: CrossAuthorityHistory?
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
            entries: entries, history: history, deadlines: deadlines, deadlinesUnavailable: unavailable,
            crossAuthority: try crossAuthority(of: record, at: clock.now()))
    }

    /// One line of the list.
    public struct ReferralSummary: Sendable {
        public let id: RecordID
        /// The host authority (null while absent or in conflict).
        public let hostAuthority: FieldValue
        /// The home authority (null while absent or in conflict).
        public let homeAuthority: FieldValue
        /// When it was received, in London's offset (null while absent or in conflict).
        public let receivedAt: FieldValue
        /// Fields in conflict.
        public let conflicts: Int
        /// Where the referral stands (``ReferralCatalog/Status``).
        public let status: String
        /// Changes the centre has not acknowledged yet.
        public let pending: Bool
        /// The centre's refusal, while the referral stays here flagged.
        public let refusal: Rejection?
    }

    /// Which referrals a list shows (all by default). Filters combine: all must hold.
    public struct ReferralFilter: Sendable {
        /// Recorded for this authority (host or home), a GSS code.
        public var authority: String?
        public var status: ReferralCatalog.Status?
        /// With at least one field in conflict.
        public var conflictsOnly = false
        /// With changes the centre has not acknowledged.
        public var pendingOnly = false
        /// Received at or after this instant.
        public var since: Instant?
        /// After this referral in the list's order (the last id of the page before).
        public var after: RecordID?
        /// At most this many.
        public var limit: Int?

        public init() {}
    }

    /// Hands `body` the referrals `filter` selects, oldest received first (then by id; those
    /// with no readable receipt last), one at a time as they are read from the store's catalog:
    /// a list costs what it shows, whatever the store holds.
    public func referrals(
        _ filter: ReferralFilter, _ body: (ReferralSummary) throws -> Void
    ) throws(LaptopError) {
        if let limit = filter.limit, limit < 0 { throw .refused("--limit must be 0 or more") }
        var storeFilter = ReplicaStore.ListFilter()
        storeFilter.authority = filter.authority
        storeFilter.status = filter.status?.rawValue
        storeFilter.conflictsOnly = filter.conflictsOnly
        storeFilter.pendingOnly = filter.pendingOnly
        storeFilter.receivedSince = filter.since.map { ($0.secondsSinceEpoch, ReferralCatalog.nanoseconds($0)) }
        storeFilter.after = filter.after
        storeFilter.limit = filter.limit
        try storeAccess {
            var refusals: [RecordID: Rejection] = [:]
            for rejection in try store.rejections() { refusals[rejection.record] = rejection }
            try store.list(storeFilter) { listed in
                guard let line = ReferralCatalog.line(listed.content) else {
                    throw StoreError(.corrupt, "the summary of referral \(listed.id) cannot be read")
                }
                try body(
                    ReferralSummary(
                        id: listed.id, hostAuthority: line.hostAuthority, homeAuthority: line.homeAuthority,
                        receivedAt: LondonPresentation.instant(line.receivedAt), conflicts: listed.conflicts,
                        status: listed.status, pending: listed.pending, refusal: refusals[listed.id]))
            }
        }
    }

    /// Every referral, as ``referrals(_:_:)`` lists them, in one array.
    public func referrals() throws(LaptopError) -> [ReferralSummary] {
        var rows: [ReferralSummary] = []
        try referrals(ReferralFilter()) { rows.append($0) }
        return rows
    }
}
