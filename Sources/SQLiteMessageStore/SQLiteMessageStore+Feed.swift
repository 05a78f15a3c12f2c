import MessageStore

// TEMPORARY: replaced by the SQLite change feed in the next commits.
extension SQLiteMessageStore {
    public func feed(after position: FeedPosition?, orderID: String?, limit: Int) async throws -> FeedPage {
        throw MessageStoreError.failed("the SQLite change feed is not built yet")
    }

    public func feedEnd() async throws -> FeedPosition {
        throw MessageStoreError.failed("the SQLite change feed is not built yet")
    }

    public func pruneFeed() async throws -> Int { 0 }

    public var feedPollInterval: Duration { .seconds(1) }
}
