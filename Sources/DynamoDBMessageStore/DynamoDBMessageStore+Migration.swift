import DynamoDB
import Logging
import MessageStore

// Bringing a table of an earlier release up to what this one needs, in one idempotent step.

extension DynamoDBMessageStore {
    /// What ``migrate(_:client:logger:)`` found and did.
    public struct MigrationReport: Sendable, Hashable {
        /// Whether the table was created, had its orders index added, or had it already.
        public var tableSetup: TableSetup
        /// The summaries backfill, when the table did not yet say that every order has its
        /// summary (``SummariesMarker``); `nil` when it did, and nothing was read.
        public var backfill: BackfillReport?
        /// Whether expiry of the change feed's entries (TTL on `expiresAt`) was turned on here.
        public var enabledFeedExpiry: Bool
    }

    /// Brings a table up to everything this release needs, whatever earlier release made it
    /// (the spec's, with only `PK` and `SK`, included), and is safe to run again at any time:
    /// creates the table when missing; adds the orders index when missing, and waits until it
    /// is `ACTIVE`; backfills the order summaries unless the table says they are complete;
    /// turns on the feed's TTL unless it is on. The change feed needs nothing else: its
    /// counter and entries are created by the first write. The client stays the caller's.
    public static func migrate(_ tableName: String, client: DynamoDBClient, logger: Logger) async throws -> MigrationReport {
        let (setup, enabledFeedExpiry) = try await prepareTableAndExpiry(tableName, client: client)
        var backfill: BackfillReport?
        if try await !SummariesMarker.isPresent(in: tableName, client: client) {
            // Not shut down: the client is the caller's.
            let store = DynamoDBMessageStore(configuration: .init(tableName: tableName), client: client, logger: logger)
            backfill = try await store.backfillOrderSummaries()
        }
        let report = MigrationReport(tableSetup: setup, backfill: backfill, enabledFeedExpiry: enabledFeedExpiry)
        logger.info(
            "Migrated DynamoDB table",
            metadata: [
                "table": .string(tableName), "setup": .string("\(setup)"), "backfilled": .stringConvertible(backfill != nil),
                "enabledFeedExpiry": .stringConvertible(enabledFeedExpiry),
            ]
        )
        return report
    }
}
