import LineProtocol
public import Referrals
public import Replication

extension HandoverPackage {
    /// The package due to `authority` at its first opening of office hours at or after
    /// `instant`.
    ///
    /// - Parameters:
    ///   - candidates: the stored cases that may belong in it: the caller passes the cases of
    ///     the authority not yet accepted (a case of another host authority, one received at or
    ///     after the opening, one received in office hours and one accepted by the authority
    ///     are left out here anyway).
    ///   - carriedOver: the ids handed over in earlier packages and not accepted: they are in
    ///     this one again, carried over, even when the calendar now reads them as received in
    ///     office hours or their host authority was corrected since.
    ///   - directory: the authorities, for the calendar (worked out once for the package).
    ///   - centreKey: the centre's public signing key: an acceptance counts only when the
    ///     centre signed it (``HandoverAcceptance/all(in:centreKey:)``).
    ///   - routing: the routing rules.
    /// - Throws: the authority is not known, or its office never opens.
    public static func build(
        authority code: String, at instant: Instant, candidates: some Sequence<Record>,
        carriedOver: Set<RecordID> = [], directory: AuthorityDirectory, centreKey: [UInt8],
        routing: RoutingRules = .shipped
    ) throws(Unavailable) -> HandoverPackage {
        let builder = try Builder(
            authority: code, at: instant, carriedOver: carriedOver, directory: directory, centreKey: centreKey,
            routing: routing)
        // Each record once, then read across the cores (each case is read on its own).
        var seen: Set<RecordID> = []
        let unique = candidates.filter { seen.insert($0.id).inserted }
        return builder.package(SplitWork.runs(over: unique.count, minimumRun: 128) { builder.read(unique[$0]) })
    }

    /// Builds a package from its candidates a batch at a time, so that each batch can be read
    /// as soon as it is decoded, on whichever thread decoded it, and its records let go at once:
    /// ``read(_:)`` each batch (on any thread), then ``package(_:)`` the batches in order.
    ///
    /// ```swift
    /// let builder = try HandoverPackage.Builder(authority: code, at: instant, directory: directory, centreKey: key)
    /// let batches = batchesOfRecords.map { builder.read($0) }
    /// let package = builder.package(batches)
    /// ```
    public struct Builder: Sendable {
        let context: CaseContext
        let carriedOver: Set<RecordID>
        let centreKey: [UInt8]

        /// A builder for the package due to `authority` at its first opening of office hours at
        /// or after `instant`; the parameters are those of ``HandoverPackage/build(authority:at:candidates:carriedOver:directory:centreKey:routing:)``.
        /// - Throws: the authority is not known, or its office never opens.
        public init(
            authority code: String, at instant: Instant, carriedOver: Set<RecordID> = [],
            directory: AuthorityDirectory, centreKey: [UInt8], routing: RoutingRules = .shipped
        ) throws(Unavailable) {
            guard let authority = directory.authority(code) else {
                throw Unavailable(
                    message:
                        "\(code) is not a known authority; `edt authority list` names them, or add it to the authorities file"
                )
            }
            let calendar = directory.calendar(for: authority)
            guard let window = calendar.outOfHoursWindow(endingAtOpeningAtOrAfter: instant) else {
                throw Unavailable(message: "\(code)'s office does not open within ten years of \(instant)")
            }
            context = CaseContext(
                authority: authority, calendar: calendar, window: window, routing: routing,
                frontDoor: routing.frontDoor(of: authority))
            self.carriedOver = carriedOver
            self.centreKey = centreKey
        }

        /// What one batch of candidates gave: the cases it hands over and the records it could
        /// not read, in the batch's order, and the id of every record it read.
        public struct Batch: Sendable {
            public internal(set) var cases: [Case] = []
            public internal(set) var unreadable: [RecordID] = []
            /// Every candidate read, handed over or not, in order.
            public internal(set) var ids: [RecordID] = []
        }

        /// Reads a batch of candidates (each case on its own: any thread may read any batch).
        public func read(_ records: some Collection<Record>) -> Batch {
            var batch = Batch()
            batch.ids.reserveCapacity(records.count)
            var gaps = ReferralSchema.GapsMemo()
            for record in records {
                batch.ids.append(record.id)
                switch context.reading(
                    record, carriedOver: carriedOver.contains(record.id), centreKey: centreKey, gaps: &gaps)
                {
                case .handedOver(let item): batch.cases.append(item)
                case .unreadable: batch.unreadable.append(record.id)
                case .notHandedOver: continue
                }
            }
            return batch
        }

