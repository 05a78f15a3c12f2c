import Foundation
import MessageStore
import StoreTestSupport
import Synchronization
import Testing

/// The change feed, on every store: one event per stored change, none for anything else, and
/// pages that return every event after a position exactly once.
@Suite struct FeedContractTests {
    /// Every event after `position`, following the pages of `limit`.
    static func readAll(_ store: any MessageStore, after position: FeedPosition? = nil, orderID: String? = nil, limit: Int = 1000)
        async throws -> (events: [FeedEvent], end: FeedPosition)
    {
        var events: [FeedEvent] = []
        var position = position
        while true {
            let page = try await store.feed(after: position, orderID: orderID, limit: limit)
            events += page.events
            if let last = page.events.last { #expect(page.next >= last.position) }
            if page.events.isEmpty { return (events, page.next) }
            position = page.next
        }
    }

    static func message(_ id: String, order: String = "QO-1", at timestamp: Int64 = 1_000, text: String = "hello") -> StoredMessage {
        var message = sampleMessage(order: order, id: id, text: text)
        message.timestamp = timestamp
        return message
    }

    @Test(arguments: StoreUnderTest.available)
    func eachStoredChangeIsOneEventAndNothingElseIsAny(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            _ = try await store.store(Self.message("M-1"))
            _ = try await store.store(Self.message("M-1"))  // duplicate
            _ = try await store.store(Self.message("M-1", at: 2_000, text: "edited"))  // updated
            _ = try await store.store(Self.message("M-1", at: 1_500, text: "late"))  // stale
            let key = MessageKey(orderID: "QO-1", messageType: .received, messageID: "M-1")
            _ = try await store.setRead(true, of: key, at: 5_000)
            _ = try await store.setRead(true, of: key, at: 4_000)  // an older statement: no change
            _ = try await store.setRead(false, of: MessageKey(orderID: "QO-1", messageType: .received, messageID: "M-404"), at: 6_000)

            let (events, _) = try await Self.readAll(store)
            #expect(events.map(\.kind) == [.created, .updated, .read])
            #expect(events.map(\.message.text) == ["hello", "edited", "edited"])
            #expect(events.map(\.message.read) == [false, false, true])
            #expect(events[2].message.readUpdatedAt == 5_000)
            #expect(events[2].message == (try await store.message(key)))
            #expect(zip(events, events.dropFirst()).allSatisfy { $0.position < $1.position })
        }
    }

