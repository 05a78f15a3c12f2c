import DynamoDBMessageStore
import Foundation
import Logging
import MessageStore
import StoreTestSupport
import Testing

@testable import DynamoDB

/// What is particular to the DynamoDB store's archive ledger (issue 14): the items it writes,
/// and the order summary's version that an archive record raises.
@Suite(.enabled(if: MotoServer.shouldRun, Comment(rawValue: MotoServer.skipReason)))
struct DynamoDBArchiveLedgerTests {
    /// A client on the archive suites' own moto (``MotoServer/archiveEndpoint``), or the shared one.
    func makeClient() throws -> DynamoDBClient {
        try MotoServer.archiveEndpoint.map { try DynamoDBTestClient.make(endpoint: $0) } ?? MotoServer.makeClient()
    }

    func withStore(_ body: (DynamoDBMessageStore, DynamoDBClient, String) async throws -> Void) async throws {
        let client = try makeClient()
        let table = try await MotoServer.createTable(client: client)
        let store = DynamoDBMessageStore(
            configuration: .init(tableName: table, operationTimeout: MotoServer.operationTimeout), client: try makeClient(),
            logger: Logger(label: "test")
        )
        do {
            try await body(store, client, table)
        } catch {
            try? await store.shutdown()
            try? await client.shutdown()
            throw error
        }
        try await store.shutdown()
        try await client.shutdown()
    }

    func item(_ partitionKey: String, _ sortKey: String, table: String, client: DynamoDBClient) async throws -> Item? {
        try await client.getItem(GetItemInput(tableName: table, key: ["PK": .string(partitionKey), "SK": .string(sortKey)], consistentRead: true))
    }

    @Test func anArchiveRecordIsAMapBesideTheSpecsAttachmentsAndRaisesOnlyTheSummarysVersion() async throws {
        try await withStore { store, client, table in
            let message = sampleMessage()
            _ = try await store.store(message)
            let summaryBefore = try #require(try await item("ORDER#QO-123456", "SUMMARY", table: table, client: client))
            let url = try #require(message.attachments?.first?.url)
            let file = ArchivedFile(url: url, size: 42, sha256: String(repeating: "e", count: 64), contentType: "application/pdf", archivedAt: 7)
            #expect(try await store.recordArchive(file, attachmentID: "ATT-001", of: message.key))

            let stored = try #require(try await item(message.partitionKey, message.sortKey, table: table, client: client))
            #expect(stored["attachments"] == DynamoDBMessageStore.item(for: message)["attachments"], "the spec's attribute is untouched")
            #expect(stored["attachmentArchive"] == .map([
                "ATT-001": .map([
                    "url": .string(url), "size": .number("42"), "sha256": .string(String(repeating: "e", count: 64)),
                    "contentType": .string("application/pdf"), "archivedAt": .number("7"),
                ]),
            ]))
            var summaryAfter = try #require(try await item("ORDER#QO-123456", "SUMMARY", table: table, client: client))
            #expect(summaryAfter["version"]?.numberText.flatMap { Int64($0) } == summaryBefore["version"]?.numberText.flatMap { Int64($0) }.map { $0 + 1 })
            summaryAfter["version"] = summaryBefore["version"]
            #expect(summaryAfter == summaryBefore, "nothing else of the summary changes")
        }
    }

    @Test func jobsAndCheckpointLiveInPartitionsOfTheirOwn() async throws {
        try await withStore { store, client, table in
            let key = MessageKey(orderID: "QO#1", messageType: .sent, messageID: "M#2")
            let feedEnd = try await store.feedEnd()
            let job = ArchiveJob(id: ArchiveJob.ID(key: key, attachmentID: "A#3"), url: "https://example.com/a", createdAt: 1, nextAttemptAt: 2)
            try await store.enqueueArchiveJobs([job], checkpoint: FeedPosition(sequence: 8, time: 9))
            let sortKey = "4:QO#112:message.sent3:M#23:A#3"
            let stored = try #require(try await item("ARCHIVE#JOBS", sortKey, table: table, client: client))
            #expect(stored["attachmentId"] == .string("A#3"))
            #expect(stored["claimedBy"] == nil)
            let checkpoint = try #require(try await item("ARCHIVE#CHECKPOINT", "CHECKPOINT", table: table, client: client))
            #expect(checkpoint["sequence"] == .number("8") && checkpoint["time"] == .number("9"))
            #expect(try await store.feedEnd() == feedEnd, "jobs are no feed events")
            #expect(try await store.orders(after: nil, limit: 10, unreadOnly: false).items.isEmpty, "nor orders")
            #expect(try await store.messages(forOrder: "QO#1", type: nil).isEmpty)
        }
    }
}
