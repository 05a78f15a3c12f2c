import Foundation
import Logging
import MessageStore
import StoreTestSupport
import Synchronization
import Testing

@testable import DynamoDB
@testable import DynamoDBMessageStore

// The change feed on DynamoDB (docs/dynamodb-feed.md), against moto over real HTTP: events
// for exactly the stored changes, pages that never skip one (across instances, writes in
// flight, slow and abandoned writes), retention, and the table's migration.

/// A fresh table and stores over it, each with a client of its own, as separate instances.
struct FeedFixture: Sendable {
    let client: DynamoDBClient
    let table: String
    /// The moto the table is on, when not the suite's shared one.
    var endpoint: String?

    /// Short, so that the tests that wait for a gap stay fast.
    static let gapTimeout: Duration = .milliseconds(600)

    /// Runs `body` with a fresh table (on the moto at `endpoint`, else the suite's shared one),
    /// shutting down every store it opened.
    static func with(endpoint: String? = nil, _ body: (FeedFixture) async throws -> Void) async throws {
        let client = try endpoint.map { try DynamoDBTestClient.make(endpoint: $0, requestTimeout: .seconds(20)) } ?? MotoServer.makeClient()
        let table = try await MotoServer.createTable(client: client)
        var failure: (any Error)?
        do { try await body(FeedFixture(client: client, table: table, endpoint: endpoint)) } catch { failure = error }
        try? await client.shutdown()
        if let failure { throw failure }
    }

    /// Runs `body` with a store over the table, through `endpoint` (the fixture's moto by default).
    func withStore(
        endpoint: String? = nil, retention: FeedRetention = .default, operationTimeout: Duration = MotoServer.operationTimeout,
        gapTimeout: Duration = FeedFixture.gapTimeout, _ body: (DynamoDBMessageStore) async throws -> Void
    ) async throws {
        // A held request must outwait its attempt timeout: a minute, as the operation's.
        let storeClient = try (endpoint ?? self.endpoint).map { try DynamoDBTestClient.make(endpoint: $0, requestTimeout: .seconds(60)) }
            ?? MotoServer.makeClient()
        let store = DynamoDBMessageStore(
            configuration: .init(tableName: table, operationTimeout: operationTimeout, feedRetention: retention, feedGapTimeout: gapTimeout),
            client: storeClient, logger: Logger(label: "test")
        )
        var failure: (any Error)?
        do { try await body(store) } catch { failure = error }
        try? await store.shutdown()
        if let failure { throw failure }
    }

    /// The raw item in a feed slot.
    func slotItem(_ sequence: Int64) async throws -> Item? {
        try await client.getItem(GetItemInput(tableName: table, key: FeedEntryItem.key(sequence), consistentRead: true))
    }
}

extension MessageStore {
    /// Every event after `position`, following `next` with pages of `limit` until a page
    /// brings nothing new.
    func allFeedEvents(after position: FeedPosition? = nil, orderID: String? = nil, limit: Int = 1000) async throws -> (events: [FeedEvent], end: FeedPosition?) {
        var events: [FeedEvent] = []
        var next = position
        while true {
            let page = try await feed(after: next, orderID: orderID, limit: limit)
            events += page.events
            if page.events.isEmpty && page.next == next { return (events, next) }
            #expect(next.map { page.next >= $0 } ?? true, "next never moves back")
            next = page.next
        }
    }
}

/// A flag one task sets and another reads.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

