import CoreMetrics
import Foundation
import Logging
import DynamoDB
import DynamoDBMessageStore
import MessageStore
import SQLiteMessageStore
import Synchronization

/// The stores that every contract test runs against.
public enum StoreUnderTest: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case dynamodb

    /// The stores to test here: SQLite always; DynamoDB unless moto is not installed and no
    /// test server is configured, and always in CI (where a missing server must fail, not skip).
    public static let available: [StoreUnderTest] = MotoServer.shouldRun ? [.sqlite, .dynamodb] : [.sqlite]

    public var description: String { rawValue }

    /// Settings that tests change to reach paths that need large data otherwise.
    public struct Options: Sendable {
        /// The DynamoDB store's most items per Query page (`nil`: DynamoDB's 1 MB pages).
        public var dynamoDBQueryPageSize: Int?
        /// How much a SQLite listing reads at a time.
        public var sqliteListingChunkLimits: ListingChunkLimits
        /// How long one DynamoDB store operation may take in all (``MotoServer/operationTimeout``).
        public var dynamoDBOperationTimeout: Duration
        /// How long the change feed keeps events.
        public var feedRetention: FeedRetention
        /// A DynamoDB endpoint of the test's own (a moto server nobody else loads), instead of
        /// the suite's shared one.
        public var dynamoDBEndpoint: String?
        /// Where a SQLite store records its own metrics (its group commits' batch sizes).
        public var metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance

        /// Creates options; the defaults are the stores' own.
        public init(
            dynamoDBQueryPageSize: Int? = nil, sqliteListingChunkLimits: ListingChunkLimits = ListingChunkLimits(),
            dynamoDBOperationTimeout: Duration = MotoServer.operationTimeout,
            feedRetention: FeedRetention = .default, dynamoDBEndpoint: String? = nil
        ) {
            self.feedRetention = feedRetention
            self.dynamoDBEndpoint = dynamoDBEndpoint
            self.dynamoDBQueryPageSize = dynamoDBQueryPageSize
            self.sqliteListingChunkLimits = sqliteListingChunkLimits
            self.dynamoDBOperationTimeout = dynamoDBOperationTimeout
        }

        /// For tests that race dozens of writes on one order: on DynamoDB each order's writes
        /// commit one at a time (its summary's version), so the last of them waits for all the
        /// others, and moto, shared by the whole suite, answers a few hundred calls a second.
        /// The rule under test is the outcome, not the wait.
        public static let racing = Options(dynamoDBOperationTimeout: .seconds(60))
    }

    /// Opens a fresh, empty store; `close` shuts it down and removes what it left behind.
    public func open(_ options: Options = Options()) async throws -> (store: any MessageStore, close: @Sendable () async -> Void) {
        let (store, _, close) = try await openShared(options)
        return (store, close)
    }

    /// Opens a fresh, empty store, and a way to open more instances over the same file or
    /// table, as several processes would; `close` shuts them all down.
    public func openShared(_ options: Options = Options()) async throws -> (
        store: any MessageStore, openAnother: @Sendable () async throws -> any MessageStore, close: @Sendable () async -> Void
    ) {
        let opened = Opened()
        switch self {
        case .sqlite:
            let folder = try TemporaryDirectory()
            let path = folder.path("messages.sqlite")
            let openAnother: @Sendable () async throws -> any MessageStore = {
                opened.keep(
                    try await SQLiteMessageStore.open(
                        .init(
                            path: path, listingChunkLimits: options.sqliteListingChunkLimits, feedRetention: options.feedRetention,
                            metricsFactory: options.metricsFactory
                        ),
                        logger: Logger(label: "test")
                    )
                )
            }
            return (try await openAnother(), openAnother, {
                await opened.shutDownAll()
                folder.remove()
            })
        case .dynamodb:
            let makeClient: @Sendable () throws -> DynamoDBClient = {
                try options.dynamoDBEndpoint.map { try DynamoDBTestClient.make(endpoint: $0) } ?? MotoServer.makeClient()
            }
            let table = try await makeClient().shuttingDown { try await MotoServer.createTable(client: $0) }
            let openAnother: @Sendable () async throws -> any MessageStore = {
                opened.keep(
                    DynamoDBMessageStore(
                        configuration: .init(
                            tableName: table, queryPageSize: options.dynamoDBQueryPageSize, operationTimeout: options.dynamoDBOperationTimeout,
                            feedRetention: options.feedRetention
                        ),
                        client: try makeClient(),
                        logger: Logger(label: "test")
                    )
                )
            }
            return (try await openAnother(), openAnother, { await opened.shutDownAll() })
        }
    }
}

/// The store instances a test opened, to shut them all down at the end.
private final class Opened: Sendable {
    private let stores = Mutex<[any MessageStore]>([])

    func keep(_ store: any MessageStore) -> any MessageStore {
        stores.withLock { $0.append(store) }
        return store
    }

    func shutDownAll() async {
        for store in stores.withLock({ $0 }) { try? await store.shutdown() }
    }
}

/// Runs `body` with a fresh store of `kind`, closing it whether or not `body` throws.
public func withStore(
    _ kind: StoreUnderTest, options: StoreUnderTest.Options = .init(), _ body: (any MessageStore) async throws -> Void
) async throws {
    let (store, close) = try await kind.open(options)
    do {
        try await body(store)
    } catch {
        await close()
        throw error
    }
    await close()
}

public func sampleMessage(
    order: String = "QO-123456", id: String = "MSG-001", type: MessageType = .received, text: String = "Message content here"
) -> StoredMessage {
    StoredMessage(
        orderID: order, messageID: id, messageType: type, fromName: "John Smith", text: text,
        createdDate: "2025-10-28T10:30:00Z", read: false, timestamp: 1_761_647_400_000, storedAt: "2025-10-28T10:30:05Z",
        orderNumber: "ORD-2025-001",
        attachments: [Attachment(id: "ATT-001", name: "document.pdf", url: "https://example.com/files/document.pdf", tag: "contract")]
    )
}
