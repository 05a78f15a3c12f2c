import Foundation
import Logging
import StoreTestSupport
import Testing

@testable import MessageStore
@testable import SQLiteMessageStore

/// The `messages` table as the releases before the reader's side created it.
let previousReleaseMessagesTableSQL = """
    CREATE TABLE messages (PK TEXT NOT NULL, SK TEXT NOT NULL, orderId TEXT NOT NULL, messageId TEXT NOT NULL,
        messageType TEXT NOT NULL, fromName TEXT NOT NULL, text TEXT NOT NULL, createdDate TEXT NOT NULL,
        read INTEGER NOT NULL CHECK (read IN (0, 1)), timestamp INTEGER NOT NULL, storedAt TEXT NOT NULL,
        orderNumber TEXT, attachments TEXT, PRIMARY KEY (PK, SK)) WITHOUT ROWID;
    """

/// What is particular to the SQLite store: its file, its settings and its durability.
@Suite struct SQLiteMessageStoreTests {
    let logger = Logger(label: "test")

    @Test func openCreatesTheFolderAndTheSchemaWithTheSpecsColumnNames() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("nested/deeper/messages.sqlite")
        let store = try await SQLiteMessageStore.open(.init(path: path), logger: logger)
        try await store.shutdown()

        let connection = try SQLiteConnection(path: path)
        defer { connection.close() }
        let statement = try connection.prepared("SELECT name FROM pragma_table_info('messages') ORDER BY cid")
        var columns: [String] = []
        while try statement.step() { columns.append(statement.text(at: 0) ?? "") }
        #expect(columns == [
            "PK", "SK", "orderId", "messageId", "messageType", "fromName", "text", "createdDate", "read", "timestamp",
            "storedAt", "orderNumber", "attachments", "threadId", "inReplyTo", "readUpdatedAt", "attachmentArchive",
        ])
        #expect(try connection.scalarText("PRAGMA journal_mode") == "wal")
    }

    @Test func aDatabaseFromBeforeTheReaderSideGainsItsColumnsAndKeepsItsRows() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("old.sqlite")
        // The first release's table, holding one message.
        let old = try SQLiteConnection(path: path)
        try old.execute("""
            \(previousReleaseMessagesTableSQL)
            INSERT INTO messages VALUES ('MESSAGE#QO-OLD', 'message.received#MSG-1', 'QO-OLD', 'MSG-1', 'message.received',
                'A', 'kept', '2025-10-28T10:30:00Z', 0, 1761647400000, '2025-10-28T10:30:05Z', NULL, NULL);
            """)
        old.close()

        let store = try await SQLiteMessageStore.open(.init(path: path), logger: logger)
        let kept = try await store.messages(forOrder: "QO-OLD", type: nil)
        #expect(kept.map(\.text) == ["kept"])
        #expect(kept.first?.threadID == nil && kept.first?.readUpdatedAt == nil)
        var threaded = sampleMessage(order: "QO-OLD", id: "MSG-2")
        threaded.threadID = "T-1"
        threaded.inReplyTo = "MSG-1"
        _ = try await store.store(threaded)
        #expect(try await store.messages(forOrder: "QO-OLD", type: nil).last == threaded)
        try await store.shutdown()
    }

    @Test func writesUseFullSynchronousMode() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = try await SQLiteMessageStore.open(.init(path: folder.path("m.sqlite")), logger: logger)
        #expect(try await store.writerPragma("synchronous") == "2")  // 2 = FULL
        try await store.shutdown()
    }

    @Test func rowsKeepTheItemShapeOnDisk() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("m.sqlite")
        let store = try await SQLiteMessageStore.open(.init(path: path), logger: logger)
        _ = try await store.store(sampleMessage())
        try await store.shutdown()

        let connection = try SQLiteConnection(path: path)
        defer { connection.close() }
        let statement = try connection.prepared(
            "SELECT PK, SK, typeof(read), read, typeof(timestamp), timestamp, attachments FROM messages"
        )
        #expect(try statement.step())
        #expect(statement.text(at: 0) == "MESSAGE#QO-123456")
        #expect(statement.text(at: 1) == "message.received#MSG-001")
        #expect(statement.text(at: 2) == "integer")
        #expect(statement.int64(at: 3) == 0)
        #expect(statement.text(at: 4) == "integer")
        #expect(statement.int64(at: 5) == 1_761_647_400_000)
        let attachments = try JSONSerialization.jsonObject(with: Data((statement.text(at: 6) ?? "").utf8)) as? [[String: String]]
        #expect(attachments == [["_id": "ATT-001", "name": "document.pdf", "url": "https://example.com/files/document.pdf", "tag": "contract"]])
    }

    @Test func messagesSurviveReopening() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let configuration = SQLiteMessageStore.Configuration(path: folder.path("m.sqlite"))
        let first = try await SQLiteMessageStore.open(configuration, logger: logger)
        _ = try await first.store(sampleMessage())
        try await first.shutdown()

        let second = try await SQLiteMessageStore.open(configuration, logger: logger)
        #expect(try await second.messages(forOrder: "QO-123456", type: nil) == [sampleMessage()])
        try await second.shutdown()
    }

    @Test func aPathThatCannotHoldADatabaseFailsToOpen() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        // A folder where the file should be: no database can be created there.
        try FileManager.default.createDirectory(atPath: folder.path("taken.sqlite"), withIntermediateDirectories: true)
        await #expect(throws: MessageStoreError.self) {
            _ = try await SQLiteMessageStore.open(.init(path: folder.path("taken.sqlite")), logger: logger)
        }
    }

    @Test func aStoreErrorIsReportedAsFailedWithoutClaimingSuccess() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("m.sqlite")
        let store = try await SQLiteMessageStore.open(.init(path: path), logger: logger)
        let saboteur = try SQLiteConnection(path: path)
        try saboteur.execute("DROP TABLE messages")
        saboteur.close()

        let error = await #expect(throws: MessageStoreError.self) { try await store.store(sampleMessage()) }
        #expect(error?.kind == .failed)
        try await store.shutdown()
    }
}
