// TEMPORARY, while the stores gain the reader's side (issue 11): each store replaces these.
extension MessageStore {
    public func page(ofOrder orderID: String, type: MessageType?, after sortKey: String?, limit: Int) async throws -> Page<StoredMessage, String> {
        throw MessageStoreError.failed("pages are not supported by this store yet")
    }
    public func message(_ key: MessageKey) async throws -> StoredMessage? {
        throw MessageStoreError.failed("single-message reads are not supported by this store yet")
    }
    public func setRead(_ read: Bool, of key: MessageKey, at time: Int64) async throws -> StoredMessage? {
        throw MessageStoreError.failed("read status is not supported by this store yet")
    }
    public func orders(after position: OrderPosition?, limit: Int, unreadOnly: Bool) async throws -> Page<OrderSummary, OrderPosition> {
        throw MessageStoreError.failed("the orders list is not supported by this store yet")
    }
    public func conversation(ofOrder orderID: String, thread threadID: String?, after position: ConversationPosition?, limit: Int) async throws
        -> Page<StoredMessage, ConversationPosition>
    {
        throw MessageStoreError.failed("conversations are not supported by this store yet")
    }
    public func threads(ofOrder orderID: String) async throws -> [ThreadSummary] {
        throw MessageStoreError.failed("threads are not supported by this store yet")
    }
}
