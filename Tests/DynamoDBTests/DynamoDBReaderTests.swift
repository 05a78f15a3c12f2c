import Foundation
import JSON
import Logging
import MessageStore
import StoreTestSupport
import Testing

@testable import DynamoDB
@testable import DynamoDBMessageStore

// The DynamoDB store's reader's side (issue 11): the transaction operations' coding, order
// summaries kept exact by conditioned transactions, pages, the orders index, conversations
// and threads, the table's migration, and instances racing on one table.

/// The bodies of the transaction, index and scan operations, checked against their `Codable`
/// conformances (see ``OperationCodingTests``), and cancelled transactions read as errors.
@Suite struct TransactionCodingTests {
    @Test func transactionInputsWriteWhatEncodableEncodes() throws {
        let item = AttributeValueTests.everyType
        try OperationCodingTests.expectSameJSON(
            TransactWriteItemsInput(
                transactItems: [
                    .put(TransactPut(
                        tableName: "t", item: item, conditionExpression: "#timestamp = :t AND attribute_not_exists(#r)",
                        expressionAttributeNames: ["#timestamp": "timestamp", "#r": "readUpdatedAt"], expressionAttributeValues: [":t": .integer(7)]
                    )),
                    .put(TransactPut(tableName: "t", item: ["PK": .string("a"), "SK": .string("b")])),
                    .update(TransactUpdate(
                        tableName: "t", key: ["PK": .string("a"), "SK": .string("c")], updateExpression: "SET #read = :read",
                        conditionExpression: "#v = :v", expressionAttributeNames: ["#read": "read", "#v": "version"],
                        expressionAttributeValues: [":read": .bool(true), ":v": .integer(3)]
                    )),
                    .update(TransactUpdate(tableName: "t", key: ["PK": .string("a")], updateExpression: "SET x = :x", expressionAttributeValues: [":x": .null])),
                    .conditionCheck(TransactConditionCheck(
                        tableName: "t", key: ["PK": .string("ORDER#1"), "SK": .string("SUMMARY")], conditionExpression: "#v = :v",
                        expressionAttributeNames: ["#v": "version"], expressionAttributeValues: [":v": .integer(1)]
                    )),
                ],
                clientRequestToken: "token-1"
            )
        )
        try OperationCodingTests.expectSameJSON(TransactWriteItemsInput(transactItems: []))
        try OperationCodingTests.expectSameJSON(
            TransactGetItemsInput(tableName: "t", keys: [["PK": .string("a"), "SK": .string("b")], ["PK": .string("ORDER#a"), "SK": .string("SUMMARY")]])
        )
        // The Codable form names each write by its kind, as DynamoDB does.
        let written = try OperationCodingTests.object(
            TransactWriteItemsInput(transactItems: [.conditionCheck(.init(tableName: "t", key: [:], conditionExpression: "c"))]).jsonBody
        )
        let first = (written["TransactItems"] as? [NSDictionary])?.first
        #expect(first?.allKeys as? [String] == ["ConditionCheck"])
    }

    @Test func indexAndScanInputsWriteWhatEncodableEncodes() throws {
        let index = GlobalSecondaryIndex(
            indexName: "orders-by-activity",
            keySchema: [.init(attributeName: "ordersPK", keyType: .hash), .init(attributeName: "ordersSK", keyType: .range)],
            projection: .init(projectionType: .all)
        )
        let included = GlobalSecondaryIndex(
            indexName: "i", keySchema: [.init(attributeName: "a", keyType: .hash)], projection: .init(projectionType: .include, nonKeyAttributes: ["x", "y"])
        )
        try OperationCodingTests.expectSameJSON(
            CreateTableInput(
                tableName: "t", attributeDefinitions: [.init(attributeName: "PK", attributeType: .string)], keySchema: [.init(attributeName: "PK", keyType: .hash)],
                globalSecondaryIndexes: [index, included]
            )
        )
        try OperationCodingTests.expectSameJSON(
            UpdateTableInput(
                tableName: "t", attributeDefinitions: [.init(attributeName: "ordersPK", attributeType: .string)],
                globalSecondaryIndexUpdates: [.init(create: index)]
            )
        )
        try OperationCodingTests.expectSameJSON(UpdateTableInput(tableName: "t"))
        try OperationCodingTests.expectSameJSON(
            QueryInput(
                tableName: "t", keyConditionExpression: "#p = :p", expressionAttributeNames: ["#p": "ordersPK", "#u": "unreadCount"],
                expressionAttributeValues: [":p": .string("ORDERS"), ":zero": .integer(0)], limit: 3, scanIndexForward: true,
                indexName: "orders-by-activity", filterExpression: "#u > :zero"
            )
        )
        try OperationCodingTests.expectSameJSON(
            ScanInput(
                tableName: "t", filterExpression: "begins_with(#pk, :p)", expressionAttributeNames: ["#pk": "PK"],
                expressionAttributeValues: [":p": .string("MESSAGE#")], projectionExpression: "#pk", limit: 10,
                exclusiveStartKey: ["PK": .string("x"), "SK": .string("y")], consistentRead: true
            )
        )
        try OperationCodingTests.expectSameJSON(ScanInput(tableName: "t"))
    }

