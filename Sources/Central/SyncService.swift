import Crypto
import Foundation
public import Handover
public import LineProtocol
import Referrals
public import Replication

/// Answers sync requests: stores what a device pushed, then replies with acknowledgements and
/// what changed for the device's authorities since its cursor (`Protocol/PROTOCOL.md` §4).
///
/// Cursors are the centre's change sequence written as a one-entry version vector,
/// `central:<n>`; `-` (or no cursor yet) is the start.
public struct SyncService: Sendable {
    /// Bounds on one request and one reply.
    public struct Configuration: Sendable {
        /// The largest request body accepted (bigger ones get 413: send fewer records at once).
        public var maximumRequestBytes = 64 << 20
        /// The most cases one reply carries, and the most departures it tells (`+GONE`); a
        /// reply that stops short says `+MORE`. At least one is sent whatever this says, so a
        /// pull always moves on.
        public var pullPageRecords = 5_000
        /// The most bytes of case payloads one reply carries (past its first case, which is
        /// sent whatever its size); a reply that stops short says `+MORE`. With the reply
        /// streamed (``SyncReply``), this bounds what a device receives in one request, not
        /// what the centre holds, which is about one case per reply.
        public var pullPageBytes = 8 << 20
        /// The most ``pullPageBytes`` may be: a page with its answers and frames stays well
        /// within what a device takes of one reply (64 MiB and a little more per record pushed;
        /// more is refused as damaged, so that nobody on the path can fill its disk).
        public static let largestPullPageBytes = 32 << 20
        /// The bytes of push bodies held at once across all requests (``PushBudget``; never less
        /// than ``maximumRequestBytes``): a push that would go over is refused as busy, to be
        /// sent again shortly.
        public var pushBytesHeld = 512 << 20
        /// The authorities a case may name (the shipped ones, with the operator's file).
        public var knownAuthorities: AuthorityDirectory = .shipped
        public init() {}
    }

    /// The name cursors carry: `central.` and the database's identity, the device the centre's
    /// own entries are written as too (``CentralStorage/centreDevice``).
    public var cursorName: String { HandoverAcceptance.centreDevicePrefix + storage.identity }

    public let storage: any CentralStorage
    public let configuration: Configuration
    /// ``cursorName`` as the device id cursor vectors carry (checked once, not per cursor).
    private let cursorDevice: DeviceID?
    /// The name a cursor carries while a first pull goes on (``Position``).
    private let firstPullName: DeviceID?
    /// The name a cursor carries the database's incarnation under, once it was restored from a
    /// backup (``DatabaseIncarnation``).
    private let incarnationName: DeviceID?

    public init(storage: any CentralStorage, configuration: Configuration = Configuration()) {
        self.storage = storage
        self.configuration = configuration
        cursorDevice = try? storage.centreDevice
        firstPullName = try? DeviceID(HandoverAcceptance.centreDevicePrefix + storage.identity + ".first-pull")
        incarnationName = try? DeviceID(
            HandoverAcceptance.centreDevicePrefix + storage.identity + DatabaseIncarnation.cursorSuffix)
    }

    /// This centre's identity on the wire (its public key in hex): requests name it, replies carry it.
    public var centre: String {
        SyncContract.centreIdentity(publicKey: Array(storage.signingKey.publicKey.rawRepresentation))
    }

    /// A reader for the body of request `counter` from `device`: its stream must be signed by the
    /// device's enrolled key and name this request and this centre.
    public func reader(for device: EnrolledDevice, counter: UInt64) throws(CentralError) -> PushReader {
        guard let key = StreamVerifier.rawKey(device.publicKey) else {
            throw CentralError(
                .unauthenticated, "device \(device.id)'s enrolled key is not an Ed25519 key",
                reason: DeviceAuthenticator.Refusal.badSignature.rawValue)
        }
        return PushReader(
            device: device.id, verifier: key, counter: counter, centre: centre,
            maximumBytes: configuration.maximumRequestBytes)
    }

    /// Stores the push's records (durably, before acknowledging any) and returns the reply stream.
    public func respond(
        to push: PushReader.Push, from device: EnrolledDevice, counter: UInt64
    ) async throws(CentralError) -> [UInt8] {
        let prepared = try prepare(push.parts)
        let outcomes = try await store(prepared, from: device)
        return try await reply(
            pushed: prepared.map(\.part), outcomes: outcomes, pull: push.pull, to: device, counter: counter)
    }

