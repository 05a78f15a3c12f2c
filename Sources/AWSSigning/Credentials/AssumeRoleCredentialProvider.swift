import Foundation

/// Credentials of a role that the selected profile names with `role_arn`: STS `AssumeRole`,
/// signed with the credentials of the profile's source.
///
/// The source is either `source_profile` (another profile, whose own credentials come from
/// its keys, web identity, `credential_process`, or a role of its own: chains are followed),
/// or `credential_source`: `Environment`, `EcsContainer` or `Ec2InstanceMetadata`. Never
/// both. `external_id`, `role_session_name` (default `qualia-webhook-{seconds since 1970}`)
/// and `duration_seconds` go to `AssumeRole`. A profile that has `web_identity_token_file`
/// too is left to ``WebIdentityCredentialProvider``, as botocore does.
///
/// A profile may name itself as its `source_profile` when it holds keys of its own; any
/// other return to a profile already visited is a loop, refused with the profiles named. A
/// profile with `mfa_serial` is refused: the code would have to be typed.
public struct AssumeRoleCredentialProvider: CredentialProvider {
    private let environment: [String: String]
    private let sts: STSClient
    private let httpClient: HTTPCredentialClient
    private let profile: String?
    private let withheldFromProcesses: Set<String>

    /// The `credential_source` values the AWS SDKs define.
    public static let credentialSources = ["Environment", "EcsContainer", "Ec2InstanceMetadata"]

    /// Creates a provider.
    /// - Parameters:
    ///   - environment: The variables that name the shared files and the profile, and those
    ///     the `Environment`, `EcsContainer` and `Ec2InstanceMetadata` sources read.
    ///   - sts: The client that calls `AssumeRole` (and `AssumeRoleWithWebIdentity` for a
    ///     source profile with a web identity).
    ///   - httpClient: For the container and instance-metadata sources.
    ///   - profile: The profile to start from; `nil` for the selected one.
    ///   - withheldFromProcesses: Variables a source profile's `credential_process` never
    ///     gets (see ``ProcessCredentialProvider``).
    public init(
        environment: [String: String], sts: STSClient, httpClient: HTTPCredentialClient, profile: String? = nil,
        withheldFromProcesses: Set<String> = []
    ) {
        self.environment = environment
        self.sts = sts
        self.httpClient = httpClient
        self.profile = profile
        self.withheldFromProcesses = withheldFromProcesses
    }

    public func credentials() async throws -> AWSCredentials {
        let files = SharedConfigFiles(environment: environment)
        let name = profile ?? files.selectedProfile
        guard let section = files.profile(name), Self.assumesRole(section) else {
            throw CredentialError("profile \(name) has no role_arn")
        }
        let plan = try RolePlan(startingAt: name, files: files)
        var credentials = try await sourceCredentials(plan.source)
        for step in plan.steps.reversed() {
            credentials = try await sts.assumeRole(step, with: credentials)
        }
        return credentials
    }

    /// Whether a profile assumes a role through this provider: `role_arn` without
    /// `web_identity_token_file` (botocore's `_has_assume_role_config_vars`).
    static func assumesRole(_ section: [String: String]) -> Bool {
        section["role_arn"] != nil && section["web_identity_token_file"] == nil
    }

    private func sourceCredentials(_ source: RolePlan.Source) async throws -> AWSCredentials {
        switch source {
        case .credentialSource(let name, let profile):
            let provider: any CredentialProvider =
                switch name {
                case "Environment": EnvironmentCredentialProvider(environment: environment)
                case "EcsContainer": ContainerCredentialProvider(environment: environment, httpClient: httpClient)
                default: InstanceMetadataCredentialProvider(environment: environment, httpClient: httpClient)
                }
            do {
                return try await provider.credentials()
            } catch let error as CredentialError {
                throw CredentialError.configuredSourceFailed("credential_source \(name) of profile \(profile) gave no credentials (\(error.reason))")
            }
        case .profile(let name):
            // A source profile's own credentials, the environment aside (botocore's profile
            // providers with `disable_env_vars`).
            let chain = CredentialProviderChain([
                ("web identity", WebIdentityCredentialProvider(environment: environment, sts: sts, profile: name, readsEnvironment: false)),
                ("shared credentials file", ProfileCredentialProvider(environment: environment, profile: name, file: .credentials)),
                ("credential process", ProcessCredentialProvider(environment: environment, profile: name, withheldVariables: withheldFromProcesses)),
                ("config file", ProfileCredentialProvider(environment: environment, profile: name, file: .config)),
            ])
            do {
                return try await chain.credentials()
            } catch let error as CredentialError where !error.isConfiguredSourceFailure {
                throw CredentialError.configuredSourceFailed("the source profile \(name) has no credentials")
            }
        }
    }
}

