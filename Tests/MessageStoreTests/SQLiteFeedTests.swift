import Foundation
import Logging
import StoreTestSupport
import Testing

@testable import MessageStore
@testable import SQLiteMessageStore

/// What is particular to the SQLite feed: dropping what retention no longer keeps.
@Suite struct SQLiteFeedTests {
    @Test func pruningDropsOnlyEventsPastRetentionAndItsMarginAndTheRestStillPages() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("m.sqlite")
        let store = try await SQLiteMessageStore.open(.init(path: path, feedRetention: FeedRetention(days: 2)), logger: Logger(label: "test"))
        do {
            for index in 0..<5 { _ = try await store.store(sampleMessage(id: "M-\(index)")) }
            // Age the first three: two past retention and its day of margin, one only past retention.
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let tool = try SQLiteConnection(path: path)
            try tool.execute("UPDATE feed SET eventTime = \(now - 4 * 86_400_000) WHERE seq <= 2")
            try tool.execute("UPDATE feed SET eventTime = \(now - 2 * 86_400_000 - 3_600_000) WHERE seq = 3")
            tool.close()

            #expect(try await store.pruneFeed() == 2)
            #expect(try await store.pruneFeed() == 0)
            // From the oldest kept: retention (not its margin) decides what a reader starts at.
            let page = try await store.feed(after: nil, orderID: nil, limit: 10)
            #expect(page.events.map(\.message.messageID) == ["M-3", "M-4"])
            // A position still within retention pages on as before.
            let recent = FeedPosition(sequence: 3, time: now - 86_400_000)
            #expect(try await store.feed(after: recent, orderID: nil, limit: 10).events.map(\.message.messageID) == ["M-3", "M-4"])
            // The sequence goes on after the dropped numbers.
            _ = try await store.store(sampleMessage(id: "M-5"))
            #expect(try await store.feed(after: page.next, orderID: nil, limit: 10).events.map(\.position.sequence) == [6])
        } catch {
            try? await store.shutdown()
            throw error
        }
        try await store.shutdown()
    }
}
