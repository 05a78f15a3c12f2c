import AsyncHTTPClient
import CoreMetrics
import AWSSigning
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A small DynamoDB client: the JSON 1.0 protocol over one shared, pooled `HTTPClient`,
/// signed with SigV4, retrying throttling, 5xx and connection failures with backoff.
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

    private let configuration: Configuration
    /// The URL requests are sent to, ending in `/`.
    let endpointURL: String
    /// The `host` header signed and sent.
    let hostHeader: String
    private let credentialProvider: any CredentialProvider
    private let httpClient: HTTPClient
    private let keyCache = SigningKeyCache()
    private let logger: Logger

    /// Creates a client with its own connection pool.
    /// - Throws: ``DynamoDBError`` when the endpoint is not an http or https URL.
    public init(configuration: Configuration, credentialProvider: any CredentialProvider, logger: Logger) throws {
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

    // MARK: Transport

    /// Sends one operation, retrying as the retry policy allows, all of it before one deadline.
    ///
    /// The deadline is the earlier of ``Deadline/current`` (the caller's, when it set one with
    /// ``Deadline/run(isolation:_:)``) and `maxTotalDuration` from now. Every attempt's HTTP deadline is
    /// the earlier of `requestTimeout` from its start and that deadline; a retry whose backoff
    /// would end after it is not started (the last attempt's error is thrown instead); the
    /// credential fetch runs under it too (``HTTPCredentialClient`` reads ``Deadline/current``).
    /// So the call returns or throws by the deadline, plus the time to notice.
    func send<Output: OperationOutput>(_ operation: String, _ input: some OperationInput) async throws -> Output {
        try await send(operation, body: input.jsonBody) { try Output.decode($0) }
    }

    private func send<Output>(
        _ operation: String, body: [UInt8], decode: (ByteBufferView) throws -> Output
    ) async throws -> Output {
        let policy = configuration.retryPolicy
        let deadline = Deadline.after(policy.maxTotalDuration).effective
        return try await deadline.run { () async throws -> Output in
            var attempt = 1
            while true {
                do {
                    return try await sendOnce(operation, body: body, deadline: deadline, decode: decode)
                } catch let error as DynamoDBError {
                    if error.isThrottling {
                        Counter(label: Self.throttlesMetric, dimensions: [("operation", operation)], factory: configuration.metricsFactory).increment()
                    }
                    guard error.isRetryable && !error.isDeadlineExceeded && attempt < policy.maxAttempts else { throw error }
                    let delay = policy.delay(beforeRetry: attempt)
                    guard ContinuousClock.now + delay < deadline.instant else { throw error }
                    // Made when needed (the factory finds the same series again): retries are rare.
                    Counter(
                        label: Self.retriesMetric, dimensions: [("operation", operation), ("reason", Self.retryReason(error))],
                        factory: configuration.metricsFactory
                    ).increment()
                    logger.debug(
                        "Retrying DynamoDB request",
                        metadata: ["operation": .string(operation), "attempt": .stringConvertible(attempt), "error": .string(error.description)]
                    )
                    try await Task.sleep(for: delay)
                    attempt += 1
                }
            }
        }
    }

    /// Retries started, by operation and ``retryReason(_:)`` (a counter).
    public static let retriesMetric = "qualia_webhook_dynamodb_retries_total"
    /// Answers refused for going too fast, by operation, retried or not (a counter).
    public static let throttlesMetric = "qualia_webhook_dynamodb_throttles_total"

    /// Why a retryable failure is retried, as a label: `throttling`, `server_error` (a 5xx),
    /// `connection`, or `transaction_conflict` (a transaction cancelled by another in flight).
    static func retryReason(_ error: DynamoDBError) -> String {
        if error.kind == .connection { return "connection" }
        if error.isThrottling { return "throttling" }
        if (error.statusCode ?? 0) >= 500 { return "server_error" }
        return "transaction_conflict"
    }

    /// The failures AsyncHTTPClient reports when time runs out rather than the connection.
    private static let timeouts: [HTTPClientError] = [.deadlineExceeded, .readTimeout, .connectTimeout, .getConnectionFromPoolTimeout]

    /// One attempt, ending by `deadline` at the latest.
    private func sendOnce<Output>(
        _ operation: String, body: [UInt8], deadline: Deadline, decode: (ByteBufferView) throws -> Output
    ) async throws -> Output {
        guard !deadline.hasPassed else { throw DynamoDBError.deadlineExceeded(operation) }
        let credentials: AWSCredentials
        do {
            credentials = try await credentialProvider.credentials()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // A fetch cut short by the deadline says so, rather than "no credentials".
            if deadline.hasPassed { throw DynamoDBError.deadlineExceeded(operation, after: error) }
            throw DynamoDBError(kind: .credentials, code: "CredentialsUnavailable", message: String(describing: error))
        }
        let remaining = deadline.remaining
        guard remaining > .zero else { throw DynamoDBError.deadlineExceeded(operation) }
        let headers: [(name: String, value: String)] = [
            ("host", hostHeader),
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "DynamoDB_20120810.\(operation)"),
        ]
        let signer = SigV4Signer(credentials: credentials, region: configuration.region, service: "dynamodb", keyCache: keyCache)
        let signing = signer.signingHeaders(for: .init(method: "POST", path: "/", headers: headers, body: body), date: Date())

        var request = HTTPClientRequest(url: endpointURL)
        request.method = .POST
        for (name, value) in headers + signing { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))

        let status: Int
        let responseBody: ByteBuffer
        do {
            // AsyncHTTPClient's deadline covers waiting for a connection, the answer and its body.
            let timeout = min(configuration.requestTimeout, TimeAmount(remaining))
            let response = try await httpClient.execute(request, deadline: .now() + timeout)
            status = Int(response.status.code)
            responseBody = try await response.body.collect(upTo: 32 * 1024 * 1024)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .alreadyShutdown {
            throw DynamoDBError(kind: .clientShutDown, code: "ClientShutDown", message: "the DynamoDB client is shut down")
        } catch {
            // A timeout at the deadline is the deadline's doing; a refused or reset connection
            // (which AsyncHTTPClient retries until the deadline) keeps its own name for the log.
            if deadline.hasPassed, let error = error as? HTTPClientError, Self.timeouts.contains(error) {
                throw DynamoDBError.deadlineExceeded(operation, after: error)
            }
            throw DynamoDBError(kind: .connection, code: "ConnectionFailed", message: String(describing: error))
        }
        guard status == 200 else { throw DynamoDBError.fromResponse(status: status, body: Array(responseBody.readableBytesView)) }
        do {
            return try decode(responseBody.readableBytesView)
        } catch {
            throw DynamoDBError(kind: .invalidResponse, code: "InvalidResponse", message: "\(operation) answered an unreadable body: \(error)")
        }
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