/// The roles to assume, outermost first, and where the innermost one's source credentials
/// come from: the profiles' settings checked before any call is made.
struct RolePlan: Sendable, Hashable {
    /// Where the first `AssumeRole` call's credentials come from.
    enum Source: Sendable, Hashable {
        /// A `credential_source` named in `profile`.
        case credentialSource(String, profile: String)
        /// A profile's own credentials.
        case profile(String)
    }

    /// `AssumeRole` calls, the selected profile's first; they run in reverse.
    var steps: [STSClient.AssumeRoleParameters]
    /// The source of the last step.
    var source: Source

    /// Follows `source_profile` from `profile`.
    /// - Throws: ``CredentialError`` (a configured source's failure) for a profile with both
    ///   or neither of `source_profile` and `credential_source`, an unknown source, a bad
    ///   `duration_seconds`, `mfa_serial`, or a loop.
    init(startingAt profile: String, files: SharedConfigFiles) throws {
        var steps: [STSClient.AssumeRoleParameters] = []
        var visited = [profile]
        var current = profile
        while true {
            let section = files.profile(current) ?? [:]
            guard let roleARN = section["role_arn"], !roleARN.isEmpty else {
                throw CredentialError.configuredSourceFailed("profile \(current) has an empty role_arn")
            }
            // botocore asks for the code on the terminal; a service has none to ask.
            if section["mfa_serial"] != nil {
                throw CredentialError.configuredSourceFailed(
                    "profile \(current) needs an MFA code (mfa_serial), which a service cannot type; use a role without MFA"
                )
            }
            var duration: Int?
            if let text = section["duration_seconds"] {
                guard let seconds = Int(text), seconds > 0 else {
                    throw CredentialError.configuredSourceFailed("profile \(current)'s duration_seconds is not a whole number of seconds")
                }
                duration = seconds
            }
            steps.append(
                .init(
                    roleARN: roleARN, sessionName: section["role_session_name"] ?? "qualia-webhook-\(Int(Date().timeIntervalSince1970))",
                    externalID: section["external_id"], durationSeconds: duration
                )
            )
            switch (section["source_profile"], section["credential_source"]) {
            case (.some, .some):
                throw CredentialError.configuredSourceFailed("profile \(current) has both source_profile and credential_source; it may have one")
            case (nil, nil):
                throw CredentialError.configuredSourceFailed("profile \(current) has role_arn but neither source_profile nor credential_source")
            case (nil, .some(let credentialSource)):
                guard AssumeRoleCredentialProvider.credentialSources.contains(credentialSource) else {
                    throw CredentialError.configuredSourceFailed(
                        "profile \(current)'s credential_source \(credentialSource) is not one of "
                            + AssumeRoleCredentialProvider.credentialSources.joined(separator: ", ")
                    )
                }
                self.steps = steps
                self.source = .credentialSource(credentialSource, profile: current)
                return
            case (.some(let sourceProfile), nil):
                guard let sourceSection = files.profile(sourceProfile) else {
                    throw CredentialError.configuredSourceFailed("the source_profile \(sourceProfile) of profile \(current) does not exist")
                }
                let hasKeys = sourceSection["aws_access_key_id"] != nil || sourceSection["aws_secret_access_key"] != nil
                if visited.contains(sourceProfile), sourceProfile != current || !hasKeys {
                    throw CredentialError.configuredSourceFailed(
                        "the profiles loop: " + (visited + [sourceProfile]).joined(separator: " -> ")
                            + " (each names the next as its source_profile)"
                    )
                }
                visited.append(sourceProfile)
                if hasKeys || !AssumeRoleCredentialProvider.assumesRole(sourceSection) {
                    self.steps = steps
                    self.source = .profile(sourceProfile)
                    return
                }
                current = sourceProfile
            }
        }
    }
}
