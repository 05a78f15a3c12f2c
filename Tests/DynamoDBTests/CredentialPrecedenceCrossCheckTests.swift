import AsyncHTTPClient
import Foundation
import StoreTestSupport
import Testing

@testable import AWSSigning

/// Our chain against botocore's resolver on the same files and environment: for each
/// scenario both must pick the same source (or both find none, or both refuse), and read the
/// same region. botocore only names its pick (assume-role and web identity are deferred);
/// our chain really fetches, from moto's STS.
@Suite(.enabled(if: (Botocore.isAvailable && MotoServer.shouldRun) || MotoServer.isCI, "skipped: needs botocore and moto (pip install botocore 'moto[server]')"))
struct CredentialPrecedenceCrossCheckTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/botocore_credentials.py")

    /// Our chain's source names, as botocore names its methods.
    static let botocoreMethods = [
        "environment": "env", "assume role": "assume-role", "web identity": "assume-role-with-web-identity",
        "shared credentials file": "shared-credentials-file", "credential process": "custom-process", "config file": "config-file",
        "container": "container-role", "instance metadata": "iam-role",
    ]

    /// One scenario. `{DIR}` in any text is its folder, which holds `token` (a web identity
    /// token) and `process.sh` (a credential process that prints static keys).
    struct Scenario: Sendable, CustomStringConvertible {
        var description: String
        var config = ""
        var credentials = ""
        var environment: [String: String] = [:]
    }

    static let envKeys = ["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret"]
    static let envWebIdentity = ["AWS_WEB_IDENTITY_TOKEN_FILE": "{DIR}/token", "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/web"]
    static let roleProfile = "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = base\n"
    static let baseKeys = "[base]\naws_access_key_id = BASEKEY\naws_secret_access_key = basesecret\n"
    static let defaultKeys = "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n"
    static let defaultProcess = "[default]\ncredential_process = {DIR}/process.sh --flag\n"

    static let scenarios: [Scenario] = [
        Scenario(description: "environment keys beat every file", config: defaultProcess, credentials: defaultKeys, environment: envKeys),
        Scenario(description: "environment keys beat AWS_PROFILE's role", config: roleProfile, credentials: baseKeys, environment: envKeys.merging(["AWS_PROFILE": "role"]) { $1 }),
        Scenario(description: "AWS_PROFILE's role with a source_profile", config: roleProfile, credentials: baseKeys, environment: ["AWS_PROFILE": "role"]),
        Scenario(
            description: "a profile's role beats a web identity in the environment", config: roleProfile, credentials: baseKeys,
            environment: envWebIdentity.merging(["AWS_PROFILE": "role"]) { $1 }
        ),
        Scenario(description: "a web identity in the environment beats the credentials file", credentials: defaultKeys, environment: envWebIdentity),
        Scenario(
            description: "a profile's own web identity, role_arn beside it",
            config: "[profile ci]\nweb_identity_token_file = {DIR}/token\nrole_arn = arn:aws:iam::123456789012:role/ci\n", environment: ["AWS_PROFILE": "ci"]
        ),
        Scenario(description: "the credentials file beats credential_process", config: defaultProcess, credentials: defaultKeys),
        Scenario(
            description: "credential_process beats the config file's keys",
            config: "[default]\naws_access_key_id = CONFIGKEY\naws_secret_access_key = configsecret\ncredential_process = {DIR}/process.sh\n"
        ),
        Scenario(description: "the config file's keys alone", config: "[default]\naws_access_key_id = CONFIGKEY\naws_secret_access_key = configsecret\n"),
        Scenario(description: "[profile default] is the default profile", config: "[profile default]\naws_access_key_id = CONFIGKEY\naws_secret_access_key = c\n"),
        Scenario(description: "AWS_PROFILE names a profile only in the credentials file", credentials: defaultKeys + "[work]\naws_access_key_id = WORKKEY\naws_secret_access_key = w\n", environment: ["AWS_PROFILE": "work"]),
        Scenario(
            description: "a chain of roles",
            config: "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::123456789012:role/b\nsource_profile = base\n",
            credentials: baseKeys, environment: ["AWS_PROFILE": "a"]
        ),
        Scenario(
            description: "a role whose source profile runs a credential_process",
            config: "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = proc\n[profile proc]\ncredential_process = {DIR}/process.sh\n",
            environment: ["AWS_PROFILE": "role"]
        ),
        Scenario(
            description: "a role from credential_source Environment", config: "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\ncredential_source = Environment\n",
            environment: envKeys.merging(["AWS_PROFILE": "role"]) { $1 }
        ),
        Scenario(description: "nothing anywhere"),
        Scenario(
            description: "a loop of source profiles is refused",
            config: "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::123456789012:role/b\nsource_profile = a\n",
            environment: ["AWS_PROFILE": "a"]
        ),
        Scenario(
            description: "source_profile with credential_source is refused",
            config: "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = base\ncredential_source = Environment\n", credentials: baseKeys,
            environment: ["AWS_PROFILE": "role"]
        ),
        Scenario(
            description: "credential_source Environment without keys there is refused",
            config: "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\ncredential_source = Environment\n", environment: ["AWS_PROFILE": "role"]
        ),
        Scenario(description: "a web identity without a role is refused", credentials: defaultKeys, environment: ["AWS_WEB_IDENTITY_TOKEN_FILE": "{DIR}/token"]),
        Scenario(
            description: "AWS_DEFAULT_REGION beats the profile's region", config: "[default]\nregion = eu-west-3\n", environment: envKeys.merging(["AWS_DEFAULT_REGION": "ap-south-1"]) { $1 }
        ),
        Scenario(
            description: "AWS_PROFILE's region", config: "[default]\nregion = eu-west-3\n[profile work]\nregion = eu-central-1\n",
            credentials: "[work]\naws_access_key_id = WORKKEY\naws_secret_access_key = w\n", environment: ["AWS_PROFILE": "work"]
        ),
        Scenario(description: "a region written in the credentials file", credentials: defaultKeys + "region = sa-east-1\n"),
        Scenario(
            description: "AWS_PROFILE names a profile neither file has, keys in the environment", credentials: defaultKeys,
            environment: envKeys.merging(["AWS_PROFILE": "missing"]) { $1 }
        ),
        Scenario(
            description: "an access key without its secret in the environment, keys in the file", credentials: defaultKeys,
            environment: ["AWS_ACCESS_KEY_ID": "ENVKEY"]
        ),
        Scenario(
            description: "a secret without its access key in the environment, keys in the file", credentials: defaultKeys,
            environment: ["AWS_SECRET_ACCESS_KEY": "envsecret"]
        ),
    ]

    struct BotocoreVerdict: Decodable {
        var method: String?
        var error: String?
        var region: String?
    }

    @Test func ourChainPicksTheSourceAndRegionBotocorePicks() async throws {
        let motoEndpoint = try #require(MotoServer.endpoint)
        let root = try TemporaryDirectory()
        defer { root.remove() }
        var environments: [[String: String]] = []
        for (index, scenario) in Self.scenarios.enumerated() {
            let folder = root.path("scenario-\(index)")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            func fill(_ text: String) -> String { text.replacingOccurrences(of: "{DIR}", with: folder) }
            try fill(scenario.config).write(toFile: folder + "/config", atomically: true, encoding: .utf8)
            try fill(scenario.credentials).write(toFile: folder + "/credentials", atomically: true, encoding: .utf8)
            try "header.payload.signature".write(toFile: folder + "/token", atomically: true, encoding: .utf8)
            try "#!/bin/sh\nprintf '{\"Version\": 1, \"AccessKeyId\": \"PROCKEY\", \"SecretAccessKey\": \"procsecret\"}'\n"
                .write(toFile: folder + "/process.sh", atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder + "/process.sh")
            var environment = [
                "HOME": folder + "/home", "AWS_CONFIG_FILE": folder + "/config", "AWS_SHARED_CREDENTIALS_FILE": folder + "/credentials",
                "AWS_EC2_METADATA_DISABLED": "true", "BOTO_CONFIG": folder + "/no-boto-config", "AWS_ENDPOINT_URL_STS": motoEndpoint,
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            ]
            for (name, value) in scenario.environment { environment[name] = fill(value) }
            environments.append(environment.filter { !$0.value.isEmpty })
        }

        let input = try JSONEncoder().encode(environments.map { ["env": $0] })
        let result = try await Python.run([Self.script.path], input: input)
        try #require(result.status == 0, "botocore_credentials.py failed: \(result.errors)")
        let verdicts = try JSONDecoder().decode([BotocoreVerdict].self, from: result.output)
        try #require(verdicts.count == Self.scenarios.count)

        let httpClient = HTTPCredentialClient(httpClient: .shared)
        for (scenario, (environment, botocore)) in zip(Self.scenarios, zip(environments, verdicts)) {
            let chain = CredentialProviderChain.default(environment: environment, httpClient: httpClient)
            do {
                let (source, _) = try await chain.resolve()
                #expect(botocore.error == nil, "\(scenario): botocore refused (\(botocore.error ?? "")), we used \(source)")
                #expect(Self.botocoreMethods[source] == botocore.method, "\(scenario): we used \(source), botocore \(botocore.method ?? "nothing")")
            } catch let error as CredentialError {
                if let refusal = botocore.error {
                    #expect(error.isConfiguredSourceFailure, "\(scenario): botocore refused (\(refusal)), we found nothing: \(error.reason)")
                } else if let method = botocore.method {
                    Issue.record("\(scenario): botocore used \(method), we failed: \(error.reason)")
                } else {
                    #expect(!error.isConfiguredSourceFailure, "\(scenario): botocore found nothing, we refused: \(error.reason)")
                }
            }
            let region = AWSRegion.resolve(environment: environment)
            #expect(region.name == (botocore.region ?? AWSRegion.defaultName), "\(scenario): region")
        }
    }
}
