import AsyncHTTPClient
import Foundation
import HTTPTypes
import StoreTestSupport
import Synchronization
import Testing

@testable import AWSSigning

/// The web identity and assumed-role providers against moto's STS (same port as its
/// DynamoDB: unsigned `AssumeRoleWithWebIdentity` is routed by its `Action`, signed
/// `AssumeRole` by its signature's `sts` scope), and against a recording server where what
/// was sent is the point.
@Suite(.enabled(if: MotoServer.shouldRun, Comment(rawValue: MotoServer.skipReason)))
struct STSCredentialProviderTests {
    let httpClient = HTTPCredentialClient(httpClient: .shared)

    /// Files in `folder`, STS at `stsEndpoint`, instance metadata off, nothing else set.
    static func environment(_ folder: TemporaryDirectory, stsEndpoint: String, config: String = "", credentials: String = "") throws -> [String: String] {
        try config.write(toFile: folder.path("config"), atomically: true, encoding: .utf8)
        try credentials.write(toFile: folder.path("credentials"), atomically: true, encoding: .utf8)
        return [
            "AWS_CONFIG_FILE": folder.path("config"), "AWS_SHARED_CREDENTIALS_FILE": folder.path("credentials"), "HOME": folder.path("home"),
            "AWS_ENDPOINT_URL_STS": stsEndpoint, "AWS_EC2_METADATA_DISABLED": "true",
        ]
    }

