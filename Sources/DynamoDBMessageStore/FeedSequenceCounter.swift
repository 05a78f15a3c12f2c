import DynamoDB
import MessageStore

/// The item that holds the last sequence number the feed allocated: `PK = FEED#SEQUENCE`,
/// `SK = COUNTER`, a number `last`. Allocation is one `UpdateItem` (`ADD last 1`, answering
/// the new value), which DynamoDB applies atomically: every number is handed out once, and a
/// number read from the item (strongly consistent) has been handed out with every number below
/// it. One item takes at most one partition's write rate, about 1,000 writes a second: that is
/// the feed's, and so the table's, ceiling of stored changes per second.
enum FeedSequenceCounter {
    /// The counter's table key.
    static let key: Item = {
        var key: Item = [:]
        key[feed: .partitionKey] = .string(FeedEntryItem.partitionPrefix + "SEQUENCE")
        key[feed: .sortKey] = .string("COUNTER")
        return key
    }()

    /// The attribute holding the last allocated number.
    static let attribute = "last"

    /// Allocates the next number.
    static func allocate(in tableName: String, client: DynamoDBClient) async throws -> Int64 {
        let output = try await client.updateItem(UpdateItemInput(
            tableName: tableName, key: key, updateExpression: "ADD #last :one", expressionAttributeNames: ["#last": attribute],
            expressionAttributeValues: [":one": .integer(1)], returnValues: .updatedNew
        ))
        guard let last = output.attributes?[attribute]?.numberText.flatMap({ Int64($0) }) else {
            throw MessageStoreError.failed("the feed's sequence counter answered no number")
        }
        return last
    }

    /// The last allocated number (0 when none was), read strongly consistent.
    static func last(in tableName: String, client: DynamoDBClient) async throws -> Int64 {
        let item = try await client.getItem(GetItemInput(tableName: tableName, key: key, consistentRead: true))
        guard let item else { return 0 }
        guard let last = item[attribute]?.numberText.flatMap({ Int64($0) }) else {
            throw MessageStoreError.failed("the feed's sequence counter holds no number")
        }
        return last
    }
}
