import MessageStore

// TEMPORARY: the DynamoDB change feed is being built on its own branch; these answer until then.
extension DynamoDBMessageStore {
    public func feed(after position: FeedPosition?, orderID: String?, limit: Int) async throws -> FeedPage {
        throw MessageStoreError.failed("the DynamoDB change feed is not built yet")
    }

    public func feedEnd() async throws -> FeedPosition {
        throw MessageStoreError.failed("the DynamoDB change feed is not built yet")
    }

    public func pruneFeed() async throws -> Int { 0 }

    public var feedPollInterval: Duration { .milliseconds(250) }
}
