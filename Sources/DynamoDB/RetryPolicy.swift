/// How retryable failures are retried: exponential backoff with full jitter, bounded both in
/// attempts and in total time (AWS's "Exponential Backoff And Jitter").
///
/// The time bound is a ``Deadline``: one call's attempts, backoffs and credential fetches all
/// end by `maxTotalDuration` after the call starts, or by the caller's own deadline when that is
/// earlier (see ``Deadline/run(isolation:_:)``).
public struct RetryPolicy: Sendable, Hashable {
    /// The most attempts in all, the first included.
    public var maxAttempts: Int
    /// The backoff ceiling of the first retry; it doubles for each later one.
    public var baseDelay: Duration
    /// The largest backoff ceiling.
    public var maxDelay: Duration
    /// How long one call may take in all: no attempt runs past it and no retry starts whose
    /// wait would end after it.
    public var maxTotalDuration: Duration

    /// Creates a policy.
    public init(maxAttempts: Int = 4, baseDelay: Duration = .milliseconds(50), maxDelay: Duration = .seconds(1), maxTotalDuration: Duration = .seconds(5)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxTotalDuration = maxTotalDuration
    }

    /// Never retry.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// A random wait before retry number `retry` (1 for the first): anything from zero up to
    /// `min(maxDelay, baseDelay × 2^(retry-1))`.
    public func delay(beforeRetry retry: Int) -> Duration {
        let ceiling = min(maxDelay, baseDelay * (1 << min(max(retry - 1, 0), 20)))
        let nanoseconds = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
        return .nanoseconds(Int64.random(in: 0...max(0, nanoseconds)))
    }
}
