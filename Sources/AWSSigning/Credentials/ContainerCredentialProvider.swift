import Foundation

/// Credentials from the ECS or EKS container credentials endpoint.
///
/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is a path on `http://169.254.170.2`;
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI` is a whole URL. The `Authorization` header is
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN`, or the contents of
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (EKS Pod Identity), when set. Once a URI is set,
/// a failure is a configured source's (``CredentialError/isConfiguredSourceFailure``), which
/// stops the chain as botocore's container provider does, rather than falling through to
/// instance metadata.
public struct ContainerCredentialProvider: CredentialProvider {
    private let environment: [String: String]
    private let httpClient: HTTPCredentialClient

    /// Creates a provider.
    public init(environment: [String: String], httpClient: HTTPCredentialClient) {
        self.environment = environment
        self.httpClient = httpClient
    }

    public func credentials() async throws -> AWSCredentials {
        do {
            return try await fetch()
        } catch let error as CredentialError where !error.isConfiguredSourceFailure && error != Self.notSetUp {
            throw CredentialError.configuredSourceFailed(error.reason)
        }
    }

    private static let notSetUp = CredentialError("no container credentials URI is set")

    private func fetch() async throws -> AWSCredentials {
        let url: String
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
            url = "http://169.254.170.2" + relative
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty {
            url = full
        } else {
            throw Self.notSetUp
        }
        var headers: [(String, String)] = []
        if let tokenFile = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"], !tokenFile.isEmpty {
            guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw CredentialError("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
            }
            headers.append(("Authorization", token.trimmingCharacters(in: .whitespacesAndNewlines)))
        } else if let token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"], !token.isEmpty {
            headers.append(("Authorization", token))
        }
        let body = try await httpClient.fetch(url, headers: headers)
        return try TemporaryCredentialsDocument.parse(body, source: "the container credentials endpoint")
    }
}
