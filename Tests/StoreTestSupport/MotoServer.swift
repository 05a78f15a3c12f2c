import DynamoDB
import DynamoDBMessageStore
import Foundation
import Logging

/// The DynamoDB-compatible server the DynamoDB tests talk to: moto on loopback, found
/// through `DYNAMODB_TEST_ENDPOINT`. `.ci/run` starts it with `scripts/moto-server`, which
/// makes moto's conditional writes atomic as DynamoDB's are, and sets the variable.
public enum MotoServer {
    /// The server's URL, when one is configured.
    public static let endpoint: String? = ProcessInfo.processInfo.environment["DYNAMODB_TEST_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }

    /// Whether these tests run in CI, where the DynamoDB tests must run rather than skip.
    public static let isCI: Bool = ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty && $0 != "false" } ?? false

    /// Whether DynamoDB tests should run: a server is configured, or CI requires them (and
    /// then they fail loudly if it is missing).
    public static let shouldRun: Bool = endpoint != nil || isCI

    /// Why DynamoDB tests are skipped here.
    public static let skipReason =
        "DynamoDB tests skipped: DYNAMODB_TEST_ENDPOINT is not set. Run .ci/run, or start `scripts/moto-server -H 127.0.0.1 -p 5000` and set DYNAMODB_TEST_ENDPOINT=http://127.0.0.1:5000."

    /// A client for the test server, with fixed test credentials.
    public static func makeClient(retryPolicy: RetryPolicy = RetryPolicy()) throws -> DynamoDBClient {
        guard let endpoint else {
            throw DynamoDBError(kind: .connection, code: "NoTestServer", message: "DYNAMODB_TEST_ENDPOINT is not set; CI must start moto_server")
        }
        return try DynamoDBClient(
            configuration: .init(region: "us-east-1", endpoint: endpoint, retryPolicy: retryPolicy),
            credentialProvider: StaticCredentialProvider(AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing")),
            logger: Logger(label: "test")
        )
    }

    /// A fresh table with the spec's key schema.
    public static func createTable(client: DynamoDBClient) async throws -> String {
        let name = "qualia-test-\(UUID().uuidString.prefix(8).lowercased())"
        try await DynamoDBMessageStore.createTableIfMissing(name, client: client)
        return name
    }
}



/// DynamoDB clients for tests that bring their own server.
public enum DynamoDBTestClient {
    /// A client for `endpoint` with fixed test credentials.
    public static func make(endpoint: String) throws -> DynamoDBClient {
        try DynamoDBClient(
            configuration: .init(region: "us-east-1", endpoint: endpoint),
            credentialProvider: StaticCredentialProvider(AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing")),
            logger: Logger(label: "test")
        )
    }

    /// Creates a table with the spec's key schema.
    public static func createTable(_ name: String, client: DynamoDBClient) async throws {
        try await DynamoDBMessageStore.createTableIfMissing(name, client: client)
    }
}
