import Foundation

/// Keys from the shared credentials file (`~/.aws/credentials`, `[name]` sections) or the
/// config file (`~/.aws/config`, `[profile name]` sections) for `AWS_PROFILE` (default
/// `default`). `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE` move the files; the
/// credentials file wins where both name the profile.
public struct ProfileCredentialProvider: CredentialProvider {
    private let environment: [String: String]

    /// Creates a provider over a set of environment variables.
    public init(environment: [String: String]) { self.environment = environment }

    public func credentials() async throws -> AWSCredentials {
        let profile = environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        let home = environment["HOME"] ?? NSHomeDirectory()
        let credentialsPath = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "\(home)/.aws/credentials"
        let configPath = environment["AWS_CONFIG_FILE"] ?? "\(home)/.aws/config"

        let fromCredentials = Self.sections(ofFileAt: credentialsPath)[profile]
        let fromConfig = Self.sections(ofFileAt: configPath)[profile == "default" ? "default" : "profile \(profile)"]
        for section in [fromCredentials, fromConfig].compactMap({ $0 }) {
            if let accessKeyID = section["aws_access_key_id"], let secret = section["aws_secret_access_key"] {
                return AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: section["aws_session_token"])
            }
        }
        throw CredentialError("profile \(profile) has no aws_access_key_id and aws_secret_access_key")
    }

    /// The `[section]`s of an INI file and their `key = value` pairs; empty when unreadable.
    static func sections(ofFileAt path: String) -> [String: [String: String]] {
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        return sections(of: contents)
    }

    static func sections(of contents: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for rawLine in contents.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                current = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            sections[current, default: [:]][key] = value
        }
        return sections
    }
}
