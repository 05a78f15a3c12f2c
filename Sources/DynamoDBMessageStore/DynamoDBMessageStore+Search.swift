import MessageStore

extension DynamoDBMessageStore {
    /// Not built yet: issue 13's DynamoDB search replaces this in the next commits.
    public func search(_ request: SearchRequest) async throws -> Page<StoredMessage, SearchPosition> {
        throw MessageStoreError.failed("search is not built for DynamoDB yet")
    }
}
