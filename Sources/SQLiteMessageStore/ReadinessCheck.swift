import MessageStore

/// A store's readiness check, run at most once per interval however often it is asked.
///
/// Load balancers probe `/ready` every few seconds from every node; a check that writes (and
/// syncs) must not run that often. Callers inside the interval get the last outcome;
/// callers that arrive while a check runs wait for that same check.
actor ReadinessCheck {
    private let interval: Duration
    private var lastOutcome: (at: ContinuousClock.Instant, failure: MessageStoreError?)?
    private var running: Task<MessageStoreError?, Never>?

    /// - Parameter interval: How long an outcome stands before the check runs again.
    init(interval: Duration) {
        self.interval = interval
    }

    /// Returns when the store is ready: runs `check` unless an outcome at most `interval`
    /// old stands, or a check is already running.
    /// - Throws: ``MessageStoreError`` when that outcome is a failure.
    func requireReady(by check: @escaping @Sendable () async throws -> Void) async throws {
        if let lastOutcome, ContinuousClock.now - lastOutcome.at < interval {
            if let failure = lastOutcome.failure { throw failure }
            return
        }
        let task = running ?? Task {
            do {
                try await check()
                return nil
            } catch let error as MessageStoreError {
                return error
            } catch {
                return MessageStoreError.unavailable(String(describing: error))
            }
        }
        running = task
        let failure = await task.value
        if running == task {
            running = nil
            lastOutcome = (.now, failure)
        }
        if let failure { throw failure }
    }

    /// Forgets the last outcome, so that the next caller checks again (after a write failed).
    func invalidate() {
        lastOutcome = nil
    }
}
