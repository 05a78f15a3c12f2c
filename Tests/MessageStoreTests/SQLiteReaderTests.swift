import Foundation
import Logging
import StoreTestSupport
import Testing

@testable import MessageStore
@testable import SQLiteMessageStore

/// What is particular to the SQLite store's reader side: the summaries kept by triggers
/// (whoever writes), their migration, the query plans, and `read` through the group commit.
@Suite struct SQLiteReaderTests {
    let logger = Logger(label: "test")

    private static func message(order: String = "QO-1", id: String, type: MessageType = .received, at offset: Int64, read: Bool = false)
        -> StoredMessage
    {
        ReaderContractTests.message(order: order, id: id, type: type, at: ReaderContractTests.base + offset, read: read)
    }

    @Test func aDatabaseFromThePreviousReleaseGetsItsOrderSummariesWhenOpened() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("old.sqlite")
        // The previous release's schema (no summaries, no reader columns), holding messages.
        let old = try SQLiteConnection(path: path)
        try old.execute("""
            \(previousReleaseMessagesTableSQL)
            CREATE TABLE order_versions (PK TEXT NOT NULL PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;
            INSERT INTO messages VALUES
                ('MESSAGE#QO-A', 'message.received#M-1', 'QO-A', 'M-1', 'message.received', 'A', 'one', 'c', 0, 100, 's', 'N-1', NULL),
                ('MESSAGE#QO-A', 'message.received#M-2', 'QO-A', 'M-2', 'message.received', 'A', 'two', 'c', 1, 200, 's', NULL, NULL),
                ('MESSAGE#QO-A', 'message.sent#M-3', 'QO-A', 'M-3', 'message.sent', 'B', 'three', 'c', 0, 200, 's', NULL, NULL),
                ('MESSAGE#QO-B', 'message.received#M-1', 'QO-B', 'M-1', 'message.received', 'C', 'only', 'c', 1, 150, 's', 'N-B', NULL);
            """)
        old.close()