@Suite(.enabled(if: MotoServer.shouldRun, Comment(rawValue: MotoServer.skipReason)))
struct DynamoDBFeedTests {
    @Test func everyStoredChangeIsOneEventAndNothingElseIs() async throws {
        try await FeedFixture.with { fixture in
            try await fixture.withStore { store in
                #expect(try await store.feed(after: nil, orderID: nil, limit: 10).events.isEmpty)
                #expect(try await store.feed(after: nil, orderID: nil, limit: 10).next == FeedPosition(sequence: 0, time: 0))
                let first = message("A", at: 1_000)
                var newer = message("A", at: 2_000)
                newer.text = "changed"
                #expect(try await store.store(first) == .created)
                #expect(try await store.store(first) == .duplicate)
                #expect(try await store.store(message("A", at: 500)) == .stale)
                #expect(try await store.store(newer) == .updated)
                let read = try #require(try await store.setRead(true, of: first.key, at: 5_000))
                #expect(try await store.setRead(false, of: first.key, at: 4_000) == read, "an older statement changes nothing")
                #expect(try await store.setRead(true, of: message("NONE", at: 1).key, at: 6_000) == nil)

                let (events, end) = try await store.allFeedEvents()
                #expect(events.map(\.kind) == [.created, .updated, .read])
                #expect(events.map(\.message) == [first, newer, read])
                #expect(events.map(\.position.sequence) == [1, 2, 3])
                #expect(end?.sequence == 3)
                #expect(try await store.feedEnd().sequence == 3)
                #expect(try await store.pruneFeed() == 0)
                // A made-up position before the first number starts at it, rather than wait for
                // slot 0 (which no write takes) and tombstone it.
                let made = FeedPosition(sequence: -5, time: DynamoDBMessageStore.nowMilliseconds())
                #expect(try await store.feed(after: made, orderID: nil, limit: 10).events.map(\.kind) == [.created, .updated, .read])
                #expect(try await fixture.slotItem(0) == nil)
            }
        }
    }

    @Test(arguments: [1, 3, 1000])
    func followingNextReturnsEveryEventExactlyOnce(limit: Int) async throws {
        try await FeedFixture.with { fixture in
            try await fixture.withStore { store in
                var stored: [StoredMessage] = []
                for index in 0..<14 {
                    let written = message("M\(index % 5)", at: Int64(1_000 + index), order: index.isMultiple(of: 3) ? "QO-2" : "QO-1")
                    #expect(try await store.store(written).wroteNewVersion)
                    stored.append(written)
                }
                let all = try await store.allFeedEvents(limit: limit).events
                #expect(all.map(\.message) == stored)
                #expect(all.map(\.position.sequence) == Array(1...14))
                // From the middle, and for one order only.
                #expect(try await store.allFeedEvents(after: all[5].position, limit: limit).events.map(\.message) == Array(stored[6...]))
                let second = try await store.allFeedEvents(orderID: "QO-2", limit: limit).events
                #expect(second.map(\.message) == stored.filter { $0.orderID == "QO-2" })
                let page = try await store.feed(after: all[12].position, orderID: "QO-2", limit: limit)
                #expect(page.events.isEmpty && page.next.sequence == 14, "next passes the other order's events")
            }
        }
    }

    /// What one writer was told it changed.
    struct Change: Hashable, Sendable {
        var messageID: String
        var kind: FeedEventKind
        var version: Int64
    }

    @Test func aFollowerReceivesEveryChangeOfTwoConcurrentWritersInStoredOrder() async throws {
        // A moto of its own: its racing writers' calls passed their deadline on the shared one in CI.
        try await MotoServer.withOwnServer { endpoint in try await Self.followTwoConcurrentWriters(endpoint: endpoint) }
    }

