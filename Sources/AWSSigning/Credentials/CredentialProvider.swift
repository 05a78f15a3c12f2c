import Foundation
import Logging
import Synchronization

/// Somewhere AWS credentials come from.
public protocol CredentialProvider: Sendable {
    /// Current credentials.
    /// - Throws: ``CredentialError`` when this source has none or cannot be reached.
    func credentials() async throws -> AWSCredentials

    /// Credentials other than `rejected`, which AWS refused as expired (`ExpiredTokenException`)
    /// before they said they would: fetched anew from the source even where a cache still
    /// holds them. A provider that keeps nothing answers as ``credentials()`` does.
    /// - Throws: ``CredentialError`` when this source has none or cannot be reached.
    func refreshedCredentials(replacing rejected: AWSCredentials) async throws -> AWSCredentials
}

extension CredentialProvider {
    /// Asks again: a provider that keeps nothing fetches anew on every call.
    public func refreshedCredentials(replacing rejected: AWSCredentials) async throws -> AWSCredentials {
        try await credentials()
    }
}

/// Why no credentials could be found. Never carries a secret.
public struct CredentialError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public var reason: String
    /// Whether the source was set up to give credentials and failed (STS refused the role, the
    /// credential process exited 1, the profiles loop), rather than not being set up at all.
    /// A ``CredentialProviderChain`` stops at such a failure, as the AWS SDKs do, instead of
    /// going on to a source the operator did not choose.
    public var isConfiguredSourceFailure: Bool

    /// Creates an error; by default the source was not set up.
    public init(_ reason: String, isConfiguredSourceFailure: Bool = false) {
        self.reason = reason
        self.isConfiguredSourceFailure = isConfiguredSourceFailure
    }

    /// A source that was set up to give credentials failed to.
    public static func configuredSourceFailed(_ reason: String) -> CredentialError {
        CredentialError(reason, isConfiguredSourceFailure: true)
    }

    public var description: String { "AWS credentials: \(reason)" }
}

/// Tries providers in order and uses the first that has credentials.
///
/// A provider that is not set up (its error is not a
/// ``CredentialError/isConfiguredSourceFailure``) passes to the next; one that is set up and
/// fails ends the search with its error, as in the AWS SDKs: a role that STS refuses must not
/// quietly become the instance's role.
///
/// With a logger, the source that answered is logged (`credential_source`) the first time,
/// and again only when another source answers later, never the credentials themselves.
public struct CredentialProviderChain: CredentialProvider {
    private let providers: [(name: String, provider: any CredentialProvider)]
    private let profileEnvironment: [String: String]?
    private let sourceLog: SourceLog?

    /// Creates a chain.
    /// - Parameters:
    ///   - providers: The sources, in order, each with the name logs and errors give it.
    ///   - profileEnvironment: When set, the variables whose `AWS_PROFILE`, if set, must name a
    ///     profile of the shared files (see ``SharedConfigFiles``), else no source is tried.
    ///   - logger: Where the source that answered is reported.
    public init(
        _ providers: [(name: String, provider: any CredentialProvider)], profileEnvironment: [String: String]? = nil, logger: Logger? = nil
    ) {
        self.providers = providers
        self.profileEnvironment = profileEnvironment
        self.sourceLog = logger.map(SourceLog.init)
    }

    public func credentials() async throws -> AWSCredentials {
        try await resolve().credentials
    }

    /// The first provider's credentials, and that provider's name.
    /// - Throws: ``CredentialError``: the set-up source's failure, or none found with every
    ///   source's reason.
    public func resolve() async throws -> (source: String, credentials: AWSCredentials) {
        if let profileEnvironment { try SharedConfigFiles(environment: profileEnvironment).requireSelectedProfile() }
        var reasons: [String] = []
        for (name, provider) in providers {
            do {
                let credentials = try await provider.credentials()
                sourceLog?.report(name)
                return (name, credentials)
            } catch let error as CredentialError where error.isConfiguredSourceFailure {
                throw CredentialError.configuredSourceFailed("\(name): \(error.reason)")
            } catch let error as CredentialError {
                reasons.append("\(name): \(error.reason)")
            } catch {
                reasons.append("\(name): \(error)")
            }
        }
        throw CredentialError("none found (" + reasons.joined(separator: "; ") + ")")
    }
}

