import DynamoDB
import MessageStore

// The reader's side: pages of an order, one message, a reader's read statement, the orders
// list, conversations and threads.

extension DynamoDBMessageStore {
    /// A page by key: a strongly consistent Query of the order's partition starting after
    /// `sortKey`, asking for one item more than `limit` to know whether more follow (and
    /// asking again when DynamoDB's 1 MB page ends first).
    public func page(ofOrder orderID: String, type: MessageType?, after sortKey: String?, limit: Int) async throws -> Page<StoredMessage, String> {
        guard limit > 0 else { return Page(items: [], next: nil) }
        var input = orderQuery(orderID, type: type)
        if let sortKey {
            if let type, !sortKey.hasUTF8Prefix(StoredMessage.sortKeyPrefix(for: type)) {
                // DynamoDB refuses a start key outside the key condition's range: start at the
                // type's first key when `sortKey` sorts before them, and end when after.
                if !sortKey.utf8.lexicographicallyPrecedes(StoredMessage.sortKeyPrefix(for: type).utf8) { return Page(items: [], next: nil) }
            } else {
                input.exclusiveStartKey = Self.messageKey(partitionKey: StoredMessage.partitionKey(orderID: orderID), sortKey: sortKey)
            }
        }
        input.limit = configuration.queryPageSize.map { min($0, limit + 1) } ?? limit + 1
        let items = try await mappingErrors { try await client.queryItems(input, upTo: limit + 1) }
        let messages = try items.prefix(limit).map(Self.message(from:))
        return Page(items: messages, next: items.count > limit ? messages.last?.sortKey : nil)
    }

    /// One strongly consistent `GetItem`.
    public func message(_ key: MessageKey) async throws -> StoredMessage? {
        let item = try await mappingErrors {
            try await client.getItem(GetItemInput(tableName: configuration.tableName, key: Self.messageKey(key), consistentRead: true))
        }
        return try item.map(Self.message(from:))
    }

    /// Reads the message and its order's summary as one snapshot, applies the statement
    /// (``ReadStatement/applying(read:at:to:)``) and writes the message's `read` and
    /// `readUpdatedAt` with the summary's `unreadCount` in one conditioned transaction, as
    /// ``store(_:)`` does; reads again and applies again when another writer got there first.
    public func setRead(_ read: Bool, of key: MessageKey, at time: Int64) async throws -> StoredMessage? {
        try await mappingErrors {
            try await retryingLostRaces("setRead") {
                let snapshot = try await readSnapshot(key)
                guard let stored = snapshot.message else { return nil }
                guard let updated = ReadStatement.applying(read: read, at: time, to: stored) else { return stored }
                try await commit(.setRead(updated), as: .read, over: snapshot)
                return updated
            }
        }
    }

    /// Reads the ``OrdersIndex`` (`orders-by-activity`) from the position on, ascending,
    /// filtering on `unreadCount > 0` when `unreadOnly`, page after page until `limit` orders
    /// and one more are found or the index ends (see ``ordersPageLimit(_:unreadOnly:pageSize:)``).
    ///
    /// A global secondary index is eventually consistent: the list may lag a write by about
    /// a second (an order shown at its previous place, or with its previous counts). That is
    /// safe here because the list only points readers at orders: the counts it shows are
    /// those of a summary that was exact when written, each write to the order replaces it
    /// whole, and once writes settle the index holds exactly the table's summaries; whatever
    /// a reader then opens is read from the table, strongly consistent. Every order sits in
    /// one index partition (`ordersPK = ORDERS`), so the index takes at most one partition's
    /// write rate, about 1,000 write units a second: each message written rewrites its order's
    /// summary, and one that moves the order in the list costs the index two (the old entry
    /// out, the new one in). Past that DynamoDB throttles the index, and with it the table's
    /// writes; the remedy then is to shard the index partition (`ORDERS#0` … `ORDERS#n-1`)
    /// and merge the shards' pages when reading.
    public func orders(after position: OrderPosition?, limit: Int, unreadOnly: Bool) async throws -> Page<OrderSummary, OrderPosition> {
        guard limit > 0 else { return Page(items: [], next: nil) }
        var input = QueryInput(
            tableName: configuration.tableName, keyConditionExpression: "#ordersPK = :orders",
            expressionAttributeNames: ["#ordersPK": OrderSummaryItem.Attribute.ordersPartition.rawValue],
            expressionAttributeValues: [":orders": .string(OrdersIndex.partition)], limit: Self.ordersPageLimit(limit, unreadOnly: unreadOnly, pageSize: configuration.queryPageSize),
            exclusiveStartKey: position.map(OrdersIndex.startKey(after:)), scanIndexForward: true, indexName: OrdersIndex.name
        )
        if unreadOnly {
            input.filterExpression = "#unreadCount > :zero"
            input.expressionAttributeNames?["#unreadCount"] = OrderSummaryItem.Attribute.unreadCount.rawValue
            input.expressionAttributeValues?[":zero"] = .integer(0)
        }
        let items = try await mappingErrors { try await client.queryItems(input, upTo: limit + 1) }
        let summaries = try items.prefix(limit).map { try OrderSummaryItem.record(from: $0).summary }
        return Page(items: summaries, next: items.count > limit ? summaries.last.map(OrderPosition.init(of:)) : nil)
    }

    /// How many index items one `Query` page of the orders list evaluates: one more than the
    /// page needs, so a page costs about what it returns; with `unreadOnly` at least 100,
    /// because the filter runs after the read and most orders may be read already. A
    /// configured ``Configuration/queryPageSize`` that is smaller wins (tests use it to cross
    /// page boundaries).
    static func ordersPageLimit(_ limit: Int, unreadOnly: Bool, pageSize: Int?) -> Int {
        let wanted = unreadOnly ? max(limit + 1, 100) : limit + 1
        return pageSize.map { min($0, wanted) } ?? wanted
    }

    /// Reads the whole order (a strongly consistent Query of its partition, every page), then
    /// sorts, filters and pages it here: a page costs a read of the order, as the spec's items
    /// carry no attribute to index the conversation's order (payload `timestamp`) by without
    /// adding one to them.
    public func conversation(ofOrder orderID: String, thread threadID: String?, after position: ConversationPosition?, limit: Int) async throws
        -> Page<StoredMessage, ConversationPosition>
    {
        guard limit > 0 else { return Page(items: [], next: nil) }
        let following = try await messages(forOrder: orderID, type: nil)
            .filter { message in threadID.map { message.conversationThreadID.hasSameUTF8(as: $0) } ?? true }
            .map { (position: ConversationPosition(of: $0), message: $0) }
            .filter { entry in position.map { $0 < entry.position } ?? true }
            .sorted { $0.position < $1.position }
        let page = following.prefix(limit)
        return Page(items: page.map(\.message), next: following.count > limit ? page.last?.position : nil)
    }

    /// Reads the whole order, as ``conversation(ofOrder:thread:after:limit:)`` does, and
    /// summarizes its threads.
    public func threads(ofOrder orderID: String) async throws -> [ThreadSummary] {
        ThreadSummary.summarize(try await messages(forOrder: orderID, type: nil))
    }

    /// A table key.
    static func messageKey(partitionKey: String, sortKey: String) -> Item {
        var item: Item = [:]
        item[.partitionKey] = .string(partitionKey)
        item[.sortKey] = .string(sortKey)
        return item
    }
}
