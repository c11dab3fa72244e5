public import Hummingbird
import NIOCore
public import Prometheus

/// `GET /metrics`: the centre's figures (``CentralMetrics``) in the Prometheus text format
/// (version 0.0.4), from a ``Prometheus/PrometheusCollectorRegistry`` of the endpoint's own,
/// never the process's global one, so that each centre in a process counts only its own.
///
/// ``CentralServer`` serves it on a listener of its own (``CentralServer/Configuration/metricsAddress``),
/// not on the port laptops reach: it needs no authentication there, and an operator keeps it on
/// loopback (or a management network).
public struct MetricsEndpoint: Sendable {
    /// The path: `/metrics`.
    public static let path = "/metrics"
    /// The media type of the answer: Prometheus's text format.
    public static let mediaType = "text/plain; version=0.0.4; charset=utf-8"

    /// The registry the figures are kept in.
    public let registry: PrometheusCollectorRegistry
    /// The figures, made by a factory over ``registry``: what the parts that record are given.
    public let metrics: CentralMetrics

    /// An endpoint over `registry` (a new one by default). Timers are histograms with buckets
    /// fitting what they time: a sync from 5 ms to 2 minutes, a storage call from 0.1 ms to 10 s.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[CentralMetrics.syncDuration] = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10),
            .seconds(30), .seconds(60), .seconds(120),
        ]
        factory.durationHistogramBuckets[CentralMetrics.storageDuration] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2_500),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(10),
        ]
        metrics = CentralMetrics(factory: factory)
    }

    /// Every figure, in the Prometheus text format.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }

    /// Adds `GET /metrics` to `router`.
    public func register<Context: RequestContext>(on router: Router<Context>) {
        let registry = self.registry
        router.get(RouterPath(stringLiteral: Self.path)) { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = Self.mediaType
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }
}
