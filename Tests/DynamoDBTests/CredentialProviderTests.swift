import AsyncHTTPClient
import Foundation
import Logging
import HTTPTypes
import StoreTestSupport
import Testing

@testable import AWSSigning
@testable import DynamoDB

@Suite struct CredentialProviderTests {
    let httpClient = HTTPCredentialClient(httpClient: .shared)

    static func document(key: String, expiration: String = "2099-01-01T00:00:00Z") -> String {
        #"{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"\#(key)","SecretAccessKey":"secret-\#(key)","Token":"token-\#(key)","Expiration":"\#(expiration)"}"#
    }

    @Test func environmentVariables() async throws {
        let provider = EnvironmentCredentialProvider(environment: ["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET", "AWS_SESSION_TOKEN": "TOKEN"])
        #expect(try await provider.credentials() == AWSCredentials(accessKeyID: "AKID", secretAccessKey: "SECRET", sessionToken: "TOKEN"))
        await #expect(throws: CredentialError.self) { try await EnvironmentCredentialProvider(environment: ["AWS_ACCESS_KEY_ID": "AKID"]).credentials() }
    }

    @Test func anAccessKeyWithoutItsSecretStopsTheChain() async throws {
        let chain = CredentialProviderChain([
            ("environment", EnvironmentCredentialProvider(environment: ["AWS_ACCESS_KEY_ID": "AKID"])),
            ("fixed", StaticCredentialProvider(AWSCredentials(accessKeyID: "OTHER", secretAccessKey: "other"))),
        ])
        let error = await #expect(throws: CredentialError.self) { try await chain.credentials() }
        #expect(error?.isConfiguredSourceFailure == true)
        #expect(error?.reason.contains("AWS_SECRET_ACCESS_KEY is not") == true)
        let secretOnly = EnvironmentCredentialProvider(environment: ["AWS_SECRET_ACCESS_KEY": "s"])
        let notSetUp = await #expect(throws: CredentialError.self) { try await secretOnly.credentials() }
        #expect(notSetUp?.isConfiguredSourceFailure == false, "botocore looks only for the access key")
    }

    @Test func sharedCredentialsAndConfigFilesWithAWSProfile() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try """
            # comment
            [default]
            aws_access_key_id = DEFAULTKEY
            aws_secret_access_key = defaultsecret

            [work]
            aws_access_key_id=WORKKEY
            aws_secret_access_key=worksecret
            aws_session_token=worktoken
            """.write(toFile: folder.path("credentials"), atomically: true, encoding: .utf8)
        try """
            [profile configured]
            ; only in the config file
            aws_access_key_id = CONFIGKEY
            aws_secret_access_key = configsecret
            region = eu-west-1
            """.write(toFile: folder.path("config"), atomically: true, encoding: .utf8)
        let files = ["AWS_SHARED_CREDENTIALS_FILE": folder.path("credentials"), "AWS_CONFIG_FILE": folder.path("config")]

