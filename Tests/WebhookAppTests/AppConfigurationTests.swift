import DynamoDBMessageStore
import Foundation
import Logging
import StoreTestSupport
import Testing

@testable import WebhookApp

@Suite struct AppConfigurationTests {
    let credentials = ["WEBHOOK_USERNAME": "u", "WEBHOOK_PASSWORD": "p"]

    @Test func defaultsFollowTheSpecsExamples() throws {
        let configuration = try AppConfiguration(environment: credentials)
        #expect(configuration.auth.credentials == BasicCredentials(username: "u", password: "p"))
        #expect(configuration.auth.failureLimit == 10 && configuration.auth.lockout == .seconds(300))
        #expect(configuration.http.host == "127.0.0.1")
        #expect(configuration.http.port == 8000)
        #expect(configuration.store == .sqlite(path: "data/messages.sqlite"))
        #expect(configuration.http.maxBodyBytes == 262_144)
        #expect(configuration.http.listingCacheBytes == 8 * 1024 * 1024)
        #expect(configuration.http.idleTimeout == .seconds(60))
        #expect(configuration.logLevel == .info)
        let dynamoDB = try AppConfiguration.Store.dynamoDBSettings(environment: [:], tableName: "messages")
        #expect(dynamoDB.region == "us-east-1" && dynamoDB.endpoint == nil)
    }

    @Test func readsEveryVariable() throws {
        let configuration = try AppConfiguration(environment: credentials.merging([
            "HOST": "0.0.0.0", "PORT": "9000", "STORE": "dynamodb", "AWS_REGION": "eu-west-1", "DYNAMODB_TABLE": "messages",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "MAX_BODY_BYTES": "65536", "LOG_LEVEL": "DEBUG", "LISTING_CACHE_BYTES": "0",
            "IDLE_TIMEOUT_SECONDS": "5", "SHUTDOWN_TIMEOUT_SECONDS": "7", "AUTH_FAILURE_LIMIT": "3", "AUTH_FAILURE_WINDOW_SECONDS": "9",
            "AUTH_LOCKOUT_SECONDS": "11", "CLIENT_ADDRESS_HEADER": "X-Forwarded-For", "WEBHOOK_PASSWORD_PREVIOUS": "old",
        ]) { $1 })
        #expect(configuration.http.host == "0.0.0.0")
        #expect(configuration.http.port == 9000)
        #expect(configuration.http.maxBodyBytes == 65536)
        #expect(configuration.http.listingCacheBytes == 0)
        #expect(configuration.http.idleTimeout == .seconds(5) && configuration.http.shutdownTimeout == .seconds(7))
        #expect(configuration.auth.failureLimit == 3 && configuration.auth.failureWindow == .seconds(9))
        #expect(configuration.auth.lockout == .seconds(11) && configuration.auth.clientAddressHeader == "X-Forwarded-For")
        #expect(configuration.auth.previousCredentials == BasicCredentials(username: "u", password: "old"))
        guard case .dynamoDB(let settings) = configuration.store else {
            Issue.record("not the DynamoDB store")
            return
        }
        #expect(settings.tableName == "messages" && settings.region == "eu-west-1" && settings.endpoint == "http://127.0.0.1:5000")
        #expect(settings.awsEnvironment["AWS_ENDPOINT_URL"] != nil && settings.awsEnvironment["WEBHOOK_PASSWORD"] == nil)
        #expect(configuration.logLevel == .debug)
        let sqlite = try AppConfiguration(environment: credentials.merging(["SQLITE_PATH": "/var/lib/q.sqlite"]) { $1 })
        #expect(sqlite.store == .sqlite(path: "/var/lib/q.sqlite"))
    }

