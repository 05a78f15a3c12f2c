import Foundation

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

    /// Creates an error.
    public init(_ reason: String) { self.reason = reason }

    public var description: String { "AWS credentials: \(reason)" }
}

/// Tries providers in order and uses the first that has credentials.
public struct CredentialProviderChain: CredentialProvider {
    private let providers: [(name: String, provider: any CredentialProvider)]

    /// Creates a chain.
    public init(_ providers: [(name: String, provider: any CredentialProvider)]) {
        self.providers = providers
    }

    public func credentials() async throws -> AWSCredentials {
        var reasons: [String] = []
        for (name, provider) in providers {
            do {
                return try await provider.credentials()
            } catch {
                reasons.append("\(name): \(error)")
            }
        }
        throw CredentialError("none found (" + reasons.joined(separator: "; ") + ")")
    }
}

extension CredentialProviderChain {
    /// The order AWS SDKs use: environment, shared credentials and config files, container
    /// credentials (ECS/EKS), then EC2 instance metadata (IMDSv2).
    public static func `default`(environment: [String: String], httpClient: HTTPCredentialClient) -> CredentialProviderChain {
        CredentialProviderChain([
            ("environment", EnvironmentCredentialProvider(environment: environment)),
            ("shared files", ProfileCredentialProvider(environment: environment)),
            ("container", ContainerCredentialProvider(environment: environment, httpClient: httpClient)),
            ("instance metadata", InstanceMetadataCredentialProvider(environment: environment, httpClient: httpClient)),
        ])
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
public struct EnvironmentCredentialProvider: CredentialProvider {
    private let environment: [String: String]

    /// Creates a provider over a set of environment variables.
    public init(environment: [String: String]) { self.environment = environment }

    public func credentials() async throws -> AWSCredentials {
        guard let accessKeyID = environment["AWS_ACCESS_KEY_ID"], !accessKeyID.isEmpty,
            let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty
        else { throw CredentialError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set") }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: token)
    }
}