        #expect(try await ProfileCredentialProvider(environment: files).credentials().accessKeyID == "DEFAULTKEY")
        let work = try await ProfileCredentialProvider(environment: files.merging(["AWS_PROFILE": "work"]) { $1 }).credentials()
        #expect(work == AWSCredentials(accessKeyID: "WORKKEY", secretAccessKey: "worksecret", sessionToken: "worktoken"))
        #expect(try await ProfileCredentialProvider(environment: files.merging(["AWS_PROFILE": "configured"]) { $1 }).credentials().accessKeyID == "CONFIGKEY")
        await #expect(throws: CredentialError.self) {
            try await ProfileCredentialProvider(environment: files.merging(["AWS_PROFILE": "missing"]) { $1 }).credentials()
        }
    }

    @Test func containerCredentialsWithAnAuthorizationToken() async throws {
        let server = LocalHTTPServer { request in
            guard request.path == "/v2/credentials/abc", request.headers[.authorization] == "Bearer pod-token" else { return (.unauthorized, "{}") }
            return (.ok, Self.document(key: "CONTAINERKEY", expiration: "2030-01-02T03:04:05Z"))
        }
        try await server.run { base in
            let folder = try TemporaryDirectory()
            defer { folder.remove() }
            try "Bearer pod-token\n".write(toFile: folder.path("token"), atomically: true, encoding: .utf8)

            let viaVariable = ContainerCredentialProvider(
                environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": base + "/v2/credentials/abc", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer pod-token"],
                httpClient: httpClient
            )
            let credentials = try await viaVariable.credentials()
            #expect(credentials.accessKeyID == "CONTAINERKEY")
            #expect(credentials.sessionToken == "token-CONTAINERKEY")
            #expect(credentials.expiration == Date(timeIntervalSince1970: 1_893_553_445))

            let viaFile = ContainerCredentialProvider(
                environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": base + "/v2/credentials/abc", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": folder.path("token")],
                httpClient: httpClient
            )
            #expect(try await viaFile.credentials().accessKeyID == "CONTAINERKEY")

            let wrongToken = ContainerCredentialProvider(
                environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": base + "/v2/credentials/abc", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer wrong"],
                httpClient: httpClient
            )
            await #expect(throws: CredentialError.self) { try await wrongToken.credentials() }
        }
    }

    @Test func instanceMetadataUsesAnIMDSv2Token() async throws {
        let server = LocalHTTPServer { request in
            let ttl = HTTPField.Name("X-aws-ec2-metadata-token-ttl-seconds")!
            let token = HTTPField.Name("X-aws-ec2-metadata-token")!
            switch (request.method, request.path) {
            case (.put, "/latest/api/token") where request.headers[ttl] != nil:
                return (.ok, "session-token-123")
            case (.get, _) where request.headers[token] != "session-token-123":
                return (.unauthorized, "")
            case (.get, "/latest/meta-data/iam/security-credentials/"):
                return (.ok, "web-role\n")
            case (.get, "/latest/meta-data/iam/security-credentials/web-role"):
                return (.ok, Self.document(key: "IMDSKEY"))
            default:
                return (.notFound, "")
            }
        }
        try await server.run { base in
            let provider = InstanceMetadataCredentialProvider(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": base + "/"], httpClient: httpClient)
            let credentials = try await provider.credentials()
            #expect(credentials.accessKeyID == "IMDSKEY")
            #expect(credentials.secretAccessKey == "secret-IMDSKEY")
            #expect(credentials.sessionToken == "token-IMDSKEY")
        }
        #expect(server.received.map(\.method) == [.put, .get, .get])

        let disabled = InstanceMetadataCredentialProvider(environment: ["AWS_EC2_METADATA_DISABLED": "true"], httpClient: httpClient)
        await #expect(throws: CredentialError.self) { try await disabled.credentials() }
    }

    @Test func theChainLogsWhichSourceAnsweredOnceWithoutTheCredentials() async throws {
        let logs = LogRecording()
        let chain = CredentialProviderChain(
            [
                ("environment", EnvironmentCredentialProvider(environment: [:])),
                ("fixed", StaticCredentialProvider(AWSCredentials(accessKeyID: "AKIDFIXED", secretAccessKey: "fixed-secret"))),
            ],
            logger: logs.logger
        )
        _ = try await chain.credentials()
        _ = try await chain.credentials()
        let entries = logs.entries
        #expect(entries.count == 1)
        #expect(entries.first?.level == .info)
        #expect(entries.first?.metadata == ["credential_source": "fixed"])
        #expect(entries.first.map { !"\($0.message)\($0.metadata)".contains("fixed-secret") } == true)
    }

    @Test func anAWSProfileThatNamesNoProfileIsRefusedEvenWithKeysInTheEnvironment() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try "[work]\naws_access_key_id = WORKKEY\naws_secret_access_key = w\n".write(toFile: folder.path("credentials"), atomically: true, encoding: .utf8)
        let environment = [
            "AWS_SHARED_CREDENTIALS_FILE": folder.path("credentials"), "AWS_CONFIG_FILE": folder.path("none"), "HOME": folder.path("home"),
            "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_EC2_METADATA_DISABLED": "true",
        ]
        func chain(_ profile: String?) -> CredentialProviderChain {
            var environment = environment
            environment["AWS_PROFILE"] = profile
            return CredentialProviderChain.default(environment: environment, httpClient: httpClient)
        }
        let error = await #expect(throws: CredentialError.self) { try await chain("wrok").credentials() }
        #expect(error?.isConfiguredSourceFailure == true)
        #expect(error?.reason.contains("The config profile (wrok) could not be found") == true)
        #expect(try await chain("work").resolve().source == "environment")
        #expect(try await chain(nil).resolve().source == "environment", "an unset AWS_PROFILE may have no default profile")
    }

    @Test func anUnreachableSTSIsReportedWithoutTheEndpointsPassword() async throws {
        // Port 9 on loopback: nothing listens, the connection is refused at once.
        let sts = STSClient(region: "us-east-1", environment: ["AWS_ENDPOINT_URL_STS": "http://proxy-user:hunter2@127.0.0.1:9/?sig=s3cr3t"], httpClient: .shared)
        let error = await #expect(throws: CredentialError.self) {
            try await sts.assumeRoleWithWebIdentity(roleARN: "arn:aws:iam::123456789012:role/r", sessionName: "s", token: "t.t.t")
        }
        #expect(error?.reason.contains("127.0.0.1:9") == true, "\(error?.reason ?? "")")
        #expect(error.map { !$0.reason.contains("hunter2") && !$0.reason.contains("s3cr3t") } == true, "\(error?.reason ?? "")")
    }

    @Test func temporaryCredentialsAreCachedAndRefreshedBeforeTheyExpire() async throws {
        let expiry = Date(timeIntervalSince1970: 2_000_000_000)
        let server = LocalHTTPServer { _ in (.ok, Self.document(key: "ROTATING", expiration: "2033-05-18T03:33:20Z")) }
        try await server.run { base in
            let clock = TestClock(now: expiry.addingTimeInterval(-3600))
            let source = ContainerCredentialProvider(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": base + "/creds"], httpClient: httpClient)
            let cache = CachingCredentialProvider(source, refreshMargin: .seconds(300), now: { clock.now })

            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<20 { group.addTask { _ = try? await cache.credentials() } }
            }
            #expect(server.received.count == 1, "concurrent callers share one fetch")
            clock.now = expiry.addingTimeInterval(-400)
            _ = try await cache.credentials()
            #expect(server.received.count == 1, "still more than the margin before expiry")
            clock.now = expiry.addingTimeInterval(-200)
            _ = try await cache.credentials()
            #expect(server.received.count == 2, "refreshed within the margin before expiry")
        }
    }

    @Test func theChainTakesTheFirstSourceThatAnswersAndExplainsWhenNoneDoes() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try "[default]\naws_access_key_id=FILEKEY\naws_secret_access_key=filesecret\n".write(toFile: folder.path("credentials"), atomically: true, encoding: .utf8)
        let base = ["AWS_SHARED_CREDENTIALS_FILE": folder.path("credentials"), "AWS_CONFIG_FILE": folder.path("none"), "AWS_EC2_METADATA_DISABLED": "true"]

        let withEnvironment = CredentialProviderChain.default(
            environment: base.merging(["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret"]) { $1 }, httpClient: httpClient
        )
        #expect(try await withEnvironment.credentials().accessKeyID == "ENVKEY")
        #expect(try await CredentialProviderChain.default(environment: base, httpClient: httpClient).credentials().accessKeyID == "FILEKEY")

        let empty = CredentialProviderChain.default(
            environment: ["AWS_SHARED_CREDENTIALS_FILE": folder.path("none"), "AWS_CONFIG_FILE": folder.path("none"), "AWS_EC2_METADATA_DISABLED": "true"],
            httpClient: httpClient
        )
        let error = await #expect(throws: CredentialError.self) { try await empty.credentials() }
        for source in [
            "environment", "assume role", "web identity", "shared credentials file", "credential process", "config file", "container", "instance metadata",
        ] {
            #expect(error?.reason.contains(source) == true)
        }
    }

    @Test func aContainerEndpointThatFailsStopsTheChainBeforeInstanceMetadata() async throws {
        let server = LocalHTTPServer { request in
            request.path.hasPrefix("/creds") ? (.internalServerError, "{}") : (.ok, Self.document(key: "IMDSKEY"))
        }
        try await server.run { base in
            let chain = CredentialProviderChain.default(
                environment: [
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI": base + "/creds", "AWS_EC2_METADATA_SERVICE_ENDPOINT": base,
                    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent",
                ],
                httpClient: httpClient
            )
            let error = await #expect(throws: CredentialError.self) { try await chain.resolve() }
            #expect(error?.isConfiguredSourceFailure == true)
            #expect(error?.reason.hasPrefix("container:") == true)
        }
        #expect(server.received.map(\.path) == ["/creds"], "instance metadata is never asked")
    }

    @Test func credentialsNeverPrintTheirSecrets() {
        let text = "\(AWSCredentials(accessKeyID: "AKID", secretAccessKey: "very-secret", sessionToken: "token-secret"))"
        #expect(text.contains("AKID") && !text.contains("very-secret") && !text.contains("token-secret"))
    }
}

/// A clock the test moves by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Date

    init(now: Date) { value = now }

    var now: Date {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
