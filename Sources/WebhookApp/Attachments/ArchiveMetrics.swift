import CoreMetrics

/// What ``AttachmentArchiver`` records: how many jobs wait in the store's ledger (a gauge,
/// sampled every ``AttachmentArchiver/Settings/queueSamplingInterval``) and its failed attempts by kind (`retried`: another attempt is scheduled;
/// `given_up`: the job ended without its file).
struct ArchiveMetrics: Sendable {
    /// What became of a failed attempt, as its `kind` label.
    enum FailureKind: String, CaseIterable, Sendable {
        case retried
        case givenUp = "given_up"
    }

    private let queueDepth: Gauge
    private let failures: [FailureKind: Counter]

    /// Makes every series in `factory` now.
    init(factory: any MetricsFactory) {
        queueDepth = Gauge(label: MetricName.archiveQueueDepth, factory: factory)
        failures = Dictionary(
            uniqueKeysWithValues: FailureKind.allCases.map {
                ($0, Counter(label: MetricName.archiveFailures, dimensions: [("kind", $0.rawValue)], factory: factory))
            }
        )
    }

    /// Records the number of jobs waiting now.
    func recordQueueDepth(_ jobs: Int) { queueDepth.record(jobs) }

    /// Counts one failed attempt.
    func recordFailure(_ kind: FailureKind) { failures[kind]?.increment() }
}
