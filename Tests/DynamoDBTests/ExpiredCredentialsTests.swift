import AWSSigning
import Foundation
import Logging
import MetricsTestKit
import StoreTestSupport
import Testing

@testable import DynamoDB

/// A credential source that hands out a new session token on every fetch (`token-1`,
/// `token-2`, …), each saying it lasts another hour, and counts the fetches.
actor NumberedTokenSource: CredentialProvider {
    private(set) var fetches = 0

    func credentials() async throws -> AWSCredentials {
        fetches += 1
        return AWSCredentials(
            accessKeyID: "ASIATEST\(fetches)", secretAccessKey: "secret-\(fetches)", sessionToken: "token-\(fetches)",
            expiration: Date().addingTimeInterval(3600)
        )
    }
}

/// `ExpiredTokenException`: the credentials are fetched anew once, whatever their expiry
/// said, and the request is sent again with them.
@Suite struct ExpiredCredentialsTests {
    /// DynamoDB's answer to a session token that has expired.
    static let expiredToken = RecordingHTTPServer.Answer(
        status: 400, headers: [("content-type", "application/x-amz-json-1.0")],
        body: #"{"__type":"com.amazon.coral.service#ExpiredTokenException","message":"The security token included in the request is expired"}"#
    )
    static let activeTable = RecordingHTTPServer.Answer(status: 200, body: DynamoDBClientTransportTests.activeTable)

    func withClient(
        _ endpoint: String, source: NumberedTokenSource, metrics: TestMetrics = TestMetrics(), _ body: (DynamoDBClient) async throws -> Void
    ) async throws {
        try await DynamoDBClient(
            configuration: .init(region: "us-east-1", endpoint: endpoint, retryPolicy: DynamoDBClientTransportTests.fastRetries, metricsFactory: metrics),
            credentialProvider: CachingCredentialProvider(source), logger: Logger(label: "test")
        ).shuttingDown(after: body)
    }

    @Test func anExpiredTokenIsReplacedOnceAndTheRequestSentAgainWithTheNewOne() async throws {
        let source = NumberedTokenSource()
        let metrics = TestMetrics()
        try await RecordingHTTPServer.run({ request, _ in
            request.header("x-amz-security-token") == "token-1" ? Self.expiredToken : Self.activeTable
        }) { server, endpoint in
            try await withClient(endpoint, source: source, metrics: metrics) { client in
                let status = try await client.describeTable("t").tableStatus
                #expect(status == "ACTIVE")
                // Later calls keep the new credentials, from the cache.
                _ = try await client.describeTable("t")
            }
            let tokens = server.received.map { $0.header("x-amz-security-token") }
            #expect(tokens == ["token-1", "token-2", "token-2"])
            #expect(server.received[1].header("authorization")?.contains("Credential=ASIATEST2/") == true)
        }
        #expect(await source.fetches == 2)
        let retries = try metrics.expectCounter(DynamoDBClient.retriesMetric, [("operation", "DescribeTable"), ("reason", "expired_credentials")])
        #expect(retries.totalValue == 1)
    }

    @Test func aSecondExpiredTokenInOneCallIsThrown() async throws {
        let source = NumberedTokenSource()
        try await RecordingHTTPServer.run({ _, _ in Self.expiredToken }) { server, endpoint in
            try await withClient(endpoint, source: source) { client in
                let error = await #expect(throws: DynamoDBError.self) { try await client.describeTable("t") }
                #expect(error?.code == DynamoDBError.Code.expiredTokenException)
                #expect(error?.isExpiredCredentials == true && error?.isRetryable == false)
                #expect(error.map { "\($0)" }?.contains("token-") == false)
            }
            #expect(server.received.map { $0.header("x-amz-security-token") } == ["token-1", "token-2"])
        }
        #expect(await source.fetches == 2)
    }

    @Test(arguments: ["ExpiredToken", "RequestExpired"])
    func otherServicesSpellingsOfAnExpiredTokenRefreshToo(_ code: String) async throws {
        let source = NumberedTokenSource()
        let expired = RecordingHTTPServer.Answer(status: 400, body: #"{"__type":"\#(code)","message":"expired"}"#)
        try await RecordingHTTPServer.run({ request, _ in
            request.header("x-amz-security-token") == "token-1" ? expired : Self.activeTable
        }) { server, endpoint in
            try await withClient(endpoint, source: source) { client in
                _ = try await client.describeTable("t")
            }
            #expect(server.received.count == 2)
        }
        #expect(await source.fetches == 2)
    }

    @Test func theCacheFetchesAnewForRejectedCredentialsButOnlyOnce() async throws {
        let source = NumberedTokenSource()
        let cache = CachingCredentialProvider(source)
        let first = try await cache.credentials()
        #expect(try await cache.credentials() == first)
        let second = try await cache.refreshedCredentials(replacing: first)
        #expect(second.sessionToken == "token-2")
        // A caller refused with the same old credentials gets the replacement, not a third fetch.
        #expect(try await cache.refreshedCredentials(replacing: first) == second)
        #expect(try await cache.credentials() == second)
        #expect(await source.fetches == 2)
    }

    @Test func callersRefusedTogetherShareOneFetch() async throws {
        let source = NumberedTokenSource()
        let cache = CachingCredentialProvider(source)
        let first = try await cache.credentials()
        let replacements = try await withThrowingTaskGroup(of: AWSCredentials.self) { group in
            for _ in 0..<8 { group.addTask { try await cache.refreshedCredentials(replacing: first) } }
            return try await group.reduce(into: [AWSCredentials]()) { $0.append($1) }
        }
        #expect(Set(replacements.map(\.sessionToken)) == ["token-2"])
        #expect(await source.fetches == 2)
    }
}
