import DynamoDB
import Logging
import MessageStore
import Synchronization

// Setting the table up: creating it with the orders index, adding that index to a table of the
// previous release, and backfilling the summaries that release did not keep.

extension DynamoDBMessageStore {
    /// What ``prepareTable(_:client:)`` found and did.
    public enum TableSetup: Sendable, Hashable {
        /// The table did not exist; it was created with the orders index.
        case created
        /// The table existed without the orders index (the previous release's); the index was
        /// added and filled.
        case addedOrdersIndex
        /// The table and its orders index were already there.
        case unchanged
    }

    /// Creates the spec's table (string `PK` and `SK`, on-demand billing) with the orders
    /// index (``OrdersIndex``) when it does not exist, or adds the index to a table that lacks
    /// it, then waits until the table and its indexes are `ACTIVE`, and turns on expiry of
    /// the change feed's entries by their `expiresAt` (``enableFeedExpiryIfMissing(_:client:)``).
    /// - Returns: `true` when the table was created, `false` when it was already there.
    @discardableResult
    public static func createTableIfMissing(_ tableName: String, client: DynamoDBClient) async throws -> Bool {
        try await prepareTable(tableName, client: client) == .created
    }

    /// ``createTableIfMissing(_:client:)``, saying what it did.
    public static func prepareTable(_ tableName: String, client: DynamoDBClient) async throws -> TableSetup {
        try await prepareTableAndExpiry(tableName, client: client).setup
    }

    /// ``prepareTable(_:client:)``, saying too whether it turned on the feed's expiry.
    static func prepareTableAndExpiry(_ tableName: String, client: DynamoDBClient) async throws -> (setup: TableSetup, enabledFeedExpiry: Bool) {
        let setup = try await createOrAddIndex(tableName, client: client)
        return (setup, try await enableFeedExpiryIfMissing(tableName, client: client))
    }

    /// Creates the table or adds its orders index, and waits until both are `ACTIVE`.
    private static func createOrAddIndex(_ tableName: String, client: DynamoDBClient) async throws -> TableSetup {
        var setup = TableSetup.created
        do {
            _ = try await client.createTable(
                CreateTableInput(
                    tableName: tableName,
                    attributeDefinitions: [
                        .init(attributeName: StoredMessage.Attribute.partitionKey.rawValue, attributeType: .string),
                        .init(attributeName: StoredMessage.Attribute.sortKey.rawValue, attributeType: .string),
                    ] + OrdersIndex.attributeDefinitions,
                    keySchema: [
                        .init(attributeName: StoredMessage.Attribute.partitionKey.rawValue, keyType: .hash),
                        .init(attributeName: StoredMessage.Attribute.sortKey.rawValue, keyType: .range),
                    ],
                    globalSecondaryIndexes: [OrdersIndex.definition]
                )
            )
        } catch let error as DynamoDBError where error.code == DynamoDBError.Code.resourceInUse {
            setup = try await addOrdersIndexIfMissing(tableName, client: client) ? .addedOrdersIndex : .unchanged
        }
        try await client.waitUntilActive(tableName, timeout: setup == .addedOrdersIndex ? .seconds(3600) : .seconds(120))
        // A table created here holds nothing an earlier release wrote.
        if setup == .created { try await SummariesMarker.write(to: tableName, client: client) }
        return setup
    }

    /// Adds the orders index to an existing table that lacks it, once the table is `ACTIVE`
    /// (DynamoDB refuses to change a table that is being created).
    /// - Returns: whether it was added.
    private static func addOrdersIndexIfMissing(_ tableName: String, client: DynamoDBClient) async throws -> Bool {
        try await client.waitUntilActive(tableName)
        guard try await client.describeTable(tableName).globalSecondaryIndex(named: OrdersIndex.name) == nil else { return false }
        do {
            _ = try await client.updateTable(
                UpdateTableInput(
                    tableName: tableName, attributeDefinitions: OrdersIndex.attributeDefinitions,
                    globalSecondaryIndexUpdates: [.init(create: OrdersIndex.definition)]
                )
            )
        } catch let error as DynamoDBError where error.code == DynamoDBError.Code.resourceInUse {
            return false  // another create-table is adding it at the same moment
        }
        return true
    }

    /// Turns on DynamoDB's TTL on `expiresAt` (``FeedEntryItem``), which is how the change
    /// feed drops what retention no longer keeps, unless it is on already. DynamoDB refuses
    /// to turn it on twice (`ValidationException`), which two `create-table` runs racing may
    /// meet: that answer counts as on.
    /// - Returns: whether it was turned on here.
    @discardableResult
    public static func enableFeedExpiryIfMissing(_ tableName: String, client: DynamoDBClient) async throws -> Bool {
        let attribute = FeedEntryItem.Attribute.expiresAt.rawValue
        guard try await !client.describeTimeToLive(tableName).expires(by: attribute) else { return false }
        do {
            _ = try await client.updateTimeToLive(
                UpdateTimeToLiveInput(tableName: tableName, timeToLiveSpecification: .init(attributeName: attribute, enabled: true))
            )
        } catch let error as DynamoDBError where error.code == DynamoDBError.Code.validation && error.message.lowercased().contains("already enabled") {
            return false
        }
        return true
    }

