import AWSSigning
import AsyncHTTPClient
import Logging

extension S3Client {
    /// A client configured as the AWS SDKs configure one from the environment: the endpoint
    /// from `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` (see
    /// ``Configuration/endpointOverride(in:)``), credentials from the SDKs' chain
    /// (environment, shared files, container, instance metadata), cached and refreshed
    /// before temporary ones expire.
    /// - Parameters:
    ///   - region: The region, such as `us-east-1`.
    ///   - environment: The `AWS_*` variables (and `HOME`) to read.
    ///   - configure: Changes to the rest of the configuration (thresholds, retries).
    ///   - httpClient: A pool to share; `nil` for one of the client's own.
    ///   - withheldFromProcesses: Variables a `credential_process` program never sees (the
    ///     service's own secrets).
    /// - Throws: ``S3Error`` when the endpoint is not an http or https URL.
    public convenience init(
        region: String, environment: [String: String], configure: (inout Configuration) -> Void = { _ in }, httpClient: HTTPClient? = nil,
        withheldFromProcesses: Set<String> = [], logger: Logger
    ) throws {
        var configuration = Configuration(region: region, endpoint: Configuration.endpointOverride(in: environment))
        configure(&configuration)
        let chain = CredentialProviderChain.default(
            environment: environment, httpClient: HTTPCredentialClient(httpClient: .shared), withheldFromProcesses: withheldFromProcesses,
            logger: logger
        )
        try self.init(
            configuration: configuration, credentialProvider: CachingCredentialProvider(chain, logger: logger), httpClient: httpClient, logger: logger
        )
    }
}
