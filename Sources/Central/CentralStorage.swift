public import Crypto
public import LineProtocol
public import Referrals
public import Replication

/// What the central endpoint keeps, whatever the database: devices, cases, and the change
/// sequence that cursors point into.
///
/// Every change to a case takes the next number of one sequence; a device's cursor is the last
/// number it has pulled, so "what changed since" is a range of that sequence.
public protocol CentralStorage: Sendable {
    /// A random name given to the database when it was made (letters and digits): cursors
    /// carry it, so a cursor issued by another database is recognised as such.
    var identity: String { get }
    /// Which life of the database this is (``DatabaseIncarnation``): ``DatabaseIncarnation/first``
    /// until a backup of it is restored, then a random number made when the restored copy was
    /// first opened. Cursors issued after a restore carry it.
    var incarnation: UInt64 { get }
    /// The centre's Ed25519 signing key, made with the database: it signs every reply, and its
    /// public half (`edt central identity`) is what laptops trust.
    var signingKey: Curve25519.Signing.PrivateKey { get }
    /// The newest number of the change sequence (0 when nothing is stored).
    func newestSequence() async throws(CentralError) -> Int64

    /// Adds a device, or replaces its key and authorities (un-revoking it).
    func enroll(_ device: EnrolledDevice) async throws(CentralError)
    /// Marks a device revoked; returns false when no such device is enrolled.
    func revoke(_ device: DeviceID) async throws(CentralError) -> Bool
    /// The enrolled device, if any.
    func device(_ id: DeviceID) async throws(CentralError) -> EnrolledDevice?
    /// Records that `device` used `counter`; false (and nothing changes) unless it is higher
    /// than every counter the device used before.
    func consumeCounter(_ counter: UInt64, for device: DeviceID) async throws(CentralError) -> Bool

    /// Merges each part into the stored case and makes the results durable in one transaction,
    /// before returning. A part prepared with a rejection is refused as it is; otherwise `check`
    /// sees the prepared part, the case as stored before (nil for a new case) and as it would be after
    /// the merge, and returns a rejection to refuse that part (nothing of it is stored).
    /// Every part written is recorded in the audit log as touched by `actor`, in the same
    /// transaction.
    func store(
        _ parts: [PreparedPart], by actor: AuditActor, check: @escaping PartCheck
    ) async throws(CentralError) -> [StoredOutcome]

    /// The case `id` as the centre holds it (every device's changes merged); nil when there is
    /// no such case.
    func storedCase(_ id: RecordID) async throws(CentralError) -> Record?

    /// Lists the changes after `sequence` to cases of any of `authorities`, oldest first, without
    /// reading the cases: at most `limit` of them and, past the first, no more than `byteBudget`
    /// bytes of stored payload in all (the first is listed whatever its size, so a pull always
    /// moves on). Leaves out the cases whose last change has one of the numbers in `leavingOut`
    /// (what the reading device just pushed, stored as it pushed it: it has those already);
    /// left-out cases are not even read: they never fill the page, and ``ChangeListing/upTo``
    /// covers them. With `leavingOutAcceptedUpTo`, the cases a day team has accepted (their
    /// handover done, ``Referrals/HandoverAcceptance``) whose last change is at or before that
    /// number are left out too, through an index of the others (and covered by `upTo` all the
    /// same): a device's first pull needs only the cases it may still have to work on.
    func listChanges(
        after sequence: Int64, authorities: Set<String>, limit: Int, byteBudget: Int, leavingOut: [Int64],
        leavingOutAcceptedUpTo: Int64?
    ) async throws(CentralError) -> ChangeListing

    /// The listed cases as they are stored, in the order given: those whose last change is
    /// still the one listed. A case changed since it was listed is left out: its new change
    /// comes after the listing's ``ChangeListing/upTo``, so the next pull sends it.
    func read(_ listed: ArraySlice<ListedChange>) async throws(CentralError) -> [StoredCase]

    // MARK: - The audit log