        /// The package of every batch read, given in the order of their candidates. Each candidate
        /// is read once (the caller's to see to); a case read twice is still handed over once.
        public func package(_ batches: [Batch]) -> HandoverPackage {
            // Where each case is, and its place in the package (received, then id): each case
            // is then copied once, from its batch into the package, as moving whole cases about
            // is what costs.
            var seen: Set<RecordID> = []
            var places: [(received: Instant, id: RecordID, batch: Int, index: Int)] = []
            places.reserveCapacity(batches.reduce(0) { $0 + $1.cases.count })
            var unreadable: [RecordID] = []
            for (number, batch) in batches.enumerated() {
                batch.cases.withUnsafeBufferPointer { cases in
                    for index in cases.indices where seen.insert(cases[index].id).inserted {
                        places.append((cases[index].receivedAt, cases[index].id, number, index))
                    }
                }
                for id in batch.unreadable where seen.insert(id).inserted { unreadable.append(id) }
            }
            places.sort { ($0.received, $0.id) < ($1.received, $1.id) }
            let cases = places.map { batches[$0.batch].cases[$0.index] }
            return HandoverPackage(
                authority: context.authority, window: context.window, frontDoor: context.frontDoor, cases: cases,
                unreadable: unreadable.sorted())
        }
    }

    /// Whether the centre recorded `authority`'s acceptance of the case.
    static func isAccepted(_ record: Record, by authority: String, centreKey: [UInt8]) -> Bool {
        // Most candidates hold no acceptance: only those that do pay for a signature check.
        guard record.entries.contains(where: { $0.kind == HandoverAcceptance.kind }) else { return false }
        return HandoverAcceptance.all(in: record, centreKey: centreKey).contains { $0.authority == authority }
    }
}

/// What every case of one package is read with: worked out once for the package.
struct CaseContext: Sendable {
    let authority: Authority
    let calendar: WorkingCalendar
    let window: OutOfHoursWindow
    let routing: RoutingRules
    let frontDoor: String

    /// The outcomes that mean harm is alleged.
    static let harmOutcomes: Set<String> = ["strategy-discussion", "immediate-protection"]

    /// What the package makes of one candidate.
    enum Reading {
        case handedOver(HandoverPackage.Case)
        /// Not readable as a referral: the package names it among its unreadable records.
        case unreadable
        /// Not this package's: another authority's, received in office hours, or accepted.
        case notHandedOver
    }

    /// Whether `record` is handed over in this package, and as what: `carriedOver` when an
    /// earlier package handed it over and it is not accepted; `centreKey` checks acceptances;
    /// `gaps` is lent from one case to the next (``ReferralSchema/gaps(of:memo:)``).
    func reading(
        _ record: Record, carriedOver named: Bool, centreKey: [UInt8], gaps: inout ReferralSchema.GapsMemo
    ) -> Reading {
        let code = authority.gss
        guard let timeline = ReferralTimeline(record: record) else { return .unreadable }
        let centreKeys: (DeviceID) -> [UInt8]? = { HandoverAcceptance.isCentreDevice($0) ? centreKey : nil }
        // As it stood at the opening: acts recorded since do not change this package.
        let crossAuthority = CrossAuthorityHistory(
            record: record, now: window.opensAt, centreKey: centreKeys, actsUpTo: window.opensAt)
        // Forwarded to this authority as the child's home and not yet settled: its day team
        // must answer (accept in writing, agree, dispute, or decide once escalated).
        let forwardedHere =
            crossAuthority.map { history in
                history.machine.home == code && history.machine.state != .homeResponsible
                    && history.machine.state != .hostLeadsByAgreement
            } ?? false
        // A case handed over before stays until accepted, even when its host or its receipt
        // was corrected since; but not for an authority it was forwarded away from.
        if named, let machine = crossAuthority?.machine, !machine.authorities.contains(code),
            timeline.hostAuthority != code
        {
            return .notHandedOver
        }
        guard named || forwardedHere || (timeline.hostAuthority == code && timeline.receivedAt < window.opensAt)
        else { return .notHandedOver }
        guard named || forwardedHere || calendar.isEDTCase(receivedAt: timeline.receivedAt) else {
            return .notHandedOver
        }
        if HandoverPackage.isAccepted(record, by: code, centreKey: centreKey) { return .notHandedOver }
        var settled = timeline
        settled.hostHomeSettlement = crossAuthority?.settlement
        return .handedOver(
            makeCase(record, timeline: settled, crossAuthority: crossAuthority, namedCarriedOver: named, gaps: &gaps))
    }

