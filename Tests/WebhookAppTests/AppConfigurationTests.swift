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
