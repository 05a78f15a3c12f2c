import CoreMetrics
import Prometheus
import SQLiteMessageStore

/// Where the service records its metrics, and the registry that `GET /metrics` writes out.
///
/// Each application has its own (the tests build many at once in one process), so nothing
/// here touches swift-metrics' global `MetricsSystem`: every part that measures is handed
/// ``factory`` explicitly. With metrics off the factory records nothing and there is no
/// registry, so `/metrics` is not served.
public struct ServiceMetrics: Sendable {
    /// Where every part of the service records: a Prometheus factory over ``registry``, or one
    /// that records nothing when metrics are off.
    public let factory: any MetricsFactory
    /// What `GET /metrics` writes out; `nil` when metrics are off.
    public let registry: PrometheusCollectorRegistry?
    /// Whether `GET /metrics` answers without credentials.
    public let isPublic: Bool

    /// A registry of its own when `settings` enable metrics, with this service's buckets.
    public init(_ settings: AppConfiguration.Metrics) {
        isPublic = settings.isPublic
        guard settings.isEnabled else {
            factory = NOOPMetricsHandler.instance
            registry = nil
            return
        }
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.durationBuckets
        factory.valueHistogramBuckets = [SQLiteMessageStore.groupCommitBatchSizeMetric: Self.batchSizeBuckets]
        self.factory = factory
        self.registry = registry
    }

    /// Every latency histogram's buckets: a POST on SQLite takes about a millisecond and a
    /// cached GET a tenth of one, while a DynamoDB call may take seconds before its 5 s deadline.
    static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// Writes per group commit: powers of two up to the writer's largest batch (256).
    static let batchSizeBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256]
}

/// The names of the metrics this module records (the stores' own are named beside them:
/// the SQLite store's group-commit batch sizes, the DynamoDB client's retries and throttles).
enum MetricName {
    static let httpRequests = "qualia_webhook_http_requests_total"
    static let httpRequestDuration = "qualia_webhook_http_request_duration_seconds"
    static let storeCalls = "qualia_webhook_store_calls_total"
    static let storeCallDuration = "qualia_webhook_store_call_duration_seconds"
    static let authFailures = "qualia_webhook_auth_failures_total"
    static let authLockouts = "qualia_webhook_auth_lockouts_total"
    static let authRefusedDuringLockout = "qualia_webhook_auth_refused_during_lockout_total"
    static let feedSubscribers = "qualia_webhook_feed_subscribers"
    static let feedLag = "qualia_webhook_feed_lag_seconds"
    static let archiveQueueDepth = "qualia_webhook_archive_queue_depth"
    static let archiveFailures = "qualia_webhook_archive_failures_total"
    static let tlsHandshakeFailures = "qualia_webhook_tls_handshake_failures_total"
    static let tlsReloads = "qualia_webhook_tls_reloads_total"
    static let tlsCertificateExpiration = "qualia_webhook_tls_certificate_expiration_timestamp_seconds"
}

extension CoreMetrics.Timer {
    /// Records the time from `start` to now.
    func recordElapsed(since start: ContinuousClock.Instant) {
        let elapsed = (ContinuousClock.now - start).components
        recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
    }
}