    func makeCase(
        _ record: Record, timeline: ReferralTimeline, crossAuthority: CrossAuthorityHistory?, namedCarriedOver: Bool,
        gaps memo: inout ReferralSchema.GapsMemo
    ) -> HandoverPackage.Case {
        let opensAt = window.opensAt
        let fields = CaseFields(record)

        let all = Deadlines.compute(timeline, authority: authority, calendar: calendar, at: opensAt)
        let acknowledgeDue = all.first { $0.name == .acknowledge }?.due
        let openDeadlines = all.filter { $0.status != .met }

        let openTasks = OpenTasks.of(timeline, at: opensAt)
        var tasks = openTasks.map {
            HandoverPackage.Task(kind: .open($0.kind), entry: $0.entry, field: nil, summary: $0.summary)
        }
        let checkNeeded = fields.recordCheck.isEmpty || fields.recordCheck.contains("not-checked-offline")
        if checkNeeded {
            tasks.append(
                HandoverPackage.Task(
                    kind: .checkRecord, entry: nil, field: "recordCheck",
                    summary: fields.recordCheck.isEmpty
                        ? "check the child's electronic record: no check was recorded"
                        : "check the child's electronic record: it was not checked because the laptop was offline"))
        }
        let conflicts = record.conflictedPaths.map(\.rawValue)
        for path in conflicts {
            tasks.append(
                HandoverPackage.Task(
                    kind: .resolveConflict, entry: nil, field: path,
                    summary: "resolve the conflict on \(path): two values were written and none is chosen"))
        }
        if let home = timeline.homeAuthority, home != timeline.hostAuthority, crossAuthority == nil {
            tasks.append(
                HandoverPackage.Task(
                    kind: .forwardToHome, entry: nil, field: ReferralCapture.homeAuthorityPath,
                    summary:
                        "forward the case to the child's home authority \(home) (edt referral forward): it does not see the case until then"
                ))
        }
        if let machine = crossAuthority?.machine, let state = machine.state {
            let waiting: String? =
                switch state {
                case .forwardedToHome:
                    "the home authority \(machine.home ?? "") to accept responsibility in writing, or both to agree the host carries on; escalated to senior managers at \(machine.escalatesAt)"
                case .disputed:
                    "disputed: senior managers take it at \(machine.escalatesAt), 24 hours after the referral; the host stays responsible"
                case .escalatedToSeniorManagers:
                    "senior managers of \(machine.host) and \(machine.home ?? "") to decide which authority leads"
                case .homeResponsible, .hostLeadsByAgreement: nil
                }
            if let waiting {
                tasks.append(
                    HandoverPackage.Task(
                        kind: .settleResponsibility, entry: nil, field: nil, summary: "waiting for \(waiting)"))
            }
        }
        let gaps = ReferralSchema.gaps(of: record, memo: &memo)
        let confirmationTask = openTasks.contains { $0.kind == .awaitWrittenConfirmation }
        for gap in gaps {
            // Already a task of its own.
            if gap == "recordCheck", checkNeeded { continue }
            if gap == ReferralSchema.writtenConfirmationGap, confirmationTask { continue }
            tasks.append(
                HandoverPackage.Task(
                    kind: .supplyInformation, entry: nil, field: gap, summary: "find out the missing \(gap)"))
        }

        let harmAlleged =
            fields.allegations || fields.immediateProtection.contains(true) || fields.childSafeNow.contains(false)
            || timeline.events.contains { event in
                guard event.kind == .outcome, event.at <= opensAt, let outcome = event.outcome else { return false }
                return Self.harmOutcomes.contains(outcome)
            }
        let facts = RoutingFacts(
            receivedOn: LondonTime.day(of: timeline.receivedAt), harmAlleged: harmAlleged,
            children: fields.children.map(\.routing))
        let route = routing.route(facts, frontDoor: frontDoor)

        let summary = HandoverPackage.Summary(
            children: fields.children.map(\.summary), concern: fields.joined(fields.concern),
            childSafeNow: fields.childSafeNow.isEmpty ? nil : !fields.childSafeNow.contains(false),
            immediateProtection: fields.immediateProtection.isEmpty ? nil : fields.immediateProtection.contains(true))
        let uncertain = Set(timeline.uncertain).union(fields.uncertain).sorted()
        return HandoverPackage.Case(
            id: record.id, receivedAt: timeline.receivedAt, hostAuthority: timeline.hostAuthority,
            homeAuthority: timeline.homeAuthority, summary: summary,
            actionsTaken: ActionReader.actions(of: record, upTo: opensAt), openTasks: tasks, deadlines: openDeadlines,
            missingInformation: gaps, conflicts: conflicts, uncertain: uncertain, crossAuthority: crossAuthority,
            routedTo: route, carriedOver: namedCarriedOver || !window.contains(timeline.receivedAt),
            overdue: acknowledgeDue.map { opensAt >= $0 } ?? false)
    }
}

/// The fields of a referral the package reads, in one pass over the record. A field in conflict
/// keeps every value (and is listed in ``uncertain``).
struct CaseFields {
    var concern: [String] = []
    var childSafeNow: Set<Bool> = []
    var immediateProtection: Set<Bool> = []
    var recordCheck: [String] = []
    /// Allegations are recorded (some value is a text that is not blank).
    var allegations = false
    var children: [ChildFields] = []
    var uncertain: Set<String> = []

