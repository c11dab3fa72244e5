import Foundation
public import Handover
import LineProtocol
public import Referrals
public import Replication
import Synchronization

/// Builds and keeps the morning handover packages: at each opening of an authority's office
/// hours, every EDT case of the out-of-hours window just ended and every earlier one not yet
/// accepted (`Docs/domain.md`, "EDT handover to day teams").
///
/// A package whose opening has come is kept (``CentralStorage/keep(_:)``, the first one kept
/// stands), so the day team sees at 10:30 what was handed over at 09:00; a later package
/// carries over every case an earlier one handed over that is not yet accepted, so none is
/// silently dropped. A case of the night that reaches the centre after its package was kept is
/// handed over at the next look at that package, in an addendum kept beside it. A package for
/// an opening still to come is a preview, built and not kept.
///
/// ```swift
/// let desk = HandoverDesk(storage: storage, directory: .shipped)
/// let due = try await desk.package(for: "E06000038", at: instant, now: Instant(Date()))
/// print(String(decoding: due.kept.json, as: UTF8.self))
/// ```
public struct HandoverDesk: Sendable {
    public let storage: any CentralStorage
    public let directory: AuthorityDirectory
    public let routing: RoutingRules

    public init(storage: any CentralStorage, directory: AuthorityDirectory, routing: RoutingRules = .shipped) {
        self.storage = storage
        self.directory = directory
        self.routing = routing
    }

    /// A package as the desk gives it: its documents and whether it is the one kept.
    public struct Due: Sendable {
        /// The package's documents (JSON and printable page) and the cases it hands over.
        public let kept: KeptPackage
        /// True when this is the package kept for its opening (built now or earlier); false for a
        /// preview of an opening still to come, or for an earlier opening no package was kept
        /// for then (built now from the cases as they are, for reading only).
        public let isKept: Bool
        /// True when the package's JSON was written to the output the caller gave as it was made
        /// (``JSONOutput``), rather than given in ``kept``, whose JSON is then empty.
        public let jsonWritten: Bool

        init(kept: KeptPackage, isKept: Bool, jsonWritten: Bool = false) {
            self.kept = kept
            self.isKept = isKept
            self.jsonWritten = jsonWritten
        }

        /// Whether this package's opening is still to come (a preview).
        public var isPreview: Bool { !isKept && kept.opensAt > kept.builtAt }
    }

    /// The documents a package is given with. A package that is kept is always made with both
    /// (the day team reads the page, scripts the JSON); one only shown (a preview, or an earlier
    /// opening none was kept for) is made with only what the caller shows.
    public enum Documents: Sendable, Hashable {
        /// The JSON document alone; the page is left empty.
        case json
        /// The printable page alone; the JSON document is left empty.
        case html
        /// The JSON document and the printable page.
        case both

        var json: Bool { self != .html }
        var html: Bool { self != .json }
    }

    /// Where a package only shown may have its JSON written as it is made, a stretch at a time
    /// in order, rather than given whole: printing overlaps building, and the document is never
    /// held whole. Called one stretch at a time; what it throws stops the writing.
    public typealias JSONOutput = @Sendable (UnsafeRawBufferPointer) throws -> Void

    /// Why a package cannot be given.
    public struct Unavailable: Error, Sendable, Hashable, CustomStringConvertible {
        public let message: String
        /// True when the cause is the database, not the request.
        public let isStorage: Bool
        public var description: String { message }
    }

    /// The package due to `authority` at its first opening at or after `instant`: the one kept
    /// for that opening when there is one; otherwise built from the cases as stored, and kept
    /// when that opening is the authority's last at or before `now` (an earlier one is only
    /// shown: a package is kept as of its own opening, never made up afterwards). A package only
    /// shown is made with `documents` alone; when they are `.json` and `output` is given, its JSON
    /// is written there as it is made (``Due/jsonWritten``), once every case it holds is recorded
    /// as read.
    public func package(
        for authority: String, at instant: Instant, now: Instant, documents: Documents = .both,
        output: JSONOutput? = nil
    ) async throws(Unavailable)
        -> Due
    {
        guard let opensAt = directory.calendar(for: try known(authority)).nextOpening(atOrAfter: instant) else {
            throw Unavailable(
                message: "\(authority)'s office does not open within ten years of \(instant)", isStorage: false)
        }
        return try await package(for: authority, opensAt: opensAt, now: now, documents: documents, output: output)
    }