    /// Merges and stores parts pushed by `device`, durably, in one transaction; refuses those
    /// it may not store. The outcomes are in the order of `parts`.
    public func store(_ parts: [Record], from device: EnrolledDevice) async throws(CentralError) -> [StoredOutcome] {
        try await store(prepare(parts), from: device)
    }

    /// Checks and encodes parts before they go to the database's single writer: the costly
    /// part of storing, which can run beside the writing of the parts before them.
    public func prepare(_ parts: [Record]) -> [PreparedPart] {
        var memo = ReferralCapture.PartCheckMemo()
        return parts.map { Self.prepare($0, encoded: RecordCoding.encode($0)[...], memo: &memo) }
    }

    /// Reads parts handed on unread (``PushReader``), then prepares them as
    /// ``prepare(_:)-([Record])``. A payload that cannot be read refuses the whole request, as
    /// the decoder would have. With `push` (``pushContext(for:)``), each part that may be stored
    /// is also checked as a case new to the centre (``PreparedPart/asNewCase``), here, beside
    /// the other segments, rather than at the single writer.
    public func prepare(_ parts: [UnreadRecord], for push: PushContext? = nil) throws(CentralError) -> [PreparedPart] {
        var prepared: [PreparedPart] = []
        prepared.reserveCapacity(parts.count)
        var reader = UnreadRecord.Reader()
        var memo = ReferralCapture.PartCheckMemo()
        let now = Instant(Date())
        for unread in parts {
            do throws(LineProtocolError) {
                let contents = try reader.read(unread)
                var part = Self.prepare(contents.record, encoded: contents.encoding, memo: &memo)
                if let push, part.rejection == nil {
                    let rejection = Self.check(
                        part.part, before: nil, merged: part.part, device: push.device, known: push.known,
                        centre: push.centre, now: now)
                    part.asNewCase = rejection.map(NewCaseVerdict.refused) ?? .allowed
                }
                prepared.append(part)
            } catch {
                throw CentralError(.badRequest, error.description)
            }
        }
        return prepared
    }

    /// What checking the parts `device` pushes needs besides the parts: read once per push.
    public struct PushContext: Sendable {
        let device: EnrolledDevice
        let known: AuthorityDirectory
        /// This centre and its peer centres (removed ones included), whose acts count.
        let centre: Centre?
    }

    /// The context of a push by `device` (the peer centres as enrolled now).
    public func pushContext(for device: EnrolledDevice) async throws(CentralError) -> PushContext {
        var centre = (try? DeviceID(cursorName)).map { Centre(device: $0, key: storage.publicKey) }
        for peer in try await storage.peers(includingRemoved: true) {
            centre?.peers[peer.device.id] = peer.device.publicKey
        }
        return PushContext(device: device, known: configuration.knownAuthorities, centre: centre)
    }

    /// Checks `part`; `encoded` gives its canonical encoding, asked for only when the part may be stored.
    private static func prepare(
        _ part: Record, encoded: @autoclosure () -> ArraySlice<UInt8>, memo: inout ReferralCapture.PartCheckMemo
    ) -> PreparedPart {
        var rejection: StoredOutcome.Rejection?
        do throws(ReferralError) {
            try ReferralCapture.validatePart(part, memo: &memo)
        } catch {
            rejection = .init(.invalid, message: error.description)
        }
        return PreparedPart(part: part, encoded: rejection == nil ? encoded() : [], rejection: rejection)
    }

    /// Stores prepared parts pushed by `device` (see ``store(_:from:)``).
    ///
    /// `push`: the context the parts were prepared with (``pushContext(for:)``), so a push's
    /// parts are all checked with the same peer centres, read once; nil reads it now.
    public func store(
        _ parts: [PreparedPart], from device: EnrolledDevice, push: PushContext? = nil
    ) async throws(CentralError) -> [StoredOutcome] {
        guard !parts.isEmpty else { return [] }
        let context: PushContext
        if let push { context = push } else { context = try await pushContext(for: device) }
        let actor = AuditActor(who: device.id.rawValue, authorities: device.authorities, action: "push")
        return try await storage.store(parts, by: actor) { prepared, before, merged in
            // A case new to the centre (no stored case, so merged is the part itself) was
            // checked as such while it was prepared, when it was.
            if before == nil, let verdict = prepared.asNewCase { return verdict.rejection }
            return Self.check(
                prepared.part, before: before, merged: merged, device: context.device, known: context.known,
                centre: context.centre)
        }
    }

