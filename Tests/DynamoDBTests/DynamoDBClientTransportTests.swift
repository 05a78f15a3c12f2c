import AWSSigning
import CoreMetrics
import Foundation
import HTTPTypes
import Logging
import MetricsTestKit
import StoreTestSupport
import Testing

@testable import DynamoDB

/// What the client sends and how it retries, against a real local HTTP server.
@Suite struct DynamoDBClientTransportTests {
    /// Short waits between attempts; a generous deadline, since these tests count attempts and
    /// a loaded machine may take seconds to answer one.
    static let fastRetries = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(1), maxDelay: .milliseconds(5), maxTotalDuration: .seconds(30))
    static let activeTable = #"{"Table":{"TableName":"t","TableStatus":"ACTIVE"}}"#

    func client(
        _ endpoint: String, token: String? = nil, retry: RetryPolicy = fastRetries, metrics: any MetricsFactory = NOOPMetricsHandler.instance
    ) throws -> DynamoDBClient {
        try DynamoDBClient(
            configuration: .init(region: "eu-west-1", endpoint: endpoint, retryPolicy: retry, metricsFactory: metrics),
            credentialProvider: StaticCredentialProvider(AWSCredentials(accessKeyID: "AKIDTEST", secretAccessKey: "secret", sessionToken: token)),
            logger: Logger(label: "test")
        )
    }

    /// Runs `body` with a client of `endpoint`, shut down afterwards whether `body` threw or
    /// not (a client dropped without its shutdown crashed the whole test process in CI).
    func withClient(
        _ endpoint: String, token: String? = nil, retry: RetryPolicy = fastRetries, metrics: any MetricsFactory = NOOPMetricsHandler.instance,
        _ body: (DynamoDBClient) async throws -> Void
    ) async throws {
        try await client(endpoint, token: token, retry: retry, metrics: metrics).shuttingDown(after: body)
    }

    static func error(_ type: String, _ message: String = "nope") -> String {
        #"{"__type":"com.amazonaws.dynamodb.v20120810#\#(type)","message":"\#(message)"}"#
    }

    /// A client dropped without ``DynamoDBClient/shutdown()`` (its caller threw first) closes its
    /// pool by itself; before, AsyncHTTPClient's `deinit` check stopped the whole (debug) test
    /// process, so one failed call crashed every suite.
    @Test func aClientDroppedWithoutItsShutdownClosesItsPoolInsteadOfStoppingTheProcess() async throws {
        for _ in 0..<3 {
            let dropped = try client("http://127.0.0.1:9", retry: RetryPolicy(maxAttempts: 1, baseDelay: .milliseconds(1), maxDelay: .milliseconds(1), maxTotalDuration: .seconds(1)))
            await #expect(throws: DynamoDBError.self) { _ = try await dropped.describeTable("t") }
        }
        // The pools close in the background; the process is still here to see it.
        try await Task.sleep(for: .milliseconds(200))
    }

    @Test func requestsAreSignedDynamoDBJSON() async throws {
        let server = LocalHTTPServer(script: [(.ok, Self.activeTable)])
        try await server.run { endpoint in
            try await withClient(endpoint, token: "session-token") { client in
                _ = try await client.describeTable("t")
            }
        }
        let request = try #require(server.received.first)
        #expect(request.method == .post)
        #expect(request.headers[HTTPField.Name("x-amz-target")!] == "DynamoDB_20120810.DescribeTable")
        #expect(request.headers[.contentType] == "application/x-amz-json-1.0")
        #expect(request.headers[HTTPField.Name("x-amz-security-token")!] == "session-token")
        let authorization = try #require(request.headers[.authorization])
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDTEST/"))
        #expect(authorization.contains("/eu-west-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature="))
        #expect(try JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: String] == ["TableName": "t"])
    }

    @Test func throttlingAndServerErrorsAreRetriedUntilSuccess() async throws {
        let server = LocalHTTPServer(script: [
            (.badRequest, Self.error("ThrottlingException")),
            (.badRequest, Self.error("ProvisionedThroughputExceededException")),
            (.badRequest, Self.error("RequestLimitExceeded")),
            (.ok, Self.activeTable),
        ])
        try await server.run { endpoint in
            try await withClient(endpoint) { client in
                let status = try await client.describeTable("t").tableStatus
                #expect(status == "ACTIVE")
            }
        }
        #expect(server.received.count == 4)
    }

    @Test func retriesAreCountedByOperationAndReasonAndThrottlesByOperation() async throws {
        let server = LocalHTTPServer(script: [
            (.badRequest, Self.error("ThrottlingException")),
            (.internalServerError, Self.error("InternalServerError")),
            (.ok, Self.activeTable),
        ])
        let metrics = TestMetrics()
        try await server.run { endpoint in
            try await withClient(endpoint, metrics: metrics) { client in
                let status = try await client.describeTable("t").tableStatus
                #expect(status == "ACTIVE")
            }
        }
        let retries = DynamoDBClient.retriesMetric
        #expect(try metrics.expectCounter(retries, [("operation", "DescribeTable"), ("reason", "throttling")]).totalValue == 1)
        #expect(try metrics.expectCounter(retries, [("operation", "DescribeTable"), ("reason", "server_error")]).totalValue == 1)
        #expect(try metrics.expectCounter(DynamoDBClient.throttlesMetric, [("operation", "DescribeTable")]).totalValue == 1)
    }

    @Test(arguments: ["ValidationException", "ConditionalCheckFailedException", "ResourceNotFoundException"])
    func clientErrorsAreNeverRetried(_ type: String) async throws {
        let server = LocalHTTPServer(script: [(.badRequest, Self.error(type, "explained")), (.ok, Self.activeTable)])
        try await server.run { endpoint in
            try await withClient(endpoint) { client in
                let error = await #expect(throws: DynamoDBError.self) { try await client.describeTable("t") }
                #expect(error?.code == type)
                #expect(error?.message == "explained")
                #expect(error?.statusCode == 400)
                #expect(error?.isConditionalCheckFailure == (type == "ConditionalCheckFailedException"))
            }
        }
        #expect(server.received.count == 1)
    }

    @Test func persistentServerErrorsStopAfterTheAttemptLimit() async throws {
        let server = LocalHTTPServer(script: [(.internalServerError, Self.error("InternalServerError"))])
        try await server.run { endpoint in
            try await withClient(endpoint) { client in
                let error = await #expect(throws: DynamoDBError.self) { try await client.describeTable("t") }
                #expect(error?.statusCode == 500)
                #expect(error?.isRetryable == true)
            }
        }
        #expect(server.received.count == Self.fastRetries.maxAttempts)
    }

    @Test func anUnreachableEndpointFailsAsAConnectionErrorWithinTheTimeBound() async throws {
        let policy = RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(100), maxDelay: .milliseconds(400), maxTotalDuration: .seconds(1))
        let client = try client("http://127.0.0.1:1", retry: policy)
        let started = ContinuousClock.now
        let error = await #expect(throws: DynamoDBError.self) { try await client.describeTable("t") }
        #expect(error?.kind == .connection)
        #expect(ContinuousClock.now - started < .seconds(10), "retries must stop near maxTotalDuration, not hang")
        try await client.shutdown()
    }

    @Test func aShutDownClientFailsAtOnceWithoutRetrying() async throws {
        let client = try client("http://127.0.0.1:1")
        try await client.shutdown()
        let error = await #expect(throws: DynamoDBError.self) { try await client.describeTable("t") }
        #expect(error?.kind == .clientShutDown)
    }

    @Test func anUnreadableSuccessBodyIsAnInvalidResponse() async throws {
        let server = LocalHTTPServer(script: [(.ok, "not json")])
        try await server.run { endpoint in
            try await withClient(endpoint) { client in
                let error = await #expect(throws: DynamoDBError.self) { try await client.describeTable("t") }
                #expect(error?.kind == .invalidResponse)
            }
        }
    }
}

