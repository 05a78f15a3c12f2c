/// How a loop that tries again after each failure logs them: the first failure of an outage,
/// then every hundredth, so a long outage does not flood the log.
struct RetryLogging: Sendable {
    /// Failures since the last success.
    private(set) var failures = 0

    /// Counts a failure; true when this one is to be logged.
    mutating func failed() -> Bool {
        failures += 1
        return failures == 1 || failures % 100 == 0
    }

    /// Counts a success; returns how many failures it ends (0 when there were none).
    mutating func succeeded() -> Int {
        defer { failures = 0 }
        return failures
    }
}