    /// The reply to a push whose parts were stored with these outcomes (in push order): an
    /// `ACK` or `NAK` per part, then, when the device asked, what changed since its cursor.
    public func reply(
        pushed parts: [Record], outcomes: [StoredOutcome], pull: Cursor?, to device: EnrolledDevice, counter: UInt64
    ) async throws(CentralError) -> [UInt8] {
        try await reply(
            pushedVersions: parts.map(\.version), outcomes: outcomes, pull: pull, to: device, counter: counter)
    }

    /// ``reply(pushed:outcomes:pull:to:counter:)`` given only the versions of the parts pushed
    /// (in push order), which is all it needs of them: a case stored at the version the device
    /// pushed is not sent back to it. The reply names request `counter` and this centre, and is
    /// signed with the centre's key.
    public func reply(
        pushedVersions: [VersionVector], outcomes: [StoredOutcome], pull: Cursor?, to device: EnrolledDevice,
        counter: UInt64
    ) async throws(CentralError) -> [UInt8] {
        try await prepareReply(
            pushedVersions: pushedVersions, outcomes: outcomes, pull: pull, to: device, counter: counter
        ).bytes()
    }

    /// The reply to a push, ready to be streamed (``SyncReply/write(to:)``): its answers, and
    /// the page its pull sends, listed (by count and bytes, ``Configuration``) but not read.
    /// Throws before anything is written when the cursor was not issued by this database or is
    /// ahead of it (start over), or when storage fails.
    public func prepareReply(
        pushedVersions: [VersionVector], outcomes: [StoredOutcome], pull: Cursor?, to device: EnrolledDevice,
        counter: UInt64
    ) async throws(CentralError) -> SyncReply {
        var since = Position(sequence: 0, firstPullUpTo: nil)
        if let cursor = pull {
            guard let position = position(of: cursor) else {
                throw CentralError(
                    .startOver,
                    "this centre's database did not issue the cursor \(cursor) (it was replaced, or restored from a backup): sync everything from the start"
                )
            }
            guard max(position.sequence, position.firstPullUpTo ?? 0) <= (try await storage.newestSequence()) else {
                throw CentralError(
                    .startOver,
                    "the cursor \(cursor) is ahead of this centre's database (it was restored): sync everything from the start"
                )
            }
            since = position
        }
        let header = Header(
            kind: .reply,
            parameters: [
                (Header.deviceParameter, "central"), (Header.centreParameter, centre),
                (Header.counterParameter, String(counter)),
                (Header.certificateParameter, Hex.encode(try certificate(of: device))),
            ] + (try await peersParameter()))
        var answers: [RecordAnswer] = []
        answers.reserveCapacity(outcomes.count)
        var asPushed: [Int64] = []  // the changes that stored a case just as this device pushed it
        asPushed.reserveCapacity(outcomes.count)
        for (pushedVersion, outcome) in zip(pushedVersions, outcomes) {
            answers.append(answer(outcome))
            if case .stored(_, let sequence, let version) = outcome, version == pushedVersion {
                asPushed.append(sequence)
            }
        }
        var page: SyncReply.Pull?
        if pull != nil {
            // Cases exactly as this device just pushed them are not sent back, and do not fill the page.
            // A first pull leaves out the cases a day team has accepted: the device has no copy to
            // purge and nothing left to do on them. Only those unchanged since the first pull
            // began, though: one that changed since may have been sent in an earlier page of it.
            // A later pull sends every change after its cursor, an acceptance included: that is
            // how a device holding the case learns of it.
            var acceptedUpTo = since.firstPullUpTo
            if since.sequence == 0, acceptedUpTo == nil { acceptedUpTo = try await storage.newestSequence() }
            var listing = try await storage.listChanges(
                after: since.sequence, authorities: device.authorities, limit: max(1, configuration.pullPageRecords),
                byteBudget: max(1, configuration.pullPageBytes), leavingOut: asPushed,
                leavingOutAcceptedUpTo: acceptedUpTo)
            if let acceptedUpTo {
                listing = Self.withPushedAcceptedCases(
                    listing, pushedVersions: pushedVersions, outcomes: outcomes, acceptedUpTo: acceptedUpTo)
            }
            // A device that may hold a case its authorities have since left is told it is gone
            // (never sent it again); one syncing for the first time holds none (its first pull
            // counts from where it began, on any of its pages). A page tells at most as many
            // departures as it may carry cases: when there are more, it ends at the last one
            // told, and the next page goes on from there.
            var gone: [RecordID] = []
            if since.sequence > 0 {
                let limit = max(1, configuration.pullPageRecords)
                let departed = try await storage.departedCases(
                    authorities: device.authorities, after: max(since.sequence, acceptedUpTo ?? 0), upTo: listing.upTo,
                    limit: limit)
                if departed.count == limit, let last = departed.last { listing = listing.ending(at: last.sequence) }
                gone = departed.map(\.id)
            }
            // A first pull that goes on in another page says so in its cursor.
            page = SyncReply.Pull(
                base: vector(since.sequence, firstPullUpTo: since.firstPullUpTo),
                knowledge: vector(listing.upTo, firstPullUpTo: listing.more ? acceptedUpTo : nil), listing: listing,
                gone: gone)
        }
        return SyncReply(
            header: header, signer: StreamSigner(key: storage.signingKey), storage: storage, answers: answers,
            pull: page, reader: AuditActor(who: device.id.rawValue, authorities: device.authorities, action: "pull"))
    }

