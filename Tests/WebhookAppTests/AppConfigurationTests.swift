import Logging
import Testing

@testable import WebhookApp

@Suite struct AppConfigurationTests {
    let credentials = ["WEBHOOK_USERNAME": "u", "WEBHOOK_PASSWORD": "p"]

    @Test func defaultsFollowTheSpecsExamples() throws {
        let configuration = try AppConfiguration(environment: credentials)
        #expect(configuration.credentials == BasicCredentials(username: "u", password: "p"))
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8000)
        #expect(configuration.store == .sqlite)
        #expect(configuration.sqlitePath == "data/messages.sqlite")
        #expect(configuration.awsRegion == "us-east-1")
        #expect(configuration.maxBodyBytes == 262_144)
        #expect(configuration.listingCacheBytes == 8 * 1024 * 1024)
        #expect(configuration.logLevel == .info)
    }

    @Test func readsEveryVariable() throws {
        let configuration = try AppConfiguration(environment: credentials.merging([
            "HOST": "0.0.0.0", "PORT": "9000", "STORE": "dynamodb", "SQLITE_PATH": "/var/lib/q.sqlite",
            "AWS_REGION": "eu-west-1", "DYNAMODB_TABLE": "messages", "MAX_BODY_BYTES": "65536", "LOG_LEVEL": "DEBUG",
            "LISTING_CACHE_BYTES": "0",
        ]) { $1 })
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 9000)
        #expect(configuration.store == .dynamodb)
        #expect(configuration.sqlitePath == "/var/lib/q.sqlite")
        #expect(configuration.awsRegion == "eu-west-1")
        #expect(configuration.dynamoDBTable == "messages")
        #expect(configuration.maxBodyBytes == 65536)
        #expect(configuration.listingCacheBytes == 0)
        #expect(configuration.logLevel == .debug)
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
        var environment = credentials.merging(["STORE": "dynamodb", "DYNAMODB_TABLE": "messages"]) { $1 }
        environment[name] = value
        let error = #expect(throws: ConfigurationError.self) { try AppConfiguration(environment: environment) }
        #expect(error?.problems.count == 1)
        #expect(error?.problems.first?.hasPrefix(name) == true)
        #expect(error?.description.contains("s3cr3t") == false)
    }

    @Test func ordinaryHostsRegionsAndTablesAreAccepted() throws {
        for host in ["0.0.0.0", "::", "[::1]", "localhost", "webhook.internal-1.example.com", "fe80::1%eth0"] {
            #expect(try AppConfiguration(environment: credentials.merging(["HOST": host]) { $1 }).host == host)
        }
        let configuration = try AppConfiguration(environment: credentials.merging([
            "AWS_REGION": "ap-southeast-2", "STORE": "dynamodb", "DYNAMODB_TABLE": "qualia_messages-prod.v2",
        ]) { $1 })
        #expect(configuration.dynamoDBTable == "qualia_messages-prod.v2")
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
