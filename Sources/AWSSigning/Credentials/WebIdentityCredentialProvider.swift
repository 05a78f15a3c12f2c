import Foundation

/// Credentials of a role assumed with a web identity token (EKS IAM roles for service
/// accounts, GitHub Actions OIDC): STS `AssumeRoleWithWebIdentity`, unsigned.
///
/// Each setting comes from the environment, else from the profile (the AWS SDKs' rule, key
/// by key): `AWS_WEB_IDENTITY_TOKEN_FILE` or `web_identity_token_file`, `AWS_ROLE_ARN` or
/// `role_arn`, `AWS_ROLE_SESSION_NAME` or `role_session_name` (default
/// `qualia-webhook-{seconds since 1970}`). The token file is read again at every fetch:
/// Kubernetes rotates it, and an old token is refused once it expires.
public struct WebIdentityCredentialProvider: CredentialProvider {
    private let environment: [String: String]
    private let sts: STSClient
    private let profile: String?
    private let readsEnvironment: Bool

    /// Creates a provider.
    /// - Parameters:
    ///   - environment: The variables above, and those that name the shared files.
    ///   - sts: The client that calls `AssumeRoleWithWebIdentity`.
    ///   - profile: The profile to read; `nil` for the selected one.
    ///   - readsEnvironment: Whether the `AWS_*` variables count; `false` when the profile is
    ///     another's `source_profile`, where only the profile's own settings do.
    public init(environment: [String: String], sts: STSClient, profile: String? = nil, readsEnvironment: Bool = true) {
        self.environment = environment
        self.sts = sts
        self.profile = profile
        self.readsEnvironment = readsEnvironment
    }

    public func credentials() async throws -> AWSCredentials {
        let files = SharedConfigFiles(environment: environment)
        let name = profile ?? files.selectedProfile
        let section = files.profile(name) ?? [:]
        func setting(_ key: String, variable: String) -> String? {
            if readsEnvironment, let value = environment[variable], !value.isEmpty { return value }
            return section[key].flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let tokenFile = setting("web_identity_token_file", variable: "AWS_WEB_IDENTITY_TOKEN_FILE") else {
            throw CredentialError("neither AWS_WEB_IDENTITY_TOKEN_FILE nor profile \(name)'s web_identity_token_file is set")
        }
        guard let roleARN = setting("role_arn", variable: "AWS_ROLE_ARN") else {
            throw CredentialError.configuredSourceFailed(
                "a web identity token file is set but no role to assume: set AWS_ROLE_ARN or profile \(name)'s role_arn"
            )
        }
        let sessionName = setting("role_session_name", variable: "AWS_ROLE_SESSION_NAME") ?? "qualia-webhook-\(Int(Date().timeIntervalSince1970))"
        let token: String
        do {
            token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw CredentialError.configuredSourceFailed("cannot read the web identity token file \(tokenFile)")
        }
        guard !token.isEmpty else { throw CredentialError.configuredSourceFailed("the web identity token file \(tokenFile) is empty") }
        return try await sts.assumeRoleWithWebIdentity(roleARN: roleARN, sessionName: sessionName, token: token)
    }
}