    private static func followTwoConcurrentWriters(endpoint: String) async throws {
        try await FeedFixture.with(endpoint: endpoint) { fixture in
            try await fixture.withStore { writerA in
                try await fixture.withStore { writerB in
                    try await fixture.withStore { follower in
                        let writersDone = Flag()
                        // The follower reads all along, a page of 7 at a time, until the writers are
                        // done and a page read after that finds nothing more.
                        async let followed: [FeedEvent] = {
                            var events: [FeedEvent] = []
                            var next: FeedPosition?
                            while true {
                                let done = writersDone.isSet
                                let page = try await follower.feed(after: next, orderID: nil, limit: 7)
                                events += page.events
                                next = page.next
                                if page.events.isEmpty {
                                    if done { return events }
                                    try await Task.sleep(for: .milliseconds(20))
                                }
                            }
                        }()
                        let collected = try await withThrowingTaskGroup(of: [Change].self) { group in
                            for (index, writer) in [writerA, writerB].enumerated() {
                                group.addTask {
                                    var changes: [Change] = []
                                    let own = message("OWN-\(index)", at: 1)
                                    for step in 0..<40 {
                                        if step.isMultiple(of: 5) {
                                            // Readers' statements on a message only this writer touches: each changes it.
                                            if step == 0 {
                                                _ = try await writer.store(own)
                                                changes.append(Change(messageID: own.messageID, kind: .created, version: 1))
                                            } else {
                                                let time = Int64(10_000 + step)
                                                let updated = try #require(try await writer.setRead(step.isMultiple(of: 10), of: own.key, at: time))
                                                #expect(updated.readUpdatedAt == time)
                                                changes.append(Change(messageID: own.messageID, kind: .read, version: time))
                                            }
                                        } else {
                                            // Shared messages: distinct timestamps per writer, so some deliveries are stale.
                                            let shared = message("S\(step % 4)", at: Int64(step * 2 + index))
                                            let outcome = try await writer.store(shared)
                                            if outcome.wroteNewVersion {
                                                changes.append(Change(messageID: shared.messageID, kind: outcome == .created ? .created : .updated, version: shared.timestamp))
                                            }
                                        }
                                    }
                                    return changes
                                }
                            }
                            var changes: [Change] = []
                            for try await some in group { changes += some }
                            return changes
                        }
                        writersDone.set()
                        let events = try await followed
                        let received = events.map { Change(messageID: $0.message.messageID, kind: $0.kind, version: $0.kind == .read ? $0.message.readUpdatedAt ?? 0 : $0.message.timestamp) }
                        #expect(received.count == collected.count)
                        #expect(Set(received) == Set(collected))
                        #expect(Set(events.map(\.position.sequence)).count == events.count)
                        let byMessage = Dictionary(grouping: received, by: \.messageID)
                        for (id, changes) in byMessage {
                            #expect(changes.map(\.version) == changes.map(\.version).sorted(), "events of \(id) in stored order")
                        }
                    }
                }
            }
        }
    }

    /// Runs `body` with a store whose calls go through a proxy that holds back the first
    /// `TransactWriteItems` carrying `messageID` for `delay`, and a store that talks to moto directly.
    func withHeldBackWriter(
        holding messageID: String, for delay: Duration = .seconds(30), readerGapTimeout: Duration = FeedFixture.gapTimeout, _ body: (FeedFixture, DelayingProxy, DynamoDBMessageStore, DynamoDBMessageStore) async throws -> Void
    ) async throws {
        let upstream = try #require(MotoServer.endpoint)
        try await FeedFixture.with { fixture in
            try await DelayingProxy.run(upstream: upstream, rule: DelayingProxy.holdFirst("TransactWriteItems", containing: messageID, for: delay)) { proxy in
                try await fixture.withStore(endpoint: proxy.endpoint, operationTimeout: .seconds(60)) { slow in
                    try await fixture.withStore(gapTimeout: readerGapTimeout) { direct in try await body(fixture, proxy, slow, direct) }
                }
            }
        }
    }