    /// The package most recently due to `authority`: the one of its last opening at or before
    /// `now` (kept, or built and kept now); what a day team looking during the day wants.
    /// `documents` and `output` as for ``package(for:at:now:documents:output:)``.
    public func latestPackage(
        for authority: String, now: Instant, documents: Documents = .both, output: JSONOutput? = nil
    ) async throws(Unavailable) -> Due {
        guard let opensAt = directory.calendar(for: try known(authority)).previousOpening(atOrBefore: now) else {
            throw Unavailable(
                message: "\(authority)'s office has not opened in the ten years before \(now)", isStorage: false)
        }
        return try await package(for: authority, opensAt: opensAt, now: now, documents: documents, output: output)
    }

    /// What was kept of one authority's package at an opening: the opening and the cases it
    /// handed over (its documents stay in storage: ``CentralStorage/keptPackage(authority:opensAt:)``).
    public struct KeptOpening: Sendable, Hashable {
        /// The authority (GSS code).
        public let authority: String
        /// The opening the package was kept for.
        public let opensAt: Instant
        /// The cases it handed over, in id order.
        public let cases: [RecordID]
    }

    /// Keeps the package of every authority with cases whose most recent opening (at or before
    /// `now`) has no package kept yet; returns what was kept now. What `edt central serve`
    /// runs at each opening, and on starting (an opening passed while it was stopped is handed
    /// over late rather than never). Each package's documents are let go once kept, so a shared
    /// opening of many authorities holds one package at a time.
    public func keepDuePackages(now: Instant) async throws(Unavailable) -> [KeptOpening] {
        var kept: [KeptOpening] = []
        for code in try await storageCall({ () async throws(CentralError) in try await storage.authoritiesWithCases() })
        {
            guard let authority = directory.authority(code),
                let opensAt = directory.calendar(for: authority).previousOpening(atOrBefore: now)
            else { continue }
            let existing = try await storageCall { () async throws(CentralError) in
                try await storage.keptPackage(authority: code, opensAt: opensAt)
            }
            guard existing == nil else { continue }
            let due = try await package(for: code, opensAt: opensAt, now: now)
            if due.isKept {
                kept.append(KeptOpening(authority: code, opensAt: opensAt, cases: due.kept.cases))
            }
        }
        return kept
    }

    /// The first opening after `now` of any authority with cases: when ``keepDuePackages(now:)``
    /// has work next. Nil when no authority with cases opens within ten years.
    public func nextOpening(after now: Instant) async throws(Unavailable) -> Instant? {
        let later = Instant(secondsSinceEpoch: now.secondsSinceEpoch + 1)
        var next: Instant?
        for code in try await storageCall({ () async throws(CentralError) in try await storage.authoritiesWithCases() })
        {
            guard let authority = directory.authority(code),
                let opens = directory.calendar(for: authority).nextOpening(atOrAfter: later)
            else { continue }
            if next.map({ opens < $0 }) ?? true { next = opens }
        }
        return next
    }

    /// The package for `authority`'s opening `opensAt`: kept (with its addenda), or built (and
    /// kept when due by `now`, with both documents; only shown otherwise, with `documents`, its
    /// JSON written to `output` when given).
    private func package(
        for authority: String, opensAt: Instant, now: Instant, documents: Documents = .both,
        output: JSONOutput? = nil
    ) async throws(Unavailable) -> Due {
        let isCurrent =
            directory.authority(authority).map { directory.calendar(for: $0).previousOpening(atOrBefore: now) }
            == opensAt
        if let kept = try await storageCall({ () async throws(CentralError) in
            try await storage.keptPackage(authority: authority, opensAt: opensAt)
        }) {
            // While it is the current package, cases that reached the centre since it was kept
            // are handed over now, in an addendum, rather than at the next opening.
            if isCurrent { try await handOverLateArrivals(of: kept, now: now) }
            let addenda = try await storageCall { () async throws(CentralError) in
                try await storage.addenda(authority: authority, opensAt: opensAt)
            }
            return Due(kept: Self.merged(kept, addenda), isKept: true)
        }
        if !isCurrent, documents == .json, let output {
            let shown = try await buildWriting(authority, opensAt: opensAt, builtAt: now, to: output)
            return Due(kept: shown, isKept: false, jsonWritten: true)
        }
        let built = try await build(authority, opensAt: opensAt, builtAt: now, documents: isCurrent ? .both : documents)
        guard isCurrent else { return Due(kept: built, isKept: false) }
        let stored = try await storageCall { () async throws(CentralError) in try await storage.keep(built) }
        if stored { return Due(kept: built, isKept: true) }
        // Another process kept one for that opening first: that one stands.
        guard
            let kept = try await storageCall({ () async throws(CentralError) in
                try await storage.keptPackage(authority: authority, opensAt: opensAt)
            })
        else {
            throw Unavailable(
                message: "the package of \(authority) at \(opensAt) was kept and cannot be read back", isStorage: true)
        }
        return Due(kept: kept, isKept: true)
    }

