import MessageStore

// The reader's queries on the `messages` and `order_summaries` tables (see
// ``SQLiteReaderSchema``).
extension SQLiteRows {
    /// One message, or `nil` when there is none with that key.
    static func message(_ key: MessageKey, on connection: SQLiteConnection) throws -> StoredMessage? {
        let statement = try connection.prepared(selectOneSQL)
        defer { statement.reset() }
        try statement.bind(key.partitionKey, at: 1)
        try statement.bind(key.sortKey, at: 2)
        return try statement.step() ? decode(statement) : nil
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
        return updated
    }

    // MARK: SQL

    private static let setReadSQL = "UPDATE messages SET read = ?3, readUpdatedAt = ?4 WHERE PK = ?1 AND SK = ?2"
}
