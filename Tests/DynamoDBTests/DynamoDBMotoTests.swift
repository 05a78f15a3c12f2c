import DynamoDBMessageStore
import Foundation
import Logging
import MessageStore
import StoreTestSupport
import Testing

@testable import DynamoDB

/// The client's operations against a real DynamoDB-compatible server (moto).
@Suite(.enabled(if: MotoServer.shouldRun, Comment(rawValue: MotoServer.skipReason)))
struct DynamoDBClientMotoTests {
    func withTable(_ body: (DynamoDBClient, String) async throws -> Void) async throws {
        let client = try MotoServer.makeClient()
        do {
            try await body(client, try await MotoServer.createTable(client: client))
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    func key(_ pk: String, _ sk: String) -> Item { ["PK": .string(pk), "SK": .string(sk)] }

    @Test func createTableIfMissingIsIdempotentAndUsesTheSpecsKeys() async throws {
        try await withTable { client, table in
            #expect(try await DynamoDBMessageStore.createTableIfMissing(table, client: client) == false)
            let description = try await client.describeTable(table)
            #expect(description.tableStatus == "ACTIVE")
            #expect(description.keySchema == [.init(attributeName: "PK", keyType: "HASH"), .init(attributeName: "SK", keyType: "RANGE")])
        }
    }

    @Test func describingAMissingTableIsResourceNotFound() async throws {
        let client = try MotoServer.makeClient()
        let error = await #expect(throws: DynamoDBError.self) { try await client.describeTable("no-such-table-\(UUID())") }
        #expect(error?.code == DynamoDBError.Code.resourceNotFound)
        try await client.shutdown()
    }

    @Test func everyAttributeTypeRoundTripsThroughTheServer() async throws {
        try await withTable { client, table in
            let item = AttributeValueTests.everyType.merging(key("P", "S")) { $1 }
            _ = try await client.putItem(PutItemInput(tableName: table, item: item))
            let stored = try await client.query(QueryInput(
                tableName: table, keyConditionExpression: "PK = :pk", expressionAttributeValues: [":pk": .string("P")], consistentRead: true
            ))
            #expect(stored.items == [item])
        }
    }

    @Test func aFailedConditionIsATypedError() async throws {
        try await withTable { client, table in
            let put = PutItemInput(
                tableName: table, item: key("P", "S").merging(["v": .integer(1)]) { $1 }, conditionExpression: "attribute_not_exists(PK)"
            )
            _ = try await client.putItem(put)
            let error = await #expect(throws: DynamoDBError.self) { try await client.putItem(put) }
            #expect(error?.isConditionalCheckFailure == true)
            #expect(error?.isRetryable == false)
        }
    }

    @Test func updateItemChangesOneAttribute() async throws {
        try await withTable { client, table in
            _ = try await client.putItem(PutItemInput(tableName: table, item: key("P", "S").merging(["read": .bool(false), "text": .string("t")]) { $1 }))
            let output = try await client.updateItem(UpdateItemInput(
                tableName: table, key: key("P", "S"), updateExpression: "SET #read = :read", expressionAttributeNames: ["#read": "read"],
                expressionAttributeValues: [":read": .bool(true)], returnValues: "ALL_NEW"
            ))
            #expect(output.attributes?["read"] == .bool(true))
            #expect(output.attributes?["text"] == .string("t"))
        }
    }

    @Test func queryPagesAreFollowedToTheEnd() async throws {
        try await withTable { client, table in
            for index in 0..<10 {
                _ = try await client.putItem(PutItemInput(tableName: table, item: key("P", String(format: "S%02d", index))))
            }
            _ = try await client.putItem(PutItemInput(tableName: table, item: key("OTHER", "S00")))
            let input = QueryInput(
                tableName: table, keyConditionExpression: "PK = :pk", expressionAttributeValues: [":pk": .string("P")], limit: 3,
                consistentRead: true
            )
            let firstPage = try await client.query(input)
            #expect(firstPage.items.count == 3 && firstPage.lastEvaluatedKey != nil)
            let all = try await client.queryAll(input)
            #expect(all.compactMap { $0["SK"]?.stringValue } == (0..<10).map { String(format: "S%02d", $0) })
        }
    }
}

/// What is particular to the DynamoDB store: the item's on-disk shape and paging.
@Suite(.enabled(if: MotoServer.shouldRun, Comment(rawValue: MotoServer.skipReason)))
struct DynamoDBMessageStoreTests {
    @Test func itemsHaveTheSpecsAttributesAndTypes() async throws {
        let client = try MotoServer.makeClient()
        let table = try await MotoServer.createTable(client: client)
        let store = DynamoDBMessageStore(
            configuration: .init(tableName: table, operationTimeout: MotoServer.operationTimeout), client: client, logger: Logger(label: "test")
        )
        _ = try await store.store(sampleMessage())
        let items = try await client.queryAll(QueryInput(
            tableName: table, keyConditionExpression: "PK = :pk", expressionAttributeValues: [":pk": .string("MESSAGE#QO-123456")]
        ))
        #expect(items == [[
            "PK": .string("MESSAGE#QO-123456"),
            "SK": .string("message.received#MSG-001"),
            "orderId": .string("QO-123456"),
            "messageId": .string("MSG-001"),
            "messageType": .string("message.received"),
            "fromName": .string("John Smith"),
            "text": .string("Message content here"),
            "createdDate": .string("2025-10-28T10:30:00Z"),
            "read": .bool(false),
            "timestamp": .number("1761647400000"),
            "storedAt": .string("2025-10-28T10:30:05Z"),
            "orderNumber": .string("ORD-2025-001"),
            "attachments": .list([.map([
                "_id": .string("ATT-001"), "name": .string("document.pdf"), "url": .string("https://example.com/files/document.pdf"),
                "tag": .string("contract"),
            ])]),
        ]])
        try await store.shutdown()
    }

    @Test func ordersLargerThanOneQueryPageComeBackWhole() async throws {
        let client = try MotoServer.makeClient()
        let table = try await MotoServer.createTable(client: client)
        let store = DynamoDBMessageStore(
            configuration: .init(tableName: table, queryPageSize: 4, operationTimeout: MotoServer.operationTimeout), client: client,
            logger: Logger(label: "test")
        )
        let messages = (0..<23).map { sampleMessage(id: String(format: "MSG-%03d", $0), type: $0.isMultiple(of: 3) ? .sent : .received) }
        for message in messages.shuffled() { _ = try await store.store(message) }

        let all = try await store.messages(forOrder: "QO-123456", type: nil)
        #expect(all == messages.sorted { $0.sortKey < $1.sortKey })
        let sent = try await store.messages(forOrder: "QO-123456", type: .sent)
        #expect(sent.count == 8 && sent.allSatisfy { $0.messageType == .sent })
        try await store.shutdown()
    }

    @Test func aMissingTableIsUnavailableNotSuccess() async throws {
        let client = try MotoServer.makeClient()
        let store = DynamoDBMessageStore(configuration: .init(tableName: "missing-\(UUID())"), client: client, logger: Logger(label: "test"))
        let error = await #expect(throws: MessageStoreError.self) { try await store.store(sampleMessage()) }
        #expect(error?.kind == .unavailable)
        await #expect(throws: MessageStoreError.self) { try await store.checkReadiness() }
        try await store.shutdown()
    }
}

@Suite struct DynamoDBItemMappingTests {
    @Test func messagesMapToItemsAndBack() throws {
        var bare = sampleMessage(id: "MSG-2", type: .sent, text: "")
        bare.orderNumber = nil
        bare.attachments = nil
        for message in [sampleMessage(), bare] {
            let item = DynamoDBMessageStore.item(for: message)
            #expect(try DynamoDBMessageStore.message(from: item) == message)
        }
        #expect(DynamoDBMessageStore.item(for: bare)["orderNumber"] == nil && DynamoDBMessageStore.item(for: bare)["attachments"] == nil)
    }

    @Test func anItemOfAnotherShapeIsAFailureNotAGuess() {
        var item = DynamoDBMessageStore.item(for: sampleMessage())
        item["timestamp"] = .string("yesterday")
        #expect(throws: MessageStoreError.self) { try DynamoDBMessageStore.message(from: item) }
        item = DynamoDBMessageStore.item(for: sampleMessage())
        item["read"] = .string("false")
        #expect(throws: MessageStoreError.self) { try DynamoDBMessageStore.message(from: item) }
    }
}