    /// `listing` (a first pull's page) with the accepted cases this same request pushed at
    /// another version than the centre holds: a device that starts over pushes again every case
    /// it holds, and it needs their acceptance to drop its copy, though a first pull leaves
    /// accepted cases out. Only cases the page covers (up to its ``ChangeListing/upTo``) are
    /// added, in sequence order.
    static func withPushedAcceptedCases(
        _ listing: ChangeListing, pushedVersions: [VersionVector], outcomes: [StoredOutcome], acceptedUpTo: Int64
    ) -> ChangeListing {
        let listed = Set(listing.changes.map(\.id))
        var added: [ListedChange] = []
        for (pushedVersion, outcome) in zip(pushedVersions, outcomes) {
            guard case .stored(let id, let sequence, let version) = outcome, version != pushedVersion,
                sequence <= min(acceptedUpTo, listing.upTo), !listed.contains(id)
            else { continue }
            added.append(ListedChange(id: id, sequence: sequence, bytes: 4_096))  // its size is not known here
        }
        guard !added.isEmpty else { return listing }
        return ChangeListing(
            changes: (listing.changes + added).sorted { $0.sequence < $1.sequence }, upTo: listing.upTo,
            more: listing.more)
    }

    /// This centre's certificate of `device`'s enrolled key
    /// (``LineProtocol/SyncContract/deviceCertificateMessage(centre:device:key:)``): what lets
    /// another laptop of this centre trust the device's bundles.
    public func certificate(of device: EnrolledDevice) throws(CentralError) -> [UInt8] {
        do {
            return Array(
                try storage.signingKey.signature(
                    for: SyncContract.deviceCertificateMessage(
                        centre: centre, device: device.id.rawValue, key: device.publicKey)))
        } catch {
            throw CentralError(.storage, "cannot sign the device's certificate: \(error)")
        }
    }

    /// The `ACK` or `NAK` a reply holds for a part stored with this outcome.
    func answer(_ outcome: StoredOutcome) -> RecordAnswer {
        switch outcome {
        case .stored(let id, let sequence, _): .stored(id, cursor: Cursor(vector(sequence)))
        case .rejected(let id, let rejection): .refused(id, rejection.reason, message: rejection.message)
        }
    }

    /// This centre's own entry device and public key: what proves an entry the centre wrote.
    struct Centre: Sendable {
        let device: DeviceID
        let key: [UInt8]
        /// The peer centres' keys, by their entry devices: their acts count too.
        var peers: [DeviceID: [UInt8]] = [:]

