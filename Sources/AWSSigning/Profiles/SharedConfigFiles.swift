import Foundation

/// The AWS shared config and credentials files, as one profile sees them.
///
/// `AWS_CONFIG_FILE` (default `~/.aws/config`) and `AWS_SHARED_CREDENTIALS_FILE` (default
/// `~/.aws/credentials`); `~` is `HOME`. The profile is `AWS_PROFILE`, else `default`. Read
/// afresh each time a value is made, so a changed file is seen at the next credential refresh.
public struct SharedConfigFiles: Sendable {
    /// The two files.
    public enum File: Sendable, Hashable {
        /// The credentials file: sections named by profile (`[work]`).
        case credentials
        /// The config file: `[default]` and `[profile work]`.
        case config
    }

    /// The selected profile: `AWS_PROFILE`, else `default`.
    public let selectedProfile: String
    /// Whether `AWS_PROFILE` chose ``selectedProfile`` (rather than the default).
    public let isSelectedProfileExplicit: Bool
    /// The config file's path.
    public let configPath: String
    /// The credentials file's path.
    public let credentialsPath: String
    /// Each config-file profile's keys.
    public let configProfiles: [String: [String: String]]
    /// Each credentials-file profile's keys.
    public let credentialsProfiles: [String: [String: String]]

    /// Reads both files named by `environment`; a missing or unreadable file has no profiles.
    public init(environment: [String: String]) {
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        func path(_ variable: String, default defaultPath: String) -> String {
            let path = environment[variable].flatMap { $0.isEmpty ? nil : $0 } ?? defaultPath
            if path == "~" { return home }
            if path.hasPrefix("~/") { return home + path.dropFirst() }
            return path
        }
        let explicitProfile = environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 }
        selectedProfile = explicitProfile ?? "default"
        isSelectedProfileExplicit = explicitProfile != nil
        configPath = path("AWS_CONFIG_FILE", default: "\(home)/.aws/config")
        credentialsPath = path("AWS_SHARED_CREDENTIALS_FILE", default: "\(home)/.aws/credentials")
        configProfiles = Self.read(configPath).map(\.configProfiles) ?? [:]
        credentialsProfiles = Self.read(credentialsPath).map(\.credentialsProfiles) ?? [:]
    }

    private static func read(_ path: String) -> ConfigFile? {
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return ConfigFile(parsing: contents)
    }

    /// A profile's keys from one file; `nil` when that file does not name it.
    public func profile(_ name: String, in file: File) -> [String: String]? {
        switch file {
        case .credentials: credentialsProfiles[name]
        case .config: configProfiles[name]
        }
    }

    /// A profile's keys from both files, the credentials file's winning where both set a key
    /// (botocore's `full_config`); `nil` when neither file names it.
    public func profile(_ name: String) -> [String: String]? {
        let fromConfig = configProfiles[name], fromCredentials = credentialsProfiles[name]
        if fromConfig == nil && fromCredentials == nil { return nil }
        return (fromConfig ?? [:]).merging(fromCredentials ?? [:]) { _, fromCredentials in fromCredentials }
    }

    /// Refuses an `AWS_PROFILE` that names a profile neither file has, as the AWS CLI does;
    /// the unset default (`default`) may be missing.
    /// - Throws: ``CredentialError`` (a configured source's failure): "The config profile (NAME)
    ///   could not be found".
    public func requireSelectedProfile() throws(CredentialError) {
        guard isSelectedProfileExplicit, profile(selectedProfile) == nil else { return }
        throw CredentialError.configuredSourceFailed(
            "The config profile (\(selectedProfile)) could not be found in \(configPath) or \(credentialsPath); AWS_PROFILE names it"
        )
    }

    /// The path of `file`, for messages.
    public func path(of file: File) -> String {
        switch file {
        case .credentials: credentialsPath
        case .config: configPath
        }
    }
}