    @Test func transactionOutputsReadWhatEncodableEncodes() throws {
        let item = AttributeValueTests.everyType
        let output = TransactGetItemsOutput(responses: [.init(item: item), .init(item: nil)])
        let read = try TransactGetItemsOutput.decode(JSONEncoder().encode(output))
        #expect(read.items == [item, nil])
        #expect(try TransactGetItemsOutput.decode(Array(#"{"Responses":[{},{"Item":{"PK":{"S":"a"}}}]}"#.utf8)).items == [nil, ["PK": .string("a")]])
        _ = try TransactWriteItemsOutput.decode(Array("{}".utf8))
        #expect(throws: UnreadableResponseError.self) { try TransactGetItemsOutput.decode(Array(#"{"Responses":[{"Item":{"a":{}}}]}"#.utf8)) }

        let description = #"{"Table":{"TableName":"t","TableStatus":"UPDATING","GlobalSecondaryIndexes":[{"IndexName":"orders-by-activity","# +
            #""IndexStatus":"CREATING","KeySchema":[{"AttributeName":"ordersPK","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}]}}"#
        let table = try DescribeTableOutput.decode(Array(description.utf8)).table
        #expect(table == (try JSONDecoder().decode(DescribeTableOutput.self, from: Data(description.utf8)).table))
        #expect(table.globalSecondaryIndex(named: "orders-by-activity")?.indexStatus == .creating)
        #expect(table.globalSecondaryIndex(named: "other") == nil)
        let updated = try UpdateTableOutput.decode(Array(#"{"TableDescription":{"TableName":"t","TableStatus":"UPDATING"}}"#.utf8))
        #expect(updated.tableDescription.tableStatus == .updating && updated.tableDescription.globalSecondaryIndexes == nil)
    }

    static func cancelled(_ codes: [String]) -> DynamoDBError {
        let reasons = codes.map { #"{"Code":"\#($0)","Message":"m"}"# }.joined(separator: ",")
        let body = #"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled","# +
            #""CancellationReasons":[\#(reasons)]}"#
        return DynamoDBError.fromResponse(status: 400, body: Array(body.utf8))
    }

    @Test func aTransactionCancelledByAFalseConditionIsALostRaceNotARetry() {
        let error = Self.cancelled(["None", "ConditionalCheckFailed"])
        #expect(error.isTransactionCanceled)
        #expect(error.cancellationReasons?.map(\.code) == ["None", "ConditionalCheckFailed"])
        #expect(error.isConditionalCheckFailure)
        #expect(!error.isRetryable)
        // A false condition wins over a conflict: sending the same transaction again cannot pass.
        let both = Self.cancelled(["TransactionConflict", "ConditionalCheckFailed"])
        #expect(both.isConditionalCheckFailure && !both.isRetryable)
    }

    @Test func aTransactionCancelledByAConflictIsRetried() {
        let conflict = Self.cancelled(["TransactionConflict", "None"])
        #expect(conflict.isRetryable && !conflict.isConditionalCheckFailure)
        #expect(Self.cancelled(["ThrottlingError"]).isRetryable)
        #expect(!Self.cancelled(["ValidationError"]).isRetryable)
        #expect(!Self.cancelled([]).isRetryable)
        let plain = DynamoDBError.fromResponse(status: 400, body: Array(#"{"__type":"x#TransactionConflictException","message":"m"}"#.utf8))
        #expect(plain.isRetryable && plain.cancellationReasons == nil)
        #expect(!DynamoDBError.fromResponse(status: 400, body: Array(#"{"__type":"x#ValidationException"}"#.utf8)).isConditionalCheckFailure)
    }
}

/// The order summary's pure parts: the orders index's sort key and the summary's rule.
@Suite struct OrderSummaryRuleTests {
    @Test func theOrdersSortKeySortsAsTheList() {
        let positions = [
            OrderPosition(lastMessageAt: .max, orderID: "QO-1"), OrderPosition(lastMessageAt: 1_761_647_400_001, orderID: "QO-1"),
            OrderPosition(lastMessageAt: 1_761_647_400_000, orderID: "QO-1"), OrderPosition(lastMessageAt: 1_761_647_400_000, orderID: "QO-10"),
            OrderPosition(lastMessageAt: 1_761_647_400_000, orderID: "QO-2"), OrderPosition(lastMessageAt: 1, orderID: "QO-0"),
            OrderPosition(lastMessageAt: 0, orderID: "QO-0"), OrderPosition(lastMessageAt: -1, orderID: "QO-0"),
            OrderPosition(lastMessageAt: .min, orderID: "QO-0"),
        ]
        for (earlier, later) in zip(positions, positions.dropFirst()) {
            #expect(earlier.precedes(later))
            #expect(OrdersIndex.sortKey(of: earlier).utf8.lexicographicallyPrecedes(OrdersIndex.sortKey(of: later).utf8))
        }
        #expect(positions.allSatisfy { OrdersIndex.sortKey(of: $0).utf8.count == 21 + $0.orderID.utf8.count })
    }

    @Test func theSummaryKeepsTheLastMessageAndItsOrderNumber() {
        var first = message("A", at: 100)
        first.orderNumber = "ORD-1"
        var later = message("B", at: 200, type: .sent, read: true)
        later.orderNumber = nil
        let summary = OrderSummary(first: first).after(writing: later, replacing: nil)
        #expect(summary.messageCount == 2 && summary.unreadCount == 1)
        #expect(summary.lastMessageAt == 200 && summary.lastMessage.messageID == "B" && summary.orderNumber == "ORD-1")
        // An older message is counted but is not the last; a tie goes to the greater SK.
        let older = message("C", at: 50)
        #expect(summary.after(writing: older, replacing: nil).lastMessage.messageID == "B")
        let tie = message("Z", at: 200, type: .received)
        #expect(summary.after(writing: tie, replacing: nil).lastMessage.messageID == "B")  // message.sent#B > message.received#Z
        #expect(OrderSummary.of([later, first]) == summary)
        #expect(OrderSummary.of([]) == nil)
    }
}

/// A fresh table, a client on it, and the store instances opened over it.
struct ReaderFixture: Sendable {
    let client: DynamoDBClient
    let table: String
    let store: DynamoDBMessageStore
    let others: [DynamoDBMessageStore]

    /// - Parameter operationTimeout: the stores' budget per operation; tests that race many
    ///   writes on one order give more (see `StoreUnderTest.Options.racing`).
    static func with(
        instances: Int = 1, queryPageSize: Int? = nil,
        operationTimeout: Duration = MotoServer.operationTimeout,
        _ body: (ReaderFixture) async throws -> Void
    ) async throws {
        let client = try MotoServer.makeClient()
        let table = try await MotoServer.createTable(client: client)
        var stores: [DynamoDBMessageStore] = []
        for _ in 0..<instances {
            stores.append(DynamoDBMessageStore(
                configuration: .init(tableName: table, queryPageSize: queryPageSize, operationTimeout: operationTimeout),
                client: try MotoServer.makeClient(), logger: Logger(label: "test")
            ))
        }
        let fixture = ReaderFixture(client: client, table: table, store: stores[0], others: Array(stores.dropFirst()))
        var failure: (any Error)?
        do { try await body(fixture) } catch { failure = error }
        for store in stores { try? await store.shutdown() }
        try? await client.shutdown()
        if let failure { throw failure }
    }

    /// The raw summary item of an order, read consistently.
    func summaryItem(_ orderID: String) async throws -> Item? {
        try await client.getItem(GetItemInput(tableName: table, key: ["PK": .string("ORDER#" + orderID), "SK": .string("SUMMARY")], consistentRead: true))
    }

    /// The summary and version an order's summary item holds.
    func summary(_ orderID: String) async throws -> VersionedSummary? {
        try await summaryItem(orderID).map(OrderSummaryItem.record(from:))
    }

    /// Every raw item of a partition.
    func partition(_ partitionKey: String) async throws -> [Item] {
        try await client.queryAll(QueryInput(
            tableName: table, keyConditionExpression: "PK = :pk", expressionAttributeValues: [":pk": .string(partitionKey)], consistentRead: true
        ))
    }
}

/// A message of order `QO-1` (or `order`) with this id, timestamp, type and read status.
func message(
    _ id: String, at timestamp: Int64, type: MessageType = .received, read: Bool = false, order: String = "QO-1", thread: String? = nil,
    text: String? = nil
) -> StoredMessage {
    var message = sampleMessage(order: order, id: id, type: type, text: text ?? "text of \(id) at \(timestamp)")
    message.timestamp = timestamp
    message.read = read
    message.threadID = thread
    return message
}

/// Order summaries against moto: exact after every kind of write, and untouched by writes
/// that write nothing.
@Suite(.enabled(if: MotoServer.shouldRun, Comment(rawValue: MotoServer.skipReason)))
struct DynamoDBSummaryTests {
    @Test func summariesAreExactAfterCreatesUpdatesDuplicatesStaleAndPatches() async throws {
        try await ReaderFixture.with { fixture in
            let store = fixture.store
            var first = message("A", at: 1_000)
            first.orderNumber = "ORD-1"
            var second = message("B", at: 2_000, type: .sent, read: true)
            second.orderNumber = nil
            #expect(try await store.store(first) == .created)
            #expect(try await store.store(second) == .created)
            var summary = try #require(try await fixture.summary("QO-1"))
            #expect(summary.summary == OrderSummary(
                orderID: "QO-1", orderNumber: "ORD-1", messageCount: 2, unreadCount: 1, lastMessageAt: 2_000, lastMessage: MessagePreview(of: second)
            ))
            #expect(summary.version == 2)

            // A duplicate and a stale delivery write nothing, the summary included.
            #expect(try await store.store(first) == .duplicate)
            #expect(try await store.store(message("A", at: 500)) == .stale)
            #expect(try await store.store(message("A", at: 1_000, text: "same time, other text")) == .stale)
            #expect(try await fixture.summary("QO-1") == summary)

            // A newer version, now read, becomes the last message and takes its order number.
            var newer = message("A", at: 3_000, read: true, text: String(repeating: "é", count: 300))
            newer.orderNumber = "ORD-2"
            #expect(try await store.store(newer) == .updated)
            summary = try #require(try await fixture.summary("QO-1"))
            #expect(summary.summary.unreadCount == 0 && summary.summary.messageCount == 2)
            #expect(summary.summary.lastMessageAt == 3_000 && summary.summary.lastMessage == MessagePreview(of: newer))
            #expect(summary.summary.lastMessage.text.count == MessagePreview.textCharacters)
            #expect(summary.summary.orderNumber == "ORD-2" && summary.version == 3)

            // Readers' statements move the unread count; an older statement changes nothing.
            let unread = try #require(try await store.setRead(false, of: newer.key, at: 5_000))
            #expect(unread.read == false && unread.readUpdatedAt == 5_000)
            #expect(try await fixture.summary("QO-1")?.summary.unreadCount == 1)
            let unchanged = try await store.setRead(true, of: newer.key, at: 4_000)
            #expect(unchanged == unread)
            #expect(try await fixture.summary("QO-1")?.version == 4)
            _ = try await store.setRead(true, of: second.key, at: 6_000)
            _ = try await store.setRead(false, of: second.key, at: 7_000)
            summary = try #require(try await fixture.summary("QO-1"))
            #expect(summary.summary.unreadCount == 2 && summary.summary.messageCount == 2 && summary.version == 6)
            #expect(try await store.message(second.key)?.read == false)
            #expect(try await store.setRead(true, of: MessageKey(orderID: "QO-1", messageType: .sent, messageID: "nope"), at: 8_000) == nil)
            #expect(try await store.message(MessageKey(orderID: "QO-1", messageType: .sent, messageID: "nope")) == nil)
            #expect(try await fixture.summary("QO-1")?.version == 6)
        }
    }

    @Test func aPatchAndARedeliveryEndWithTheNewestStatementInEitherOrder() async throws {
        try await ReaderFixture.with { fixture in
            let store = fixture.store
            // The reader's statement (5000) is newer than the later delivery (2000): it stays.
            _ = try await store.store(message("A", at: 1_000))
            _ = try await store.setRead(true, of: message("A", at: 0).key, at: 5_000)
            #expect(try await store.store(message("A", at: 1_000)) == .duplicate)
            #expect(try await store.store(message("A", at: 2_000)) == .updated)
            var stored = try #require(try await store.message(message("A", at: 0).key))
            #expect(stored.timestamp == 2_000 && stored.read && stored.readUpdatedAt == 5_000)
            #expect(try await fixture.summary("QO-1")?.summary.unreadCount == 0)

            // A delivery (9000) newer than the reader's statement (5000) states read again.
            #expect(try await store.store(message("A", at: 9_000)) == .updated)
            stored = try #require(try await store.message(message("A", at: 0).key))
            #expect(!stored.read && stored.readUpdatedAt == nil)
            #expect(try await fixture.summary("QO-1")?.summary.unreadCount == 1)

            // The other order: a newer delivery first, then an older reader's statement is refused.
            _ = try await store.store(message("B", at: 10_000, read: true))
            let refused = try await store.setRead(false, of: message("B", at: 0).key, at: 9_999)
            #expect(refused?.read == true && refused?.readUpdatedAt == nil)
            #expect(try await fixture.summary("QO-1")?.summary.unreadCount == 1)
            #expect(try await fixture.summary("QO-1")?.summary.messageCount == 2)
        }
    }

    @Test func aCommitFailsWhenTheMessageChangedSinceItsSnapshotEvenWithoutASummaryWrite() async throws {
        // A writer that keeps no summary (the previous release, during a rolling deploy) changes
        // the message between the snapshot and the commit: the message's own condition fails.
        try await ReaderFixture.with { fixture in
            let store = fixture.store
            _ = try await store.store(message("A", at: 1_000))
            let snapshot = try await store.readSnapshot(message("A", at: 0).key)
            _ = try await fixture.client.putItem(PutItemInput(tableName: fixture.table, item: DynamoDBMessageStore.item(for: message("A", at: 2_000))))
            let error = await #expect(throws: DynamoDBError.self) { try await store.commit(.put(message("A", at: 3_000)), as: .updated, over: snapshot) }
            #expect(error?.isConditionalCheckFailure == true && error?.isTransactionCanceled == true)
            #expect(try await store.message(message("A", at: 0).key)?.timestamp == 2_000)
            #expect(try await fixture.summary("QO-1")?.version == 1)
            // Read again, the same write goes through.
            let fresh = try await store.readSnapshot(message("A", at: 0).key)
            try await store.commit(.put(message("A", at: 3_000)), as: .updated, over: fresh)
            #expect(try await store.message(message("A", at: 0).key)?.timestamp == 3_000)
            #expect(try await fixture.summary("QO-1")?.version == 2)
        }
    }

    @Test func noNewItemOrAttributeLandsInTheMessagePartitions() async throws {
        try await ReaderFixture.with { fixture in
            let store = fixture.store
            let messages = [message("A", at: 1_000), message("B", at: 2_000, type: .sent), message("C", at: 3_000, thread: "T-1")]
            for message in messages { _ = try await store.store(message) }
            _ = try await store.store(message("A", at: 4_000))
            _ = try await store.setRead(true, of: messages[1].key, at: 5_000)
            _ = try await store.orders(after: nil, limit: 10, unreadOnly: false)

            let items = try await fixture.partition("MESSAGE#QO-1")
            #expect(items.count == 3)
            let expected = try await store.messages(forOrder: "QO-1", type: nil)
            for (item, message) in zip(items, expected) {
                #expect(Set(item.keys) == Set(DynamoDBMessageStore.item(for: message).keys))
                #expect(item == DynamoDBMessageStore.item(for: message))
            }
            #expect(Set(items.flatMap(\.keys)).isSubset(of: Set(StoredMessage.Attribute.allCases.map(\.rawValue))))
            // The summary lives in its own partition.
            let summaries = try await fixture.partition("ORDER#QO-1")
            #expect(summaries.map { $0["SK"] } == [.string("SUMMARY")])
            #expect(summaries.allSatisfy { !($0["PK"]?.stringValue ?? "").hasPrefix("MESSAGE#") })
        }
    }
}

/// Pages of an order, the orders list, conversations and threads against moto.
@Suite(.enabled(if: MotoServer.shouldRun, Comment(rawValue: MotoServer.skipReason)))
struct DynamoDBReaderQueryTests {
    /// Follows an order's pages from the start, returning them.
    func allPages(_ store: DynamoDBMessageStore, type: MessageType? = nil, limit: Int) async throws -> [Page<StoredMessage, String>] {
        var pages: [Page<StoredMessage, String>] = []
        var after: String?
        repeat {
            let page = try await store.page(ofOrder: "QO-1", type: type, after: after, limit: limit)
            pages.append(page)
            after = page.next
        } while after != nil && pages.count < 100
        return pages
    }

    @Test(arguments: [nil, 2] as [Int?]) func pagesFollowTheSortKeysAndEndWithNoNext(queryPageSize: Int?) async throws {
        try await ReaderFixture.with(queryPageSize: queryPageSize) { fixture in
            let store = fixture.store
            let messages = (0..<9).map { message(String(format: "M%02d", $0), at: Int64(1_000 + $0), type: $0.isMultiple(of: 3) ? .sent : .received) }
            for message in messages.shuffled() { _ = try await store.store(message) }
            _ = try await store.store(message("X", at: 1, order: "QO-2"))
            let sorted = messages.sorted { $0.sortKey.utf8.lexicographicallyPrecedes($1.sortKey.utf8) }

            let pages = try await allPages(store, limit: 3)
            #expect(pages.map(\.items.count) == [3, 3, 3])
            #expect(pages.flatMap(\.items) == sorted)
            #expect(pages.dropLast().allSatisfy { $0.next == $0.items.last?.sortKey })
            #expect(pages.last?.next == nil)
            #expect(try await allPages(store, limit: 4).map(\.items.count) == [4, 4, 1])
            #expect(try await store.page(ofOrder: "QO-1", type: nil, after: nil, limit: 50).next == nil)

            let sent = try await allPages(store, type: .sent, limit: 2)
            #expect(sent.flatMap(\.items) == sorted.filter { $0.messageType == .sent })
            #expect(sent.map(\.items.count) == [2, 1] && sent.last?.next == nil)
            // A position outside the type's keys starts at its first key, or past its last.
            #expect(try await store.page(ofOrder: "QO-1", type: .sent, after: "message.received#M99", limit: 10).items.count == 3)
            #expect(try await store.page(ofOrder: "QO-1", type: .received, after: "message.sent#", limit: 10).items.isEmpty)
            #expect(try await store.page(ofOrder: "QO-1", type: .received, after: "message.received#M04", limit: 10).items.map(\.messageID) == ["M05", "M07", "M08"])
            #expect(try await store.page(ofOrder: "QO-9", type: nil, after: nil, limit: 10).items.isEmpty)
        }
    }

    @Test func pagesReturnEveryPreExistingMessageOnceWhileOthersAreWritten() async throws {
        try await ReaderFixture.with(instances: 2, queryPageSize: 3) { fixture in
            let existing = (0..<30).map { message(String(format: "M%03d", $0 * 2), at: 1_000) }
            for message in existing { _ = try await fixture.store.store(message) }
            let writer = fixture.others[0]
            async let writes: Void = Self.writeBetweenAndOver(existing, with: writer)
            var seen: [String] = []
            var after: String?
            repeat {
                let page = try await fixture.store.page(ofOrder: "QO-1", type: nil, after: after, limit: 4)
                seen += page.items.map(\.messageID)
                after = page.next
            } while after != nil
            try await writes
            let existingIDs = Set(existing.map(\.messageID))
            #expect(seen.filter(existingIDs.contains).count == existing.count)
            #expect(Set(seen).isSuperset(of: existingIDs))
            #expect(seen == seen.sorted() && Set(seen).count == seen.count)
            #expect(try await fixture.summary("QO-1")?.summary.messageCount == 60)
        }
    }

    /// Writes a new message after each of `existing`, and a newer version of it.
    static func writeBetweenAndOver(_ existing: [StoredMessage], with writer: DynamoDBMessageStore) async throws {
        for old in existing {
            _ = try await writer.store(message(old.messageID + "+", at: 2_000))
            _ = try await writer.store(message(old.messageID, at: 3_000))
        }
    }

    /// Follows the orders list, returning its pages.
    func allOrders(_ store: DynamoDBMessageStore, limit: Int, unreadOnly: Bool) async throws -> [Page<OrderSummary, OrderPosition>] {
        var pages: [Page<OrderSummary, OrderPosition>] = []
        var after: OrderPosition?
        repeat {
            let page = try await store.orders(after: after, limit: limit, unreadOnly: unreadOnly)
            pages.append(page)
            after = page.next
        } while after != nil && pages.count < 100
        return pages
    }

    @Test(arguments: [nil, 1] as [Int?]) func theOrdersListRunsByActivityThenOrderID(queryPageSize: Int?) async throws {
        try await ReaderFixture.with(queryPageSize: queryPageSize) { fixture in
            let store = fixture.store
            _ = try await store.store(message("A", at: 5_000, read: true, order: "QO-B"))
            _ = try await store.store(message("A", at: 5_000, order: "QO-A"))
            _ = try await store.store(message("A", at: 9_000, read: true, order: "QO-C"))
            _ = try await store.store(message("A", at: 1_000, order: "QO-D"))
            _ = try await store.store(message("B", at: 2_000, type: .sent, read: true, order: "QO-D"))
            _ = try await store.store(message("A", at: 7_000, read: true, order: "QO-E"))

            let pages = try await allOrders(store, limit: 2, unreadOnly: false)
            let orders = pages.flatMap(\.items)
            #expect(orders.map(\.orderID) == ["QO-C", "QO-E", "QO-A", "QO-B", "QO-D"])
            #expect(pages.map(\.items.count) == [2, 2, 1] && pages.last?.next == nil)
            #expect(pages.first?.next == OrderPosition(lastMessageAt: 7_000, orderID: "QO-E"))
            let d = try #require(orders.last)
            #expect(d.messageCount == 2 && d.unreadCount == 1 && d.lastMessageAt == 2_000 && d.lastMessage.messageID == "B")

            let unread = try await allOrders(store, limit: 1, unreadOnly: true)
            #expect(unread.flatMap(\.items).map(\.orderID) == ["QO-A", "QO-D"])
            #expect(unread.last?.next == nil)
            #expect(try await store.orders(after: nil, limit: 10, unreadOnly: false).next == nil)

            // New activity moves an order to the front; a read statement takes it off the unread list.
            _ = try await store.store(message("C", at: 10_000, order: "QO-D"))
            _ = try await store.setRead(true, of: message("A", at: 0, order: "QO-A").key, at: 20_000)
            #expect(try await allOrders(store, limit: 3, unreadOnly: false).flatMap(\.items).map(\.orderID) == ["QO-D", "QO-C", "QO-E", "QO-A", "QO-B"])
            #expect(try await allOrders(store, limit: 3, unreadOnly: true).flatMap(\.items).map(\.orderID) == ["QO-D"])
            // A position whose order has since moved still continues after that place.
            let afterTie = try await store.orders(after: OrderPosition(lastMessageAt: 5_000, orderID: "QO-A"), limit: 10, unreadOnly: false)
            #expect(afterTie.items.map(\.orderID) == ["QO-B"] && afterTie.next == nil)
        }
    }

    @Test func conversationsRunByTimestampThenSortKeyAndThreadsSummarizeThem() async throws {
        try await ReaderFixture.with { fixture in
            let store = fixture.store
            let messages = [
                message("R1", at: 3_000, thread: "T-1"), message("S1", at: 3_000, type: .sent, read: true, thread: "T-1"),
                message("R2", at: 1_000), message("S2", at: 2_000, type: .sent, read: true), message("R3", at: 5_000, thread: "T-2"),
                message("R0", at: 3_000),
            ]
            for message in messages { _ = try await store.store(message) }
            let conversation = messages.sorted { ConversationPosition(of: $0) < ConversationPosition(of: $1) }
            #expect(conversation.map(\.messageID) == ["R2", "S2", "R0", "R1", "S1", "R3"])

            var seen: [StoredMessage] = []
            var after: ConversationPosition?
            var pageCount = 0
            repeat {
                let page = try await store.conversation(ofOrder: "QO-1", thread: nil, after: after, limit: 4)
                seen += page.items
                after = page.next
                pageCount += 1
            } while after != nil
            #expect(seen == conversation && pageCount == 2)
            let thread = try await store.conversation(ofOrder: "QO-1", thread: "T-1", after: nil, limit: 2)
            #expect(thread.items.map(\.messageID) == ["R1", "S1"] && thread.next == nil)
            let main = try await store.conversation(ofOrder: "QO-1", thread: "QO-1", after: ConversationPosition(timestamp: 1_000, sortKey: "message.received#R2"), limit: 1)
            #expect(main.items.map(\.messageID) == ["S2"] && main.next == ConversationPosition(timestamp: 2_000, sortKey: "message.sent#S2"))

            let threads = try await store.threads(ofOrder: "QO-1")
            #expect(threads == [
                ThreadSummary(threadID: "QO-1", messageCount: 3, unreadCount: 2, firstMessageAt: 1_000, lastMessageAt: 3_000),
                ThreadSummary(threadID: "T-1", messageCount: 2, unreadCount: 1, firstMessageAt: 3_000, lastMessageAt: 3_000),
                ThreadSummary(threadID: "T-2", messageCount: 1, unreadCount: 1, firstMessageAt: 5_000, lastMessageAt: 5_000),
            ])
            #expect(try await store.threads(ofOrder: "QO-9").isEmpty)
        }
    }
}

/// The table's migration from the previous release, and instances racing on one table.
@Suite(.enabled(if: MotoServer.shouldRun, Comment(rawValue: MotoServer.skipReason)))
struct DynamoDBMigrationAndRaceTests {
    /// A table as the previous release created it (the spec's keys, no index), holding
    /// `messages` as that release wrote them (no summaries).
    func previousReleaseTable(client: DynamoDBClient, messages: [StoredMessage]) async throws -> String {
        let table = "qualia-old-\(UUID().uuidString.prefix(8).lowercased())"
        _ = try await client.createTable(CreateTableInput(
            tableName: table,
            attributeDefinitions: [.init(attributeName: "PK", attributeType: .string), .init(attributeName: "SK", attributeType: .string)],
            keySchema: [.init(attributeName: "PK", keyType: .hash), .init(attributeName: "SK", keyType: .range)]
        ))
        try await client.waitUntilActive(table)
        for message in messages { _ = try await client.putItem(PutItemInput(tableName: table, item: DynamoDBMessageStore.item(for: message))) }
        return table
    }