    /// For each authority with cases whose office is open at `now`, hands over the cases that
    /// reached the centre since its current package was kept, in an addendum to it (see
    /// ``package(for:at:now:)``); returns how many addenda were kept. What `edt central serve`
    /// runs after a sync has brought changes, so a late case reaches the day team within a
    /// minute, not only when someone next looks at the package.
    public func handOverLateArrivals(now: Instant) async throws(Unavailable) -> Int {
        var count = 0
        for code in try await storageCall({ () async throws(CentralError) in try await storage.authoritiesWithCases() })
        {
            guard let authority = directory.authority(code) else { continue }
            let calendar = directory.calendar(for: authority)
            guard calendar.isInHours(now), let opensAt = calendar.previousOpening(atOrBefore: now),
                let kept = try await storageCall({ () async throws(CentralError) in
                    try await storage.keptPackage(authority: code, opensAt: opensAt)
                })
            else { continue }
            if try await handOverLateArrivals(of: kept, now: now) { count += 1 }
        }
        return count
    }

    /// Keeps an addendum to `kept` holding the cases its package would hand over if built now
    /// that neither it nor an earlier addendum handed over: they reached the centre late. True
    /// when it kept one.
    @discardableResult
    private func handOverLateArrivals(of kept: KeptPackage, now: Instant) async throws(Unavailable) -> Bool {
        let addenda = try await storageCall { () async throws(CentralError) in
            try await storage.addenda(authority: kept.authority, opensAt: kept.opensAt)
        }
        let handed = Set(kept.cases).union(addenda.flatMap(\.cases))
        // Only the late cases are recorded as read by the day team: the others were recorded
        // when the package handed them over, and a look that finds nothing late shows nothing.
        let package = try await buildPackage(kept.authority, opensAt: kept.opensAt, recordingAsRead: false).package
        let late = Set(package.cases.map(\.id)).subtracting(handed)
        guard !late.isEmpty else { return false }
        let addendum = package.restricted(to: late)
        try await ReadRecording(addendum.cases.map(\.id), of: kept.authority, in: storage).finished()
        let number = try await storageCall { () async throws(CentralError) in
            try await storage.keepAddendum(
                KeptPackage(
                    authority: kept.authority, opensAt: kept.opensAt, builtAt: now, cases: addendum.cases.map(\.id),
                    json: addendum.jsonBytes(), html: Array(addendum.html().utf8)))
        }
        return number > 0
    }