    @Test func refusesToStartWithoutCredentialsAndListsEveryProblem() {
        let error = #expect(throws: ConfigurationError.self) {
            try AppConfiguration(environment: ["WEBHOOK_PASSWORD": "", "PORT": "eighty", "STORE": "redis", "LOG_LEVEL": "loud"])
        }
        #expect(error?.problems.count == 5)
        #expect(error?.description.contains("WEBHOOK_USERNAME is not set") == true)
        #expect(error?.description.contains("WEBHOOK_PASSWORD is not set") == true)
    }

    /// Settings that the start-up log shows must be what their names say, so a value that
    /// swallowed other lines (a secret among them) is refused, and never echoed.
    @Test(arguments: [
        ("HOST", "127.0.0.1\r\nWEBHOOK_PASSWORD=s3cr3t"), ("HOST", "host name s3cr3t"), ("AWS_REGION", "us-east-1\ns3cr3t"),
        ("SQLITE_PATH", "data/x.sqlite\rs3cr3t"), ("DYNAMODB_TABLE", "messages\r\nWEBHOOK_PASSWORD=s3cr3t"),
    ])
    func loggedSettingsAreCheckedAndNeverEchoed(_ name: String, _ value: String) {
        var environment = credentials.merging(["STORE": name == "SQLITE_PATH" ? "sqlite" : "dynamodb", "DYNAMODB_TABLE": "messages"]) { $1 }
        environment[name] = value
        let error = #expect(throws: ConfigurationError.self) { try AppConfiguration(environment: environment) }
        #expect(error?.problems.count == 1)
        #expect(error?.problems.first?.hasPrefix(name) == true)
        #expect(error?.description.contains("s3cr3t") == false)
    }

    @Test func ordinaryHostsRegionsAndTablesAreAccepted() throws {
        for host in ["0.0.0.0", "::", "[::1]", "localhost", "webhook.internal-1.example.com", "fe80::1%eth0"] {
            #expect(try AppConfiguration(environment: credentials.merging(["HOST": host]) { $1 }).http.host == host)
        }
        let configuration = try AppConfiguration(environment: credentials.merging([
            "AWS_REGION": "ap-southeast-2", "STORE": "dynamodb", "DYNAMODB_TABLE": "qualia_messages-prod.v2",
        ]) { $1 })
        #expect(configuration.store == .dynamoDB(.init(
            tableName: "qualia_messages-prod.v2", region: "ap-southeast-2", awsEnvironment: ["AWS_REGION": "ap-southeast-2"],
            withheldVariables: AppConfiguration.secretVariables
        )))
    }

    @Test func fipsAndDualStackEndpointsAreChosenByTheSDKsVariables() throws {
        let base = ["DYNAMODB_TABLE": "messages", "AWS_REGION": "us-gov-west-1"]
        let plain = try AppConfiguration.Store.dynamoDBSettings(environment: base)
        #expect(!plain.useFIPSEndpoint && !plain.useDualStackEndpoint)
        #expect(plain.endpointURL == "https://dynamodb.us-gov-west-1.amazonaws.com")
        let both = try AppConfiguration.Store.dynamoDBSettings(
            environment: base.merging(["AWS_USE_FIPS_ENDPOINT": "TRUE", "AWS_USE_DUALSTACK_ENDPOINT": "True"]) { $1 }
        )
        #expect(both.useFIPSEndpoint && both.useDualStackEndpoint)
        #expect(both.endpointURL == "https://dynamodb-fips.us-gov-west-1.api.aws")
        let off = try AppConfiguration.Store.dynamoDBSettings(environment: base.merging(["AWS_USE_FIPS_ENDPOINT": "false"]) { $1 })
        #expect(!off.useFIPSEndpoint)
        // An explicit endpoint wins over both.
        let local = try AppConfiguration.Store.dynamoDBSettings(
            environment: base.merging(["AWS_USE_FIPS_ENDPOINT": "true", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:5000"]) { $1 }
        )
        #expect(local.endpointURL == "http://127.0.0.1:5000")
    }

    @Test func anEndpointVariantOtherThanTrueOrFalseStopsTheStart() {
        let environment = credentials.merging([
            "STORE": "dynamodb", "DYNAMODB_TABLE": "messages", "AWS_USE_FIPS_ENDPOINT": "yes", "AWS_USE_DUALSTACK_ENDPOINT": "1",
        ]) { $1 }
        #expect {
            try AppConfiguration(environment: environment)
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.problems.contains("AWS_USE_FIPS_ENDPOINT must be true or false")
                && error.problems.contains("AWS_USE_DUALSTACK_ENDPOINT must be true or false")
        }
    }

    @Test func theRegionFallsBackToAWSDefaultRegionThenTheProfilesRegionAndIsChecked() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try "[profile work]\nregion = eu-central-1\n[profile bad]\nregion = eu central s3cr3t\n".write(toFile: folder.path("config"), atomically: true, encoding: .utf8)
        let base = credentials.merging([
            "STORE": "dynamodb", "DYNAMODB_TABLE": "messages", "AWS_CONFIG_FILE": folder.path("config"),
            "AWS_SHARED_CREDENTIALS_FILE": folder.path("none"), "HOME": folder.path("home"),
        ]) { $1 }
        func settings(_ extra: [String: String]) throws -> DynamoDBMessageStore.Settings? {
            guard case .dynamoDB(let settings) = try AppConfiguration(environment: base.merging(extra) { $1 }).store else { return nil }
            return settings
        }
        #expect(try settings(["AWS_PROFILE": "work"])?.region == "eu-central-1")
        #expect(try settings(["AWS_PROFILE": "work"])?.regionSource == "profile work")
        #expect(try settings(["AWS_PROFILE": "work", "AWS_DEFAULT_REGION": "ap-south-1"])?.regionSource == "AWS_DEFAULT_REGION")
        #expect(try settings([:])?.region == "us-east-1")
        #expect(try settings([:])?.regionSource == "default")
        let error = #expect(throws: ConfigurationError.self) { try settings(["AWS_PROFILE": "bad"]) }
        #expect(error?.problems == ["the region of AWS profile bad must be a region name such as us-east-1"])
    }

    @Test func anAWSProfileThatNamesNoProfileStopsTheStart() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let environment = credentials.merging([
            "STORE": "dynamodb", "DYNAMODB_TABLE": "messages", "AWS_CONFIG_FILE": folder.path("none"),
            "AWS_SHARED_CREDENTIALS_FILE": folder.path("none"), "HOME": folder.path("home"), "AWS_PROFILE": "wrok",
            "ATTACHMENT_STORE": "s3", "S3_BUCKET": "attachments",
        ]) { $1 }
        let error = #expect(throws: ConfigurationError.self) { try AppConfiguration(environment: environment) }
        #expect(error?.problems.count == 1, "read by DynamoDB and S3, reported once")
        #expect(error?.problems.first?.hasPrefix("The config profile (wrok) could not be found") == true)
    }

    @Test func aCredentialProcessIsDeniedTheServicesOwnCredentials() throws {
        let environment = credentials.merging([
            "STORE": "dynamodb", "DYNAMODB_TABLE": "messages", "ATTACHMENT_STORE": "s3", "S3_BUCKET": "attachments",
            "READER_USERNAME": "reader", "READER_PASSWORD": "reader-secret",
        ]) { $1 }
        let configuration = try AppConfiguration(environment: environment)
        guard case .dynamoDB(let settings) = configuration.store else { Issue.record("not DynamoDB"); return }
        for name in ["WEBHOOK_PASSWORD", "WEBHOOK_PASSWORD_PREVIOUS", "READER_PASSWORD", "WEBHOOK_USERNAME", "READER_USERNAME"] {
            #expect(settings.withheldVariables.contains(name))
        }
        guard case .s3(let s3) = configuration.attachments.store else { Issue.record("not S3"); return }
        #expect(s3.withheldVariables == AppConfiguration.secretVariables)
    }

    @Test func dynamoDBNeedsATable() {
        let error = #expect(throws: ConfigurationError.self) {
            try AppConfiguration(environment: credentials.merging(["STORE": "dynamodb"]) { $1 })
        }
        #expect(error?.problems == ["DYNAMODB_TABLE is not set, and STORE=dynamodb needs it"])
    }

    @Test func credentialsNeverPrintTheirPassword() {
        let credentials = BasicCredentials(username: "user", password: "hunter2")
        #expect(!"\(credentials)".contains("hunter2"))
        #expect(!String(reflecting: credentials).contains("hunter2"))
    }
}
