import AWSSigning
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// A small Amazon S3 client: the few object operations the attachment archive needs, signed
/// with SigV4 over one pooled `HTTPClient`, retrying 5xx, `SlowDown` and connection failures
/// with backoff.
///
/// Create one per process and call ``shutdown()`` when done.
public final class S3Client: Sendable {
    /// The client's addressing (endpoint and style), signing and retry settings.
    let configuration: Configuration
    /// Where requests go and how buckets are named in them.
    let addressing: S3Addressing
    /// Where credentials come from.
    let credentialProvider: any CredentialProvider
    /// The connection pool.
    let httpClient: HTTPClient
    /// Whether ``shutdown()`` closes `httpClient` (only when this client created it).
    private let ownsHTTPClient: Bool
    /// Keeps the day's derived signing key.
    let keyCache = SigningKeyCache()
    /// Where the client logs retries.
    let logger: Logger

    /// Creates a client.
    /// - Parameters:
    ///   - httpClient: A pool to share; `nil` for one of the client's own, closed by ``shutdown()``.
    /// - Throws: ``S3Error`` when the endpoint is not an http or https URL.
    public init(configuration: Configuration, credentialProvider: any CredentialProvider, httpClient: HTTPClient? = nil, logger: Logger) throws {
        self.configuration = configuration
        self.addressing = try S3Addressing(region: configuration.region, endpoint: configuration.endpoint)
        self.credentialProvider = credentialProvider
        self.logger = logger
        if let httpClient {
            self.httpClient = httpClient
            ownsHTTPClient = false
        } else {
            var httpConfiguration = HTTPClient.Configuration()
            httpConfiguration.timeout = .init(connect: configuration.connectTimeout, read: configuration.readTimeout)
            httpConfiguration.connectionPool = .init(idleTimeout: .seconds(50))
            // A signed request is never sent on to another host.
            httpConfiguration.redirectConfiguration = .disallow
            self.httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: httpConfiguration)
            ownsHTTPClient = true
        }
    }

    /// Closes the client's own connection pool (a shared one is left to its owner). The
    /// client is not used afterwards.
    public func shutdown() async throws {
        if ownsHTTPClient { try await httpClient.shutdown() }
    }

    /// A client dropped without ``shutdown()`` still closes its own pool, in the background
    /// (see `DynamoDBClient`'s `deinit`); a shared pool is left to its owner.
    deinit {
        if ownsHTTPClient { httpClient.shutdown { _ in } }
    }
}