        /// Whether `entry` of case `id` is this centre's own, signed with its key: one a device
        /// brings back after the centre's database was restored from a backup that predates it.
        func wrote(_ entry: Entry, in id: RecordID) -> Bool {
            entry.dot.device == device
                && HandoverAcceptance.centreEntryProblem(of: entry, in: id, centreKey: key) == nil
        }
    }

    /// Whether `device` may store `part` (whose fields ``prepare(_:)`` checked): no new handover
    /// acceptance (only the centre records one), no claim about
    /// another device's writes beyond what the centre holds (``Replication/UnprovenClaim``), a
    /// host authority, only known authorities, and a case of an authority the device serves
    /// (before and after the merge). An entry `centre` wrote and signed, not held here (the
    /// database was restored from an older backup), is taken back as proven.
    static func check(
        _ part: Record, before: Record?, merged: Record, device: EnrolledDevice, known: AuthorityDirectory,
        centre: Centre? = nil, now: Instant = Instant(Date())
    ) -> StoredOutcome.Rejection? {
        let centreKey: (DeviceID) -> [UInt8]? = { id in
            if centre?.device == id { return centre?.key }
            return centre?.peers[id]
        }
        func isCentres(_ entry: Entry) -> Bool { centre?.wrote(entry, in: part.id) ?? false }
        // A peer centre's own entry, at its own dot (its signature is checked below).
        func isPeers(_ entry: Entry) -> Bool { device.isPeer && entry.dot.device == device.id }
        // A day team's acceptance is a centre's own entry (``HandoverService``): no device brings one.
        for entry in part.entries
        where entry.kind == HandoverAcceptance.kind && before?.entry(at: entry.dot) == nil && !isCentres(entry)
            && !isPeers(entry)
        {
            return .init(
                .forbidden,
                message:
                    "entry \(entry.dot) is a handover acceptance: only the centre records a day team's acceptance (edt central case ID accept-handover); nothing of the case was stored"
            )
        }
        // An act between host and home authorities: a device records only its host's
        // forwarding, as an authority it serves; every other act is a centre's.
        for entry in part.entries
        where entry.kind == CrossAuthorityAct.kind && before?.entry(at: entry.dot) == nil && !isCentres(entry)
            && !isPeers(entry)
        {
            if let refusal = forwardingRefusal(
                entry, of: part.id, before: before, merged: merged, device: device, known: known, centreKey: centreKey,
                now: now)
            {
                return refusal
            }
        }
        if device.isPeer {
            // A peer centre relays what its laptops wrote, on its word as the centre that took
            // it from them; a centre's entry it brings must be its own or this centre's (its own
            // signature is checked below).
            for entry in part.entries
            where before?.entry(at: entry.dot) == nil && HandoverAcceptance.isCentreDevice(entry.dot.device)
                && !isCentres(entry) && !isPeers(entry)
            {
                return .init(
                    .unprovenWrite,
                    message:
                        "entry \(entry.dot) is another centre's, which peer \(device.id) cannot vouch for; nothing of the case was stored"
                )
            }
        }
        // A device proves only its own writes: what it says of another device's must be held here.
        switch device.isPeer ? nil : part.unprovenClaim(from: device.id, heldBy: before, proven: isCentres) {
        case .foreignWrite(let dot, let path)?:
            return .init(
                .unprovenWrite,
                message:
                    "\(UnprovenClaim.foreignWrite(dot, path: path)); only \(dot.device) can bring its own writes, so this is refused until it has synced them; nothing of the case was stored"
            )
        case let claim?:
            return .init(
                .unseenWrites,
                message:
                    "\(claim); a case may claim only writes the centre holds, so this is refused until their author has synced them; nothing of the case was stored"
            )
        case nil: break
        }
        // A new entry is the pushing device's own (above): it must say so and be signed by it, so
        // no device can record a decision in a colleague's name.
        for entry in part.entries
        where before?.entry(at: entry.dot) == nil && !isCentres(entry) && (!device.isPeer || isPeers(entry)) {
            if let problem = EntrySignature.authorshipProblem(of: entry, in: part.id, publicKey: device.publicKey) {
                return .init(.unprovenWrite, message: problem + "; nothing of the case was stored")
            }
        }
        if before == nil {
            // A case new to the centre arrives whole: a part of one it never held is refused.
            let missing = ReferralCapture.missingRequiredFields(of: merged)
            if !missing.isEmpty {
                return .init(
                    .invalid,
                    message:
                        "a case new to the centre must carry every required field; this one lacks \(missing.joined(separator: ", "))"
                )
            }
        }
        if ReferralCapture.hostAuthorities(of: merged).isEmpty {
            return .init(
                .invalid, message: "hostAuthority: a referral must name the authority where the child was found")
        }
        for code in ReferralCapture.authorities(of: part) where known.authority(code) == nil {
            return .init(.invalid, message: "\(code) is not a known children's services authority")
        }
        var served: String { device.authorities.sorted().joined(separator: ", ") }  // for a refusal only
        // A case is shown to its host authorities: a device names as host only an authority it
        // serves, so no device exposes a case to another authority by writing a field (a home
        // authority is reached only by a recorded forwarding, above).
        let hostsBefore = before.map(ReferralCapture.hostAuthorities(of:)) ?? []
        let newHosts = ReferralCapture.hostAuthorities(of: merged).subtracting(hostsBefore)
        if let before, !newHosts.isEmpty {
            // The host is corrected only by one of its own devices, and never once the case
            // was forwarded: the host is the party that stays responsible until the home accepts.
            if CrossAuthorityHistory(record: before, now: now, centreKey: centreKey) != nil {
                return .init(
                    .forbidden,
                    message:
                        "the case was forwarded to its home authority, so its host authority (\(hostsBefore.sorted().joined(separator: ", "))) can no longer be changed; nothing of the case was stored"
                )
            }
            if hostsBefore.isDisjoint(with: device.authorities) {
                return .init(
                    .forbidden,
                    message:
                        "only a device of the case's host authority (\(hostsBefore.sorted().joined(separator: ", "))) may correct it; nothing of the case was stored"
                )
            }
        }
        for host in newHosts.sorted() where !device.authorities.contains(host) {
            return .init(
                .forbidden,
                message:
                    "device \(device.id) serves \(served), so it cannot make \(host) the case's host authority: a case reaches another authority only when its host forwards it (edt referral forward); nothing of the case was stored"
            )
        }
        if let before,
            CrossAuthorityHistory.authorities(of: before, centreKey: centreKey).isDisjoint(with: device.authorities)
        {
            return .init(
                .forbidden,
                message: "this case belongs to authorities device \(device.id) does not serve (it serves \(served))")
        }
        let authorities = CrossAuthorityHistory.authorities(of: merged, centreKey: centreKey)
        if authorities.isDisjoint(with: device.authorities) {
            return .init(
                .forbidden,
                message:
                    "device \(device.id) serves \(served), not \(authorities.sorted().joined(separator: ", ")); an administrator can enrol it for that authority"
            )
        }
        return nil
    }