    /// Whether the table lacks the orders list's index: one from before the reader's side, on
    /// which `create-table` has not run again. Writes and every other read work without it.
    public func lacksOrdersIndex() async throws -> Bool {
        try await mappingErrors {
            try await client.describeTable(configuration.tableName).globalSecondaryIndex(named: OrdersIndex.name) == nil
        }
    }

    /// What ``backfillOrderSummaries()`` did.
    public struct BackfillReport: Sendable, Hashable {
        /// How many orders have messages.
        public var orders: Int
        /// How many of their summaries were written (missing, or not what the messages give).
        public var written: Int
    }

    /// Writes the summary of every order whose summary item is missing, or does not hold what
    /// its messages give, then the ``SummariesMarker``: a table written by the previous release has messages but no
    /// summaries. Scans the table for the `MESSAGE#` partitions, then for each order reads
    /// its summary and its messages, and writes the summary conditioned on the version read
    /// (or on there being none), reading again when a writer of this release changed the
    /// order meanwhile. Safe to run while instances of this release serve, and again at any
    /// time; run it once no instance of the previous release writes (their writes keep no
    /// summary, and are only caught by running it again).
    public func backfillOrderSummaries() async throws -> BackfillReport {
        var report = BackfillReport(orders: 0, written: 0)
        for orderID in try await orderIDsWithMessages() {
            report.orders += 1
            if try await reconcileSummary(of: orderID) { report.written += 1 }
        }
        try await mappingErrors { try await SummariesMarker.write(to: configuration.tableName, client: client) }
        summariesAreComplete.store(true, ordering: .relaxed)
        logger.info(
            "Backfilled order summaries",
            metadata: ["table": .string(configuration.tableName), "orders": .stringConvertible(report.orders), "written": .stringConvertible(report.written)]
        )
        return report
    }

    /// The orders that have messages, from a Scan of the table's `MESSAGE#` partitions, in the
    /// order first seen; each page is read under its own deadline.
    private func orderIDsWithMessages() async throws -> [String] {
        let prefix = StoredMessage.partitionKey(orderID: "")
        var input = ScanInput(
            tableName: configuration.tableName, filterExpression: "begins_with(#pk, :prefix)",
            expressionAttributeNames: ["#pk": StoredMessage.Attribute.partitionKey.rawValue], expressionAttributeValues: [":prefix": .string(prefix)],
            projectionExpression: "#pk", limit: configuration.queryPageSize, consistentRead: true
        )
        var seen: Set<[UInt8]> = []
        var orderIDs: [String] = []
        repeat {
            let page = try await mappingErrors { try await client.scan(input) }
            for item in page.items {
                guard let partitionKey = item[.partitionKey]?.stringValue else { throw MessageStoreError.failed("item attribute PK is not a string") }
                let orderID = String(decoding: partitionKey.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
                if seen.insert(Array(orderID.utf8)).inserted { orderIDs.append(orderID) }
            }
            input.exclusiveStartKey = page.lastEvaluatedKey
        } while input.exclusiveStartKey != nil
        return orderIDs
    }

    /// Writes an order's summary from its messages unless it already holds that.
    /// - Returns: whether it was written.
    func reconcileSummary(of orderID: String) async throws -> Bool {
        try await mappingErrors {
            try await retryingLostRaces("backfill") {
                let summaryKey = OrderSummaryItem.key(orderID: orderID)
                let stored = try await client.getItem(GetItemInput(tableName: configuration.tableName, key: summaryKey, consistentRead: true))
                    .map(OrderSummaryItem.record(from:))
                let messages = try await client.queryAll(orderQuery(orderID, type: nil)).map(Self.message(from:))
                guard let summary = OrderSummary.of(messages), summary != stored?.summary else { return false }
                var put = PutItemInput(
                    tableName: configuration.tableName, item: OrderSummaryItem.item(for: summary, version: (stored?.version ?? 0) + 1),
                    conditionExpression: "attribute_not_exists(#pk)", expressionAttributeNames: ["#pk": OrderSummaryItem.Attribute.partitionKey.rawValue]
                )
                if let stored {
                    put.conditionExpression = "#version = :readVersion"
                    put.expressionAttributeNames = ["#version": OrderSummaryItem.Attribute.version.rawValue]
                    put.expressionAttributeValues = [":readVersion": .integer(stored.version)]
                }
                _ = try await client.putItem(put)
                return true
            }
        }
    }
}
