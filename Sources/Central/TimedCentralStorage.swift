import CoreMetrics
public import Crypto
public import Referrals
public import Replication

/// Any ``CentralStorage``, each of its calls timed into ``CentralMetrics/storageDuration`` under
/// the call's name (`store`, `read`, `listChanges`, `device`, ...): the database time of the
/// centre, the same figures whichever backend stores it. ``CentralServer`` serves through one.
///
/// A call's time runs from the call to its return, waits for the database's writer included; the
/// check a ``store(_:check:)`` runs on each part inside its transaction counts as that call's.
public struct TimedCentralStorage: CentralStorage {
    /// The storage timed.
    public let base: any CentralStorage
    private let timers: [String: CoreMetrics.Timer]
    private let metrics: CentralMetrics

    /// Times every call to `base` into `metrics`.
    public init(_ base: any CentralStorage, metrics: CentralMetrics) {
        self.base = base
        self.metrics = metrics
        timers = Dictionary(uniqueKeysWithValues: Self.operations.map { ($0, metrics.storageTimer($0)) })
    }

    /// The name of every call timed: the label values of `operation`.
    public static let operations = [
        "newestSequence", "enroll", "revoke", "device", "consumeCounter", "store", "storedCase", "listChanges",
        "read", "nextEntryCounter", "keep", "keptPackage", "keptOpenings", "keepAddendum", "addenda", "wasHandedOver",
        "firstHandedOver", "handedOverUnaccepted", "unacceptedCases", "authoritiesWithCases", "departedCases",
        "casesDueForEscalation", "nextEscalation", "addPeer", "peers", "casesToForward", "countCasesToForward",
        "encodedCases",
        "markForwarded", "startForwardingOver", "forwardingState", "setForwardingState", "nextRequestCounter",
        "recordSync", "enrolledDevices",
    ]

    /// Runs `call`, recording its time under `operation` however it ends.
    private func timed<T>(
        _ operation: String, _ call: () async throws(CentralError) -> T
    ) async throws(CentralError) -> T {
        let clock = ContinuousClock()
        let started = clock.now
        defer {
            (timers[operation] ?? metrics.storageTimer(operation)).recordNanoseconds((clock.now - started).nanoseconds)
        }
        return try await call()
    }

    public var identity: String { base.identity }
    public var incarnation: UInt64 { base.incarnation }
    public var signingKey: Curve25519.Signing.PrivateKey { base.signingKey }

    public func newestSequence() async throws(CentralError) -> Int64 {
        try await timed("newestSequence") { () async throws(CentralError) in try await base.newestSequence() }
    }

    public func enroll(_ device: EnrolledDevice) async throws(CentralError) {
        try await timed("enroll") { () async throws(CentralError) in try await base.enroll(device) }
    }

    public func revoke(_ device: DeviceID) async throws(CentralError) -> Bool {
        try await timed("revoke") { () async throws(CentralError) in try await base.revoke(device) }
    }

    public func device(_ id: DeviceID) async throws(CentralError) -> EnrolledDevice? {
        try await timed("device") { () async throws(CentralError) in try await base.device(id) }
    }

    public func consumeCounter(_ counter: UInt64, for device: DeviceID) async throws(CentralError) -> Bool {
        try await timed("consumeCounter") { () async throws(CentralError) in
            try await base.consumeCounter(counter, for: device)
        }
    }

    public func store(
        _ parts: [PreparedPart], by actor: AuditActor, check: @escaping PartCheck
    ) async throws(CentralError) -> [StoredOutcome] {
        try await timed("store") { () async throws(CentralError) in
            try await base.store(parts, by: actor, check: check)
        }
    }

    public func audit(_ cases: [RecordID], by actor: AuditActor) async throws(CentralError) {
        try await timed("audit") { () async throws(CentralError) in try await base.audit(cases, by: actor) }
    }

    public func auditEntries(after number: Int64, limit: Int) async throws(CentralError) -> [AuditRecord] {
        try await timed("auditEntries") { () async throws(CentralError) in
            try await base.auditEntries(after: number, limit: limit)
        }
    }

