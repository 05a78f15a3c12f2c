import Foundation
import NIOHTTP1

/// Credentials of the EC2 instance's role, from the instance metadata service (IMDSv2).
///
/// Gets a session token first (`PUT /latest/api/token`), then the role name and its
/// credentials. `AWS_EC2_METADATA_SERVICE_ENDPOINT` moves the endpoint (default
/// `http://169.254.169.254`); `AWS_EC2_METADATA_DISABLED=true` turns the provider off.
public struct InstanceMetadataCredentialProvider: CredentialProvider {
    private let environment: [String: String]
    private let httpClient: HTTPCredentialClient

    /// Creates a provider.
    public init(environment: [String: String], httpClient: HTTPCredentialClient) {
        self.environment = environment
        self.httpClient = httpClient
    }

    public func credentials() async throws -> AWSCredentials {
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" {
            throw CredentialError("instance metadata is disabled by AWS_EC2_METADATA_DISABLED")
        }
        var endpoint = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://169.254.169.254"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }

        let token = try await httpClient.fetch(
            endpoint + "/latest/api/token", method: .PUT, headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")]
        )
        let tokenHeader = [("X-aws-ec2-metadata-token", token)]
        let roles = try await httpClient.fetch(endpoint + "/latest/meta-data/iam/security-credentials/", headers: tokenHeader)
        guard let role = roles.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
            throw CredentialError("the instance has no IAM role")
        }
        let body = try await httpClient.fetch(endpoint + "/latest/meta-data/iam/security-credentials/" + role, headers: tokenHeader)
        return try TemporaryCredentialsDocument.parse(body, source: "the instance metadata service")
    }
}
