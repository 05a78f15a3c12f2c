import Foundation
import Logging
import StoreTestSupport
import Testing

@testable import MessageStore
@testable import SQLiteMessageStore

/// The SQLite store's streaming listings: one snapshot from count to last row, read a chunk
/// at a time, and a reader connection that always goes back to the pool.
@Suite struct SQLiteListingTests {
    let logger = Logger(label: "test")

    private func withStore(_ body: (SQLiteMessageStore) async throws -> Void) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = try await SQLiteMessageStore.open(
            .init(path: folder.path("m.sqlite"), readerCount: 2, listingChunkLimits: ListingChunkLimits(messages: 2)), logger: logger
        )
        do {
            try await body(store)
        } catch {
            try? await store.shutdown()
            throw error
        }
        try await store.shutdown()
    }

    private func openListing(_ store: SQLiteMessageStore, _ order: String = "QO-123456") async throws -> MessageListing {
        guard case .listing(let listing) = try await store.listing(forOrder: order, type: nil, unlessUnchangedSince: nil) else {
            throw ListingError.unchanged
        }
        return listing
    }

    private enum ListingError: Error { case unchanged }

    private func storeMessages(_ count: Int, in store: SQLiteMessageStore) async throws {
        for n in 0..<count { _ = try await store.store(sampleMessage(id: String(format: "MSG-%03d", n * 2))) }
    }

    @Test func aListingReadsInChunksFromOneSnapshotWhileWritesLand() async throws {
        try await withStore { store in
            try await storeMessages(10, in: store)
            let listing = try await openListing(store)
            #expect(listing.count == 10)
            var chunks = listing.makeAsyncIterator()
            var seen = try #require(try await chunks.next())
            #expect(seen.count == 2)

            // New messages between the listed ones, and a newer version of one still unread.
            for n in 0..<5 { _ = try await store.store(sampleMessage(id: String(format: "MSG-%03d", n * 2 + 1))) }
            var newer = sampleMessage(id: "MSG-018", text: "changed")
            newer.timestamp += 1
            #expect(try await store.store(newer) == .updated)

            while let chunk = try await chunks.next() {
                #expect(chunk.count <= 2)
                seen += chunk
            }
            #expect(seen.count == 10)
            #expect(seen.map(\.messageID) == (0..<10).map { String(format: "MSG-%03d", $0 * 2) })
            #expect(seen.last?.text == sampleMessage().text, "the snapshot predates the update")
            #expect(store.readersInUse == 0)
            #expect(try await openListing(store).count == 15)
        }
    }

    @Test func aListingClosedMidwayGivesItsReaderBack() async throws {
        try await withStore { store in
            try await storeMessages(10, in: store)
            for _ in 0..<20 {
                let listing = try await openListing(store)
                var chunks = listing.makeAsyncIterator()
                _ = try await chunks.next()
                _ = try await chunks.next()
                #expect(store.readersInUse == 1)
                await listing.close()
                #expect(store.readersInUse == 0)
            }
            // The pool is whole: reads and a write go on as before.
            #expect(try await store.messages(forOrder: "QO-123456", type: nil).count == 10)
            #expect(try await store.store(sampleMessage(id: "MSG-NEW")) == .created)
        }
    }

    @Test func aListingDroppedWithoutClosingGivesItsReaderBack() async throws {
        try await withStore { store in
            try await storeMessages(10, in: store)
            for _ in 0..<5 {
                let listing = try await openListing(store)
                var chunks = listing.makeAsyncIterator()
                _ = try await chunks.next()
                withExtendedLifetime(chunks) { #expect(store.readersInUse == 1) }
            }
            #expect(store.readersInUse == 0)
            #expect(try await openListing(store).count == 10)
        }
    }

    @Test func aListingThatFitsItsFirstChunkHoldsNoReader() async throws {
        try await withStore { store in
            try await storeMessages(1, in: store)
            let listing = try await openListing(store)
            #expect(store.readersInUse == 0)
            var total = 0
            for try await chunk in listing { total += chunk.count }
            #expect(total == 1)
            guard case .unchanged = try await store.listing(forOrder: "QO-123456", type: nil, unlessUnchangedSince: listing.version) else {
                Issue.record("an unchanged order is read again")
                return
            }
            #expect(store.readersInUse == 0)
        }
    }
}