    public func auditEntries(
        of id: RecordID, after number: Int64, limit: Int
    ) async throws(CentralError)
        -> [AuditRecord]
    {
        try await timed("auditEntriesOfCase") { () async throws(CentralError) in
            try await base.auditEntries(of: id, after: number, limit: limit)
        }
    }

    public func auditHead() async throws(CentralError) -> (number: Int64, hash: String) {
        try await timed("auditHead") { () async throws(CentralError) in try await base.auditHead() }
    }

    public func keepAnchor(_ anchor: AuditAnchor) async throws(CentralError) {
        try await timed("keepAnchor") { () async throws(CentralError) in try await base.keepAnchor(anchor) }
    }

    public func auditAnchors() async throws(CentralError) -> [AuditAnchor] {
        try await timed("auditAnchors") { () async throws(CentralError) in try await base.auditAnchors() }
    }

    public func storedCase(_ id: RecordID) async throws(CentralError) -> Record? {
        try await timed("storedCase") { () async throws(CentralError) in try await base.storedCase(id) }
    }

    public func listChanges(
        after sequence: Int64, authorities: Set<String>, limit: Int, byteBudget: Int, leavingOut: [Int64],
        leavingOutAcceptedUpTo: Int64?
    ) async throws(CentralError) -> ChangeListing {
        try await timed("listChanges") { () async throws(CentralError) in
            try await base.listChanges(
                after: sequence, authorities: authorities, limit: limit, byteBudget: byteBudget,
                leavingOut: leavingOut, leavingOutAcceptedUpTo: leavingOutAcceptedUpTo)
        }
    }

    public func read(_ listed: ArraySlice<ListedChange>) async throws(CentralError) -> [StoredCase] {
        try await timed("read") { () async throws(CentralError) in try await base.read(listed) }
    }

    public func nextEntryCounter() async throws(CentralError) -> UInt64 {
        try await timed("nextEntryCounter") { () async throws(CentralError) in try await base.nextEntryCounter() }
    }

    public func keep(_ package: KeptPackage) async throws(CentralError) -> Bool {
        try await timed("keep") { () async throws(CentralError) in try await base.keep(package) }
    }

    public func keptPackage(authority: String, opensAt: Instant) async throws(CentralError) -> KeptPackage? {
        try await timed("keptPackage") { () async throws(CentralError) in
            try await base.keptPackage(authority: authority, opensAt: opensAt)
        }
    }

    public func keptOpenings(of authority: String) async throws(CentralError) -> [Instant] {
        try await timed("keptOpenings") { () async throws(CentralError) in try await base.keptOpenings(of: authority) }
    }

    public func keepAddendum(_ addendum: KeptPackage) async throws(CentralError) -> Int {
        try await timed("keepAddendum") { () async throws(CentralError) in try await base.keepAddendum(addendum) }
    }

    public func addenda(authority: String, opensAt: Instant) async throws(CentralError) -> [KeptPackage] {
        try await timed("addenda") { () async throws(CentralError) in
            try await base.addenda(authority: authority, opensAt: opensAt)
        }
    }

    public func wasHandedOver(_ id: RecordID, to authority: String) async throws(CentralError) -> Bool {
        try await timed("wasHandedOver") { () async throws(CentralError) in
            try await base.wasHandedOver(id, to: authority)
        }
    }

    public func firstHandedOver(_ id: RecordID, to authority: String) async throws(CentralError) -> Instant? {
        try await timed("firstHandedOver") { () async throws(CentralError) in
            try await base.firstHandedOver(id, to: authority)
        }
    }

    public func handedOverUnaccepted(
        to authority: String, before opensAt: Instant
    ) async throws(CentralError) -> [RecordID] {
        try await timed("handedOverUnaccepted") { () async throws(CentralError) in
            try await base.handedOverUnaccepted(to: authority, before: opensAt)
        }
    }

    public func unacceptedCases<Reading: Sendable>(
        of authority: String, reading: @escaping @Sendable ([Record]) -> Reading
    ) async throws(CentralError) -> [Reading] {
        // The time includes `reading`'s work on each batch, which overlaps the read itself.
        try await timed("unacceptedCases") { () async throws(CentralError) in
            try await base.unacceptedCases(of: authority, reading: reading)
        }
    }