        let store = try await SQLiteMessageStore.open(.init(path: path), logger: logger)
        let listed = try await store.orders(after: nil, limit: 10, unreadOnly: false).items
        #expect(listed == [
            OrderSummary(
                orderID: "QO-A", orderNumber: "N-1", messageCount: 3, unreadCount: 2, lastMessageAt: 200,
                lastMessage: MessagePreview(messageType: .sent, messageID: "M-3", fromName: "B", text: "three")
            ),
            OrderSummary(
                orderID: "QO-B", orderNumber: "N-B", messageCount: 1, unreadCount: 0, lastMessageAt: 150,
                lastMessage: MessagePreview(messageType: .received, messageID: "M-1", fromName: "C", text: "only")
            ),
        ])
        // Kept exact from then on, and filled once only.
        _ = try await store.setRead(true, of: MessageKey(orderID: "QO-A", messageType: .sent, messageID: "M-3"), at: 1_000)
        try await ReaderContractTests.expectExactSummary(of: "QO-A", orderNumber: "N-1", in: store)
        try await store.shutdown()
        let reopened = try await SQLiteMessageStore.open(.init(path: path), logger: logger)
        #expect(try await reopened.orders(after: nil, limit: 10, unreadOnly: false).items.map(\.messageCount) == [3, 1])
        #expect(try await reopened.orders(after: nil, limit: 10, unreadOnly: true).items.map(\.orderID) == ["QO-A"])
        try await reopened.shutdown()
    }

    @Test func summariesStayExactWhateverStatementAnotherToolWrites() async throws {
        try await withSQLiteStore { store, path in
            _ = try await store.store(Self.message(id: "M-1", at: 0))
            _ = try await store.store(Self.message(id: "M-2", at: 10, read: true))
            let tool = try SQLiteConnection(path: path)
            defer { tool.close() }
            func row(_ id: String, at offset: Int64, read: Bool, order: String = "QO-1") -> String {
                "('MESSAGE#\(order)', 'message.received#\(id)', '\(order)', '\(id)', 'message.received', 'T', 'by a tool', 'c', \(read ? 1 : 0), \(ReaderContractTests.base + offset), 's')"
            }
            let columns = "(PK, SK, orderId, messageId, messageType, fromName, text, createdDate, read, timestamp, storedAt)"

            // The previous release's upsert deletes and inserts without firing delete triggers.
            try tool.execute("INSERT OR REPLACE INTO messages \(columns) VALUES \(row("M-1", at: 20, read: true))")
            try await ReaderContractTests.expectExactSummary(of: "QO-1", orderNumber: nil, in: store)
            #expect(try await ReaderContractTests.listedSummary(of: "QO-1", in: store)?.unreadCount == 0)
            // An insert that is ignored, and an upsert that updates.
            try tool.execute("INSERT OR IGNORE INTO messages \(columns) VALUES \(row("M-2", at: 30, read: false))")
            try tool.execute(
                "INSERT INTO messages \(columns) VALUES \(row("M-2", at: 30, read: false)) ON CONFLICT (PK, SK) DO UPDATE SET read = excluded.read"
            )
            try await ReaderContractTests.expectExactSummary(of: "QO-1", orderNumber: nil, in: store)
            #expect(try await ReaderContractTests.listedSummary(of: "QO-1", in: store)?.unreadCount == 1)
            // Updates within the order: read flipped by hand (adjusted), a newer timestamp that
            // makes another message the last (adjusted), and the last one moved back in time
            // (recounted, since the last message may now be another).
            _ = try await store.store(Self.message(id: "M-3", at: 40))
            try tool.execute("UPDATE messages SET read = 1 WHERE messageId IN ('M-2', 'M-3')")
            try await ReaderContractTests.expectExactSummary(of: "QO-1", orderNumber: nil, in: store)
            try tool.execute("UPDATE messages SET timestamp = timestamp + 100 WHERE messageId = 'M-1'")
            try await ReaderContractTests.expectExactSummary(of: "QO-1", orderNumber: nil, in: store)
            #expect(try await ReaderContractTests.listedSummary(of: "QO-1", in: store)?.lastMessage.messageID == "M-1")
            try tool.execute("UPDATE messages SET timestamp = timestamp - 1000, read = 0 WHERE messageId = 'M-1'")
            try await ReaderContractTests.expectExactSummary(of: "QO-1", orderNumber: nil, in: store)
            #expect(try await ReaderContractTests.listedSummary(of: "QO-1", in: store)?.lastMessage.messageID == "M-3")
            // A message moved to another order by hand, then the last one deleted.
            try tool.execute("UPDATE messages SET PK = 'MESSAGE#QO-2', orderId = 'QO-2' WHERE messageId = 'M-2'")
            try await ReaderContractTests.expectExactSummary(of: "QO-1", orderNumber: nil, in: store)
            try await ReaderContractTests.expectExactSummary(of: "QO-2", orderNumber: nil, in: store)
            try tool.execute("DELETE FROM messages WHERE PK = 'MESSAGE#QO-2'")
            #expect(try await ReaderContractTests.listedSummary(of: "QO-2", in: store) == nil)
            #expect(try tool.scalarText("SELECT count(*) FROM order_summaries") == "1")
        }
    }

    @Test func aNewerVersionUpdatesTheRowInPlaceAndEveryChangeBumpsTheOrderVersion() async throws {
        try await withSQLiteStore { store, path in
            // Counts the inserts the database sees: an update must not be one.
            let tool = try SQLiteConnection(path: path)
            defer { tool.close() }
            try tool.execute("""
                CREATE TABLE inserts (n INTEGER NOT NULL);
                INSERT INTO inserts VALUES (0);
                CREATE TRIGGER count_inserts AFTER INSERT ON messages BEGIN UPDATE inserts SET n = n + 1; END;
                """)
            let first = Self.message(id: "M-1", at: 0)
            _ = try await store.store(first)
            let created = try await version(of: "QO-1", in: store)

            #expect(try await store.store(Self.message(id: "M-1", at: 10)) == .updated)
            let updated = try await version(of: "QO-1", in: store)
            #expect(updated != created)
            #expect(try tool.scalarText("SELECT n FROM inserts") == "1")

            _ = try await store.setRead(true, of: first.key, at: ReaderContractTests.base + 100)
            let readSet = try await version(of: "QO-1", in: store)
            #expect(readSet != updated)
            // A statement that loses changes nothing, version included.
            _ = try await store.setRead(false, of: first.key, at: ReaderContractTests.base + 50)
            #expect(try await version(of: "QO-1", in: store) == readSet)
            #expect(try tool.scalarText("SELECT n FROM inserts") == "1")
        }
    }

    /// The order's version, as a listing reads it.
    private func version(of orderID: String, in store: SQLiteMessageStore) async throws -> Int64? {
        guard case .listing(let listing) = try await store.listing(forOrder: orderID, type: nil, unlessUnchangedSince: nil) else { return nil }
        await listing.close()
        return listing.version
    }

    @Test func readStatusGoesThroughTheGroupCommitAndSurvivesReopening() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let configuration = SQLiteMessageStore.Configuration(path: folder.path("m.sqlite"))
        let store = try await SQLiteMessageStore.open(configuration, logger: logger)
        let messages = (0..<200).map { Self.message(id: "M-\($0)", at: 0) }
        for message in messages { _ = try await store.store(message) }
        let before = store.committedTransactionCount

        try await withThrowingTaskGroup(of: Void.self) { group in
            for message in messages {
                group.addTask { _ = try await store.setRead(true, of: message.key, at: ReaderContractTests.base + 1) }
                // Deliveries share the queue and the transactions.
                group.addTask { _ = try await store.store(Self.message(order: "QO-2", id: message.messageID, at: 0)) }
            }
            try await group.waitForAll()
        }
        #expect(store.committedTransactionCount - before < messages.count)
        try await store.shutdown()

        let reopened = try await SQLiteMessageStore.open(configuration, logger: logger)
        let stored = try await reopened.messages(forOrder: "QO-1", type: nil)
        #expect(stored.count == 200 && stored.allSatisfy { $0.read && $0.readUpdatedAt == ReaderContractTests.base + 1 })
        let orders = try await reopened.orders(after: nil, limit: 10, unreadOnly: false).items
        #expect(Set(orders.map { "\($0.orderID) \($0.messageCount) \($0.unreadCount)" }) == ["QO-1 200 0", "QO-2 200 200"])
        try await reopened.shutdown()
    }

    @Test func everyReaderQueryIsARangeOfAnIndex() async throws {
        try await withSQLiteStore { store, path in
            for index in 0..<20 { _ = try await store.store(Self.message(order: "QO-\(index % 3)", id: "M-\(index)", at: Int64(index))) }
            let connection = try SQLiteConnection(path: path)
            defer { connection.close() }
            func plan(_ sql: String) throws -> String {
                let statement = try connection.prepared("EXPLAIN QUERY PLAN " + sql)
                defer { statement.reset() }
                var details: [String] = []
                while try statement.step() { details.append(statement.text(at: 3) ?? "") }
                return details.joined(separator: " | ")
            }
            let expectations: [(String, String)] = [
                (SQLiteRows.pageSQL, "SEARCH messages USING PRIMARY KEY (PK=? AND SK>?)"),
                (SQLiteRows.pageByTypeSQL, "SEARCH messages USING PRIMARY KEY (PK=? AND SK>? AND SK<?)"),
                (SQLiteRows.conversationSQL, "SEARCH messages USING INDEX messages_by_time (PK=? AND (timestamp,SK)>(?,?))"),
                (SQLiteRows.conversationByThreadSQL, "SEARCH messages USING INDEX messages_by_thread (PK=? AND threadId=? AND (timestamp,SK)>(?,?))"),
                (SQLiteRows.conversationOfMainThreadSQL, "SEARCH messages USING INDEX messages_by_time (PK=? AND (timestamp,SK)>(?,?))"),
                // What the summary triggers read on an insert (an update adjusts by key).
                ("SELECT count(*), sum(read = 0) FROM messages WHERE PK = ?1", "SEARCH messages USING COVERING INDEX messages_by_time (PK=?)"),
                ("UPDATE order_summaries SET unreadCount = unreadCount + 1 WHERE orderId = ?1", "SEARCH order_summaries USING PRIMARY KEY (orderId=?)"),
                (
                    "SELECT orderNumber, timestamp, SK FROM messages WHERE PK = ?1 ORDER BY timestamp DESC, SK DESC LIMIT 1",
                    "SEARCH messages USING INDEX messages_by_time (PK=?)"
                ),
            ]
            for (sql, expected) in expectations {
                #expect(try plan(sql) == expected, "\(sql)")
            }
            let orderPlans = try SQLiteRows.ordersListSQL.map(plan)
            #expect(orderPlans == [
                "SCAN s USING INDEX order_summaries_by_activity | SEARCH m USING PRIMARY KEY (PK=? AND SK=?)",
                "SCAN s USING INDEX order_summaries_unread_by_activity | SEARCH m USING PRIMARY KEY (PK=? AND SK=?)",
                "SEARCH s USING INDEX order_summaries_by_activity (lastMessageAt=? AND orderId>?) | SEARCH m USING PRIMARY KEY (PK=? AND SK=?)",
                "SEARCH s USING INDEX order_summaries_unread_by_activity (lastMessageAt=? AND orderId>?) | SEARCH m USING PRIMARY KEY (PK=? AND SK=?)",
                "SEARCH s USING INDEX order_summaries_by_activity (lastMessageAt<?) | SEARCH m USING PRIMARY KEY (PK=? AND SK=?)",
                "SEARCH s USING INDEX order_summaries_unread_by_activity (lastMessageAt<?) | SEARCH m USING PRIMARY KEY (PK=? AND SK=?)",
            ])
            #expect(try plan(SQLiteRows.threadsSQL).hasPrefix("SEARCH messages USING PRIMARY KEY (PK=?)"))
        }
    }

    @Test func aPreviewHeadCutInsideACharacterOrTooShortToTellIsHandled() {
        let limit = SQLiteRows.previewBytes
        // Whole texts give their first 200 characters.
        #expect(SQLiteRows.previewText(ofHead: Array("short".utf8)) == "short")
        // A head cut inside a 2-byte scalar, with more than 200 characters before the cut.
        let accented = Array(String(repeating: "\u{E9}", count: limit).utf8.prefix(limit + 1))
        #expect(SQLiteRows.previewText(ofHead: accented) == String(repeating: "\u{E9}", count: 200))
        // A cut head of fewer than 201 characters cannot tell where the preview ends.
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}"
        let families = Array(String(repeating: family, count: 200).utf8.prefix(limit + 1))
        #expect(SQLiteRows.previewText(ofHead: families) == nil)
    }
}
