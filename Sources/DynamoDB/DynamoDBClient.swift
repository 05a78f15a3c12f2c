import AsyncHTTPClient
import CoreMetrics
import AWSSigning
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A small DynamoDB client: the JSON 1.0 protocol over one shared, pooled `HTTPClient`,
/// signed with SigV4, retrying throttling, 5xx, connection failures and damaged answers
/// (`x-amz-crc32`) with backoff, and correcting an expired token or a skewed clock once per call
/// (see `DynamoDBClient+Transport.swift`).
///
/// Create one per process and call ``shutdown()`` when done.
public final class DynamoDBClient: Sendable {
    /// Where and how to reach DynamoDB.
    public struct Configuration: Sendable {
        /// The region, such as `us-east-1`.
        public var region: String
        /// The endpoint URL; when `nil`, the region's own, chosen by ``regionalEndpoint``.
        public var endpoint: String?
        /// Which of the region's endpoints to use when ``endpoint`` is `nil` (FIPS, dual-stack).
        public var regionalEndpoint: DynamoDBEndpoint
        /// How long a connection attempt may take.
        public var connectTimeout: TimeAmount
        /// How long one attempt of one request may take, answer included; never past the
        /// call's ``Deadline``.
        public var requestTimeout: TimeAmount
        /// How failures are retried.
        public var retryPolicy: RetryPolicy
        /// Where retries and throttled answers are counted (see ``DynamoDBClient/retriesMetric``
        /// and ``DynamoDBClient/throttlesMetric``); nothing is recorded by default.
        public var metricsFactory: any MetricsFactory

        /// Creates a configuration.
        public init(
            region: String, endpoint: String? = nil, regionalEndpoint: DynamoDBEndpoint = DynamoDBEndpoint(),
            connectTimeout: TimeAmount = .seconds(2), requestTimeout: TimeAmount = .seconds(5),
            retryPolicy: RetryPolicy = RetryPolicy(), metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance
        ) {
            self.metricsFactory = metricsFactory
            self.region = region
            self.endpoint = endpoint
            self.regionalEndpoint = regionalEndpoint
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.retryPolicy = retryPolicy
        }