@Suite struct RetryPolicyTests {
    @Test func delaysStayUnderTheDoublingCeiling() {
        let policy = RetryPolicy(baseDelay: .milliseconds(10), maxDelay: .milliseconds(80))
        for retry in 1...8 {
            let ceiling = min(Duration.milliseconds(80), .milliseconds(10) * (1 << (retry - 1)))
            for _ in 0..<50 {
                let delay = policy.delay(beforeRetry: retry)
                #expect(delay >= .zero && delay <= ceiling)
            }
        }
    }

    @Test func delaysAreJittered() {
        let policy = RetryPolicy(baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        let delays = Set((0..<20).map { _ in policy.delay(beforeRetry: 3) })
        #expect(delays.count > 10)
    }
}

@Suite struct DynamoDBErrorTests {
    @Test func readsTypeAndMessageFromTheErrorBody() {
        let error = DynamoDBError.fromResponse(
            status: 400, body: Array(#"{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"bad key"}"#.utf8)
        )
        #expect(error == DynamoDBError(kind: .service, code: "ValidationException", message: "bad key", statusCode: 400))
        let capitalized = DynamoDBError.fromResponse(status: 400, body: Array(#"{"__type":"ThrottlingException","Message":"slow down"}"#.utf8))
        #expect(capitalized.code == "ThrottlingException" && capitalized.message == "slow down" && capitalized.isThrottling)
        let unreadable = DynamoDBError.fromResponse(status: 503, body: Array("<html>".utf8))
        #expect(unreadable.code == "HTTP503" && unreadable.isRetryable)
    }
}