extension CredentialProviderChain {
    /// The AWS SDKs' order (botocore's resolver, without SSO): the environment's keys; a role
    /// the profile assumes (`role_arn`); a web identity (the environment's, then the
    /// profile's); the credentials file's keys; the profile's `credential_process`; the config
    /// file's keys; container credentials (ECS/EKS); EC2 instance metadata (IMDSv2).
    ///
    /// STS is called in the region ``AWSRegion/resolve(environment:)`` chooses, at
    /// `AWS_ENDPOINT_URL_STS` or `AWS_ENDPOINT_URL` when set. An `AWS_PROFILE` that names no
    /// profile in the shared files is refused before any source is tried, as the AWS CLI and
    /// botocore refuse it, even when the environment holds keys.
    /// - Parameters:
    ///   - environment: The `AWS_*` variables (and `HOME`) the sources read.
    ///   - httpClient: For STS, the container and instance metadata.
    ///   - withheldFromProcesses: Variables a `credential_process` program must not see (the
    ///     service's own secrets); see ``ProcessCredentialProvider``.
    ///   - logger: Where the source that answered is reported.
    public static func `default`(
        environment: [String: String], httpClient: HTTPCredentialClient, withheldFromProcesses: Set<String> = [], logger: Logger? = nil
    ) -> CredentialProviderChain {
        let sts = STSClient(region: AWSRegion.resolve(environment: environment).name, environment: environment, httpClient: httpClient.httpClient)
        return CredentialProviderChain(
            [
                ("environment", EnvironmentCredentialProvider(environment: environment)),
                (
                    "assume role",
                    AssumeRoleCredentialProvider(environment: environment, sts: sts, httpClient: httpClient, withheldFromProcesses: withheldFromProcesses)
                ),
                ("web identity", WebIdentityCredentialProvider(environment: environment, sts: sts)),
                ("shared credentials file", ProfileCredentialProvider(environment: environment, file: .credentials)),
                ("credential process", ProcessCredentialProvider(environment: environment, withheldVariables: withheldFromProcesses)),
                ("config file", ProfileCredentialProvider(environment: environment, file: .config)),
                ("container", ContainerCredentialProvider(environment: environment, httpClient: httpClient)),
                ("instance metadata", InstanceMetadataCredentialProvider(environment: environment, httpClient: httpClient)),
            ],
            profileEnvironment: environment,
            logger: logger
        )
    }
}

/// The last source a chain reported, so each change is logged once.
private final class SourceLog: Sendable {
    private let logger: Logger
    private let lastSource = Mutex<String?>(nil)

    init(_ logger: Logger) { self.logger = logger }

    /// Logs `source` unless it is the one reported last.
    func report(_ source: String) {
        let isNew = lastSource.withLock { last in
            defer { last = source }
            return last != source
        }
        if isNew { logger.info("AWS credentials found", metadata: ["credential_source": .string(source)]) }
    }
}

/// Credentials that never change, such as a test's.
public struct StaticCredentialProvider: CredentialProvider {
    private let value: AWSCredentials

    /// Creates a provider that always answers `credentials`.
    public init(_ credentials: AWSCredentials) { value = credentials }

    public func credentials() async throws -> AWSCredentials { value }
}

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and, optionally, `AWS_SESSION_TOKEN`.
///
/// An access key without its secret is a configured source's failure, as botocore's
/// `PartialCredentialsError` is: the chain must not go on to, say, the instance's role.
public struct EnvironmentCredentialProvider: CredentialProvider {
    private let environment: [String: String]

    /// Creates a provider over a set of environment variables.
    public init(environment: [String: String]) { self.environment = environment }

    public func credentials() async throws -> AWSCredentials {
        guard let accessKeyID = environment["AWS_ACCESS_KEY_ID"], !accessKeyID.isEmpty else {
            throw CredentialError("AWS_ACCESS_KEY_ID is not set")
        }
        guard let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
            throw CredentialError.configuredSourceFailed("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: token)
    }
}