    /// Runs `body` with a client, a previous-release table holding `messages`, and a store over
    /// it, shutting both down however `body` ends.
    func withPreviousReleaseTable(
        _ messages: [StoredMessage], queryPageSize: Int? = nil,
        _ body: (DynamoDBClient, String, DynamoDBMessageStore) async throws -> Void
    ) async throws {
        let client = try MotoServer.makeClient()
        var store: DynamoDBMessageStore?
        var failure: (any Error)?
        do {
            let table = try await previousReleaseTable(client: client, messages: messages)
            let opened = DynamoDBMessageStore(
                configuration: .init(tableName: table, queryPageSize: queryPageSize, operationTimeout: MotoServer.operationTimeout),
                client: try MotoServer.makeClient(), logger: Logger(label: "test")
            )
            store = opened
            try await body(client, table, opened)
        } catch {
            failure = error
        }
        try? await store?.shutdown()
        try? await client.shutdown()
        if let failure { throw failure }
    }

    @Test func createTableAddsTheOrdersIndexToAnOldTableAndTheBackfillWritesItsSummaries() async throws {
        let old = [
            message("A", at: 1_000, order: "QO-1"), message("B", at: 3_000, type: .sent, read: true, order: "QO-1"),
            message("A", at: 2_000, order: "QO-2"), message("C", at: 500, order: "QO-1"),
        ]
        try await withPreviousReleaseTable(old, queryPageSize: 2) { client, table, store in
            #expect(try await client.describeTable(table).globalSecondaryIndexes ?? [] == [])
            #expect(try await store.lacksOrdersIndex(), "what the service warns about at start")
            #expect(try await DynamoDBMessageStore.prepareTable(table, client: client) == .addedOrdersIndex)
            #expect(try await !store.lacksOrdersIndex())
            let index = try #require(try await client.describeTable(table).globalSecondaryIndex(named: "orders-by-activity"))
            #expect(index.indexStatus == .active)
            #expect(index.keySchema == [.init(attributeName: "ordersPK", keyType: .hash), .init(attributeName: "ordersSK", keyType: .range)])
            #expect(try await DynamoDBMessageStore.prepareTable(table, client: client) == .unchanged)
            #expect(try await DynamoDBMessageStore.createTableIfMissing(table, client: client) == false)
            #expect(try await store.orders(after: nil, limit: 10, unreadOnly: false).items.isEmpty)

            #expect(try await store.backfillOrderSummaries() == .init(orders: 2, written: 2))
            let orders = try await store.orders(after: nil, limit: 10, unreadOnly: false).items
            #expect(orders == [
                OrderSummary(orderID: "QO-1", orderNumber: "ORD-2025-001", messageCount: 3, unreadCount: 2, lastMessageAt: 3_000, lastMessage: MessagePreview(of: old[1])),
                OrderSummary(orderID: "QO-2", orderNumber: "ORD-2025-001", messageCount: 1, unreadCount: 1, lastMessageAt: 2_000, lastMessage: MessagePreview(of: old[2])),
            ])
            // Run again, it finds every summary right; a summary that drifted is repaired.
            #expect(try await store.backfillOrderSummaries() == .init(orders: 2, written: 0))
            var drifted = try #require(try await client.getItem(GetItemInput(tableName: table, key: ["PK": .string("ORDER#QO-2"), "SK": .string("SUMMARY")])))
            drifted["unreadCount"] = .integer(7)
            _ = try await client.putItem(PutItemInput(tableName: table, item: drifted))
            #expect(try await store.backfillOrderSummaries() == .init(orders: 2, written: 1))
            #expect(try await store.orders(after: nil, limit: 10, unreadOnly: false).items == orders)
            // The message partitions are as the previous release left them.
            for order in ["QO-1", "QO-2"] {
                let items = try await client.queryAll(QueryInput(
                    tableName: table, keyConditionExpression: "PK = :pk", expressionAttributeValues: [":pk": .string("MESSAGE#" + order)], consistentRead: true
                ))
                #expect(Set(items) == Set(old.filter { $0.orderID == order }.map(DynamoDBMessageStore.item(for:))))
            }
        }
    }

    @Test func onceTheTableSaysEveryOrderHasItsSummaryANewOrdersWriteCountsNoPartition() async throws {
        try await withPreviousReleaseTable([message("A", at: 1_000, order: "QO-1")]) { client, table, store in
            // A fresh table says so from the start; an earlier release's table only after a backfill.
            let fresh = try await MotoServer.createTable(client: client)
            #expect(try await SummariesMarker.isPresent(in: fresh, client: client))
            try await DynamoDBMessageStore.prepareTable(table, client: client)
            #expect(try await !SummariesMarker.isPresent(in: table, client: client))
            func count(_ orderID: String) async throws -> Int? {
                try await store.orders(after: nil, limit: 10, unreadOnly: false).items.first { $0.orderID == orderID }?.messageCount
            }
            _ = try await store.backfillOrderSummaries()
            #expect(try await SummariesMarker.isPresent(in: table, client: client))
            // An earlier release still writing after the backfill leaves a message without a
            // summary; a write of this release to that order now trusts the marker and counts
            // only itself (no partition read), until the next backfill reconciles it.
            _ = try await client.putItem(PutItemInput(tableName: table, item: DynamoDBMessageStore.item(for: message("OLD", at: 1_000, order: "QO-2"))))
            #expect(try await store.store(message("NEW", at: 2_000, order: "QO-2")) == .created)
            #expect(try await count("QO-2") == 1, "the partition was not read")
            #expect(try await store.backfillOrderSummaries().written == 1)
            #expect(try await count("QO-2") == 2)
        }
    }

    @Test func aWriteToAnOrderWithoutASummaryCountsTheMessagesAlreadyThere() async throws {
        try await withPreviousReleaseTable([message("A", at: 1_000), message("B", at: 2_000, read: true)]) { client, table, store in
            try await DynamoDBMessageStore.prepareTable(table, client: client)
            #expect(try await store.store(message("C", at: 500)) == .created)
            let summary = try #require(try await store.orders(after: nil, limit: 10, unreadOnly: false).items.first)
            #expect(summary.messageCount == 3 && summary.unreadCount == 2 && summary.lastMessage.messageID == "B")
            #expect(try await store.backfillOrderSummaries() == .init(orders: 1, written: 0))
        }
    }

    /// One statement about a message's `read`: a delivery at its timestamp, or a reader's at server time.
    enum Statement: Sendable {
        case delivery(StoredMessage)
        case patch(read: Bool, at: Int64)

        var time: Int64 {
            switch self {
            case .delivery(let message): message.timestamp
            case .patch(_, let time): time
            }
        }
        var read: Bool {
            switch self {
            case .delivery(let message): message.read
            case .patch(let read, _): read
            }
        }
    }

    @Test func threeInstancesRacingPatchesAndDeliveriesEndWithTheNewestStatementAndExactCounts() async throws {
        try await ReaderFixture.with(instances: 3, operationTimeout: StoreUnderTest.Options.racing.dynamoDBOperationTimeout) { fixture in
            let stores = [fixture.store] + fixture.others
            let contested = message("A", at: 1_000, read: false)
            _ = try await fixture.store.store(contested)
            // Distinct times: deliveries at even ones, readers' statements at odd ones.
            var statements: [Statement] = (1...12).map { .delivery(message("A", at: 1_000 + Int64($0) * 2, read: $0.isMultiple(of: 3))) }
            statements += (1...12).map { .patch(read: !$0.isMultiple(of: 2), at: 1_000 + Int64($0) * 2 + 1) }
            statements.shuffle()
            let others = (0..<9).map { message("O\($0)", at: Int64(500 + $0), type: $0.isMultiple(of: 2) ? .sent : .received, read: $0.isMultiple(of: 3)) }

            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, store) in stores.enumerated() {
                    let mine = statements.enumerated().filter { $0.offset % 3 == index }.map(\.element)
                    let myOthers = others.enumerated().filter { $0.offset % 3 == index }.map(\.element)
                    group.addTask {
                        for (statement, other) in zip(mine, myOthers.map(Optional.some) + Array(repeating: nil, count: mine.count)) {
                            switch statement {
                            case .delivery(let message): _ = try await store.store(message)
                            case .patch(let read, let time): _ = try await store.setRead(read, of: contested.key, at: time)
                            }
                            if let other { _ = try await store.store(other) }
                        }
                    }
                }
                try await group.waitForAll()
            }

            let newest = try #require(statements.max { $0.time < $1.time })
            let newestDelivery = try #require(statements.compactMap { if case .delivery(let message) = $0 { message } else { nil } }.max { $0.timestamp < $1.timestamp })
            let stored = try #require(try await fixture.store.message(contested.key))
            #expect(stored.read == newest.read)
            #expect(stored.timestamp == newestDelivery.timestamp && stored.text == newestDelivery.text)
            if case .patch(_, let time) = newest { #expect(stored.readUpdatedAt == time) } else { #expect(stored.readUpdatedAt == nil) }

            let all = try await fixture.store.messages(forOrder: "QO-1", type: nil)
            #expect(all.count == 10)
            let summary = try #require(try await fixture.summary("QO-1")).summary
            #expect(summary.messageCount == 10)
            #expect(summary.unreadCount == all.filter { !$0.read }.count)
            #expect(summary.lastMessageAt == newestDelivery.timestamp && summary.lastMessage == MessagePreview(of: newestDelivery))
        }
    }
}