        /// The endpoint that the AWS SDKs' variables choose: `AWS_ENDPOINT_URL_DYNAMODB`, then
        /// `AWS_ENDPOINT_URL`; `nil` for the real regional endpoint.
        public static func endpointOverride(in environment: [String: String]) -> String? {
            for name in ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"] {
                if let value = environment[name], !value.isEmpty { return value }
            }
            return nil
        }
    }

    let configuration: Configuration
    /// The URL requests are sent to, ending in `/`.
    let endpointURL: String
    /// The `host` header signed and sent.
    let hostHeader: String
    let credentialProvider: any CredentialProvider
    let httpClient: HTTPClient
    let keyCache = SigningKeyCache()
    /// The time requests are signed with, corrected by the server's clock after a clock-skew error.
    let signingClock: SigningClock
    let logger: Logger

    /// Creates a client with its own connection pool.
    /// - Parameter signingClock: The time requests are signed with; this machine's clock, until
    ///   a clock-skew error teaches it the server's.
    /// - Throws: ``DynamoDBError`` when the endpoint is not an http or https URL.
    public init(
        configuration: Configuration, credentialProvider: any CredentialProvider, signingClock: SigningClock = SigningClock(), logger: Logger
    ) throws {
        let endpoint = configuration.endpoint ?? configuration.regionalEndpoint.url(region: configuration.region)
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw DynamoDBError(kind: .connection, code: "InvalidEndpoint", message: "the DynamoDB endpoint must be an http or https URL")
        }
        self.configuration = configuration
        self.endpointURL = endpoint.hasSuffix("/") ? endpoint : endpoint + "/"
        self.hostHeader = url.port.map { "\(host):\($0)" } ?? host
        self.credentialProvider = credentialProvider
        self.signingClock = signingClock
        self.logger = logger
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.timeout = .init(connect: configuration.connectTimeout, read: configuration.requestTimeout)
        httpConfiguration.connectionPool = .init(idleTimeout: .seconds(50))
        httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: httpConfiguration)
    }

    /// Closes the connection pool. The client is not used afterwards.
    public func shutdown() async throws {
        try await httpClient.shutdown()
    }

    /// A client dropped without ``shutdown()`` (a caller that threw before reaching it) still
    /// closes its pool, in the background, rather than leaking its connections; AsyncHTTPClient
    /// would otherwise stop a debug build at the pool's `deinit`. After ``shutdown()`` this
    /// does nothing (the pool answers that it is shut down already).
    deinit {
        httpClient.shutdown { _ in }
    }

    // MARK: Operations

    /// Writes an item.
    public func putItem(_ input: PutItemInput) async throws -> ItemWriteOutput {
        try await send("PutItem", input)
    }

    /// One item by its key, or `nil`.
    public func getItem(_ input: GetItemInput) async throws -> Item? {
        let output: GetItemOutput = try await send("GetItem", input)
        return output.item
    }

    /// Changes attributes of an item.
    public func updateItem(_ input: UpdateItemInput) async throws -> ItemWriteOutput {
        try await send("UpdateItem", input)
    }

    /// Removes an item (nothing happens when there is none).
    public func deleteItem(_ input: DeleteItemInput) async throws -> ItemWriteOutput {
        try await send("DeleteItem", input)
    }

    /// One page of a query.
    public func query(_ input: QueryInput) async throws -> QueryOutput {
        try await send("Query", input)
    }

    /// Every item a query matches, following `LastEvaluatedKey` page after page.
    public func queryAll(_ input: QueryInput) async throws -> [Item] {
        try await queryItems(input, upTo: .max)
    }

    /// The first `count` items a query returns (fewer at its end), following
    /// `LastEvaluatedKey` while a page ends before them (DynamoDB's 1 MB, or a filter).
    public func queryItems(_ input: QueryInput, upTo count: Int) async throws -> [Item] {
        var input = input
        var items: [Item] = []
        repeat {
            let page = try await query(input)
            items += page.items
            input.exclusiveStartKey = page.lastEvaluatedKey
        } while items.count < count && input.exclusiveStartKey != nil
        return items.count > count ? Array(items.prefix(count)) : items
    }

    /// A table's description.
    public func describeTable(_ tableName: String) async throws -> TableDescription {
        let output: DescribeTableOutput = try await send("DescribeTable", TableNameInput(tableName: tableName))
        return output.table
    }

    /// Creates a table.
    public func createTable(_ input: CreateTableInput) async throws -> TableDescription {
        let output: CreateTableOutput = try await send("CreateTable", input)
        return output.tableDescription
    }

    /// Writes several items all at once or not at all.
    /// - Throws: ``DynamoDBError`` with ``DynamoDBError/cancellationReasons`` when the
    ///   transaction was cancelled (``DynamoDBError/isConditionalCheckFailure`` when a
    ///   condition was false).
    public func transactWriteItems(_ input: TransactWriteItemsInput) async throws {
        let _: TransactWriteItemsOutput = try await send("TransactWriteItems", input)
    }

    /// Several items read as one consistent snapshot: each read's item, in the order asked,
    /// or `nil` where there is none.
    public func transactGetItems(_ input: TransactGetItemsInput) async throws -> [Item?] {
        let output: TransactGetItemsOutput = try await send("TransactGetItems", input)
        guard output.responses.count == input.transactItems.count else {
            throw DynamoDBError(
                kind: .invalidResponse, code: "InvalidResponse",
                message: "TransactGetItems answered \(output.responses.count) responses for \(input.transactItems.count) reads"
            )
        }
        return output.items
    }

    /// One page of a scan.
    public func scan(_ input: ScanInput) async throws -> ScanOutput {
        try await send("Scan", input)
    }

    /// Changes a table: adds global secondary indexes.
    public func updateTable(_ input: UpdateTableInput) async throws -> TableDescription {
        let output: UpdateTableOutput = try await send("UpdateTable", input)
        return output.tableDescription
    }

    /// Turns on (or off) expiry of items by one attribute (`UpdateTimeToLive`).
    public func updateTimeToLive(_ input: UpdateTimeToLiveInput) async throws -> UpdateTimeToLiveOutput {
        try await send("UpdateTimeToLive", input)
    }

    /// Whether, and by which attribute, a table expires items (`DescribeTimeToLive`).
    public func describeTimeToLive(_ tableName: String) async throws -> TimeToLiveDescription {
        let output: DescribeTimeToLiveOutput = try await send("DescribeTimeToLive", TableNameInput(tableName: tableName))
        return output.timeToLiveDescription
    }
}

extension DynamoDBClient {
    /// Waits until a table and every global secondary index it has are `ACTIVE`, asking every `interval`, for at most `timeout`.
    /// - Throws: ``DynamoDBError`` when it does not become active in time.
    public func waitUntilActive(_ tableName: String, timeout: Duration = .seconds(120), interval: Duration = .milliseconds(500)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            let table = try await describeTable(tableName)
            if table.tableStatus == .active && (table.globalSecondaryIndexes ?? []).allSatisfy({ $0.indexStatus == .active }) { return }
            guard ContinuousClock.now + interval < deadline else {
                throw DynamoDBError(kind: .service, code: "TableNotActive", message: "table \(tableName) and its indexes did not become ACTIVE in time")
            }
            try await Task.sleep(for: interval)
        }
    }
}
