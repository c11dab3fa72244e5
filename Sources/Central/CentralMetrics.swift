public import CoreMetrics
import LineProtocol

/// The centre's operational figures (`GET /metrics`, `Docs/CLI.md`), recorded through
/// swift-metrics with the factory they are made from: ``CentralServer`` makes them from a
/// Prometheus registry of its own, so several centres in one process never share figures;
/// ``disabled`` records nothing.
///
/// The figures count and time, and carry no case data: no case id, no name, no device id; their
/// labels are results, reasons and storage operations from fixed lists. Which device synced when
/// is `edt central devices`, not a metric.
///
/// ```swift
/// let metrics = CentralMetrics(factory: PrometheusMetricsFactory(registry: registry))
/// metrics.counted(.ok)
/// metrics.refused(.record, reason: "forbidden")
/// ```
public struct CentralMetrics: Sendable {
    /// How a sync request (`POST /v1/sync`) or a relay (`POST /v1/relay`) ended.
    public enum Result: String, Sendable, CaseIterable {
        /// Answered `200` with its reply written out whole (records refused in it included).
        case ok
        /// Refused before its reply: `401`, `403`, `400`, `409`, `413`.
        case refused
        /// The centre failed (`503`: its database), or the connection did (a body that broke off, a
        /// reply cut short).
        case failed
    }

    /// What a refusal refused.
    public enum Level: String, Sendable, CaseIterable {
        /// A whole request, with a status other than `200` (its reason from ``requestReasons``).
        case request
        /// One record of a push or a relayed bundle, in a `NAK` (its reason the `NAK`'s code).
        case record
    }

    /// `edt_syncs_total{result}`: sync requests, by ``Result``.
    public static let syncs = "edt_syncs_total"
    /// `edt_relays_total{result}`: relayed bundles, by ``Result``.
    public static let relays = "edt_relays_total"
    /// `edt_records_in_total`: records stored, pushed or relayed (each `ACK`).
    public static let recordsIn = "edt_records_in_total"
    /// `edt_records_out_total`: cases sent in replies' pulls.
    public static let recordsOut = "edt_records_out_total"
    /// `edt_refusals_total{level, reason}`: refusals, by ``Level`` and reason.
    public static let refusals = "edt_refusals_total"
    /// `edt_sync_duration_seconds`: a sync request, from its arrival to the last byte of its
    /// answer (histogram).
    public static let syncDuration = "edt_sync_duration_seconds"
    /// `edt_storage_duration_seconds{operation}`: each call to the central storage, by its
    /// operation (``TimedCentralStorage``; histogram).
    public static let storageDuration = "edt_storage_duration_seconds"

    /// The reasons a whole request is refused for, as counted: those of ``DeviceAuthenticator``
    /// (``DeviceAuthenticator/Refusal``), then a body that is not a valid push or bundle signed for
    /// this request (`bad-request`), one too large (`too-large`), a cursor this database did not
    /// issue or is behind (`start-over`), a relayed bundle refused whole (`refused`), a push
    /// refused while the centre holds all the pushes it may (`push-budget`, ``PushBudget``), and
    /// `other` for any reason a later version adds.
    public static let requestReasons: [String] =
        DeviceAuthenticator.Refusal.allCases.map(\.rawValue) + [
            CentralError.Code.badRequest.rawValue, CentralError.Code.tooLarge.rawValue,
            CentralError.Code.startOver.rawValue, CentralError.Code.refused.rawValue, PushBudget.refusalReason,
            "other",
        ]

    /// The reasons a record is refused for, as counted: the `NAK` codes of this version; a code
    /// it does not know is counted as `other`.
    public static let recordReasons: [String] =
        [
            RejectionReason.invalid, .forbidden, .revoked, .conflictOfState, .tooLarge, .internal, .unprovenWrite,
            .unseenWrites,
        ].map(\.code) + ["other"]

    /// Records nothing.
    public static let disabled = CentralMetrics(factory: NOOPMetricsHandler.instance)

    let factory: any MetricsFactory
    private let syncCounters: [Result: Counter]
    private let relayCounters: [Result: Counter]
    private let recordsInCounter: Counter
    private let recordsOutCounter: Counter
    private let refusalCounters: [Level: [String: Counter]]
    private let syncTimer: CoreMetrics.Timer

    /// Figures made by `factory`. Every result and reason starts at 0, so each series exists
    /// before its first event.
    public init(factory: any MetricsFactory) {
        self.factory = factory
        func counters<Key: RawRepresentable<String> & CaseIterable & Hashable>(
            _ label: String, _ dimension: String, _: Key.Type
        ) -> [Key: Counter] {
            Dictionary(
                uniqueKeysWithValues: Key.allCases.map {
                    ($0, Counter(label: label, dimensions: [(dimension, $0.rawValue)], factory: factory))
                })
        }
        syncCounters = counters(Self.syncs, "result", Result.self)
        relayCounters = counters(Self.relays, "result", Result.self)
        recordsInCounter = Counter(label: Self.recordsIn, factory: factory)
        recordsOutCounter = Counter(label: Self.recordsOut, factory: factory)
        var refusals: [Level: [String: Counter]] = [:]
        for (level, reasons) in [(Level.request, Self.requestReasons), (.record, Self.recordReasons)] {
            for reason in reasons {
                refusals[level, default: [:]][reason] = Counter(
                    label: Self.refusals, dimensions: [("level", level.rawValue), ("reason", reason)], factory: factory)
            }
        }
        refusalCounters = refusals
        syncTimer = CoreMetrics.Timer(label: Self.syncDuration, factory: factory)
    }

    /// Counts a sync request that ended with `result`.
    public func countSync(_ result: Result) { syncCounters[result]?.increment() }

    /// Counts a relayed bundle that ended with `result`.
    public func countRelay(_ result: Result) { relayCounters[result]?.increment() }

    /// Counts `count` records stored.
    public func countRecordsIn(_ count: Int) { if count > 0 { recordsInCounter.increment(by: count) } }

    /// Counts `count` cases sent in a reply.
    public func countRecordsOut(_ count: Int) { if count > 0 { recordsOutCounter.increment(by: count) } }

    /// Counts a refusal at `level` for `reason`; a reason not in its level's list counts as
    /// `other` (so the labels stay a fixed list, whatever a later version sends).
    public func countRefusal(_ level: Level, reason: String) {
        let counters = refusalCounters[level] ?? [:]
        (counters[reason] ?? counters["other"])?.increment()
    }

    /// Counts each record refused among `outcomes`, under its `NAK` reason, and the stored ones
    /// as records in.
    public func countOutcomes(_ outcomes: [StoredOutcome]) {
        var stored = 0
        for outcome in outcomes {
            switch outcome {
            case .stored: stored += 1
            case .rejected(_, let rejection): countRefusal(.record, reason: rejection.reason.code)
            }
        }
        countRecordsIn(stored)
    }

    /// Records how long a sync request took.
    public func timeSync(_ duration: Duration) { syncTimer.recordNanoseconds(duration.nanoseconds) }

    /// A timer of storage calls of `operation` (``storageDuration``).
    func storageTimer(_ operation: String) -> CoreMetrics.Timer {
        CoreMetrics.Timer(label: Self.storageDuration, dimensions: [("operation", operation)], factory: factory)
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        return product.addingReportingOverflow(attoseconds / 1_000_000_000).overflow
            ? .max : product + attoseconds / 1_000_000_000
    }
}
