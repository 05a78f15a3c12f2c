/// What the reader's queries need beside the `messages` table: each order's summary, kept
/// by triggers, and the indexes that make every page a range scan.
///
/// The summaries are kept by the database itself: every insert, update or delete of a
/// message, from this store or any other process or tool, changes its order's summary in the
/// same statement, and so in the same transaction.
/// - An insert or delete recounts the order (a range of ``timeIndexSQL``, which holds `read`):
///   that stays exact whatever statement inserted (an `INSERT OR REPLACE` from the previous
///   release deletes the row it replaces without firing delete triggers; an `INSERT OR
///   IGNORE`).
/// - An update within one order (a redelivery, a read-status change) adjusts the counts and the
///   last message by the row's old and new values, so its cost does not grow with the order: a
///   read-status change on a 10,000-message order recounted 10,000 index entries before.
/// - Anything else (a row moved to another order, a timestamp moved back by a tool) recounts.
///
/// Every index is paid for by every write (a 32-message commit wrote 27 pages with four
/// message indexes, 9 before any): so one index on time serves the conversation, the last
/// message and the counts, and the thread index holds only messages that name a thread.
enum SQLiteReaderSchema {
    /// Creates what is missing, inside the caller's transaction, and fills the summaries of
    /// a database that had messages but no summaries yet (one written by the previous release).
    /// - Returns: how many orders' summaries were filled.
    @discardableResult
    static func install(on connection: SQLiteConnection) throws -> Int {
        let hadSummaries = try connection.scalarText(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'order_summaries'"
        ) == "1"
        try connection.execute(schemaSQL)
        guard !hadSummaries else { return 0 }
        try connection.execute(backfillSQL)
        return Int(try connection.scalarText("SELECT count(*) FROM order_summaries") ?? "") ?? 0
    }

    /// The summary of the order whose messages have partition key `pk` and order id
    /// `orderID` (SQL expressions, such as `NEW.PK`), recomputed from its messages: deleted
    /// when it has none left, else its counts and last message set, and its order number taken
    /// from the last message when it has one (otherwise the one kept before stays).
    private static func refreshSQL(pk: String, orderID: String) -> String {
        """
        DELETE FROM order_summaries WHERE orderId = \(orderID) AND NOT EXISTS (SELECT 1 FROM messages WHERE PK = \(pk));
            INSERT INTO order_summaries (orderId, orderNumber, messageCount, unreadCount, lastMessageAt, lastSK)
                SELECT \(orderID), last.orderNumber, counts.messageCount, counts.unreadCount, last.timestamp, last.SK
                FROM (SELECT orderNumber, timestamp, SK FROM messages WHERE PK = \(pk) ORDER BY timestamp DESC, SK DESC LIMIT 1) AS last,
                     (SELECT count(*) AS messageCount, sum(read = 0) AS unreadCount FROM messages WHERE PK = \(pk)) AS counts
                WHERE true
                ON CONFLICT (orderId) DO UPDATE SET
                    orderNumber = coalesce(excluded.orderNumber, orderNumber), messageCount = excluded.messageCount,
                    unreadCount = excluded.unreadCount, lastMessageAt = excluded.lastMessageAt, lastSK = excluded.lastSK;
        """
    }

    /// An order's messages by time: its conversation, its last message, and (with `read`) its
    /// counts, read from the index alone.
    private static let timeIndexSQL = "CREATE INDEX IF NOT EXISTS messages_by_time ON messages (PK, timestamp, SK, read);"

    /// A write within one order adjusts its summary: the unread count by the row's old and new
    /// `read`, and the last message when the row now comes at or after it (its timestamp only
    /// grows here; see the trigger's condition).
    private static let adjustSQL = """
        UPDATE order_summaries SET
                unreadCount = unreadCount + (NEW.read = 0) - (OLD.read = 0),
                orderNumber = CASE WHEN (NEW.timestamp, NEW.SK) >= (lastMessageAt, lastSK)
                    THEN coalesce(NEW.orderNumber, orderNumber) ELSE orderNumber END,
                lastSK = CASE WHEN (NEW.timestamp, NEW.SK) >= (lastMessageAt, lastSK) THEN NEW.SK ELSE lastSK END,
                lastMessageAt = max(lastMessageAt, NEW.timestamp)
            WHERE orderId = NEW.orderId;
        """

