import Crypto
import LineProtocol
public import Referrals
public import Replication

/// The centre's side of a handover to a day team: recording that the day team accepted a case it
/// was handed over (`Docs/domain.md`, "EDT handover to day teams").
///
/// An acceptance is an entry the centre writes itself (``Referrals/HandoverAcceptance``): at the
/// next dot of its own device (``CentralStorage/centreDevice``), signed with its key, stored
/// through the same path as a device's push, so it takes a change number and reaches every laptop
/// that holds the case at its next pull.
///
/// ```swift
/// let accepted = try await HandoverService(storage: storage).accept(
///     case: id, by: author, authority: "E06000038", at: now, recordedAt: now)
/// ```
public struct HandoverService: Sendable {
    public let storage: any CentralStorage

    public init(storage: any CentralStorage) {
        self.storage = storage
    }

    /// An acceptance recorded: the case, the acceptance as stored, and the change that stored it.
    public struct Accepted: Sendable, Hashable {
        public let id: RecordID
        public let acceptance: HandoverAcceptance
        /// The change-sequence number of the case after it.
        public let sequence: Int64
    }

    /// Why an acceptance was not recorded; nothing was changed.
    public typealias Refusal = CentreRefusal<RefusalReason>

    public enum RefusalReason: String, CentreRefusalReason {
        /// No such case is stored at the centre.
        case noSuchCase = "no-such-case"
        /// The case is another authority's (its host authority), or its host is in conflict.
        case anotherAuthority = "another-authority"
        /// No package kept for that authority handed the case over.
        case neverHandedOver = "never-handed-over"
        /// That authority's day team has accepted the case already.
        case alreadyAccepted = "already-accepted"
        /// The acceptance itself is malformed (a GSS code, an empty name or role), or the
        /// case could not take it (too large).
        case invalid
        /// The database failed: nothing is known to have changed; try again.
        case storage
    }

    /// Records that the day team of `authority` accepted case `id`: `by` (a name) in `role`, at
    /// `at`, recorded by the centre at `recordedAt`.
    public func accept(
        case id: RecordID, by name: String, role: String, authority: String, at: Instant, recordedAt: Instant
    ) async throws(Refusal) -> Accepted {
        let author: ReferralEntry.Author
        do {
            author = try ReferralEntry.Author(name: name, role: role)
        } catch {
            throw Refusal(.invalid, error.description)
        }
        return try await accept(case: id, by: author, authority: authority, at: at, recordedAt: recordedAt)
    }

    /// ``accept(case:by:role:authority:at:recordedAt:)`` with the author already checked.
    ///
    /// Refused, with nothing changed: an acceptance dated after it is recorded (in the future) or
    /// before the case was handed over to `authority`, a case that does not exist, a case whose host authority is
    /// not `authority`, a case no package kept for `authority` handed over, a case that
    /// authority has accepted already. The last two of the case's own conditions are checked
    /// again inside the transaction that stores the acceptance, on the case as stored then, so of
    /// two acceptances at once only one is stored.
    public func accept(
        case id: RecordID, by author: ReferralEntry.Author, authority: String, at: Instant, recordedAt: Instant
    ) async throws(Refusal) -> Accepted {
        guard at <= recordedAt else {
            throw Refusal(
                .invalid,
                "the acceptance is dated \(at), after it is recorded (\(recordedAt)): a day team cannot accept in the future"
            )
        }
        let centreKey = storage.publicKey
        // Checked first, for a clear answer without writing anything: each is checked again
        // where it could change meanwhile (the case itself, inside the storing transaction).
        guard
            let stored = try await Refusal.storing({ () async throws(CentralError) in try await storage.storedCase(id) }
            )
        else { throw Refusal(.noSuchCase, "no case \(id) is stored here") }
        if let refusal = Self.refusal(of: stored, authority: authority, centreKey: centreKey) { throw refusal }
        // Packages are only ever added: once handed over, a case stays so.
        guard
            let handedOver = try await Refusal.storing({ () async throws(CentralError) in
                try await storage.firstHandedOver(id, to: authority)
            })
        else {
            throw Refusal(
                .neverHandedOver,
                "case \(id) was never handed over to \(authority): no handover package kept for \(authority) holds it")
        }
        guard at >= handedOver else {
            throw Refusal(
                .invalid,
                "the acceptance is dated \(at), before case \(id) was handed over to \(authority) at \(handedOver): a day team accepts what it was handed"
            )
        }

        let acceptance: HandoverAcceptance
        do {
            acceptance = try HandoverAcceptance(
                authority: authority, by: author, at: at, recordedAt: recordedAt, device: try storage.centreDevice)
        } catch let error as ReferralError {
            throw Refusal(.invalid, error.description)
        } catch {
            throw Refusal(.storage, "\(error)")
        }
        let sequence: Int64
        do throws(CentreEntry.Failure<Refusal>) {
            sequence = try await CentreEntry.store(
                acceptance.payload, kind: HandoverAcceptance.kind, on: id, in: storage,
                by: AuditActor(who: "operator:\(author.name)", authorities: [authority], action: "accept"),
                recheck: { (before: Record?) -> Refusal? in
                    // The case as stored in this transaction: what a concurrent acceptance changed shows here.
                    guard let before else { return Refusal(.noSuchCase, "no case \(id) is stored here") }
                    return Self.refusal(of: before, authority: authority, centreKey: centreKey)
                }, message: { $0.message })
        } catch {
            throw Refusal.from(error)
        }
        return Accepted(id: id, acceptance: acceptance, sequence: sequence)
    }

    /// Why `record`, as stored, cannot take `authority`'s acceptance: another authority's case (or
    /// one whose host is in conflict), or one that authority has accepted already.
    static func refusal(of record: Record, authority: String, centreKey: [UInt8]) -> Refusal? {
        let hosts = ReferralCapture.hostAuthorities(of: record)
        guard hosts.contains(authority) else {
            let named = hosts.isEmpty ? "no host authority" : "host authority \(hosts.sorted().joined(separator: ", "))"
            return Refusal(
                .anotherAuthority,
                "case \(record.id) is not \(authority)'s: it names \(named), and only the responsible (host) authority's day team accepts it"
            )
        }
        guard hosts.count == 1 else {
            return Refusal(
                .anotherAuthority,
                "case \(record.id)'s host authority is in conflict (\(hosts.sorted().joined(separator: ", "))): resolve it before its day team accepts the case"
            )
        }
        if let earlier = HandoverAcceptance.all(in: record, centreKey: centreKey).first(where: {
            $0.authority == authority
        }) {
            return Refusal(
                .alreadyAccepted,
                "case \(record.id) was accepted by \(authority) already (\(earlier.by.name), \(earlier.by.role), at \(earlier.at))"
            )
        }
        return nil
    }
}