    @Test(arguments: StoreUnderTest.available, [1, 3, 1000])
    func pagesReturnEveryEventAfterAPositionExactlyOnce(_ kind: StoreUnderTest, limit: Int) async throws {
        try await withStore(kind) { store in
            for index in 0..<12 { _ = try await store.store(Self.message("M-\(index)", order: "QO-\(index % 3)")) }
            let (all, end) = try await Self.readAll(store, limit: limit)
            #expect(all.map(\.message.messageID) == (0..<12).map { "M-\($0)" })
            #expect(end == all.last?.position)

            // From the middle: exactly the rest.
            let (rest, _) = try await Self.readAll(store, after: all[4].position, limit: limit)
            #expect(rest.map(\.position) == all.dropFirst(5).map(\.position))

            // At the end: nothing, and the same end, until something new is stored.
            let atEnd = try await store.feed(after: end, orderID: nil, limit: limit)
            #expect(atEnd.events.isEmpty)
            #expect(atEnd.next == end)
            _ = try await store.store(Self.message("M-new"))
            let (new, _) = try await Self.readAll(store, after: end, limit: limit)
            #expect(new.map(\.message.messageID) == ["M-new"])
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func anOrdersFeedHoldsItsEventsOnlyAndMovesPastTheOthers(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            for index in 0..<9 { _ = try await store.store(Self.message("M-\(index)", order: "QO-\(index % 3)")) }
            let (events, end) = try await Self.readAll(store, orderID: "QO-1", limit: 2)
            #expect(events.map(\.message.messageID) == ["M-1", "M-4", "M-7"])
            #expect(events.allSatisfy { $0.message.orderID == "QO-1" })
            let (all, allEnd) = try await Self.readAll(store)
            #expect(end == allEnd)
            #expect(all.count == 9)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func theEndOfTheFeedIsFollowedOnlyByLaterChanges(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            _ = try await store.store(Self.message("M-old"))
            let end = try await store.feedEnd()
            _ = try await store.store(Self.message("M-new"))
            let (events, _) = try await Self.readAll(store, after: end)
            #expect(events.map(\.message.messageID) == ["M-new"])
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func aPositionOlderThanRetentionHasExpired(_ kind: StoreUnderTest) async throws {
        try await withStore(kind, options: .init(feedRetention: FeedRetention(days: 2))) { store in
            _ = try await store.store(Self.message("M-1"))
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let old = FeedPosition(sequence: 0, time: now - 3 * 86_400_000)
            await #expect(throws: FeedPositionExpired.self) { try await store.feed(after: old, orderID: nil, limit: 10) }
            let recent = FeedPosition(sequence: 0, time: now - 86_400_000)
            #expect(try await store.feed(after: recent, orderID: nil, limit: 10).events.count == 1)
        }
    }

    /// Two instances write at once, some to the same messages, while a third follows the feed:
    /// it sees every change the writers were told they made, and each message's in order.
    @Test(arguments: StoreUnderTest.available)
    func aFollowerSeesEveryChangeOfConcurrentWritersInEachMessagesOrder(_ kind: StoreUnderTest) async throws {
        let (first, openAnother, close) = try await kind.openShared(.racing)
        do {
            let second = try await openAnother()
            let follower = try await openAnother()
            let start = try await follower.feedEnd()
            let writes = 24
            // How many changes the writers made, once they are done (a version that lost its
            // race to a newer one is stale and makes none).
            let made = Mutex<Int?>(nil)
            async let seen: [FeedEvent] = {
                var events: [FeedEvent] = []
                var position = start
                // Ends as soon as every change made is seen; the bound is for a broken feed only
                // (on a loaded machine the racing writes on moto alone can take a minute).
                let deadline = ContinuousClock.now + .seconds(150)
                while ContinuousClock.now < deadline {
                    let page = try await follower.feed(after: position, orderID: nil, limit: 7)
                    events += page.events
                    position = page.next
                    if let made = made.withLock({ $0 }), events.count >= made { break }
                    if page.events.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
                }
                return events
            }()
            // Each writer stores new versions of six messages shared by both, in rising time.
            async let outcomesA = Self.writeVersions(first, writer: "A", count: writes)
            async let outcomesB = Self.writeVersions(second, writer: "B", count: writes)
            let written = try await outcomesA + outcomesB
            made.withLock { $0 = written.count }
            let events = try await seen

            #expect(Set(events.map(\.position)).count == events.count, "an event came twice")
            #expect(events.count == written.count)
            let seenVersions = Set(events.map { "\($0.message.messageID)@\($0.message.timestamp)" })
            #expect(seenVersions == Set(written))
            for id in Set(events.map(\.message.messageID)) {
                let timestamps = events.filter { $0.message.messageID == id }.map(\.message.timestamp)
                #expect(timestamps == timestamps.sorted(), "message \(id) went back in time: \(timestamps)")
            }
        } catch {
            await close()
            throw error
        }
        await close()
    }

    /// Stores `count` versions of six shared messages; returns `id@timestamp` of each one that
    /// was written (`created` or `updated`).
    static func writeVersions(_ store: any MessageStore, writer: String, count: Int) async throws -> [String] {
        var written: [String] = []
        for index in 0..<count {
            let id = "M-\(index % 6)"
            // Both writers' timestamps rise; they interleave, so some deliveries are stale.
            let timestamp = Int64(10_000 + index * 10 + (writer == "A" ? 0 : 5))
            let message = message(id, at: timestamp, text: "\(writer) \(index)")
            if try await store.store(message).wroteNewVersion { written.append("\(id)@\(timestamp)") }
        }
        return written
    }
}
