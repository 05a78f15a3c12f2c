import MessageStore

// The orders list: pages of `order_summaries` by most recent activity, each with its last
// message's preview read from the message's row.
extension SQLiteRows {
    /// One page of the orders list after `position`, read in one snapshot.
    ///
    /// The list runs by `lastMessageAt` descending, then `orderId` ascending: two directions
    /// that one range of the index cannot express after a position. So a page after a
    /// position reads two ranges, each a range scan of the index: the rest of the orders tied
    /// with the position, then the orders before it in time.
    static func orders(
        after position: OrderPosition?, limit: Int, unreadOnly: Bool, on connection: SQLiteConnection
    ) throws -> Page<OrderSummary, OrderPosition> {
        try connection.inReadTransaction {
            var rows: [OrderRow] = []
            if let position {
                let tied = try connection.prepared(unreadOnly ? unreadTiedOrdersSQL : tiedOrdersSQL)
                try tied.bind(position.lastMessageAt, at: 1)
                try tied.bind(position.orderID, at: 2)
                rows += try orderRows(from: tied, limit: limit + 1)
            }
            if rows.count <= limit {
                let older = try connection.prepared(
                    position == nil ? (unreadOnly ? unreadFirstOrdersSQL : firstOrdersSQL) : (unreadOnly ? unreadOlderOrdersSQL : olderOrdersSQL)
                )
                if let position { try older.bind(position.lastMessageAt, at: 1) }
                rows += try orderRows(from: older, limit: limit + 1 - rows.count)
            }
            let hasMore = rows.count > limit
            let summaries = try rows.prefix(limit).map { try $0.summary(on: connection) }
            return Page(items: summaries, next: hasMore ? summaries.last.map(OrderPosition.init(of:)) : nil)
        }
    }

    /// One order as the list query reads it: its summary, and the start of its last
    /// message's text.
    private struct OrderRow {
        var orderID: String
        var orderNumber: String?
        var messageCount: Int
        var unreadCount: Int
        var lastMessageAt: Int64
        var lastMessageType: MessageType
        var lastMessageID: String
        var lastFromName: String
        /// The text's first ``previewBytes`` bytes and one more, when it has them.
        var textHead: [UInt8]

        /// The summary, reading the last message's whole text only when its head cannot
        /// tell where the preview ends (about ten bytes or more per character).
        func summary(on connection: SQLiteConnection) throws -> OrderSummary {
            let key = MessageKey(orderID: orderID, messageType: lastMessageType, messageID: lastMessageID)
            var preview = MessagePreview(messageType: lastMessageType, messageID: lastMessageID, fromName: lastFromName, text: "")
            if let text = SQLiteRows.previewText(ofHead: textHead) {
                preview.text = text
            } else if let message = try SQLiteRows.message(key, on: connection) {
                preview.text = MessagePreview(of: message).text
            }
            return OrderSummary(
                orderID: orderID, orderNumber: orderNumber, messageCount: messageCount, unreadCount: unreadCount,
                lastMessageAt: lastMessageAt, lastMessage: preview
            )
        }
    }

    /// How many bytes of the last message's text the list reads: enough for its preview
    /// unless the characters average ten bytes or more.
    static let previewBytes = MessagePreview.textCharacters * 10

    /// The preview of a text from its head (its first ``previewBytes`` bytes and one more,
    /// when it has them), or `nil` when the head cannot tell.
    ///
    /// A head that is the whole text gives its preview. A cut head gives it when it holds a
    /// character past the preview: where a character ends depends only on what comes before
    /// and on the next scalar, so the preview's characters are then the text's own.
    static func previewText(ofHead head: [UInt8]) -> String? {
        let isWhole = head.count <= previewBytes
        let text = String(decoding: isWhole ? head[...] : completeScalars(of: head.prefix(previewBytes)), as: UTF8.self)
        let preview = text.prefix(MessagePreview.textCharacters)
        guard isWhole || preview.endIndex < text.endIndex else { return nil }
        return String(preview)
    }

    /// `bytes` without a last scalar that the cut left incomplete.
    private static func completeScalars(of bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        // The last scalar starts at the last byte that is not a continuation byte (10xxxxxx).
        guard let start = bytes.lastIndex(where: { $0 & 0xC0 != 0x80 }) else { return bytes }
        let lead = bytes[start]
        let length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
        return bytes.endIndex - start < length ? bytes[..<start] : bytes
    }

    /// Steps a list statement for at most `limit` orders, then resets it.
    private static func orderRows(from statement: SQLiteStatement, limit: Int) throws -> [OrderRow] {
        defer { statement.reset() }
        try statement.bind(Int64(limit), at: 3)
        var rows: [OrderRow] = []
        while rows.count < limit, try statement.step() {
            guard let type = statement.text(at: 5).flatMap(MessageType.init(rawValue:)) else {
                throw MessageStoreError.failed("an order's last message has an unknown messageType")
            }
            rows.append(
                OrderRow(
                    orderID: statement.text(at: 0) ?? "", orderNumber: statement.text(at: 1), messageCount: Int(statement.int64(at: 2)),
                    unreadCount: Int(statement.int64(at: 3)), lastMessageAt: statement.int64(at: 4), lastMessageType: type,
                    lastMessageID: statement.text(at: 6) ?? "", lastFromName: statement.text(at: 7) ?? "", textHead: statement.bytes(at: 8)
                )
            )
        }
        return rows
    }

    // MARK: SQL

    /// The list's columns: the summary, then its last message (read by key: the summaries'
    /// index gives the order, the message's primary key each row).
    private static func ordersSQL(where condition: String?, unreadOnly: Bool, orderBy: String) -> String {
        let conditions = [condition, unreadOnly ? "s.unreadCount > 0" : nil].compactMap { $0 }
        return """
            SELECT s.orderId, s.orderNumber, s.messageCount, s.unreadCount, s.lastMessageAt,
                m.messageType, m.messageId, m.fromName, substr(CAST(m.text AS BLOB), 1, \(previewBytes + 1))
            FROM order_summaries AS s CROSS JOIN messages AS m ON m.PK = 'MESSAGE#' || s.orderId AND m.SK = s.lastSK
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            ORDER BY \(orderBy) LIMIT ?3
            """
    }

    private static let firstOrdersSQL = ordersSQL(where: nil, unreadOnly: false, orderBy: "s.lastMessageAt DESC, s.orderId")
    private static let unreadFirstOrdersSQL = ordersSQL(where: nil, unreadOnly: true, orderBy: "s.lastMessageAt DESC, s.orderId")
    private static let tiedOrdersSQL = ordersSQL(where: "s.lastMessageAt = ?1 AND s.orderId > ?2", unreadOnly: false, orderBy: "s.orderId")
    private static let unreadTiedOrdersSQL = ordersSQL(where: "s.lastMessageAt = ?1 AND s.orderId > ?2", unreadOnly: true, orderBy: "s.orderId")
    private static let olderOrdersSQL = ordersSQL(where: "s.lastMessageAt < ?1", unreadOnly: false, orderBy: "s.lastMessageAt DESC, s.orderId")
    private static let unreadOlderOrdersSQL = ordersSQL(where: "s.lastMessageAt < ?1", unreadOnly: true, orderBy: "s.lastMessageAt DESC, s.orderId")

    /// The statements of the orders list, for checking their query plans.
    static var ordersListSQL: [String] {
        [firstOrdersSQL, unreadFirstOrdersSQL, tiedOrdersSQL, unreadTiedOrdersSQL, olderOrdersSQL, unreadOlderOrdersSQL]
    }
}
