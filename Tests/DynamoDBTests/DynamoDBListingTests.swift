import DynamoDBMessageStore
import Foundation
import JSON
import Logging
import MessageStore
import StoreTestSupport
import Testing

@testable import DynamoDB

/// The DynamoDB store's listings of orders larger than one Query page: counted by their keys
/// first, then read page by page, handing out exactly the counted items.
@Suite(.enabled(if: MotoServer.shouldRun, Comment(rawValue: MotoServer.skipReason)))
struct DynamoDBListingTests {
    /// A store with pages of 4 items over a fresh table holding 12 messages of one order
    /// (`MSG-000`, `MSG-002`, … `MSG-022`), and a client on the same table.
    func withTwelveMessages(_ body: (DynamoDBMessageStore, DynamoDBClient, String) async throws -> Void) async throws {
        let client = try MotoServer.makeClient()
        let table = try await MotoServer.createTable(client: client)
        let store = DynamoDBMessageStore(
            configuration: .init(tableName: table, queryPageSize: 4, operationTimeout: MotoServer.operationTimeout), client: try MotoServer.makeClient(),
            logger: Logger(label: "test")
        )
        do {
            for n in 0..<12 { _ = try await store.store(sampleMessage(id: String(format: "MSG-%03d", n * 2))) }
            try await body(store, client, table)
        } catch {
            try? await store.shutdown()
            try? await client.shutdown()
            throw error
        }
        try await store.shutdown()
        try await client.shutdown()
    }

    func openListing(_ store: DynamoDBMessageStore) async throws -> MessageListing {
        guard case .listing(let listing) = try await store.listing(forOrder: "QO-123456", type: nil, unlessUnchangedSince: nil) else {
            throw MessageStoreError.failed("the DynamoDB store keeps no versions, so it never answers unchanged")
        }
        return listing
    }

    @Test func aMessageWrittenAfterTheCountIsLeftOutOfThatListing() async throws {
        try await withTwelveMessages { store, _, _ in
            let listing = try await openListing(store)
            #expect(listing.count == 12)
            _ = try await store.store(sampleMessage(id: "MSG-009"))
            var ids: [String] = []
            for try await chunk in listing { ids += chunk.map(\.messageID) }
            #expect(ids == (0..<12).map { String(format: "MSG-%03d", $0 * 2) })
            #expect(try await openListing(store).count == 13)
        }
    }

    @Test func aCountedMessageThatVanishesFailsTheListingRatherThanEndShortOfItsCount() async throws {
        try await withTwelveMessages { store, client, table in
            let listing = try await openListing(store)
            #expect(listing.count == 12)
            // Nothing in the service deletes; a tool could.
            let key: Item = ["PK": .string("MESSAGE#QO-123456"), "SK": .string("message.received#MSG-020")]
            _ = try await client.deleteItem(DeleteItemInput(tableName: table, key: key))
            await #expect(throws: MessageStoreError.self) {
                for try await _ in listing {}
            }
        }
    }
}
