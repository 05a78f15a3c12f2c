import Foundation
import MessageStore
import StoreTestSupport
import Testing

/// The archiver's ledger (issue 14), on every store: archived files recorded on their
/// messages and shown by every read, kept or dropped by later deliveries, recorded without a
/// feed event or order activity; and jobs and checkpoint that survive the store.
///
/// Serialized: one case at a time keeps its load on a busy machine (a whole `swift test` run
/// starts every suite at once) from pushing other suites' DynamoDB calls past their deadlines.
@Suite(.serialized) struct ArchiveLedgerContractTests {
    static let now = Int64(Date().timeIntervalSince1970)
    /// The stores' options: DynamoDB on the archive suites' own moto (see ``MotoServer/archiveEndpoint``).
    static let options = StoreUnderTest.Options(dynamoDBEndpoint: MotoServer.archiveEndpoint)
    static let key = MessageKey(orderID: "QO-A", messageType: .received, messageID: "M-1")
    static let contractURL = "https://files.example.com/contract.pdf?token=1"
    static let deedURL = "https://files.example.com/deed.pdf"

    /// A message of order `QO-A` with two attachments, stored just now.
    static func message(timestamp: Int64 = 1_000, text: String = "closing documents attached", deedURL: String = deedURL) -> StoredMessage {
        StoredMessage(
            orderID: key.orderID, messageID: key.messageID, messageType: key.messageType, fromName: "Title Desk", text: text,
            createdDate: "2025-10-28T10:30:00Z", read: false, timestamp: timestamp,
            storedAt: ISO8601.string(fromUnixMilliseconds: now * 1000), orderNumber: "ORD-A",
            attachments: [
                Attachment(id: "ATT-1", name: "contract.pdf", url: contractURL, tag: "contract"),
                Attachment(id: "ATT-2", name: "deed.pdf", url: deedURL),
            ]
        )
    }

    static func file(_ url: String, sha256: String = String(repeating: "ab", count: 32)) -> ArchivedFile {
        ArchivedFile(url: url, size: 12_345, sha256: sha256, contentType: "application/pdf", archivedAt: 1_700_000_000_000)
    }

    /// Every message a listing hands out, and its version.
    static func listed(_ store: any MessageStore, unlessUnchangedSince version: Int64? = nil) async throws -> (messages: [StoredMessage], version: Int64?)? {
        guard case .listing(let listing) = try await store.listing(forOrder: key.orderID, type: nil, unlessUnchangedSince: version) else {
            return nil
        }
        var messages: [StoredMessage] = []
        for try await chunk in listing { messages += chunk }
        return (messages, listing.version)
    }

