import Synchronization

/// Counts failed authentications per client address and locks an address out for a while
/// once it fails too often, so credentials cannot be guessed at speed. Other addresses, and
/// clients that authenticate, are never slowed down.
final class AuthFailureLimiter: Sendable {
    /// When an address is locked out.
    struct Policy: Sendable {
        /// Failures within `window` that lock an address out.
        var limit: Int
        /// How far back failures count.
        var window: Duration
        /// How long a lockout lasts.
        var lockout: Duration
    }

    private struct Record {
        var failures: [ContinuousClock.Instant] = []
        var lockedUntil: ContinuousClock.Instant?
    }

    /// The most addresses tracked at once; beyond it, the quietest are forgotten first.
    static let maximumTrackedAddresses = 10_000

    let policy: Policy
    private let records = Mutex<[String: Record]>([:])

    init(policy: Policy) {
        self.policy = policy
    }

    /// How long `address` stays locked out, or `nil` when it may try.
    func lockoutRemaining(for address: String, now: ContinuousClock.Instant = .now) -> Duration? {
        records.withLock { records in
            guard let until = records[address]?.lockedUntil, until > now else { return nil }
            return until - now
        }
    }

    /// Records a failure; returns `true` when it locks the address out.
    func recordFailure(for address: String, now: ContinuousClock.Instant = .now) -> Bool {
        records.withLock { records in
            if records.count >= Self.maximumTrackedAddresses && records[address] == nil {
                forgetQuietest(&records, now: now)
            }
            var record = records[address] ?? Record()
            record.failures = record.failures.filter { now - $0 < policy.window } + [now]
            var lockedNow = false
            if record.failures.count >= policy.limit {
                record.lockedUntil = now + policy.lockout
                record.failures.removeAll()
                lockedNow = true
            }
            records[address] = record
            return lockedNow
        }
    }

    /// Forgets an address's failures once it authenticates.
    func recordSuccess(for address: String) {
        records.withLock { records in
            if records[address]?.lockedUntil == nil { records[address] = nil }
        }
    }

    private func forgetQuietest(_ records: inout [String: Record], now: ContinuousClock.Instant) {
        records = records.filter { _, record in
            (record.lockedUntil.map { $0 > now } ?? false) || record.failures.contains { now - $0 < policy.window }
        }
        if records.count >= Self.maximumTrackedAddresses, let quietest = records.min(by: { ($0.value.failures.last ?? now) < ($1.value.failures.last ?? now) }) {
            records[quietest.key] = nil
        }
    }
}
