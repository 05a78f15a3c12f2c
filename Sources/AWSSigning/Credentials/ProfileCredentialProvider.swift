import Foundation

/// Keys written in the shared files for a profile: `aws_access_key_id`,
/// `aws_secret_access_key` and, optionally, `aws_session_token`.
///
/// The AWS SDKs look in the credentials file (`~/.aws/credentials`, `[name]` sections) early
/// in their chain and in the config file (`~/.aws/config`, `[profile name]` sections) late,
/// after a profile's `credential_process`; the chain therefore holds one provider for each
/// file. Without a file, the credentials file is read first, then the config file.
public struct ProfileCredentialProvider: CredentialProvider {
    private let environment: [String: String]
    private let profile: String?
    private let file: SharedConfigFiles.File?

    /// Creates a provider.
    /// - Parameters:
    ///   - environment: The variables that name the files and the profile (see ``SharedConfigFiles``).
    ///   - profile: The profile to read; `nil` for the selected one (`AWS_PROFILE`, else `default`).
    ///   - file: The one file to read; `nil` for the credentials file, then the config file.
    public init(environment: [String: String], profile: String? = nil, file: SharedConfigFiles.File? = nil) {
        self.environment = environment
        self.profile = profile
        self.file = file
    }

    public func credentials() async throws -> AWSCredentials {
        let files = SharedConfigFiles(environment: environment)
        let name = profile ?? files.selectedProfile
        let order: [SharedConfigFiles.File] = file.map { [$0] } ?? [.credentials, .config]
        for file in order {
            guard let section = files.profile(name, in: file), let accessKeyID = section["aws_access_key_id"] else { continue }
            guard let secret = section["aws_secret_access_key"] else {
                throw CredentialError.configuredSourceFailed(
                    "profile \(name) in \(files.path(of: file)) has aws_access_key_id but no aws_secret_access_key"
                )
            }
            return AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: section["aws_session_token"])
        }
        let place = file.map { "in \(files.path(of: $0))" } ?? "in \(files.credentialsPath) or \(files.configPath)"
        throw CredentialError("profile \(name) has no aws_access_key_id and aws_secret_access_key \(place)")
    }
}
