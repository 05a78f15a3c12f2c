import Foundation
import Logging
import DynamoDBMessageStore
import MessageStore

/// The stores that every contract test runs against.
public enum StoreUnderTest: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case dynamodb

    /// The stores to test here: SQLite always; DynamoDB when a test server is configured,
    /// and always in CI (where a missing server must fail, not skip).
    public static let available: [StoreUnderTest] = MotoServer.shouldRun ? [.sqlite, .dynamodb] : [.sqlite]

    public var description: String { rawValue }

    /// Opens a fresh, empty store; `close` shuts it down and removes what it left behind.
    public func open() async throws -> (store: any MessageStore, close: @Sendable () async -> Void) {
        switch self {
        case .sqlite:
            let folder = try TemporaryDirectory()
            let store = try await SQLiteMessageStore.open(.init(path: folder.path("messages.sqlite")), logger: Logger(label: "test"))
            return (store, {
                try? await store.shutdown()
                folder.remove()
            })
        case .dynamodb:
            let client = try MotoServer.makeClient()
            let table = try await MotoServer.createTable(client: client)
            let store = DynamoDBMessageStore(configuration: .init(tableName: table), client: client, logger: Logger(label: "test"))
            return (store, { try? await store.shutdown() })
        }
    }
}

/// Runs `body` with a fresh store of `kind`, closing it whether or not `body` throws.
public func withStore(_ kind: StoreUnderTest, _ body: (any MessageStore) async throws -> Void) async throws {
    let (store, close) = try await kind.open()
    do {
        try await body(store)
    } catch {
        await close()
        throw error
    }
    await close()
}

public func sampleMessage(
    order: String = "QO-123456", id: String = "MSG-001", type: MessageType = .received, text: String = "Message content here"
) -> StoredMessage {
    StoredMessage(
        orderID: order, messageID: id, messageType: type, fromName: "John Smith", text: text,
        createdDate: "2025-10-28T10:30:00Z", read: false, timestamp: 1_761_647_400_000, storedAt: "2025-10-28T10:30:05Z",
        orderNumber: "ORD-2025-001",
        attachments: [Attachment(id: "ATT-001", name: "document.pdf", url: "https://example.com/files/document.pdf", tag: "contract")]
    )
}
