import MessageStore

/// The `feed` table: the change feed, one row per stored change, numbered by SQLite's own
/// `AUTOINCREMENT` sequence.
///
/// A row is written by the same transaction as the change it records (``append(_:of:at:on:)``
/// inside the writer's group commit), and copies the message's row as that transaction left it,
/// so the feed and the messages can never disagree, and a crash keeps both or neither. One
/// writer commits at a time, so sequence numbers are given in commit order: a reader that has
/// seen sequence `n` has seen every change committed before it, and no later commit can land
/// behind it. `AUTOINCREMENT` never gives a number twice, even after the newest rows were
/// dropped; a rolled-back transaction gives its numbers back, so the sequence has no gaps.
enum SQLiteFeed {
    /// The columns copied from `messages`: every attribute but the keys, in ``SQLiteRows``'
    /// read order, so that a feed row decodes with ``SQLiteRows/decode(_:)``.
    private static let messageColumns = SQLiteRows.selectColumns

    /// Where the event's own columns start in a row read by ``pageSQL``.
    private static let sequenceColumn = Int32(SQLiteRows.selectedAttributes.count)

    static let schemaSQL = """
        -- The change feed: one row per stored change, with the message as the change left it.
        CREATE TABLE IF NOT EXISTS feed (
            seq         INTEGER PRIMARY KEY AUTOINCREMENT,
            kind        TEXT    NOT NULL,
            eventTime   INTEGER NOT NULL,
            orderId     TEXT    NOT NULL,
            messageId   TEXT    NOT NULL,
            messageType TEXT    NOT NULL,
            fromName    TEXT    NOT NULL,
            text        TEXT    NOT NULL,
            createdDate TEXT    NOT NULL,
            read        INTEGER NOT NULL,
            timestamp   INTEGER NOT NULL,
            storedAt    TEXT    NOT NULL,
            orderNumber TEXT,
            attachments TEXT,
            threadId    TEXT,
            inReplyTo   TEXT,
            readUpdatedAt INTEGER
        );
        -- One order's events, for readers that follow a single order.
        CREATE INDEX IF NOT EXISTS feed_by_order ON feed (orderId, seq);
        """

    /// Records a change of the message at `key` as the current transaction left it, at
    /// server time `time` (Unix ms). Runs inside the caller's transaction, after the change.
    static func append(_ kind: FeedEventKind, of key: MessageKey, at time: Int64, on connection: SQLiteConnection) throws {
        let statement = try connection.prepared(appendSQL)
        defer { statement.reset() }
        try statement.bind(kind.rawValue, at: 1)
        try statement.bind(time, at: 2)
        try statement.bind(key.partitionKey, at: 3)
        try statement.bind(key.sortKey, at: 4)
        _ = try statement.step()
    }

    /// Up to `limit` events after `sequence` (optionally of one order), read in one snapshot
    /// with the feed's newest sequence, which lets a page of one order's events go on past the
    /// events of other orders it passed over.
    /// - Returns: the events, and the newest event's position in the same snapshot (`nil` when
    ///   the feed is empty).
    static func events(after sequence: Int64, orderID: String?, limit: Int, on connection: SQLiteConnection) throws -> (
        events: [FeedEvent], newest: FeedPosition?
    ) {
        try connection.inReadTransaction {
            let statement = try connection.prepared(orderID == nil ? pageSQL : pageOfOrderSQL)
            defer { statement.reset() }
            try statement.bind(sequence, at: 1)
            try statement.bind(Int64(limit), at: 2)
            if let orderID { try statement.bind(orderID, at: 3) }
            var events: [FeedEvent] = []
            while try statement.step() {
                guard let kind = statement.text(at: sequenceColumn + 1).flatMap(FeedEventKind.init(rawValue:)) else {
                    throw MessageStoreError.failed("a feed row has an unknown kind")
                }
                let position = FeedPosition(sequence: statement.int64(at: sequenceColumn), time: statement.int64(at: sequenceColumn + 2))
                events.append(FeedEvent(position: position, kind: kind, message: try SQLiteRows.decode(statement)))
            }
            return (events, try newest(on: connection))
        }
    }

    /// The newest event's position, or `nil` when the feed holds none.
    static func newest(on connection: SQLiteConnection) throws -> FeedPosition? {
        let statement = try connection.prepared(newestSQL)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return FeedPosition(sequence: statement.int64(at: 0), time: statement.int64(at: 1))
    }

    /// The greatest sequence number ever given, whether or not its row is still kept (0 when
    /// none was): the end of a feed whose rows were all dropped.
    static func lastSequenceGiven(on connection: SQLiteConnection) throws -> Int64 {
        Int64(try connection.scalarText("SELECT seq FROM sqlite_sequence WHERE name = 'feed'") ?? "0") ?? 0
    }

    /// The sequence just before the oldest event stored at or after `time` (Unix ms), which is
    /// where a reader starts that asks for the oldest event kept; `nil` when there is none.
    /// Events are stored in time order, so this reads the older rows only, oldest first.
    static func sequenceBefore(eventsSince time: Int64, on connection: SQLiteConnection) throws -> Int64? {
        let statement = try connection.prepared(firstSinceSQL)
        defer { statement.reset() }
        try statement.bind(time, at: 1)
        return try statement.step() ? statement.int64(at: 0) - 1 : nil
    }

    /// Drops up to `batch` of the oldest events stored before `time` (Unix ms), in the
    /// connection's own transaction.
    /// - Returns: how many it dropped.
    static func drop(storedBefore time: Int64, batch: Int, on connection: SQLiteConnection) throws -> Int {
        // The oldest event to keep; when every event is older, all of them go.
        let keep = try sequenceBefore(eventsSince: time, on: connection).map { $0 + 1 } ?? lastSequenceGiven(on: connection) + 1
        let statement = try connection.prepared(dropSQL)
        defer { statement.reset() }
        try statement.bind(keep, at: 1)
        try statement.bind(Int64(batch), at: 2)
        _ = try statement.step()
        return connection.changes
    }

    // MARK: SQL

    private static let appendSQL = """
        INSERT INTO feed (kind, eventTime, \(messageColumns))
            SELECT ?1, ?2, \(messageColumns) FROM messages WHERE PK = ?3 AND SK = ?4
        """

    private static let pageSQL = "SELECT \(messageColumns), seq, kind, eventTime FROM feed WHERE seq > ?1 ORDER BY seq LIMIT ?2"

    private static let pageOfOrderSQL =
        "SELECT \(messageColumns), seq, kind, eventTime FROM feed WHERE orderId = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2"

    private static let newestSQL = "SELECT seq, eventTime FROM feed ORDER BY seq DESC LIMIT 1"

    private static let firstSinceSQL = "SELECT seq FROM feed WHERE eventTime >= ?1 ORDER BY seq LIMIT 1"

    private static let dropSQL = "DELETE FROM feed WHERE seq IN (SELECT seq FROM feed WHERE seq < ?1 ORDER BY seq LIMIT ?2)"
}