    /// `kept` with its addenda: their cases after its own, each marked `"lateArrival": true`
    /// with the instant it was handed over (`"handedOverAt"`), and their pages after its pages.
    static func merged(_ kept: KeptPackage, _ addenda: [KeptPackage]) -> KeptPackage {
        guard !addenda.isEmpty, case .object(var document)? = try? JSONPayload.read(kept.json[...], maximumDepth: 64),
            case .array(var cases)? = document["cases"]
        else { return kept }
        var html = String(decoding: kept.html, as: UTF8.self)
        var pages = ""
        for addendum in addenda {
            let handedOverAt = LondonTime.text(addendum.builtAt)
            if case .object(let other)? = try? JSONPayload.read(addendum.json[...], maximumDepth: 64),
                case .array(let late)? = other["cases"]
            {
                for case .object(var fields) in late {
                    fields["lateArrival"] = .bool(true)
                    fields["handedOverAt"] = .string(handedOverAt)
                    cases.append(.object(fields))
                }
            }
            let page = String(decoding: addendum.html, as: UTF8.self)
            if let start = page.range(of: "<body>\n"), let end = page.range(of: "</body>", options: .backwards) {
                pages +=
                    "<section class=\"case\"><h1>Handed over late, at \(handedOverAt): these cases reached the centre after the package was kept</h1></section>\n"
                    + page[start.upperBound..<end.lowerBound]
            }
        }
        document["cases"] = .array(cases)
        var json: [UInt8] = []
        JSONPayload.write(.object(document), to: &json)
        if let end = html.range(of: "</body>", options: .backwards) {
            html.insert(contentsOf: pages, at: end.lowerBound)
        }
        return KeptPackage(
            authority: kept.authority, opensAt: kept.opensAt, builtAt: kept.builtAt,
            cases: kept.cases + addenda.flatMap(\.cases), json: json, html: Array(html.utf8))
    }

    /// The package of `authority` at `opensAt` as the cases are stored now, kept as built at
    /// `builtAt`, with `documents` (the other left empty).
    private func build(
        _ authority: String, opensAt: Instant, builtAt: Instant, documents: Documents
    ) async throws(Unavailable)
        -> KeptPackage
    {
        // Taken apart, so that the package has no other holder when it is let go below.
        let (package, recording) = try await buildPackage(authority, opensAt: opensAt, recordingAsRead: true)
        // The document and the page are made side by side (each a pass over every case).
        async let json = documents.json ? package.jsonBytes() : []
        let html = documents.html ? Array(package.html().utf8) : []
        // Put in id order while the documents are made, not after.
        let ids = package.cases.map(\.id).sorted { $0.rawValue < $1.rawValue }
        let kept = KeptPackage(
            authority: authority, opensAt: package.opensAt, builtAt: builtAt, cases: ids, json: await json, html: html)
        BackgroundRelease.drop(consume package)
        try await recording?.finished()
        return kept
    }

    /// The package of `authority` at `opensAt` as the cases are stored now, its JSON written to
    /// `output` as it is made; what is returned holds no document. The JSON is made while the
    /// cases read are being recorded as read, but nothing is written before they are: a failed
    /// recording writes nothing and is thrown.
    private func buildWriting(
        _ authority: String, opensAt: Instant, builtAt: Instant, to output: @escaping JSONOutput
    ) async throws(Unavailable) -> KeptPackage {
        let (package, recording) = try await buildPackage(authority, opensAt: opensAt, recordingAsRead: true)
        let ids = package.cases.map(\.id).sorted { $0.rawValue < $1.rawValue }
        let packageOpensAt = package.opensAt
        let recorded = OutputGate()
        // Made on a thread of its own, which may wait at the gate without holding one of the
        // threads the recording needs.
        async let written: (any Error)? = withCheckedContinuation { continuation in
            Thread.detachNewThread {
                do {
                    try package.writeJSON { bytes in
                        try recorded.waitUntilOpen()
                        try output(bytes)
                    }
                    continuation.resume(returning: nil)
                } catch {
                    continuation.resume(returning: error)
                }
            }
        }
        do throws(Unavailable) {
            try await recording?.finished()
            recorded.open(failure: nil)
        } catch {
            recorded.open(failure: error)
        }
        if let failure = await written {
            if let unavailable = failure as? Unavailable { throw unavailable }
            throw Unavailable(message: "cannot write the package: \(failure)", isStorage: true)
        }
        BackgroundRelease.drop(consume package)
        return KeptPackage(
            authority: authority, opensAt: packageOpensAt, builtAt: builtAt, cases: ids, json: [], html: [])
    }

    /// Holds back a package's output until its cases are recorded as read: whoever writes waits
    /// until it is opened, and is refused with the recording's failure if there was one.
    private final class OutputGate: Sendable {
        private let opened = DispatchSemaphore(value: 0)
        private let state = Mutex<(isOpen: Bool, failure: Unavailable?)>((false, nil))

        /// Opens the gate, once: to writing, or with `failure` to refuse it.
        func open(failure: Unavailable?) {
            state.withLock { $0.failure = failure }
            opened.signal()
        }

