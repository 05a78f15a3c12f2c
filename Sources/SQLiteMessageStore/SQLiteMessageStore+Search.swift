import MessageStore

extension SQLiteMessageStore {
    /// Not built yet: the FTS5 index replaces this in the next commits.
    public func search(_ request: SearchRequest) async throws -> Page<StoredMessage, SearchPosition> {
        throw MessageStoreError.failed("search is not built for SQLite yet")
    }
}