    static func motoEndpoint() throws -> String { try #require(MotoServer.endpoint) }

    /// An STS answer to `action` with the access key `key`, expiring at `expiration`.
    static func answer(_ action: String, key: String, expiration: String = "2033-05-18T03:33:20Z") -> String {
        "<\(action)Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><\(action)Result><Credentials><AccessKeyId>\(key)</AccessKeyId>"
            + "<SecretAccessKey>secret-\(key)</SecretAccessKey><SessionToken>token-\(key)</SessionToken><Expiration>\(expiration)</Expiration>"
            + "</Credentials></\(action)Result></\(action)Response>"
    }

    /// A form body's fields, decoded.
    static func form(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { String($0).removingPercentEncoding ?? "" }
            fields[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return fields
    }

    @Test func webIdentityFromTheEnvironmentGetsCredentialsFromMoto() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try "eyJhbGciOiJSUzI1NiJ9.payload.signature".write(toFile: folder.path("token"), atomically: true, encoding: .utf8)
        var environment = try Self.environment(folder, stsEndpoint: try Self.motoEndpoint())
        environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = folder.path("token")
        environment["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/webhook"
        environment["AWS_ROLE_SESSION_NAME"] = "webhook-pod"
        let (source, credentials) = try await CredentialProviderChain.default(environment: environment, httpClient: httpClient).resolve()
        #expect(source == "web identity")
        #expect(credentials.accessKeyID.hasPrefix("ASIA"))
        #expect(credentials.sessionToken?.isEmpty == false)
        #expect(try #require(credentials.expiration) > Date())
    }

    @Test func webIdentityFromAProfileGetsCredentialsFromMoto() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try "header.payload.signature".write(toFile: folder.path("token"), atomically: true, encoding: .utf8)
        var environment = try Self.environment(
            folder, stsEndpoint: try Self.motoEndpoint(),
            config: "[profile ci]\nweb_identity_token_file = \(folder.path("token"))\nrole_arn = arn:aws:iam::123456789012:role/ci\n"
        )
        environment["AWS_PROFILE"] = "ci"
        let (source, credentials) = try await CredentialProviderChain.default(environment: environment, httpClient: httpClient).resolve()
        #expect(source == "web identity")
        #expect(credentials.accessKeyID.hasPrefix("ASIA"))
    }

    @Test func aTokenFileWithoutARoleIsAClearErrorThatStopsTheChain() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try "t.t.t".write(toFile: folder.path("token"), atomically: true, encoding: .utf8)
        var environment = try Self.environment(folder, stsEndpoint: try Self.motoEndpoint(), credentials: "[default]\naws_access_key_id=FILEKEY\naws_secret_access_key=s\n")
        environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = folder.path("token")
        let error = await #expect(throws: CredentialError.self) {
            try await CredentialProviderChain.default(environment: environment, httpClient: httpClient).resolve()
        }
        #expect(error?.isConfiguredSourceFailure == true)
        #expect(error?.reason.contains("AWS_ROLE_ARN") == true)
    }

    /// Kubernetes rotates the projected token; each refresh must send the file's current one.
    @Test func theTokenFileIsReadAgainAtEachRefreshAndSentUnsigned() async throws {
        let calls = CallCounter()
        let server = LocalHTTPServer { _ in (.ok, Self.answer("AssumeRoleWithWebIdentity", key: "ASIAWEB\(calls.next())")) }
        try await server.run { base in
            let folder = try TemporaryDirectory()
            defer { folder.remove() }
            try "token-one".write(toFile: folder.path("token"), atomically: true, encoding: .utf8)
            var environment = try Self.environment(folder, stsEndpoint: base)
            environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = folder.path("token")
            environment["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/webhook"
            let expiry = Date(timeIntervalSince1970: 2_000_000_000)
            let clock = TestClock(now: expiry.addingTimeInterval(-3600))
            let cache = CachingCredentialProvider(
                CredentialProviderChain.default(environment: environment, httpClient: httpClient), refreshMargin: .seconds(300), now: { clock.now }
            )
            #expect(try await cache.credentials().accessKeyID == "ASIAWEB1")
            try "token-two\n".write(toFile: folder.path("token"), atomically: true, encoding: .utf8)
            clock.now = expiry.addingTimeInterval(-400)
            #expect(try await cache.credentials().accessKeyID == "ASIAWEB1", "cached until the margin")
            clock.now = expiry.addingTimeInterval(-200)
            #expect(try await cache.credentials().accessKeyID == "ASIAWEB2")
        }
        let sent = server.received.map { Self.form($0.body) }
        #expect(sent.map { $0["WebIdentityToken"] } == ["token-one", "token-two"])
        #expect(sent.allSatisfy { $0["Action"] == "AssumeRoleWithWebIdentity" && $0["Version"] == "2011-06-15" })
        #expect(sent.allSatisfy { $0["RoleSessionName"]?.hasPrefix("qualia-webhook-") == true })
        #expect(server.received.allSatisfy { $0.headers[.authorization] == nil }, "AssumeRoleWithWebIdentity is unsigned")
    }

    @Test func aRoleChainIsAssumedInnermostFirstEachCallSignedWithThePreviousCredentials() async throws {
        let calls = CallCounter()
        let server = LocalHTTPServer { _ in (.ok, Self.answer("AssumeRole", key: "ASIASTEP\(calls.next())")) }
        try await server.run { base in
            let folder = try TemporaryDirectory()
            defer { folder.remove() }
            var environment = try Self.environment(
                folder, stsEndpoint: base,
                config: """
                    [profile deploy]
                    role_arn = arn:aws:iam::111111111111:role/deploy
                    source_profile = hop
                    external_id = ext-123
                    role_session_name = deploy-session
                    duration_seconds = 900

                    [profile hop]
                    role_arn = arn:aws:iam::222222222222:role/hop
                    source_profile = base
                    """,
                credentials: "[base]\naws_access_key_id = BASEKEY\naws_secret_access_key = basesecret\n"
            )
            environment["AWS_PROFILE"] = "deploy"
            environment["AWS_REGION"] = "eu-west-1"
            let (source, credentials) = try await CredentialProviderChain.default(environment: environment, httpClient: httpClient).resolve()
            #expect(source == "assume role")
            #expect(credentials.accessKeyID == "ASIASTEP2")
        }
        let received = server.received
        try #require(received.count == 2)
        let (first, second) = (Self.form(received[0].body), Self.form(received[1].body))
        #expect(first["RoleArn"] == "arn:aws:iam::222222222222:role/hop")
        #expect(received[0].headers[.authorization]?.contains("Credential=BASEKEY/") == true)
        #expect(received[0].headers[.authorization]?.contains("/eu-west-1/sts/aws4_request") == true)
        #expect(received[0].headers[HTTPField.Name("x-amz-security-token")!] == nil)
        #expect(second["RoleArn"] == "arn:aws:iam::111111111111:role/deploy")
        #expect(second["ExternalId"] == "ext-123" && second["RoleSessionName"] == "deploy-session" && second["DurationSeconds"] == "900")
        #expect(received[1].headers[.authorization]?.contains("Credential=ASIASTEP1/") == true)
        #expect(received[1].headers[HTTPField.Name("x-amz-security-token")!] == "token-ASIASTEP1")
    }

    /// moto does not check signatures, so the request as sent is signed again by botocore's
    /// `SigV4Auth` at the same instant: both must give the same `Authorization`.
    @Test(.enabled(if: Botocore.isAvailable || MotoServer.isCI, "botocore is not installed"))
    func assumeRoleIsSignedAsBotocoreSignsTheSameRequest() async throws {
        let server = LocalHTTPServer { _ in (.ok, Self.answer("AssumeRole", key: "ASIASIGNED")) }
        try await server.run { base in
            let sts = STSClient(region: "eu-west-1", environment: ["AWS_ENDPOINT_URL_STS": base], httpClient: .shared)
            let parameters = STSClient.AssumeRoleParameters(
                roleARN: "arn:aws:iam::123456789012:role/r", sessionName: "s@x", externalID: "e x/+=", durationSeconds: 900
            )
            let source = AWSCredentials(accessKeyID: "AKIDSOURCE", secretAccessKey: "source/secret+key", sessionToken: "source-token")
            let assumed = try await sts.assumeRole(parameters, with: source)
            #expect(assumed.accessKeyID == "ASIASIGNED")

            let request = try #require(server.received.first)
            #expect(Self.form(request.body)["ExternalId"] == "e x/+=")
            let amzDate = Array(try #require(request.headers[HTTPField.Name("x-amz-date")!]))
            func part(_ range: Range<Int>) -> String { String(amzDate[range]) }
            let testCase = CrossCheckCase(
                method: "POST", path: "/",
                headers: [["host", String(base.dropFirst("http://".count))], ["content-type", try #require(request.headers[.contentType])]],
                body: request.body, accessKeyID: "AKIDSOURCE", secretAccessKey: "source/secret+key", sessionToken: "source-token",
                region: "eu-west-1", service: "sts",
                date: "\(part(0..<4))-\(part(4..<6))-\(part(6..<8))T\(part(9..<11)):\(part(11..<13)):\(part(13..<15))Z"
            )
            let result = try Botocore.run([Botocore.script.path], input: try JSONEncoder().encode([testCase]))
            try #require(result.status == 0, "\(result.errors)")
            let botocore = try #require(try JSONDecoder().decode([BotocoreSignature].self, from: result.output).first)
            #expect(request.headers[.authorization] == botocore.authorization)
            #expect(request.headers[HTTPField.Name("x-amz-security-token")!] == "source-token")
        }
    }

    @Test func aSourceProfileRoleIsAssumedAtMotoAndRefreshedBeforeItExpires() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        var environment = try Self.environment(
            folder, stsEndpoint: try Self.motoEndpoint(),
            config: "[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = base\nduration_seconds = 900\n",
            credentials: "[base]\naws_access_key_id = BASEKEY\naws_secret_access_key = basesecret\n"
        )
        environment["AWS_PROFILE"] = "app"
        let clock = TestClock(now: Date())
        let cache = CachingCredentialProvider(
            CredentialProviderChain.default(environment: environment, httpClient: httpClient), refreshMargin: .seconds(300), now: { clock.now }
        )
        let first = try await cache.credentials()
        #expect(first.accessKeyID.hasPrefix("ASIA"))
        let expiration = try #require(first.expiration)
        #expect(abs(expiration.timeIntervalSinceNow - 900) < 120, "moto honours duration_seconds")
        #expect(try await cache.credentials() == first)
        clock.now = expiration.addingTimeInterval(-200)
        #expect(try await cache.credentials().accessKeyID != first.accessKeyID, "assumed again within the margin")
    }

    @Test func credentialSourceEnvironmentSignsWithTheEnvironmentsKeys() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        var environment = try Self.environment(
            folder, stsEndpoint: try Self.motoEndpoint(),
            config: "[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\ncredential_source = Environment\n"
        )
        environment["AWS_PROFILE"] = "app"
        let provider = AssumeRoleCredentialProvider(
            environment: environment.merging(["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret"]) { $1 },
            sts: STSClient(region: "us-east-1", environment: environment, httpClient: .shared), httpClient: httpClient
        )
        #expect(try await provider.credentials().accessKeyID.hasPrefix("ASIA"))

        let withoutKeys = AssumeRoleCredentialProvider(
            environment: environment, sts: STSClient(region: "us-east-1", environment: environment, httpClient: .shared), httpClient: httpClient
        )
        let error = await #expect(throws: CredentialError.self) { try await withoutKeys.credentials() }
        #expect(error?.isConfiguredSourceFailure == true)
        #expect(error?.reason.contains("credential_source Environment of profile app") == true)
    }

    @Test func aProfileLoopIsRefusedNamingTheProfiles() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        var environment = try Self.environment(
            folder, stsEndpoint: try Self.motoEndpoint(),
            config: """
                [profile alpha]
                role_arn = arn:aws:iam::123456789012:role/a
                source_profile = beta
                [profile beta]
                role_arn = arn:aws:iam::123456789012:role/b
                source_profile = gamma
                [profile gamma]
                role_arn = arn:aws:iam::123456789012:role/c
                source_profile = alpha
                """
        )
        environment["AWS_PROFILE"] = "alpha"
        let error = await #expect(throws: CredentialError.self) {
            try await CredentialProviderChain.default(environment: environment, httpClient: httpClient).resolve()
        }
        #expect(error?.isConfiguredSourceFailure == true)
        #expect(error?.reason.contains("alpha -> beta -> gamma -> alpha") == true, "\(error?.reason ?? "")")
    }

    @Test(arguments: [
        ("mfa_serial = arn:aws:iam::123456789012:mfa/me\nsource_profile = base", "needs an MFA code"),
        ("duration_seconds = an hour\nsource_profile = base", "duration_seconds is not a whole number"),
        ("credential_source = Laptop", "credential_source Laptop is not one of Environment, EcsContainer, Ec2InstanceMetadata"),
        ("source_profile = nowhere", "the source_profile nowhere of profile app does not exist"),
        ("", "has role_arn but neither source_profile nor credential_source"),
    ])
    func badRoleProfilesAreRefusedBeforeAnyCall(_ settings: String, _ expected: String) async throws {
        let server = LocalHTTPServer { _ in (.ok, Self.answer("AssumeRole", key: "ASIANEVER")) }
        try await server.run { base in
            let folder = try TemporaryDirectory()
            defer { folder.remove() }
            var environment = try Self.environment(
                folder, stsEndpoint: base, config: "[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\n\(settings)\n",
                credentials: "[base]\naws_access_key_id = BASEKEY\naws_secret_access_key = s\n"
            )
            environment["AWS_PROFILE"] = "app"
            let error = await #expect(throws: CredentialError.self) {
                try await CredentialProviderChain.default(environment: environment, httpClient: httpClient).resolve()
            }
            #expect(error?.isConfiguredSourceFailure == true)
            #expect(error?.reason.contains(expected) == true, "\(error?.reason ?? "")")
        }
        #expect(server.received.isEmpty)
    }

    @Test func aProfileMayNameItselfAsSourceWhenItHoldsKeys() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        var environment = try Self.environment(
            folder, stsEndpoint: try Self.motoEndpoint(),
            credentials: "[self]\naws_access_key_id = SELFKEY\naws_secret_access_key = s\nrole_arn = arn:aws:iam::123456789012:role/s\nsource_profile = self\n"
        )
        environment["AWS_PROFILE"] = "self"
        let (source, credentials) = try await CredentialProviderChain.default(environment: environment, httpClient: httpClient).resolve()
        #expect(source == "assume role")
        #expect(credentials.accessKeyID.hasPrefix("ASIA"))
    }

    @Test func anSTSRefusalIsReportedWithItsCodeAndStopsTheChain() async throws {
        let server = LocalHTTPServer { _ in (.forbidden, STSXMLReaderTests.errorAnswer) }
        try await server.run { base in
            let folder = try TemporaryDirectory()
            defer { folder.remove() }
            try "t.t.t".write(toFile: folder.path("token"), atomically: true, encoding: .utf8)
            var environment = try Self.environment(folder, stsEndpoint: base, credentials: "[default]\naws_access_key_id=FILEKEY\naws_secret_access_key=s\n")
            environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = folder.path("token")
            environment["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/denied"
            let error = await #expect(throws: CredentialError.self) {
                try await CredentialProviderChain.default(environment: environment, httpClient: httpClient).resolve()
            }
            #expect(error?.isConfiguredSourceFailure == true)
            #expect(error?.reason.contains("403 AccessDenied") == true, "\(error?.reason ?? "")")
        }
    }

    @Test func stsIsCalledAtItsOwnEndpointThenTheGeneralOneThenTheRegions() {
        #expect(STSEndpoint.url(region: "eu-west-1", environment: [:]) == "https://sts.eu-west-1.amazonaws.com")
        #expect(STSEndpoint.url(region: "cn-north-1", environment: [:]) == "https://sts.cn-north-1.amazonaws.com.cn")
        #expect(STSEndpoint.url(region: "eu-west-1", environment: ["AWS_ENDPOINT_URL": "http://general"]) == "http://general")
        #expect(
            STSEndpoint.url(region: "eu-west-1", environment: ["AWS_ENDPOINT_URL": "http://general", "AWS_ENDPOINT_URL_STS": "http://sts"]) == "http://sts"
        )
    }
}

/// Counts calls from a server's handler: 1, 2, 3…
final class CallCounter: Sendable {
    private let count = Mutex(0)

    func next() -> Int { count.withLock { $0 += 1; return $0 } }
}