        /// Returns once the gate is open; throws the recording's failure. One caller at a time.
        func waitUntilOpen() throws(Unavailable) {
            if !state.withLock({ $0.isOpen }) {
                opened.wait()
                state.withLock { $0.isOpen = true }
            }
            if let failure = state.withLock({ $0.failure }) { throw failure }
        }
    }

    /// The recording of each case a package read as read by the authority's day team, under way
    /// while the package's documents are made: awaited before the package is given out.
    private struct ReadRecording {
        let task: Task<CentralError?, Never>

        /// Starts recording each of `ids` as read for `authority`'s day team.
        init(_ ids: [RecordID], of authority: String, in storage: any CentralStorage) {
            let reader = AuditActor(who: "handover-desk", authorities: [authority], action: "handover")
            task = Task { await HandoverDesk.audit(ids, by: reader, in: storage) }
        }

        /// Waits until every case is recorded as read; throws when they could not be.
        func finished() async throws(Unavailable) {
            if let failure = await task.value { throw Unavailable(message: failure.message, isStorage: true) }
        }
    }

    /// Builds the package of `authority` at `opensAt` from the cases as stored: its unaccepted
    /// cases, and the cases earlier packages handed over that are not accepted yet. Each batch
    /// of stored cases is read into the package on the thread that decoded it, as soon as it is
    /// decoded, and its records let go. When `recordingAsRead`, each case read is being recorded
    /// as read for the authority's day team (``ReadRecording``) as the package is returned.
    private func buildPackage(
        _ authority: String, opensAt: Instant, recordingAsRead: Bool
    ) async throws(Unavailable) -> (package: HandoverPackage, recording: ReadRecording?) {
        let carriedOver = Set(
            try await storageCall { () async throws(CentralError) in
                try await storage.handedOverUnaccepted(to: authority, before: opensAt)
            })
        let builder: HandoverPackage.Builder
        do {
            builder = try HandoverPackage.Builder(
                authority: authority, at: opensAt, carriedOver: carriedOver, directory: directory,
                centreKey: storage.publicKey, routing: routing)
        } catch {
            throw Unavailable(message: error.message, isStorage: false)
        }
        var batches = try await storageCall { () async throws(CentralError) in
            try await storage.unacceptedCases(of: authority) { builder.read($0) }
        }
        // A case handed over earlier is carried over even when it no longer names the authority
        // (its host was corrected since): it was handed over and nobody has accepted it. Each
        // such case is read into the package as soon as it is decoded, and let go, as a batch of
        // its own: however many there are, one is held at a time.
        let listed = carriedOver.isEmpty ? [] : Set(batches.lazy.flatMap(\.ids))
        for id in carriedOver.sorted(by: { $0.rawValue < $1.rawValue }) where !listed.contains(id) {
            if let record = try await storageCall({ () async throws(CentralError) in try await storage.storedCase(id) })
            {
                batches.append(builder.read(CollectionOfOne(record)))
            }
        }
        // Each case the package read is recorded as read for the authority's day team before
        // the package is given out: written while its documents are made, and awaited.
        let recording = recordingAsRead ? ReadRecording(batches.flatMap(\.ids), of: authority, in: storage) : nil
        let package = builder.package(batches)
        BackgroundRelease.drop(consume batches)
        return (package, recording)
    }

    /// Records each of `ids` as read by `reader`: nil once recorded, else the failure.
    fileprivate static func audit(
        _ ids: [RecordID], by reader: AuditActor, in storage: any CentralStorage
    ) async -> CentralError? {
        do throws(CentralError) {
            try await storage.audit(ids, by: reader)
            return nil
        } catch {
            return error
        }
    }

    /// The authority `code` names; refused when it is not known.
    private func known(_ code: String) throws(Unavailable) -> Authority {
        guard let authority = directory.authority(code) else {
            throw Unavailable(
                message:
                    "\(code) is not a known authority; `edt authority list` names them, or add it to the authorities file",
                isStorage: false)
        }
        return authority
    }

    private func storageCall<T>(_ body: () async throws(CentralError) -> T) async throws(Unavailable) -> T {
        do {
            return try await body()
        } catch {
            throw Unavailable(message: error.message, isStorage: true)
        }
    }
}
