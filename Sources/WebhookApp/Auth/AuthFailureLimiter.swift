import Synchronization

/// Counts failed authentications and locks a client out for a while once it fails too often,
/// so credentials cannot be guessed at speed.
///
/// Failures are counted per ``Key``: the client address together with the configured user
/// name the request presented, or, for every user name that is not configured (and for
/// requests without credentials), one shared record per address. So:
/// - someone who does not know a configured user name only ever locks the shared record, and
///   can never make a request with correct credentials fail, even from the same address (all
///   clients share one behind a proxy that is not named in `CLIENT_ADDRESS_HEADER`);
/// - someone guessing the password of a configured user name locks that user name at that
///   address, which then refuses the right password too: that is the protection, and its
///   price where the real sender shares the address;
/// - varying the user name creates no new records.
///
/// A success forgets its record. A lockout that has ended leaves nothing behind: the next
/// failure starts a new count. Every call is O(1) under one short lock, and memory is bounded
/// by ``AuthFailureTable``'s capacity.
final class AuthFailureLimiter: Sendable {
    /// When a record locks.
    struct Policy: Sendable {
        /// Failures within `window` that lock a record.
        var limit: Int
        /// How long failures count: from a record's first failure, after which the count
        /// starts again at the next failure.
        var window: Duration
        /// How long a lockout lasts.
        var lockout: Duration
    }

    /// Whose failures a record counts.
    struct Key: Hashable, Sendable {
        /// The client address.
        var address: String
        /// The configured user name presented, or `nil` for any other user name and for
        /// requests without credentials.
        var username: CredentialVerifier.ConfiguredUsername?
    }

    /// The failures of one key in its current window, and its lockout.
    struct Record: Sendable {
        var windowStart: ContinuousClock.Instant
        var failures = 0
        var lockedUntil: ContinuousClock.Instant?
    }

    /// The most records kept at once unless told otherwise: about 18 MB of them with IPv4
    /// addresses (see BENCHMARKS.md), a few MB more with long IPv6 ones.
    static let defaultCapacity = 100_000

    let policy: Policy
    private let table: Mutex<AuthFailureTable>

    /// Creates a limiter that keeps at most `capacity` records.
    init(policy: Policy, capacity: Int = AuthFailureLimiter.defaultCapacity) {
        self.policy = policy
        table = Mutex(AuthFailureTable(capacity: capacity))
    }

    /// How many records are kept.
    var count: Int { table.withLock { $0.count } }

    /// How long `key` stays locked out, or `nil` when it may try.
    func lockoutRemaining(for key: Key, now: ContinuousClock.Instant = .now) -> Duration? {
        table.withLock { table in
            guard let until = table[key]?.lockedUntil else { return nil }
            guard until > now else {
                table.remove(key)
                return nil
            }
            return until - now
        }
    }

    /// Records a failure; returns `true` when it locks `key` out.
    func recordFailure(for key: Key, now: ContinuousClock.Instant = .now) -> Bool {
        table.withLock { table in
            var record = table[key] ?? Record(windowStart: now)
            if let until = record.lockedUntil {
                // Locked already (a request that raced the one that locked): nothing to add.
                guard until <= now else { return false }
                record = Record(windowStart: now)
            } else if now - record.windowStart >= policy.window {
                record = Record(windowStart: now)
            }
            record.failures += 1
            let locks = record.failures >= policy.limit
            if locks { record.lockedUntil = now + policy.lockout }
            table.store(record, for: key, now: now)
            return locks
        }
    }

    /// Forgets the failures of `key` once it authenticates.
    func recordSuccess(for key: Key) {
        table.withLock { $0.remove(key) }
    }
}