    /// Why a device may not bring `entry`, an act between host and home authorities new to the
    /// centre: anything but a forwarding (only centres accept, dispute, agree, escalate and
    /// decide), a forwarding as an authority the device does not serve or that is not the
    /// case's host, or to an authority not known. Nil when it may.
    static func forwardingRefusal(
        _ entry: Entry, of id: RecordID, before: Record?, merged: Record, device: EnrolledDevice,
        known: AuthorityDirectory, centreKey: (DeviceID) -> [UInt8]?, now: Instant
    ) -> StoredOutcome.Rejection? {
        guard let act = CrossAuthorityAct.read(entry, in: id, centreKey: { _ in nil }), act.verb == .forward,
            let authority = act.authority, let home = act.home
        else {
            return .init(
                .forbidden,
                message:
                    "entry \(entry.dot) is an act between host and home authorities that a device cannot record: a laptop records only its host's forwarding (edt referral forward); accepting, disputing, agreeing, escalating and deciding are recorded at the centre (edt central case ID ...); nothing of the case was stored"
            )
        }
        guard device.authorities.contains(authority) else {
            return .init(
                .forbidden,
                message:
                    "entry \(entry.dot) forwards the case as \(authority), which device \(device.id) does not serve; nothing of the case was stored"
            )
        }
        guard ReferralCapture.hostAuthorities(of: merged).contains(authority) else {
            return .init(
                .forbidden,
                message:
                    "entry \(entry.dot) forwards the case as \(authority), which is not its host authority: only the host forwards a case; nothing of the case was stored"
            )
        }
        guard known.authority(home) != nil else {
            return .init(
                .invalid,
                message:
                    "entry \(entry.dot) forwards the case to \(home), which is not a known children's services authority"
            )
        }
        // Its instants: not in the future (a clock far ahead would escalate the case at once
        // and freeze every later act), not before an act already recorded (replayed in time
        // order, it would rewrite what followed), and the referral's own instant as held.
        guard act.at.secondsSinceEpoch <= now.secondsSinceEpoch + Self.futureTolerance else {
            return .init(
                .invalid,
                message:
                    "entry \(entry.dot) forwards the case at \(act.at), in the future (the centre's clock says \(now)): check the laptop's clock"
            )
        }
        if let before, let last = CrossAuthorityHistory(record: before, now: now, centreKey: centreKey)?.lastActAt,
            act.at < last
        {
            return .init(
                .invalid,
                message:
                    "entry \(entry.dot) forwards the case at \(act.at), before the last act recorded on it (\(last)): acts are taken in the order they happened"
            )
        }
        guard let received = ReferralTimeline(record: merged)?.receivedAt, act.referredAt == received else {
            return .init(
                .invalid,
                message:
                    "entry \(entry.dot) does not name the referral's receipt instant as the case holds it (referredAt): the 24 hours run from it"
            )
        }
        return nil
    }