    /// Records in the audit log that `actor` read `cases`, durably, before returning: a case is
    /// sent to a device or shown only once its reading is recorded (``AuditChain``).
    func audit(_ cases: [RecordID], by actor: AuditActor) async throws(CentralError)
    /// Up to `limit` entries of the audit log after entry `number`, in order.
    func auditEntries(after number: Int64, limit: Int) async throws(CentralError) -> [AuditRecord]
    /// Up to `limit` entries of the audit log about case `id` after entry `number`, in order:
    /// who touched it, a page at a time (a case's history has no bound).
    func auditEntries(of id: RecordID, after number: Int64, limit: Int) async throws(CentralError) -> [AuditRecord]
    /// The last entry's number and hash (0 and ``AuditChain/origin`` for an empty log).
    func auditHead() async throws(CentralError) -> (number: Int64, hash: String)
    /// Keeps `anchor` (an anchor at a number already kept is left as it was).
    func keepAnchor(_ anchor: AuditAnchor) async throws(CentralError)
    /// The anchors kept, oldest first.
    func auditAnchors() async throws(CentralError) -> [AuditAnchor]

    // MARK: - The centre's own entries

    /// The counter of the centre's next entry (its dot is ``centreDevice`` at it): kept in the
    /// database, raised by one in a transaction of its own, never given twice. An entry that is
    /// then not stored leaves a gap, which is harmless.
    func nextEntryCounter() async throws(CentralError) -> UInt64

    // MARK: - Kept handover packages

    /// Keeps `package` durably, unless a package for its (authority, opening) is kept already:
    /// the first one kept wins. True when this one was kept.
    func keep(_ package: KeptPackage) async throws(CentralError) -> Bool
    /// The package kept for `authority`'s opening at `opensAt` (to the second), if any.
    func keptPackage(authority: String, opensAt: Instant) async throws(CentralError) -> KeptPackage?
    /// The openings of `authority` a package was kept for, oldest first.
    func keptOpenings(of authority: String) async throws(CentralError) -> [Instant]
    /// Keeps `addendum`: the cases handed over for `addendum.opensAt` after that opening's
    /// package was kept (they reached the centre late), recorded as handed over at that opening
    /// like the package's own. Returns its number (1 for the first addendum of that opening), or
    /// 0 when every case it names was handed over at that opening already (nothing is kept).
    func keepAddendum(_ addendum: KeptPackage) async throws(CentralError) -> Int
    /// The addenda kept for `authority`'s opening at `opensAt`, oldest first.
    func addenda(authority: String, opensAt: Instant) async throws(CentralError) -> [KeptPackage]
    /// Whether any package kept for `authority` handed over case `id`.
    func wasHandedOver(_ id: RecordID, to authority: String) async throws(CentralError) -> Bool
    /// The first opening whose package (or an addendum to it) handed case `id` over to
    /// `authority`; nil when none did.
    func firstHandedOver(_ id: RecordID, to authority: String) async throws(CentralError) -> Instant?
    /// The cases handed over to `authority` in packages for openings before `opensAt` that
    /// have not been accepted since (the carry-over of the package at `opensAt`), in id order.
    func handedOverUnaccepted(to authority: String, before opensAt: Instant) async throws(CentralError) -> [RecordID]
    /// The cases of `authority` (as host or home) that no day team has accepted, as stored, in
    /// id order: what a handover package of that authority is built from. They are decoded a
    /// batch at a time, each batch handed to `reading` as soon as it is decoded (on another
    /// thread) and let go once `reading` returns; what `reading` made of each batch, in order.
    func unacceptedCases<Reading: Sendable>(
        of authority: String, reading: @escaping @Sendable ([Record]) -> Reading
    ) async throws(CentralError) -> [Reading]
    /// Every authority some stored case names, in code order: the authorities whose openings
    /// the centre hands over at.
    func authoritiesWithCases() async throws(CentralError) -> [String]
    /// The cases some of `authorities` left (forwarded anew to another home) by a change after
    /// `sequence` and up to `upTo`, that none of them sees any longer: a device serving them that
    /// held such a case is told it is gone, and drops its copy. At most `limit`, in the order they
    /// left (each by its first such change): a case's changes are numbered apart from every
    /// other case's, so every case that left by a change up to the last one listed is listed.
    func departedCases(
        authorities: Set<String>, after sequence: Int64, upTo: Int64, limit: Int
    ) async throws(CentralError)
        -> [DepartedCase]
    /// The cases forwarded to a home authority that neither accepted nor agreed on them, whose
    /// 24 hours from the referral passed at or before `instant`: each with that instant, the
    /// earliest first. The clock escalates them to senior managers (``CrossAuthorityService``).
    func casesDueForEscalation(by instant: Instant) async throws(CentralError) -> [(id: RecordID, at: Instant)]
    /// When the next forwarded case falls due for escalation, if any does.
    func nextEscalation() async throws(CentralError) -> Instant?

