import MessageStore

// The reader's queries on the `messages` and `order_summaries` tables (see
// ``SQLiteReaderSchema``). Every page is read by key: a range of an index, from the page's
// position on, never skipping rows with OFFSET.
extension SQLiteRows {
    /// One message, or `nil` when there is none with that key.
    static func message(_ key: MessageKey, on connection: SQLiteConnection) throws -> StoredMessage? {
        let statement = try connection.prepared(selectOneSQL)
        defer { statement.reset() }
        try statement.bind(key.partitionKey, at: 1)
        try statement.bind(key.sortKey, at: 2)
        return try statement.step() ? decodeMessage(statement) : nil
    }

    /// Applies a reader's `read` at server time `time`, inside the caller's transaction,
    /// unless a newer statement stands (``ReadStatement/applying(read:at:to:)``).
    /// - Returns: the message as stored afterwards, or `nil` when there is none.
    static func setRead(_ read: Bool, of key: MessageKey, at time: Int64, on connection: SQLiteConnection) throws -> StoredMessage? {
        guard let stored = try message(key, on: connection) else { return nil }
        guard let updated = ReadStatement.applying(read: read, at: time, to: stored) else { return stored }
        let statement = try connection.prepared(setReadSQL)
        defer { statement.reset() }
        try statement.bind(key.partitionKey, at: 1)
        try statement.bind(key.sortKey, at: 2)
        try statement.bind(updated.read ? 1 : 0, at: 3)
        try statement.bind(updated.readUpdatedAt, at: 4)
        _ = try statement.step()
        try SQLiteFeed.append(.read, of: key, at: time, on: connection)
        return updated
    }

    /// One page of an order's messages in `SK` order, optionally of one type, after `sortKey`.
    static func page(
        ofOrder orderID: String, type: MessageType?, after sortKey: String?, limit: Int, on connection: SQLiteConnection
    ) throws -> Page<StoredMessage, String> {
        let statement = try connection.prepared(type == nil ? pageSQL : pageByTypeSQL)
        defer { statement.reset() }
        try statement.bind(StoredMessage.partitionKey(orderID: orderID), at: 1)
        // Every sort key is longer than its type's prefix, so every one is after "".
        try statement.bind(sortKey ?? "", at: 2)
        try statement.bind(Int64(limit) + 1, at: 3)
        if let type {
            let prefix = StoredMessage.sortKeyPrefix(for: type)
            try statement.bind(prefix, at: 4)
            try statement.bind(upperBound(ofPrefix: prefix), at: 5)
        }
        return try pageOfMessages(from: statement, limit: limit, position: \.sortKey)
    }

    /// One page of an order's conversation, optionally of one thread, after `position`.
    static func conversation(
        ofOrder orderID: String, thread threadID: String?, after position: ConversationPosition?, limit: Int,
        on connection: SQLiteConnection
    ) throws -> Page<StoredMessage, ConversationPosition> {
        // The main thread (its id is the order id) is the messages naming no thread or that one.
        let sql = threadID.map { $0.hasSameUTF8(as: orderID) ? conversationOfMainThreadSQL : conversationByThreadSQL } ?? conversationSQL
        let statement = try connection.prepared(sql)
        defer { statement.reset() }
        try statement.bind(StoredMessage.partitionKey(orderID: orderID), at: 1)
        // The first page starts before every place: no sort key is empty.
        try statement.bind(position?.timestamp ?? Int64.min, at: 2)
        try statement.bind(position?.sortKey ?? "", at: 3)
        try statement.bind(Int64(limit) + 1, at: 4)
        if let threadID { try statement.bind(threadID, at: 5) }
        return try pageOfMessages(from: statement, limit: limit, position: ConversationPosition.init(of:))
    }

    /// Every thread of an order, in order of their first message, then thread id (bytes).
    static func threads(ofOrder orderID: String, on connection: SQLiteConnection) throws -> [ThreadSummary] {
        let statement = try connection.prepared(threadsSQL)
        defer { statement.reset() }
        try statement.bind(StoredMessage.partitionKey(orderID: orderID), at: 1)
        var threads: [ThreadSummary] = []
        while try statement.step() {
            threads.append(
                ThreadSummary(
                    threadID: statement.text(at: 0) ?? orderID, messageCount: Int(statement.int64(at: 1)),
                    unreadCount: Int(statement.int64(at: 2)), firstMessageAt: statement.int64(at: 3), lastMessageAt: statement.int64(at: 4)
                )
            )
        }
        return threads
    }

    /// Steps a statement selecting at most `limit + 1` messages into a page of at most
    /// `limit`, whose `next` is the last one's position when a further row was found.
    private static func pageOfMessages<Position: Sendable & Hashable>(
        from statement: SQLiteStatement, limit: Int, position: (StoredMessage) -> Position
    ) throws -> Page<StoredMessage, Position> {
        var messages: [StoredMessage] = []
        var hasMore = false
        while try statement.step() {
            guard messages.count < limit else {
                hasMore = true
                break
            }
            messages.append(try decodeMessage(statement))
        }
        return Page(items: messages, next: hasMore ? messages.last.map(position) : nil)
    }

    // MARK: SQL

    private static let setReadSQL = "UPDATE messages SET read = ?3, readUpdatedAt = ?4 WHERE PK = ?1 AND SK = ?2"

    static let pageSQL = "SELECT \(messageColumns) FROM messages WHERE PK = ?1 AND SK > ?2 ORDER BY SK LIMIT ?3"

    static let pageByTypeSQL =
        "SELECT \(messageColumns) FROM messages WHERE PK = ?1 AND SK > ?2 AND SK >= ?4 AND SK < ?5 ORDER BY SK LIMIT ?3"

    /// A range of the `messages_by_time` index.
    static let conversationSQL = """
        SELECT \(messageColumns) FROM messages WHERE PK = ?1 AND (timestamp, SK) > (?2, ?3)
        ORDER BY timestamp, SK LIMIT ?4
        """

    /// A range of the `messages_by_thread` index (`threadId = ?` implies its `IS NOT NULL`).
    static let conversationByThreadSQL = """
        SELECT \(messageColumns) FROM messages WHERE PK = ?1 AND threadId = ?5 AND (timestamp, SK) > (?2, ?3)
        ORDER BY timestamp, SK LIMIT ?4
        """

    /// The main thread: a range of `messages_by_time`, skipping the messages of other threads.
    static let conversationOfMainThreadSQL = """
        SELECT \(messageColumns) FROM messages WHERE PK = ?1 AND (threadId IS NULL OR threadId = ?5) AND (timestamp, SK) > (?2, ?3)
        ORDER BY timestamp, SK LIMIT ?4
        """

    static let threadsSQL = """
        SELECT coalesce(threadId, orderId) AS thread, count(*), sum(read = 0), min(timestamp) AS firstMessageAt, max(timestamp)
        FROM messages WHERE PK = ?1 GROUP BY thread ORDER BY firstMessageAt, thread
        """
}