    @Test(arguments: StoreUnderTest.available)
    func aRecordedArchiveShowsOnEveryReadOfTheMessage(_ kind: StoreUnderTest) async throws {
        try await withStore(kind, options: Self.options) { store in
            _ = try await store.store(Self.message())
            let file = Self.file(Self.contractURL)
            #expect(try await store.recordArchive(file, attachmentID: "ATT-1", of: Self.key))

            var expected = Self.message()
            expected.attachments?[0].archive = file
            #expect(try await store.message(Self.key) == expected)
            #expect(try await store.message(Self.key)?.attachments?.map { $0.archive != nil } == [true, false])
            #expect(try await Self.listed(store)?.messages == [expected])
            #expect(try await store.messages(forOrder: Self.key.orderID, type: nil) == [expected])
            #expect(try await store.page(ofOrder: Self.key.orderID, type: .received, after: nil, limit: 10).items == [expected])
            #expect(try await store.conversation(ofOrder: Self.key.orderID, thread: nil, after: nil, limit: 10).items == [expected])
            let query = try SearchQuery(parsing: "closing")
            #expect(try await store.search(SearchRequest(query: query, orderID: Self.key.orderID, limit: 10)).items == [expected])
            let window = SearchWindow(from: Self.now - 600, to: Self.now + 60)
            #expect(try await store.search(SearchRequest(query: query, window: window, limit: 10)).items == [expected])

            // A second file is added to the record, not put in the first's place.
            let deed = Self.file(Self.deedURL, sha256: String(repeating: "cd", count: 32))
            #expect(try await store.recordArchive(deed, attachmentID: "ATT-2", of: Self.key))
            expected.attachments?[1].archive = deed
            #expect(try await store.message(Self.key) == expected)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func anArchiveIsRecordedOnlyForTheAttachmentAtItsURL(_ kind: StoreUnderTest) async throws {
        try await withStore(kind, options: Self.options) { store in
            _ = try await store.store(Self.message())
            let file = Self.file(Self.contractURL)
            let unknownMessage = MessageKey(orderID: Self.key.orderID, messageType: .received, messageID: "M-404")
            #expect(try await !store.recordArchive(file, attachmentID: "ATT-1", of: unknownMessage))
            #expect(try await !store.recordArchive(file, attachmentID: "ATT-9", of: Self.key))
            #expect(try await !store.recordArchive(Self.file(Self.contractURL + "&v=2"), attachmentID: "ATT-1", of: Self.key))
            #expect(try await !store.recordArchive(Self.file(Self.deedURL), attachmentID: "ATT-1", of: Self.key), "another attachment's URL")
            #expect(try await store.message(unknownMessage) == nil)
            #expect(try await store.message(Self.key) == Self.message())
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func recordingAnArchiveChangesTheListingVersionButNoFeedCountOrOrderActivity(_ kind: StoreUnderTest) async throws {
        try await withStore(kind, options: Self.options) { store in
            var other = Self.message(timestamp: 500)
            other.messageID = "M-0"
            _ = try await store.store(other)
            _ = try await store.store(Self.message())
            _ = try await store.setRead(true, of: other.key, at: 2_000)
            let before = try #require(try await Self.listed(store))
            let feedEnd = try await store.feedEnd()
            let orders = try await store.orders(after: nil, limit: 10, unreadOnly: false)
            let unread = try await store.orders(after: nil, limit: 10, unreadOnly: true)
            let threads = try await store.threads(ofOrder: Self.key.orderID)

            #expect(try await store.recordArchive(Self.file(Self.contractURL), attachmentID: "ATT-1", of: Self.key))

            let after = try #require(try await Self.listed(store, unlessUnchangedSince: before.version), "a listing of the old version is read again")
            #expect(after.messages.count == 2)
            if let version = before.version { #expect(after.version != version) }
            #expect(try await store.feedEnd() == feedEnd)
            #expect(try await store.feed(after: feedEnd, orderID: nil, limit: 10).events.isEmpty)
            #expect(try await store.feed(after: feedEnd, orderID: Self.key.orderID, limit: 10).events.isEmpty)
            #expect(try await store.orders(after: nil, limit: 10, unreadOnly: false).items == orders.items)
            #expect(try await store.orders(after: nil, limit: 10, unreadOnly: true).items == unread.items)
            #expect(try await store.threads(ofOrder: Self.key.orderID) == threads)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func anUpdatedDeliveryKeepsTheArchiveOfAnAttachmentWhoseURLItKeeps(_ kind: StoreUnderTest) async throws {
        try await withStore(kind, options: Self.options) { store in
            _ = try await store.store(Self.message())
            let contract = Self.file(Self.contractURL)
            #expect(try await store.recordArchive(contract, attachmentID: "ATT-1", of: Self.key))
            #expect(try await store.recordArchive(Self.file(Self.deedURL), attachmentID: "ATT-2", of: Self.key))
            #expect(try await store.store(Self.message()) == .duplicate, "archived files are not part of what Qualia sent")

            let newDeedURL = "https://files.example.com/deed-v2.pdf"
            #expect(try await store.store(Self.message(timestamp: 2_000, text: "revised", deedURL: newDeedURL)) == .updated)
            let updated = try #require(try await store.message(Self.key))
            #expect(updated.text == "revised")
            #expect(updated.attachments?.map(\.archive) == [contract, nil])
            #expect(try await store.page(ofOrder: Self.key.orderID, type: nil, after: nil, limit: 10).items == [updated])

            // Kept through a further update too: the delivery wrote the carried-over record.
            #expect(try await store.store(Self.message(timestamp: 3_000, text: "again", deedURL: newDeedURL)) == .updated)
            #expect(try await store.message(Self.key)?.attachments?.map(\.archive) == [contract, nil])
            // The old URL coming back does not bring its dropped file back.
            #expect(try await store.store(Self.message(timestamp: 4_000)) == .updated)
            #expect(try await store.message(Self.key)?.attachments?.map(\.archive) == [contract, nil])
            #expect(try await store.store(Self.message(timestamp: 4_000)) == .duplicate)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func anUpdatedDeliveryKeepsAReadersReadAndTheArchiveTogether(_ kind: StoreUnderTest) async throws {
        try await withStore(kind, options: Self.options) { store in
            _ = try await store.store(Self.message())
            let contract = Self.file(Self.contractURL)
            #expect(try await store.recordArchive(contract, attachmentID: "ATT-1", of: Self.key))
            _ = try await store.setRead(true, of: Self.key, at: 5_000)
            #expect(try await store.message(Self.key)?.attachments?.first?.archive == contract, "a read keeps the archive")
            #expect(try await store.store(Self.message(timestamp: 2_000)) == .updated)
            let stored = try #require(try await store.message(Self.key))
            #expect(stored.read)
            #expect(stored.attachments?.first?.archive == contract)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func feedEventsCopyTheMessageWithoutItsArchivedFiles(_ kind: StoreUnderTest) async throws {
        try await withStore(kind, options: Self.options) { store in
            _ = try await store.store(Self.message())
            #expect(try await store.recordArchive(Self.file(Self.contractURL), attachmentID: "ATT-1", of: Self.key))
            let end = try await store.feedEnd()
            #expect(try await store.store(Self.message(timestamp: 2_000, text: "revised")) == .updated)
            _ = try await store.setRead(true, of: Self.key, at: 5_000)
            let events = try await store.feed(after: end, orderID: nil, limit: 10).events
            #expect(events.map(\.kind) == [.updated, .read])
            #expect(events.allSatisfy { $0.message.attachments?.allSatisfy { $0.archive == nil } == true })
            #expect(try await store.message(Self.key)?.attachments?.first?.archive != nil, "while the message keeps them")
        }
    }

    // MARK: Jobs

    static func job(_ attachmentID: String, message: String = "M-1", order: String = "QO-A", due: Int64 = 1_000) -> ArchiveJob {
        ArchiveJob(
            id: ArchiveJob.ID(key: MessageKey(orderID: order, messageType: .received, messageID: message), attachmentID: attachmentID),
            url: "https://files.example.com/\(attachmentID)", createdAt: 900, nextAttemptAt: due
        )
    }

    @Test(arguments: StoreUnderTest.available)
    func enqueueingIsIdempotentAndTheCheckpointOnlyMovesForward(_ kind: StoreUnderTest) async throws {
        try await withStore(kind, options: Self.options) { store in
            #expect(try await store.archiveCheckpoint() == nil)
            #expect(try await store.archiveJobCount() == 0)
            let jobs = [Self.job("ATT-1"), Self.job("ATT-2"), Self.job("ATT-1", message: "M-2")]
            try await store.enqueueArchiveJobs(jobs, checkpoint: FeedPosition(sequence: 5, time: 50))
            #expect(try await store.archiveJobCount() == 3)
            #expect(try await store.archiveCheckpoint().map { [$0.sequence, $0.time] } == [5, 50])

            // The same jobs again (a crash before the checkpoint moved): nothing new.
            var retried = Self.job("ATT-1")
            retried.url = "https://files.example.com/changed"
            try await store.enqueueArchiveJobs([retried, Self.job("ATT-2")], checkpoint: FeedPosition(sequence: 3, time: 30))
            #expect(try await store.archiveJobCount() == 3)
            #expect(try await store.archiveCheckpoint().map { [$0.sequence, $0.time] } == [5, 50], "a checkpoint behind is ignored")
            let claimed = try await store.claimArchiveJobs(dueBy: 1_000, limit: 10, worker: "w", claimUntil: 2_000)
            #expect(claimed.first { $0.id == retried.id }?.url == Self.job("ATT-1").url, "a waiting job is left as it is")

            try await store.enqueueArchiveJobs([], checkpoint: FeedPosition(sequence: 9, time: 90))
            #expect(try await store.archiveCheckpoint().map { [$0.sequence, $0.time] } == [9, 90])
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func jobIdentitiesWithSeparatorsInTheirIdsStayApart(_ kind: StoreUnderTest) async throws {
        try await withStore(kind, options: Self.options) { store in
            // Joined with `#`, these would all read "A#B#C#D".
            let jobs = [Self.job("D", message: "B#C", order: "A"), Self.job("C#D", message: "B", order: "A"), Self.job("D", message: "C", order: "A#B")]
            try await store.enqueueArchiveJobs(jobs, checkpoint: FeedPosition(sequence: 1, time: 1))
            #expect(try await store.archiveJobCount() == 3)
            let claimed = try await store.claimArchiveJobs(dueBy: 1_000, limit: 10, worker: "w", claimUntil: 2_000)
            #expect(Set(claimed) == Set(jobs))
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func aClaimTakesDueJobsThatNoLiveClaimHolds(_ kind: StoreUnderTest) async throws {
        try await withStore(kind, options: Self.options) { store in
            try await store.enqueueArchiveJobs(
                [Self.job("ATT-1", due: 1_000), Self.job("ATT-2", due: 1_500), Self.job("ATT-3", due: 5_000)], checkpoint: FeedPosition(sequence: 1, time: 1)
            )
            #expect(try await store.claimArchiveJobs(dueBy: 999, limit: 10, worker: "a", claimUntil: 1_999).isEmpty, "nothing is due yet")

            let first = try await store.claimArchiveJobs(dueBy: 2_000, limit: 1, worker: "a", claimUntil: 3_000)
            #expect(first.map(\.id.attachmentID) == ["ATT-1"], "the earliest due first, up to the limit")
            let second = try await store.claimArchiveJobs(dueBy: 2_000, limit: 10, worker: "b", claimUntil: 3_000)
            #expect(second.map(\.id.attachmentID) == ["ATT-2"], "a claimed job is not claimed again, a job not due is not claimed")
            #expect(try await store.claimArchiveJobs(dueBy: 3_000, limit: 10, worker: "c", claimUntil: 4_000).isEmpty, "claims last until their end")

            // Once a claim has ended, another worker may take the job.
            let expired = try await store.claimArchiveJobs(dueBy: 3_001, limit: 10, worker: "c", claimUntil: 4_000)
            #expect(Set(expired.map(\.id.attachmentID)) == ["ATT-1", "ATT-2"])
            #expect(try await !store.renewArchiveClaim(first[0].id, worker: "a", claimUntil: 9_000), "a lost claim cannot be renewed")
            #expect(try await store.renewArchiveClaim(first[0].id, worker: "c", claimUntil: 9_000))
            #expect(try await store.claimArchiveJobs(dueBy: 5_000, limit: 10, worker: "d", claimUntil: 6_000).map(\.id.attachmentID) == ["ATT-2", "ATT-3"],
                    "ATT-1 stays c's, renewed; ATT-2's claim ended")
            #expect(try await store.claimArchiveJobs(dueBy: 8_000, limit: 10, worker: "e", claimUntil: 9_500).map(\.id.attachmentID) == ["ATT-2", "ATT-3"])
            #expect(try await store.archiveJobCount() == 3, "claimed jobs still count")
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func twoWorkersClaimingAtOnceNeverShareAJob(_ kind: StoreUnderTest) async throws {
        try await withStore(kind, options: Self.options) { store in
            let jobs = (0..<8).map { Self.job("ATT-\($0)") }
            try await store.enqueueArchiveJobs(jobs, checkpoint: FeedPosition(sequence: 1, time: 1))
            let claims = try await withThrowingTaskGroup(of: [ArchiveJob].self) { group in
                for worker in ["a", "b", "c"] {
                    group.addTask { try await store.claimArchiveJobs(dueBy: 2_000, limit: 5, worker: worker, claimUntil: 9_000) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let ids = claims.flatMap { $0.map(\.id) }
            #expect(ids.count == Set(ids).count, "no job is claimed twice")
            #expect(Set(ids) == Set(jobs.map(\.id)))
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func reschedulingRecordsTheAttemptAndReleasesTheClaimAndFinishingRemoves(_ kind: StoreUnderTest) async throws {
        try await withStore(kind, options: Self.options) { store in
            try await store.enqueueArchiveJobs([Self.job("ATT-1", due: 900), Self.job("ATT-2")], checkpoint: FeedPosition(sequence: 1, time: 1))
            var job = try #require(try await store.claimArchiveJobs(dueBy: 1_000, limit: 1, worker: "a", claimUntil: 60_000).first)

            // Another worker's reschedule changes nothing.
            var foreign = job
            foreign.attempts = 7
            foreign.nextAttemptAt = 1_000
            try await store.rescheduleArchiveJob(foreign, worker: "b")
            #expect(try await store.claimArchiveJobs(dueBy: 2_000, limit: 10, worker: "b", claimUntil: 60_000).map(\.id.attachmentID) == ["ATT-2"])

            job.attempts = 1
            job.nextAttemptAt = 10_000
            job.lastError = "the host answered 503"
            try await store.rescheduleArchiveJob(job, worker: "a")
            #expect(try await !store.renewArchiveClaim(job.id, worker: "a", claimUntil: 90_000), "rescheduling released the claim")
            #expect(try await store.claimArchiveJobs(dueBy: 9_999, limit: 10, worker: "c", claimUntil: 60_000).isEmpty, "due at its next attempt")
            let again = try await store.claimArchiveJobs(dueBy: 10_000, limit: 10, worker: "c", claimUntil: 60_000)
            #expect(again == [job], "attempts, next attempt and error as written")

            job.attempts = 2
            job.lastError = nil
            try await store.rescheduleArchiveJob(job, worker: "c")
            #expect(try await store.claimArchiveJobs(dueBy: 10_000, limit: 10, worker: "d", claimUntil: 60_000) == [job], "the error cleared")

            try await store.finishArchiveJob(job.id)
            #expect(try await store.archiveJobCount() == 1)
            #expect(try await !store.renewArchiveClaim(job.id, worker: "d", claimUntil: 90_000), "a finished job is no one's")
            try await store.finishArchiveJob(job.id)  // twice is harmless
            #expect(try await store.archiveJobCount() == 1)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func jobsAndCheckpointSurviveTheStore(_ kind: StoreUnderTest) async throws {
        let (store, openAnother, close) = try await kind.openShared(Self.options)
        do {
            try await store.enqueueArchiveJobs([Self.job("ATT-1"), Self.job("ATT-2", due: 5_000)], checkpoint: FeedPosition(sequence: 4, time: 40))
            _ = try await store.store(Self.message())
            #expect(try await store.recordArchive(Self.file(Self.contractURL), attachmentID: "ATT-1", of: Self.key))
            try await store.shutdown()

            let reopened = try await openAnother()
            #expect(try await reopened.archiveJobCount() == 2)
            #expect(try await reopened.archiveCheckpoint().map { [$0.sequence, $0.time] } == [4, 40])
            #expect(try await reopened.claimArchiveJobs(dueBy: 5_000, limit: 10, worker: "w", claimUntil: 6_000).count == 2)
            #expect(try await reopened.message(Self.key)?.attachments?.first?.archive == Self.file(Self.contractURL))
        } catch {
            await close()
            throw error
        }
        await close()
    }
}