    /// How far past the centre's clock a device may date an act (clocks differ a little).
    static let futureTolerance: Int64 = 5 * 60

    /// The reply header's `peers` parameter: every peer centre this centre trusts, as
    /// `<device>:<key in hex>` pairs sorted by device and joined by commas, so a laptop can verify
    /// the entries those centres recorded (`Docs/PROTOCOL.md`); none when it has no peers.
    func peersParameter() async throws(CentralError) -> [(String, String)] {
        let peers = try await storage.peers(includingRemoved: true)
        guard !peers.isEmpty else { return [] }
        return [(Header.peersParameter, Header.peersValue(peers.map { ($0.device.id.rawValue, $0.device.publicKey) }))]
    }

    // MARK: - Cursors

    /// Where a cursor stands: the number of the last change the device was sent, and, while its
    /// first pull goes on over several pages, the newest number when that pull began (accepted
    /// cases unchanged since are left out of it).
    struct Position: Hashable {
        var sequence: Int64
        var firstPullUpTo: Int64?
    }

    /// The cursor of a position, as a version vector: `central.<identity>:<n>`, with
    /// `central.<identity>.first-pull:<m>` while a first pull goes on (``Position``), and
    /// `central.<identity>.incarnation:<i>` once the database was restored from a backup
    /// (``DatabaseIncarnation``); empty at the start, whatever the incarnation.
    func vector(_ sequence: Int64, firstPullUpTo: Int64? = nil) -> VersionVector {
        var vector = VersionVector()
        if sequence > 0, let name = cursorDevice { vector.raise(name, to: UInt64(sequence)) }
        if let firstPullUpTo, firstPullUpTo > 0, let name = firstPullName {
            vector.raise(name, to: UInt64(firstPullUpTo))
        }
        if !vector.isEmpty, storage.incarnation != DatabaseIncarnation.first, let name = incarnationName {
            vector.raise(name, to: storage.incarnation)
        }
        return vector
    }

    /// The position a cursor stands for; nil when this database did not issue it, or issued it
    /// in another of its lives (before it was restored from a backup, or after another restore).
    func position(of cursor: Cursor) -> Position? {
        guard let vector = cursor.vector, let name = cursorDevice, let firstPull = firstPullName,
            vector[name] <= UInt64(Int64.max), vector[firstPull] <= UInt64(Int64.max)
        else { return nil }
        let position = Position(
            sequence: Int64(vector[name]), firstPullUpTo: vector[firstPull] > 0 ? Int64(vector[firstPull]) : nil)
        guard vector == self.vector(position.sequence, firstPullUpTo: position.firstPullUpTo) else { return nil }
        return position
    }
}