    /// Waits until the proxy holds a request.
    func untilHeld(_ proxy: DelayingProxy) async throws {
        let giveUp = ContinuousClock.now + .seconds(10)
        while proxy.heldRequests.isEmpty {
            guard ContinuousClock.now < giveUp else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func aFollowerWaitsForAWriteInFlightAndReceivesItInOrder() async throws {
        // The slow write is held until the follower is waiting for its slot, then let go well
        // within the follower's gap timeout.
        try await withHeldBackWriter(holding: "SLOW", readerGapTimeout: .seconds(20)) { fixture, proxy, slow, direct in
            let start = try await direct.feedEnd()
            async let slowOutcome = slow.store(message("SLOW", at: 1_000, order: "QO-SLOW"))
            try await untilHeld(proxy)
            // Another order, so the two do not race on one summary.
            #expect(try await direct.store(message("FAST", at: 1_000)) == .created)
            let began = ContinuousClock.now
            async let page = direct.feed(after: start, orderID: nil, limit: 10)
            try await Task.sleep(for: .milliseconds(300))
            proxy.releaseHeld()
            // The fast write committed behind the slow one's slot; the page must not pass that slot.
            let events = try await page.events
            #expect(ContinuousClock.now - began < .seconds(20), "it did not give up on the slot")
            #expect(try await slowOutcome == .created)
            #expect(events.map(\.message.messageID) == ["SLOW", "FAST"])
            #expect(events.map(\.position.sequence) == [1, 2])
            #expect(try await fixture.slotItem(1)?["tombstone"] == nil)
        }
    }

    @Test func aWriteHeldPastTheGapTimeoutIsRetriedUnderANewNumberAndReceivedOnce() async throws {
        try await withHeldBackWriter(holding: "SLOW") { fixture, proxy, slow, direct in
            let start = try await direct.feedEnd()
            async let slowOutcome = slow.store(message("SLOW", at: 1_000, order: "QO-SLOW"))
            try await untilHeld(proxy)
            #expect(try await direct.store(message("FAST", at: 1_000)) == .created)
            let began = ContinuousClock.now
            let first = try await direct.feed(after: start, orderID: nil, limit: 10)
            #expect(ContinuousClock.now - began >= FeedFixture.gapTimeout, "it waited for the slot before closing it")
            #expect(first.events.map(\.message.messageID) == ["FAST"])
            let closed = try #require(try await fixture.slotItem(1))
            #expect(closed["tombstone"] == .bool(true) && closed["message"] == nil)
            // Let the slow transaction go: the slot was closed under it, so it fails and the
            // writer writes again under a new number.
            proxy.releaseHeld()
            #expect(try await slowOutcome == .created)
            let rest = try await direct.allFeedEvents(after: first.next, limit: 10).events
            #expect(rest.map(\.message.messageID) == ["SLOW"])
            #expect(rest.first?.position.sequence ?? 0 > 2)
            #expect(try await direct.allFeedEvents(after: start).events.map(\.message.messageID).sorted() == ["FAST", "SLOW"])
        }
    }

    @Test func aWriteWhoseSnapshotReadIsSlowIsNumberedAfterTheChangeItRead() async throws {
        // The slow writer's snapshot read is held while another change of the same message
        // commits; it then reads that change and writes after it. Its number must come after
        // that change's, as it would not if numbers were allocated before the snapshot.
        let upstream = try #require(MotoServer.endpoint)
        try await FeedFixture.with { fixture in
            // Held until the other change committed (30 s at most), so the order does not depend
            // on how fast a busy machine is.
            try await DelayingProxy.run(upstream: upstream, rule: DelayingProxy.holdFirst("TransactGetItems", containing: "ORDERED", for: .seconds(30))) { proxy in
                try await fixture.withStore(endpoint: proxy.endpoint, operationTimeout: .seconds(60)) { slow in
                    try await fixture.withStore { direct in
                        #expect(try await direct.store(message("ORDERED", at: 1_000)) == .created)
                        async let slowOutcome = slow.store(message("ORDERED", at: 3_000))
                        try await untilHeld(proxy)
                        #expect(try await direct.store(message("ORDERED", at: 2_000)) == .updated)
                        proxy.releaseHeld()
                        #expect(try await slowOutcome == .updated)
                        let events = try await direct.allFeedEvents().events
                        #expect(events.map(\.message.timestamp) == [1_000, 2_000, 3_000])
                        #expect(events.map(\.kind) == [.created, .updated, .updated])
                    }
                }
            }
        }
    }

    @Test func anAbandonedSlotIsPassedAfterTheGapTimeout() async throws {
        try await FeedFixture.with { fixture in
            try await fixture.withStore { store in
                #expect(try await store.store(message("A", at: 1_000)) == .created)
                // A writer that crashed between allocating and writing.
                let abandoned = try await FeedSequenceCounter.allocate(in: fixture.table, client: fixture.client)
                #expect(try await store.feedEnd().sequence == abandoned - 1, "the end stops before a slot that may still be written")
                #expect(try await store.store(message("B", at: 1_000)) == .created)
                let first = try await store.feed(after: nil, orderID: nil, limit: 10)
                #expect(first.events.map(\.message.messageID) == ["A"], "the page ends before the gap")
                let began = ContinuousClock.now
                let second = try await store.feed(after: first.next, orderID: nil, limit: 10)
                #expect(ContinuousClock.now - began >= FeedFixture.gapTimeout)
                #expect(second.events.map(\.message.messageID) == ["B"])
                #expect(try await fixture.slotItem(abandoned)?["tombstone"] == .bool(true))
                #expect(try await store.feedEnd().sequence == abandoned + 1)
            }
        }
    }

    @Test func entriesExpireByTTLAfterRetentionAndExpiredPositionsAreRefused() async throws {
        try await FeedFixture.with { fixture in
            try await fixture.withStore { store in
                #expect(try await store.store(message("A", at: 1_000)) == .created)
                let entry = try #require(try await fixture.slotItem(1))
                let eventTime = try #require(entry["eventTime"]?.numberText.flatMap { Int64($0) })
                #expect(abs(eventTime - DynamoDBMessageStore.nowMilliseconds()) < 60_000)
                #expect(entry["expiresAt"] == .integer(eventTime / 1000 + 30 * 86_400 + 86_400), "retention plus the drop margin, in seconds")
                #expect(entry["kind"] == .string("message.created") && entry["orderId"] == .string("QO-1"))
                #expect(entry["message"] == .map(DynamoDBMessageStore.item(for: message("A", at: 1_000))))
                let ttl = try await fixture.client.describeTimeToLive(fixture.table)
                #expect(ttl.expires(by: "expiresAt"))
            }
            // An event stored 31 days ago (written raw: no clock to wait for), then one now.
            try await fixture.withStore { store in
                let now = DynamoDBMessageStore.nowMilliseconds()
                let old = now - 31 * 86_400_000
                await #expect(throws: FeedPositionExpired(position: FeedPosition(sequence: 1, time: old))) {
                    try await store.feed(after: FeedPosition(sequence: 1, time: old), orderID: nil, limit: 10)
                }
                let sequence = try await FeedSequenceCounter.allocate(in: fixture.table, client: fixture.client)
                _ = try await fixture.client.putItem(PutItemInput(
                    tableName: fixture.table,
                    item: FeedEntryItem.item(sequence: sequence, kind: .created, message: message("OLD", at: 1_000), eventTime: old, retention: .default)
                ))
                #expect(try await store.store(message("B", at: 1_000)) == .created)
                // The old event (slot 2, between A and B) is not served, from a position before it or from the start.
                #expect(try await store.feed(after: FeedPosition(sequence: 1, time: now), orderID: nil, limit: 10).events.map(\.message.messageID) == ["B"])
                #expect(try await store.feed(after: nil, orderID: nil, limit: 10).events.map(\.message.messageID) == ["A", "B"])
            }
        }
    }

    @Test func readingFromTheStartBeginsAtTheOldestEventKept() async throws {
        try await FeedFixture.with { fixture in
            try await fixture.withStore { store in
                // Two buckets of old slots (dropped by TTL but for two, written raw 31 days ago),
                // then the events kept.
                let old = DynamoDBMessageStore.nowMilliseconds() - 31 * 86_400_000
                _ = try await fixture.client.putItem(PutItemInput(
                    tableName: fixture.table, item: [
                        "PK": .string("FEED#SEQUENCE"), "SK": .string("COUNTER"), "last": .integer(FeedEntryItem.bucketSize * 2 + 5),
                    ]
                ))
                for sequence in [Int64(3), FeedEntryItem.bucketSize + 7] {
                    _ = try await fixture.client.putItem(PutItemInput(
                        tableName: fixture.table,
                        item: FeedEntryItem.item(sequence: sequence, kind: .created, message: message("OLD-\(sequence)", at: 1_000), eventTime: old, retention: .default)
                    ))
                }
                #expect(try await store.store(message("B", at: 1_000)) == .created)
                #expect(try await store.store(message("C", at: 1_000)) == .created)
                let page = try await store.feed(after: nil, orderID: nil, limit: 10)
                #expect(page.events.map(\.message.messageID) == ["B", "C"])
                #expect(page.events.map(\.position.sequence) == [FeedEntryItem.bucketSize * 2 + 6, FeedEntryItem.bucketSize * 2 + 7])
            }
        }
    }

    @Test func migrateBringsAPreviousReleaseTableUpAndRunsAgainHarmlessly() async throws {
        let client = try MotoServer.makeClient()
        defer { Task { try? await client.shutdown() } }
        let table = "qualia-old-\(UUID().uuidString.prefix(8).lowercased())"
        _ = try await client.createTable(CreateTableInput(
            tableName: table,
            attributeDefinitions: [.init(attributeName: "PK", attributeType: .string), .init(attributeName: "SK", attributeType: .string)],
            keySchema: [.init(attributeName: "PK", keyType: .hash), .init(attributeName: "SK", keyType: .range)]
        ))
        try await client.waitUntilActive(table)
        let old = [message("A", at: 1_000, order: "QO-1"), message("B", at: 2_000, order: "QO-1"), message("A", at: 1_500, order: "QO-2")]
        for item in old { _ = try await client.putItem(PutItemInput(tableName: table, item: DynamoDBMessageStore.item(for: item))) }
        #expect(try await !client.describeTimeToLive(table).expires(by: "expiresAt"))

        let first = try await DynamoDBMessageStore.migrate(table, client: client, logger: Logger(label: "test"))
        #expect(first == .init(tableSetup: .addedOrdersIndex, backfill: .init(orders: 2, written: 2), enabledFeedExpiry: true))
        let second = try await DynamoDBMessageStore.migrate(table, client: client, logger: Logger(label: "test"))
        #expect(second == .init(tableSetup: .unchanged, backfill: nil, enabledFeedExpiry: false))
        #expect(try await client.describeTimeToLive(table).expires(by: "expiresAt"))
        #expect(try await client.describeTable(table).globalSecondaryIndex(named: "orders-by-activity")?.indexStatus == .active)
        #expect(try await SummariesMarker.isPresent(in: table, client: client))

        let store = DynamoDBMessageStore(
            configuration: .init(tableName: table, operationTimeout: MotoServer.operationTimeout), client: try MotoServer.makeClient(),
            logger: Logger(label: "test")
        )
        do {
            #expect(try await store.orders(after: nil, limit: 10, unreadOnly: false).items.map(\.messageCount).sorted() == [1, 2])
            #expect(try await store.feed(after: nil, orderID: nil, limit: 10).events.isEmpty, "the earlier release's writes are no events")
            #expect(try await store.store(message("C", at: 3_000, order: "QO-1")) == .created)
            let events = try await store.allFeedEvents().events
            #expect(events.map(\.message.messageID) == ["C"] && events.first?.kind == .created)
            #expect(try await store.orders(after: nil, limit: 10, unreadOnly: false).items.first { $0.orderID == "QO-1" }?.messageCount == 3)
        } catch {
            try? await store.shutdown()
            throw error
        }
        try await store.shutdown()
    }
}