    init(_ record: Record) {
        var children: [String: ChildFields] = [:]
        for field in record.fields {
            let path = field.path.rawValue
            let register = field.register
            var read = true
            switch path {
            case "concern": concern = Self.texts(register)
            case "childSafeNow": childSafeNow = Self.flags(register)
            case "immediateProtection": immediateProtection = Self.flags(register)
            case "recordCheck": recordCheck = Self.texts(register)
            case "allegations": allegations = !Self.texts(register).isEmpty
            default:
                if let (id, member) = ReferralSchema.childPath(path) {
                    read = children[id, default: ChildFields(id: id)].read(member, register)
                } else {
                    read = false
                }
            }
            if read, register.isConflicted { uncertain.insert(path) }
        }
        self.children = children.keys.sorted().compactMap { children[$0] }
    }

    /// The distinct texts of a register, in order (several while it is in conflict).
    static func texts(_ register: MultiValueRegister) -> [String] {
        var texts: [String] = []
        register.forEachSibling { sibling in
            guard case .string(let text) = sibling.value, !text.isEmpty, !texts.contains(text) else { return }
            texts.append(text)
        }
        return texts.sorted()
    }

    static func flags(_ register: MultiValueRegister) -> Set<Bool> {
        var flags: Set<Bool> = []
        register.forEachSibling { if case .bool(let flag) = $0.value { flags.insert(flag) } }
        return flags
    }

    /// Every value of a text, joined by ` | ` when in conflict; nil when none.
    func joined(_ texts: [String]) -> String? { texts.isEmpty ? nil : texts.joined(separator: " | ") }
}

/// One child's fields, as the summary and the routing read them.
struct ChildFields {
    let id: String
    var name: [String] = []
    var dateOfBirth: [String] = []
    var ageEstimate: Int64?
    var unborn = false
    var expectedDate: [String] = []
    var location: [String] = []
    var socialWorker: [String] = []
    var team: [String] = []
    var closedOn: [String] = []
    var earlyHelpWorker: [String] = []
    /// A field of the allocation is in conflict: the allocation is read as not known.
    var allocationInConflict = false
    var earlyHelpInConflict = false

    init(id: String) { self.id = id }

    /// Reads the member `member` of the child; false when it is not one the package reads.
    mutating func read(_ member: Substring, _ register: MultiValueRegister) -> Bool {
        switch member {
        case "name": name = CaseFields.texts(register)
        case "dateOfBirth": dateOfBirth = CaseFields.texts(register)
        case "ageEstimate":
            register.forEachSibling { sibling in
                guard case .integer(let age) = sibling.value else { return }
                // The youngest age, when in conflict: the cautious reading for a child.
                ageEstimate = min(ageEstimate ?? age, age)
            }
        case "unborn": unborn = CaseFields.flags(register).contains(true)
        case "expectedDate": expectedDate = CaseFields.texts(register)
        case "location": location = CaseFields.texts(register)
        case "allocatedSocialWorker.name":
            socialWorker = CaseFields.texts(register)
            allocationInConflict = allocationInConflict || register.isConflicted
        case "allocatedSocialWorker.team":
            team = CaseFields.texts(register)
            allocationInConflict = allocationInConflict || register.isConflicted
        case "allocatedSocialWorker.closedOn":
            closedOn = CaseFields.texts(register)
            allocationInConflict = allocationInConflict || register.isConflicted
        case "earlyHelpWorker":
            earlyHelpWorker = CaseFields.texts(register)
            earlyHelpInConflict = register.isConflicted
        default: return false
        }
        return true
    }

    var summary: HandoverPackage.Child {
        func joined(_ texts: [String]) -> String? { texts.isEmpty ? nil : texts.joined(separator: " | ") }
        return HandoverPackage.Child(
            id: id, name: joined(name), dateOfBirth: joined(dateOfBirth), ageEstimate: ageEstimate, unborn: unborn,
            expectedDate: joined(expectedDate), location: joined(location))
    }

    /// What the routing rules read: an allocation or early help worker in conflict (or with an
    /// end date that does not read) is not known.
    var routing: RoutingFacts.Child {
        var child = RoutingFacts.Child(id: id)
        let closed = closedOn.first.flatMap(CalendarDay.init(iso8601:))
        if !allocationInConflict, closedOn.isEmpty || closed != nil {
            child.socialWorker = socialWorker.first
            child.team = team.first
            child.closedOn = closed
        }
        if !earlyHelpInConflict { child.earlyHelpWorker = earlyHelpWorker.first }
        return child
    }
}
