import Foundation
import Logging

/// Remembers credentials and fetches new ones shortly before they expire.
///
/// Concurrent callers share one fetch. Long-term credentials (no expiry) are fetched once.
///
/// A fetch runs under the ``Deadline`` of the caller that started it (the task-local
/// ``Deadline/current``, inherited by the fetching task). A caller joins a running fetch only
/// when that fetch's deadline is no later than its own, so no caller ever waits past its
/// deadline for a fetch started by another. Otherwise it takes the cached credentials while
/// they have not expired yet (a refresh starts `refreshMargin` before they do), and only
/// without them starts a fetch of its own.
///
/// A refresh that fails while the cached credentials have not expired yet is not the
/// caller's failure: the cached ones are used, a warning is logged, and the next call tries
/// again (botocore's advisory refresh). Only once they have expired does the error reach the
/// caller: an STS or credential process outage of a minute must not fail requests that still
/// hold minutes of valid credentials.
public actor CachingCredentialProvider: CredentialProvider {
    /// A fetch under way, and the deadline it runs under (`nil`: none).
    private struct Refresh {
        var task: Task<AWSCredentials, any Error>
        var deadline: Deadline?
    }

    private let source: any CredentialProvider
    private let refreshMargin: Duration
    private let now: @Sendable () -> Date
    private let logger: Logger?
    private var cached: AWSCredentials?
    private var refreshing: Refresh?

    /// Creates a cache in front of `source`.
    /// - Parameters:
    ///   - refreshMargin: How long before expiry new credentials are fetched.
    ///   - now: The clock, so tests can move time.
    ///   - logger: Where a failed refresh that the cached credentials outlive is reported.
    public init(
        _ source: any CredentialProvider, refreshMargin: Duration = .seconds(300), now: @escaping @Sendable () -> Date = Date.init,
        logger: Logger? = nil
    ) {
        self.source = source
        self.refreshMargin = refreshMargin
        self.now = now
        self.logger = logger
    }

    public func credentials() async throws -> AWSCredentials {
        if let cached, !needsRefresh(cached) { return cached }
        let deadline = Deadline.current
        if let refreshing {
            if Self.finishesInTime(refreshing.deadline, for: deadline) { return try await outcome(of: refreshing.task) }
            if let cached, !hasExpired(cached) { return cached }
        }
        // `Task` inherits task-local values, so the fetch runs under this caller's deadline.
        let task = Task { [source] in try await source.credentials() }
        refreshing = Refresh(task: task, deadline: deadline)
        defer { if refreshing?.task == task { refreshing = nil } }
        return try await outcome(of: task)
    }

    /// The fetch's credentials, now cached; or, when it fails, the cached ones while they
    /// have not expired.
    private func outcome(of task: Task<AWSCredentials, any Error>) async throws -> AWSCredentials {
        do {
            let fresh = try await task.value
            cached = fresh
            return fresh
        } catch {
            // Read after the wait: another caller's fetch may have cached newer ones meanwhile.
            guard let cached, !hasExpired(cached) else { throw error }
            var metadata: Logger.Metadata = ["error": .string("\(error)")]
            if let expiration = cached.expiration {
                metadata["expires_in_seconds"] = .stringConvertible(Int(expiration.timeIntervalSince(now())))
            }
            logger?.warning("AWS credentials refresh failed; using the cached credentials until they expire", metadata: metadata)
            return cached
        }
    }

    /// Forgets `rejected` and fetches anew, whatever its expiry says: AWS refused it as expired
    /// (the source's clock or its expiry time was wrong, or the token was revoked).
    ///
    /// Callers that were refused together share one fetch: once the cache holds other
    /// credentials than `rejected` (another caller's fetch replaced them), those are the
    /// answer, and a fetch already under way is joined as ``credentials()`` joins it.
    public func refreshedCredentials(replacing rejected: AWSCredentials) async throws -> AWSCredentials {
        if cached == rejected { cached = nil }
        return try await credentials()
    }

    /// Whether a fetch under `fetchDeadline` ends by `callerDeadline`.
    private static func finishesInTime(_ fetchDeadline: Deadline?, for callerDeadline: Deadline?) -> Bool {
        guard let callerDeadline else { return true }
        guard let fetchDeadline else { return false }
        return fetchDeadline <= callerDeadline
    }

    private func hasExpired(_ credentials: AWSCredentials) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return expiration <= now()
    }

    private func needsRefresh(_ credentials: AWSCredentials) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        let margin = Double(refreshMargin.components.seconds)
        return expiration.timeIntervalSince(now()) <= margin
    }
}
