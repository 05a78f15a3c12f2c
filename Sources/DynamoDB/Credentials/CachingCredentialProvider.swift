import Foundation

/// Remembers credentials and fetches new ones shortly before they expire.
///
/// Concurrent callers share one fetch. Long-term credentials (no expiry) are fetched once.
public actor CachingCredentialProvider: CredentialProvider {
    private let source: any CredentialProvider
    private let refreshMargin: Duration
    private let now: @Sendable () -> Date
    private var cached: AWSCredentials?
    private var refreshing: Task<AWSCredentials, any Error>?

    /// Creates a cache in front of `source`.
    /// - Parameters:
    ///   - refreshMargin: How long before expiry new credentials are fetched.
    ///   - now: The clock, so tests can move time.
    public init(_ source: any CredentialProvider, refreshMargin: Duration = .seconds(300), now: @escaping @Sendable () -> Date = Date.init) {
        self.source = source
        self.refreshMargin = refreshMargin
        self.now = now
    }

    public func credentials() async throws -> AWSCredentials {
        if let cached, !needsRefresh(cached) { return cached }
        if let refreshing { return try await refreshing.value }
        let task = Task { [source] in try await source.credentials() }
        refreshing = task
        defer { refreshing = nil }
        let fresh = try await task.value
        cached = fresh
        return fresh
    }

    private func needsRefresh(_ credentials: AWSCredentials) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        let margin = Double(refreshMargin.components.seconds)
        return expiration.timeIntervalSince(now()) <= margin
    }
}