    public func authoritiesWithCases() async throws(CentralError) -> [String] {
        try await timed("authoritiesWithCases") { () async throws(CentralError) in
            try await base.authoritiesWithCases()
        }
    }

    public func departedCases(
        authorities: Set<String>, after sequence: Int64, upTo: Int64, limit: Int
    ) async throws(CentralError) -> [DepartedCase] {
        try await timed("departedCases") { () async throws(CentralError) in
            try await base.departedCases(authorities: authorities, after: sequence, upTo: upTo, limit: limit)
        }
    }

    public func casesDueForEscalation(
        by instant: Instant
    ) async throws(CentralError) -> [(id: RecordID, at: Instant)] {
        try await timed("casesDueForEscalation") { () async throws(CentralError) in
            try await base.casesDueForEscalation(by: instant)
        }
    }

    public func nextEscalation() async throws(CentralError) -> Instant? {
        try await timed("nextEscalation") { () async throws(CentralError) in try await base.nextEscalation() }
    }

    public func addPeer(_ peer: PeerCentre) async throws(CentralError) {
        try await timed("addPeer") { () async throws(CentralError) in try await base.addPeer(peer) }
    }

    public func peers(includingRemoved: Bool) async throws(CentralError) -> [PeerCentre] {
        try await timed("peers") { () async throws(CentralError) in
            try await base.peers(includingRemoved: includingRemoved)
        }
    }

    public func casesToForward(
        to peer: DeviceID, authorities: Set<String>, after sequence: Int64, limit: Int
    ) async throws(CentralError) -> [(id: RecordID, sequence: Int64)] {
        try await timed("casesToForward") { () async throws(CentralError) in
            try await base.casesToForward(to: peer, authorities: authorities, after: sequence, limit: limit)
        }
    }

    public func countCasesToForward(to peer: DeviceID, authorities: Set<String>) async throws(CentralError) -> Int {
        try await timed("countCasesToForward") { () async throws(CentralError) in
            try await base.countCasesToForward(to: peer, authorities: authorities)
        }
    }

    public func encodedCases(
        _ ids: [RecordID]
    ) async throws(CentralError) -> [(id: RecordID, sequence: Int64, body: [UInt8])] {
        try await timed("encodedCases") { () async throws(CentralError) in try await base.encodedCases(ids) }
    }

    public func markForwarded(
        to peer: DeviceID, _ cases: [(id: RecordID, sequence: Int64)]
    ) async throws(CentralError) {
        try await timed("markForwarded") { () async throws(CentralError) in
            try await base.markForwarded(to: peer, cases)
        }
    }

    public func startForwardingOver(to peer: DeviceID) async throws(CentralError) {
        try await timed("startForwardingOver") { () async throws(CentralError) in
            try await base.startForwardingOver(to: peer)
        }
    }

    public func forwardingState(of peer: DeviceID) async throws(CentralError) -> ForwardingState {
        try await timed("forwardingState") { () async throws(CentralError) in try await base.forwardingState(of: peer) }
    }

    public func setForwardingState(_ state: ForwardingState, of peer: DeviceID) async throws(CentralError) {
        try await timed("setForwardingState") { () async throws(CentralError) in
            try await base.setForwardingState(state, of: peer)
        }
    }

    public func nextRequestCounter() async throws(CentralError) -> UInt64 {
        try await timed("nextRequestCounter") { () async throws(CentralError) in try await base.nextRequestCounter() }
    }

    public func recordSync(of device: DeviceID, at instant: Instant, pending: Int?) async throws(CentralError) {
        try await timed("recordSync") { () async throws(CentralError) in
            try await base.recordSync(of: device, at: instant, pending: pending)
        }
    }

    public func enrolledDevices() async throws(CentralError) -> [DeviceFreshness] {
        try await timed("enrolledDevices") { () async throws(CentralError) in try await base.enrolledDevices() }
    }
}