    // MARK: - Peer centres

    /// Enrols another authority's central endpoint as a peer (or replaces its key, authorities
    /// and URL): it may then sync here like a laptop, under its entry device, and this centre
    /// forwards to it the cases of the authorities it serves.
    func addPeer(_ peer: PeerCentre) async throws(CentralError)
    /// The peer centres, the removed ones too when asked.
    func peers(includingRemoved: Bool) async throws(CentralError) -> [PeerCentre]
    /// The cases the peer `peer` serving `authorities` has not acknowledged as they are now
    /// (each at its change number), with their change numbers, in change order: the first
    /// `limit` of those changed after change `sequence` (0: from the first). Those an authority
    /// it serves sees, and those an authority it serves left since it last acknowledged them.
    func casesToForward(
        to peer: DeviceID, authorities: Set<String>, after sequence: Int64, limit: Int
    ) async throws(CentralError) -> [(id: RecordID, sequence: Int64)]
    /// How many cases ``casesToForward(to:authorities:after:limit:)`` would list from the
    /// first, without a limit, counted by the database (none read).
    func countCasesToForward(to peer: DeviceID, authorities: Set<String>) async throws(CentralError) -> Int
    /// The cases `ids` as stored (their canonical encoding) with their change numbers, in that order.
    func encodedCases(_ ids: [RecordID]) async throws(CentralError) -> [(id: RecordID, sequence: Int64, body: [UInt8])]
    /// Records that `peer` acknowledged each case at that change number.
    func markForwarded(to peer: DeviceID, _ cases: [(id: RecordID, sequence: Int64)]) async throws(CentralError)
    /// Forgets what `peer` acknowledged and its cursor (its database was replaced): everything is forwarded again.
    func startForwardingOver(to peer: DeviceID) async throws(CentralError)
    /// How forwarding to `peer` stands.
    func forwardingState(of peer: DeviceID) async throws(CentralError) -> ForwardingState
    /// Records how forwarding to `peer` stands.
    func setForwardingState(_ state: ForwardingState, of peer: DeviceID) async throws(CentralError)
    /// The next counter of this centre's own requests to its peers, never given twice.
    func nextRequestCounter() async throws(CentralError) -> UInt64

    // MARK: - Device freshness

    /// Records that `device` synced successfully at `instant` (its reply was written out whole),
    /// holding `pending` records unacknowledged after it (nil: not reported, which replaces an
    /// earlier figure). A later call replaces both; an unknown device is ignored.
    func recordSync(of device: DeviceID, at instant: Instant, pending: Int?) async throws(CentralError)
    /// Every enrolled device, laptops and peer centres, revoked ones included, in id order, each
    /// with its last successful sync and what it then held unacknowledged
    /// (``recordSync(of:at:pending:)``): what `edt central devices` lists.
    func enrolledDevices() async throws(CentralError) -> [DeviceFreshness]
}

/// A handover package as the centre kept it when it built it: what the day team of `authority`
/// was handed at its opening of office hours `opensAt`.
public struct KeptPackage: Sendable, Hashable {
    /// The authority the package is for (GSS code).
    public let authority: String
    /// The opening of office hours it was built for (kept to the second).
    public let opensAt: Instant
    /// When it was built.
    public let builtAt: Instant
    /// The cases it handed over, in id order.
    public let cases: [RecordID]
    /// The package's JSON document, as built.
    public let json: [UInt8]
    /// The package's printable page, as built (empty for a package kept without one).
    public let html: [UInt8]