    static let schemaSQL = """
        -- One row per order that has messages. The last message is the one with the greatest
        -- timestamp, ties broken by the greatest SK; its preview is read from its row (by
        -- lastSK), so the summary does not copy its text.
        CREATE TABLE IF NOT EXISTS order_summaries (
            orderId       TEXT    NOT NULL PRIMARY KEY,
            orderNumber   TEXT,
            messageCount  INTEGER NOT NULL,
            unreadCount   INTEGER NOT NULL,
            lastMessageAt INTEGER NOT NULL,
            lastSK        TEXT    NOT NULL
        ) WITHOUT ROWID;

        -- The orders list, most recent activity first, ties by order id; and the same list of
        -- the orders with unread messages only, so that either page is a range scan.
        CREATE INDEX IF NOT EXISTS order_summaries_by_activity ON order_summaries (lastMessageAt DESC, orderId);
        CREATE INDEX IF NOT EXISTS order_summaries_unread_by_activity ON order_summaries (lastMessageAt DESC, orderId)
            WHERE unreadCount > 0;

        -- An order's conversation (timestamp, then SK), its last message and its counts; and
        -- the conversation of a thread that a message names (the main thread, whose id is the
        -- order id, reads messages_by_time).
        \(timeIndexSQL)
        CREATE INDEX IF NOT EXISTS messages_by_thread ON messages (PK, threadId, timestamp, SK) WHERE threadId IS NOT NULL;

        CREATE TRIGGER IF NOT EXISTS messages_insert_refreshes_order_summary AFTER INSERT ON messages BEGIN
            \(refreshSQL(pk: "NEW.PK", orderID: "NEW.orderId"))
        END;
        CREATE TRIGGER IF NOT EXISTS messages_update_adjusts_order_summary AFTER UPDATE ON messages
            WHEN OLD.PK IS NEW.PK AND OLD.orderId IS NEW.orderId AND NEW.timestamp >= OLD.timestamp BEGIN
            \(adjustSQL)
        END;
        CREATE TRIGGER IF NOT EXISTS messages_update_refreshes_order_summary AFTER UPDATE ON messages
            WHEN OLD.PK IS NOT NEW.PK OR OLD.orderId IS NOT NEW.orderId OR NEW.timestamp < OLD.timestamp BEGIN
            \(refreshSQL(pk: "NEW.PK", orderID: "NEW.orderId"))
        END;
        -- A row moved to another order (by hand): the order it left changes too.
        CREATE TRIGGER IF NOT EXISTS messages_move_refreshes_order_summary AFTER UPDATE ON messages
            WHEN OLD.PK IS NOT NEW.PK OR OLD.orderId IS NOT NEW.orderId BEGIN
            \(refreshSQL(pk: "OLD.PK", orderID: "OLD.orderId"))
        END;
        CREATE TRIGGER IF NOT EXISTS messages_delete_refreshes_order_summary AFTER DELETE ON messages BEGIN
            \(refreshSQL(pk: "OLD.PK", orderID: "OLD.orderId"))
        END;
        """

    /// Every order's summary from its messages. The order number kept before is not known
    /// here, so an order whose last message has none takes the newest one any message has.
    static let backfillSQL = """
        INSERT INTO order_summaries (orderId, orderNumber, messageCount, unreadCount, lastMessageAt, lastSK)
            SELECT orders.orderId,
                (SELECT orderNumber FROM messages WHERE PK = orders.PK AND orderNumber IS NOT NULL
                    ORDER BY timestamp DESC, SK DESC LIMIT 1),
                (SELECT count(*) FROM messages WHERE PK = orders.PK),
                (SELECT count(*) FROM messages WHERE PK = orders.PK AND read = 0),
                (SELECT timestamp FROM messages WHERE PK = orders.PK ORDER BY timestamp DESC, SK DESC LIMIT 1),
                (SELECT SK FROM messages WHERE PK = orders.PK ORDER BY timestamp DESC, SK DESC LIMIT 1)
            FROM (SELECT PK, min(orderId) AS orderId FROM messages GROUP BY PK) AS orders
            WHERE true
            ON CONFLICT (orderId) DO NOTHING;
        """
}
