import Foundation
import Logging
import StoreTestSupport
import Testing

@testable import MessageStore
@testable import SQLiteMessageStore

/// What is particular to the SQLite store's archive ledger (issue 14): older files gain its
/// column and tables, and opening a file releases every claim.
@Suite struct SQLiteArchiveLedgerTests {
    let logger = Logger(label: "test")

    @Test func aDatabaseFromBeforeArchivingGainsItsColumnAndTablesAndKeepsItsRows() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("old.sqlite")
        let old = try SQLiteConnection(path: path)
        try old.execute("""
            \(previousReleaseMessagesTableSQL)
            INSERT INTO messages VALUES ('MESSAGE#QO-OLD', 'message.received#MSG-1', 'QO-OLD', 'MSG-1', 'message.received',
                'A', 'kept', '2025-10-28T10:30:00Z', 0, 1761647400000, '2025-10-28T10:30:05Z', NULL,
                '[{"_id":"ATT-1","name":"a.pdf","url":"https://example.com/a.pdf"}]');
            """)
        old.close()

        let store = try await SQLiteMessageStore.open(.init(path: path), logger: logger)
        let key = MessageKey(orderID: "QO-OLD", messageType: .received, messageID: "MSG-1")
        let kept = try #require(try await store.message(key))
        #expect(kept.attachments?.map(\.archive) == [nil])
        let file = ArchivedFile(url: "https://example.com/a.pdf", size: 3, sha256: String(repeating: "0", count: 64), contentType: "application/pdf", archivedAt: 1)
        #expect(try await store.recordArchive(file, attachmentID: "ATT-1", of: key))
        #expect(try await store.message(key)?.attachments?.first?.archive == file)
        #expect(try await store.archiveCheckpoint() == nil)
        #expect(try await store.archiveJobCount() == 0)
        try await store.shutdown()

        let connection = try SQLiteConnection(path: path)
        defer { connection.close() }
        #expect(try connection.scalarText("SELECT count(*) FROM sqlite_master WHERE name IN ('archive_jobs', 'archive_checkpoint')") == "2")
        #expect(try connection.scalarText("SELECT attachmentArchive FROM messages")?.contains("\"sha256\"") == true)
    }

    @Test func anArchivedRecordIsKeptInItsOwnColumnNotInTheSpecsAttachments() async throws {
        try await withSQLiteStore { store, path in
            _ = try await store.store(sampleMessage())
            let key = sampleMessage().key
            let url = try #require(sampleMessage().attachments?.first?.url)
            let file = ArchivedFile(url: url, size: 3, sha256: String(repeating: "1", count: 64), contentType: "application/pdf", archivedAt: 1)
            #expect(try await store.recordArchive(file, attachmentID: "ATT-001", of: key))
            let connection = try SQLiteConnection(path: path)
            defer { connection.close() }
            let attachments = try #require(try connection.scalarText("SELECT attachments FROM messages"))
            #expect(!attachments.contains("sha256"))
            let archive = try #require(try connection.scalarText("SELECT attachmentArchive FROM messages"))
            #expect(try ArchivedFile.records(fromJSON: archive) == ["ATT-001": file])
        }
    }

    @Test func openingTheFileReleasesEveryClaim() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("m.sqlite")
        let job = ArchiveJob(
            id: ArchiveJob.ID(key: MessageKey(orderID: "QO-1", messageType: .received, messageID: "M-1"), attachmentID: "ATT-1"),
            url: "https://example.com/a.pdf", createdAt: 1, nextAttemptAt: 1_000
        )
        let first = try await SQLiteMessageStore.open(.init(path: path), logger: logger)
        try await first.enqueueArchiveJobs([job], checkpoint: FeedPosition(sequence: 1, time: 1))
        #expect(try await first.claimArchiveJobs(dueBy: 1_000, limit: 10, worker: "crashed", claimUntil: 1_000_000) == [job])
        #expect(try await first.claimArchiveJobs(dueBy: 2_000, limit: 10, worker: "other", claimUntil: 1_000_000).isEmpty)
        try await first.shutdown()

        let reopened = try await SQLiteMessageStore.open(.init(path: path), logger: logger)
        #expect(try await reopened.claimArchiveJobs(dueBy: 2_000, limit: 10, worker: "restarted", claimUntil: 1_000_000) == [job])
        #expect(try await !reopened.renewArchiveClaim(job.id, worker: "crashed", claimUntil: 2_000_000))
        try await reopened.shutdown()
    }
}