    public init(
        authority: String, opensAt: Instant, builtAt: Instant, cases: [RecordID], json: [UInt8], html: [UInt8] = []
    ) {
        self.authority = authority
        self.opensAt = opensAt
        self.builtAt = builtAt
        // Given in id order, once each (as the desk gives them), they are taken as they are.
        let inOrder = cases.withUnsafeBufferPointer { ids in
            ids.indices.dropFirst().allSatisfy { ids[$0 - 1].rawValue < ids[$0].rawValue }
        }
        self.cases = inOrder ? cases : Set(cases).sorted { $0.rawValue < $1.rawValue }
        self.json = json
        self.html = html
    }
}

extension CentralStorage {
    /// The cases of `authority` that no day team has accepted, as stored, in id order, whole
    /// (``unacceptedCases(of:reading:)`` with every batch kept).
    public func unacceptedCases(of authority: String) async throws(CentralError) -> [Record] {
        try await unacceptedCases(of: authority) { $0 }.flatMap { $0 }
    }

    /// Changes after `sequence` to cases of any of `authorities`, oldest first, at most `limit`,
    /// leaving out the cases whose last change has one of the numbers in `leavingOut` (and the
    /// accepted ones, with `leavingOutAcceptedUpTo`), read whole into one page
    /// (``listChanges(after:authorities:limit:byteBudget:leavingOut:leavingOutAcceptedUpTo:)``
    /// without a byte budget, then ``read(_:)``). A pull streams its page instead
    /// (``SyncReply``): this is for tools and tests.
    public func changes(
        after sequence: Int64, authorities: Set<String>, limit: Int, leavingOut: [Int64] = [],
        leavingOutAcceptedUpTo: Int64? = nil
    ) async throws(CentralError) -> ChangePage {
        let listing = try await listChanges(
            after: sequence, authorities: authorities, limit: limit, byteBudget: .max, leavingOut: leavingOut,
            leavingOutAcceptedUpTo: leavingOutAcceptedUpTo)
        return ChangePage(records: try await read(listing.changes[...]), upTo: listing.upTo, more: listing.more)
    }
}

/// The stretches of a change sequence between numbers to leave out: what a pull reads when it
/// skips a device's own just-stored changes, which come in long runs (one per transaction).
public struct SequenceGaps: Sendable {
    /// Each gap as the numbers it holds: after `lower`, up to and including `upper` (nil: no end).
    public let gaps: [(lower: Int64, upper: Int64?)]

    /// The gaps after `start` once the numbers in `leavingOut` are taken out.
    public init(after start: Int64, leavingOut: [Int64]) {
        var gaps: [(lower: Int64, upper: Int64?)] = []
        var lower = start
        for number in leavingOut.sorted() where number > lower {
            // `number` is left out: the gap so far ends just before it (none when it follows on).
            if number > lower + 1 { gaps.append((lower, number - 1)) }
            lower = number
        }
        gaps.append((lower, nil))
        self.gaps = gaps
    }

    /// The stretches a listing reads, up to the newest change number `newest`: each gap cut at
    /// `acceptedUpTo`, the part up to it read without the accepted cases (`unacceptedOnly`),
    /// the part past it with them.
    public func stretches(
        upTo newest: Int64, acceptedUpTo: Int64
    ) -> [(lower: Int64, upper: Int64, unacceptedOnly: Bool)] {
        var stretches: [(lower: Int64, upper: Int64, unacceptedOnly: Bool)] = []
        for gap in gaps where gap.lower < newest {
            let upper = min(gap.upper ?? newest, newest)
            guard gap.lower < upper else { continue }
            if gap.lower < acceptedUpTo { stretches.append((gap.lower, min(upper, acceptedUpTo), true)) }
            if upper > acceptedUpTo { stretches.append((max(gap.lower, acceptedUpTo), upper, false)) }
        }
        return stretches
    }
}

/// A part made ready for storing away from the database's single writer (so that work runs
/// beside the writing of the part before it): checked on its own, and encoded, which is what a
/// new case is stored as.
public struct PreparedPart: Sendable {
    public let part: Record
    /// The part's canonical encoding (``LineProtocol/RecordCoding``), perhaps still within the
    /// bytes it was pushed in.
    public let encoded: ArraySlice<UInt8>
    /// Why the part is refused whatever is stored (bad fields), if it is.
    public let rejection: StoredOutcome.Rejection?
    /// The part checked as a case new to the centre while it was prepared (with the peer
    /// centres enrolled as its push began); nil when it was not. Whoever checks
    /// the part at the writer may take it when the centre holds no case of that id, since
    /// nothing else goes into that check, so the single writer does not redo the costliest part
    /// of storing a new case.
    /// Only ``SyncService`` gives it (it skips a check), never a caller from outside.
    public internal(set) var asNewCase: NewCaseVerdict?

