import CoreMetrics

/// What ``BasicAuthMiddleware`` counts: failed authentications by reason, lockouts begun,
/// and requests refused while locked out. No label ever holds a user name or an address.
struct AuthMetrics: Sendable {
    /// Why an authentication failed, as its `reason` label.
    enum FailureReason: String, CaseIterable, Sendable {
        /// No usable Basic credentials: no `Authorization`, another scheme, or malformed.
        case missing
        /// A user name that is not configured.
        case unknownUser = "unknown_user"
        /// A configured user name with a wrong password.
        case wrongPassword = "wrong_password"
    }

    private let failures: [FailureReason: Counter]
    private let lockouts: Counter
    private let refusedDuringLockout: Counter

    /// Makes every series in `factory` now, at zero.
    init(factory: any MetricsFactory) {
        failures = Dictionary(
            uniqueKeysWithValues: FailureReason.allCases.map {
                ($0, Counter(label: MetricName.authFailures, dimensions: [("reason", $0.rawValue)], factory: factory))
            }
        )
        lockouts = Counter(label: MetricName.authLockouts, factory: factory)
        refusedDuringLockout = Counter(label: MetricName.authRefusedDuringLockout, factory: factory)
    }

    /// Counts one failed authentication.
    func recordFailure(_ reason: FailureReason) { failures[reason]?.increment() }

    /// Counts one lockout begun (the failure that reached the limit).
    func recordLockout() { lockouts.increment() }

    /// Counts one request refused because its address and user name are locked out.
    func recordRefusalDuringLockout() { refusedDuringLockout.increment() }
}