    public init(part: Record, encoded: ArraySlice<UInt8>, rejection: StoredOutcome.Rejection?) {
        self.part = part
        self.encoded = encoded
        self.rejection = rejection
    }
}

/// Whether a part may be stored as a case new to the centre (``PreparedPart/asNewCase``).
public enum NewCaseVerdict: Sendable, Hashable {
    case allowed
    case refused(StoredOutcome.Rejection)

    /// The refusal, or nil when allowed.
    public var rejection: StoredOutcome.Rejection? {
        switch self {
        case .allowed: nil
        case .refused(let rejection): rejection
        }
    }
}

/// Decides whether a part may be stored: `(the prepared part, stored case or nil, case after
/// the merge)`.
public typealias PartCheck =
    @Sendable (_ prepared: PreparedPart, _ before: Record?, _ merged: Record) -> StoredOutcome.Rejection?

/// What became of one stored part.
public enum StoredOutcome: Sendable, Hashable {
    /// Durably stored; `sequence` is the case's sequence number after it (the cursor to ACK),
    /// `version` the case's version vector after the merge.
    case stored(RecordID, sequence: Int64, version: VersionVector)
    /// Refused, nothing stored.
    case rejected(RecordID, Rejection)

    /// Why a part was refused: the `NAK`'s reason and a message for people.
    public struct Rejection: Sendable, Hashable {
        public let reason: RejectionReason
        public let message: String
        public init(_ reason: RejectionReason, message: String) {
            self.reason = reason
            self.message = message
        }
    }
}

/// A case as stored: its canonical EDTLP JSON, ready to send as it is.
public struct StoredCase: Sendable {
    public let id: RecordID
    public let sequence: Int64
    /// The version vector of the case, in ``LineProtocol`` notation.
    public let version: String
    /// The record payload, canonical JSON (``RecordCoding``).
    public let body: [UInt8]

    public init(id: RecordID, sequence: Int64, version: String, body: [UInt8]) {
        self.id = id
        self.sequence = sequence
        self.version = version
        self.body = body
    }
}

/// One change a pull sends, as listed before it is read: the case, the number of its last
/// change, and the size of its stored payload.
public struct ListedChange: Sendable, Hashable {
    public let id: RecordID
    public let sequence: Int64
    /// The bytes of the stored payload (its canonical JSON).
    public let bytes: Int

    public init(id: RecordID, sequence: Int64, bytes: Int) {
        self.id = id
        self.sequence = sequence
        self.bytes = bytes
    }
}

/// A case a device's authorities no longer see (``CentralStorage/departedCases(authorities:after:upTo:limit:)``),
/// and the change by which it left them.
public struct DepartedCase: Sendable, Hashable {
    public let id: RecordID
    /// The first change, in the span asked about, by which it left one of the authorities.
    public let sequence: Int64

    public init(id: RecordID, sequence: Int64) {
        self.id = id
        self.sequence = sequence
    }
}

/// One page of the change sequence, listed but not read: what a pull sends, a few cases at a
/// time, so the centre never holds the page whole.
public struct ChangeListing: Sendable {
    /// The changes, oldest first.
    public let changes: [ListedChange]
    /// The sequence number this page brings a reader up to: the last change it lists when more
    /// follow, else the newest number of the whole sequence when it was listed.
    public let upTo: Int64
    /// True when changes after ``upTo`` remain for these authorities.
    public let more: Bool

    public init(changes: [ListedChange], upTo: Int64, more: Bool) {
        self.changes = changes
        self.upTo = upTo
        self.more = more
    }

    /// This page brought to an end at `sequence`, when that is before its own end: the changes
    /// after it are left for the next page.
    public func ending(at sequence: Int64) -> ChangeListing {
        guard sequence < upTo else { return self }
        return ChangeListing(changes: changes.filter { $0.sequence <= sequence }, upTo: sequence, more: true)
    }
}

/// One page of the change sequence.
public struct ChangePage: Sendable {
    /// The changed cases, oldest change first, each as it is now.
    public let records: [StoredCase]
    /// The sequence number this page brings a reader up to: the last change it holds when more
    /// follow, else the newest number of the whole sequence when it was read.
    public let upTo: Int64
    /// True when changes after ``upTo`` remain for these authorities.
    public let more: Bool

    public init(records: [StoredCase], upTo: Int64, more: Bool) {
        self.records = records
        self.upTo = upTo
        self.more = more
    }
}

extension CentralStorage {
    /// The largest case stored: its `REC` line (with the frame number and id) must stay within
    /// the protocol's 1 MiB line limit, so every device can read it back.
    public static var maximumCaseBytes: Int { Limits.standard.maximumLineBytes - 512 }

    /// The centre's public key (raw 32 bytes): what `edt central identity` prints and laptops trust.
    public var publicKey: [UInt8] { Array(signingKey.publicKey.rawRepresentation) }

    /// The public keys of the centres whose entries this centre trusts, by the device they write
    /// as: its own (``centreDevice``) and every peer centre ever enrolled (a peer removed since
    /// still vouches for what it recorded while enrolled). An act between host and home
    /// authorities counts only when made by one of them (``Referrals/CrossAuthorityAct``).
    public func trustedCentres() async throws(CentralError) -> [DeviceID: [UInt8]] {
        var keys: [DeviceID: [UInt8]] = [:]
        for peer in try await peers(includingRemoved: true) { keys[peer.device.id] = peer.device.publicKey }
        keys[try centreDevice] = publicKey
        return keys
    }

    /// The device the centre writes its own entries as: `central.<identity>`
    /// (``Referrals/HandoverAcceptance/centreDevicePrefix``), the name its cursors carry too.
    public var centreDevice: DeviceID {
        get throws(CentralError) {
            do {
                return try DeviceID(HandoverAcceptance.centreDevicePrefix + identity)
            } catch {
                throw CentralError(
                    .storage, "the centre's identity \"\(identity)\" does not make a device id: \(error)")
            }
        }
    }
}

/// Another authority's central endpoint this centre forwards cases to and takes cases from
/// (`Docs/CLI.md`, "Peer centres"): enrolled under its entry device `central.<identity>`, with
/// its public key, the authorities it serves and its URL.
public struct PeerCentre: Sendable, Hashable {
    public let device: EnrolledDevice
    public var url: String { device.peerURL ?? "" }

    /// A peer from its enrolment; nil when `device` is not a peer's (no URL).
    public init?(_ device: EnrolledDevice) {
        guard device.isPeer else { return nil }
        self.device = device
    }

    /// Refuses to enrol this peer at the centre whose entry device is `centre`: a peer is
    /// enrolled under its own entry device (`central.<identity>`), never this centre's.
    public func checkEnrolable(at centre: DeviceID) throws(CentralError) {
        guard HandoverAcceptance.isCentreDevice(device.id) else {
            throw CentralError(
                .refused,
                "\(device.id): a peer centre is enrolled under its entry device (\(HandoverAcceptance.centreDevicePrefix)<identity>, as its `edt central identity --json` prints it)"
            )
        }
        guard device.id != centre else {
            throw CentralError(.refused, "\(device.id) is this centre itself, not a peer")
        }
    }
}

/// How forwarding to one peer stands: its pull cursor, when it last succeeded, and the problem
/// that stops it and when it is tried again.
public struct ForwardingState: Sendable, Hashable {
    public var cursor: String?
    public var lastSuccess: Instant?
    public var problem: String?
    public var retryAt: Instant?
    /// Failures in a row (for the backoff); 0 after a success.
    public var failures: Int

    public init(
        cursor: String? = nil, lastSuccess: Instant? = nil, problem: String? = nil, retryAt: Instant? = nil,
        failures: Int = 0
    ) {
        self.cursor = cursor
        self.lastSuccess = lastSuccess
        self.problem = problem
        self.retryAt = retryAt
        self.failures = failures
    }
}
